"""The render step's audio and media: ducking, voice level, loudness, stem, tempo and the muxed files.

Everything is measured on the files written, with tools other than the ones the code uses where
that matters: pyloudnorm for integrated loudness, 4x oversampling (scipy) for the true peak,
numpy for levels, ffprobe for streams and ffmpeg's own decoders to read the tracks back.

The duck is measured on the programme alone: the stem holds the voice exactly as it is in the
mix (same gain, same samples), so mix - stem is the ducked, normalised programme; dividing its
level by the original programme's, window by window, cancels whatever the programme itself does
(dialogue, noise), and what is left is the gain the mix applied there. Inside the cue windows
minus outside them is the duck.
"""

from __future__ import annotations

import json
import math
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest
import pyloudnorm
from scipy.signal import correlate, resample_poly

from conftest import LIBRIVOX, ffmpeg
from videodesc.errors import InputError
from videodesc.render.mix import (ATSC_A85, LoudnessTarget, MixSettings, Placement, build_stem, duck_windows, measure,
                                  mix, tempo)
from videodesc.render.mux import TextCue, write_ad_mkv, write_ad_mp4, write_m4a

RATE = 48000
DIALOGUE = [(2.0, 6.0), (14.0, 18.0)]  # where the LibriVox speech sits in the test programme
CUE_TEXTS = [(7.0, "A man walks into the room."), (9.3, "He sits down."), (19.0, "Rain falls on the empty street.")]


# ---------------------------------------------------------------- media made for the tests

def probe(path: Path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def decode(path: Path, channels: int, stream: str = "a:0") -> np.ndarray:
    """Samples of an audio stream as float64, shape (n, channels), at 48 kHz."""
    raw = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-map", f"0:{stream}",
                          "-ac", str(channels), "-ar", str(RATE), "-f", "f64le", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype="<f8").reshape(-1, channels)


def speak(text: str, target: Path, voice: str = "en") -> Path:
    """What the TTS hands the mixer: espeak-ng speech as 48 kHz mono 16-bit WAV."""
    raw = target.with_suffix(".espeak.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(raw), text], check=True)
    ffmpeg("-i", str(raw), "-ar", str(RATE), "-ac", "1", "-c:a", "pcm_s16le", str(target))
    return target


def extract(video: Path, target: Path) -> Path:
    """The programme sound as the render step extracts it: 48 kHz 16-bit WAV, its own channels."""
    ffmpeg("-i", str(video), "-map", "0:a:0", "-vn", "-ar", str(RATE), "-c:a", "pcm_s16le", str(target))
    return target


def write_wav(path: Path, samples: np.ndarray) -> Path:
    """Float samples (n, channels) as a 48 kHz 16-bit WAV."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(samples.shape[1])
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((np.clip(samples, -1, 32767 / 32768) * 32768).astype("<i2").tobytes())
    return path


def level_db(x: np.ndarray) -> float:
    return 10 * math.log10(float(np.mean(np.square(x))) + 1e-30)


def seg(x: np.ndarray, start: float, end: float) -> np.ndarray:
    return x[int(round(start * RATE)):int(round(end * RATE))]


def lufs(x: np.ndarray) -> float:
    return pyloudnorm.Meter(RATE).integrated_loudness(x)


def true_peak_db(x: np.ndarray) -> float:
    """BS.1770-4 true peak: the sample peak of the signal oversampled 4x."""
    return 20 * math.log10(float(np.max(np.abs(resample_poly(x, 4, 1, axis=0)))))


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict:
    """A 24 s video with a stereo programme at about -21 LUFS: pink noise with LibriVox dialogue at
    2-6 s and 14-18 s; espeak-ng voices for three cues in the gaps (the first two 0.6 s apart)."""
    folder = tmp_path_factory.mktemp("mix-media")
    video = folder / "drama.mp4"
    first = LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0870.wav"
    second = LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0890.wav"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=320x180:r=25:d=24", "-i", str(first), "-i", str(second),
           "-filter_complex",
           "[1:a]atrim=0:4,asetpts=PTS-STARTPTS,aresample=48000,pan=stereo|c0=c0|c1=c0,adelay=2000|2000[d1];"
           "[2:a]atrim=0:4,asetpts=PTS-STARTPTS,aresample=48000,pan=stereo|c0=c0|c1=c0,adelay=14000|14000[d2];"
           "anoisesrc=d=24:c=pink:a=0.15:r=48000:seed=7,pan=stereo|c0=c0|c1=0.9*c0[bed];"
           "[bed][d1][d2]amix=inputs=3:normalize=0:duration=first[a]",
           "-map", "0:v", "-map", "[a]", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
           "-c:a", "aac", "-b:a", "160k", "-metadata:s:a:0", "language=eng", str(video))
    voices = [speak(text, folder / f"cue{number}.wav") for number, (_, text) in enumerate(CUE_TEXTS)]
    placements = [Placement(start, path, len(decode(path, 1)) / RATE)
                  for (start, _), path in zip(CUE_TEXTS, voices)]
    return {"folder": folder, "video": video, "programme": extract(video, folder / "programme.wav"),
            "duration": float(probe(video)["format"]["duration"]), "placements": placements}


def run_mix(media: dict, folder: Path, settings: MixSettings = MixSettings(), regions=DIALOGUE, programme="default"):
    stem, mixed = folder / "stem.wav", folder / "mix.wav"
    report = mix(media["programme"] if programme == "default" else programme, media["placements"],
                 media["duration"], settings, stem, mixed, regions)
    return report, stem, mixed


@pytest.fixture(scope="module")
def mixed(media, tmp_path_factory):
    folder = tmp_path_factory.mktemp("mixed")
    report, stem, mix_wav = run_mix(media, folder)
    return {"report": report, "stem": stem, "mix": mix_wav}


def cue_spans(media) -> list[tuple[float, float]]:
    return [(p.start, p.start + p.seconds) for p in media["placements"]]


def outside_windows(windows, duration, ramp):
    """The stretches clear of every window and its ramps (and of the file's first and last half second)."""
    spans, cursor = [], 0.5
    for start, end in windows:
        if start - ramp - cursor > 0.5:
            spans.append((cursor, start - ramp))
        cursor = end + ramp
    if duration - 0.5 - cursor > 0.5:
        spans.append((cursor, duration - 0.5))
    return spans


# ---------------------------------------------------------------- loudness

@pytest.mark.parametrize("target", [LoudnessTarget(), ATSC_A85], ids=["EBU R128", "ATSC A/85"])
def test_the_mix_meets_the_loudness_target(media, tmp_path, target):
    report, stem, mixed = run_mix(media, tmp_path, MixSettings(target=target))

    audio = decode(mixed, 2)
    loudness = lufs(audio)
    peak = true_peak_db(audio)
    print(f"{target.name}: {loudness:.2f} LUFS (pyloudnorm), true peak {peak:.2f} dBTP; "
          f"ffmpeg says {report.result.integrated} LUFS, {report.result.true_peak} dBTP")
    assert abs(loudness - target.integrated) <= 0.5
    assert peak <= target.true_peak
    assert abs(loudness - target.integrated) <= 0.15, "without limiting, the gain lands on the target"
    assert abs(report.result.integrated - loudness) <= 0.15, "the report is the file's loudness"
    assert report.target == target and report.channels == 2 and not report.warnings


def test_a_peaky_programme_is_limited_to_the_true_peak_ceiling(tmp_path, media):
    """Quiet noise with loud clicks: raising it to -23 LUFS would push the clicks over -1 dBTP."""
    programme = tmp_path / "clicks.wav"
    t = np.arange(24 * RATE) / RATE
    sound = 0.003 * np.random.default_rng(3).standard_normal(len(t))
    sound += 0.95 * (np.mod(t, 1.5) < 0.001) * np.sin(2 * np.pi * 3000 * t)
    write_wav(programme, np.stack([sound, sound], axis=1))
    report, stem, mixed = run_mix(media, tmp_path, programme=programme, regions=None)

    audio = decode(mixed, 2)
    assert report.limited
    unlimited_peak = report.programme.true_peak + report.normalisation_gain_db
    print(f"peaks would reach {unlimited_peak:+.1f} dBTP without the limiter")
    assert unlimited_peak > 0, "the test needs peaks that the gain pushes over the ceiling"
    print(f"limited: {lufs(audio):.2f} LUFS, true peak {true_peak_db(audio):.2f} dBTP")
    assert abs(lufs(audio) - (-23.0)) <= 0.5
    assert true_peak_db(audio) <= -1.0


def test_the_voice_sits_at_the_dialogue_level(media, mixed):
    """The voice as heard in the mix (the mono stem on both channels) is as loud as the dialogue in the mix."""
    report = mixed["report"]
    programme = decode(mixed["mix"], 2) - decode(mixed["stem"], 1)  # the ducked programme, see the module doc
    dialogue = np.concatenate([seg(programme, a, b) for a, b in DIALOGUE])
    voice = decode(mixed["stem"], 1)
    voice_in_mix = lufs(np.repeat(voice, 2, axis=1))
    print(f"dialogue {lufs(dialogue):.2f} LUFS, voice {voice_in_mix:.2f} LUFS in the mix; "
          f"programme {report.programme.integrated}, dialogue level {report.dialogue_level}, "
          f"voice gain {report.voice_gain_db:+.2f} dB, normalisation {report.normalisation_gain_db:+.2f} dB")
    assert abs(voice_in_mix - lufs(dialogue)) <= 1.0
    assert report.dialogue_level != report.programme.integrated, "measured within the speech regions"


def test_the_voice_level_follows_the_offset_setting(media, mixed, tmp_path):
    report, stem, _ = run_mix(media, tmp_path, MixSettings(voice_to_dialogue_db=-6.0))
    assert report.voice_gain_db == pytest.approx(mixed["report"].voice_gain_db - 6.0, abs=0.01)
    louder = lufs(decode(mixed["stem"], 1)) - lufs(decode(stem, 1))
    assert 4.5 <= louder <= 7.5  # 6 dB, give or take the normalisation of the different mixes


def test_measure_agrees_with_pyloudnorm(media):
    loudness = measure(media["programme"])
    assert abs(loudness.integrated - lufs(decode(media["programme"], 2))) <= 0.15
    assert -40 < loudness.integrated < -15 and loudness.true_peak < 0 and loudness.lra > 0


# ---------------------------------------------------------------- ducking and the stem

@pytest.mark.parametrize("duck_db", [-10.0, -16.0])
def test_the_programme_is_ducked_inside_the_cue_windows(media, mixed, tmp_path, duck_db):
    if duck_db == -10.0:
        report, stem, mix_wav = mixed["report"], mixed["stem"], mixed["mix"]
    else:
        report, stem, mix_wav = run_mix(media, tmp_path, MixSettings(duck_db=duck_db))
    spans = cue_spans(media)
    # The first two cues are 0.6 s apart: one duck, held between them.
    expected = [(spans[0][0], spans[1][1]), spans[2]]
    assert np.allclose(np.array(report.duck_windows), np.array(expected), atol=1e-3)

    programme = decode(media["programme"], 2)
    ducked = decode(mix_wav, 2) - decode(stem, 1)
    n = min(len(programme), len(ducked))
    programme, ducked = programme[:n], ducked[:n]

    def gain(a: float, b: float) -> float:
        return level_db(seg(ducked, a, b)) - level_db(seg(programme, a, b))

    outside = [gain(a, b) for a, b in outside_windows(report.duck_windows, media["duration"], 0.25)]
    inside = [gain(a, b) for a, b in report.duck_windows]
    between = gain(spans[0][1], spans[1][0])  # the gap the merge kept down
    print(f"duck {duck_db}: outside {np.round(outside, 2)}, inside {np.round(inside, 2)}, between {between:.2f}")
    assert max(outside) - min(outside) < 0.1, "outside the windows the programme only has the normalising gain"
    assert np.mean(outside) == pytest.approx(report.normalisation_gain_db, abs=0.1)
    for value in inside + [between]:
        assert value - np.mean(outside) == pytest.approx(duck_db, abs=1.0)
    # The ramps: halfway down 0.125 s before a window, the programme is about half-ducked (linear in dB).
    start = report.duck_windows[1][0]
    assert gain(start - 0.135, start - 0.115) - np.mean(outside) == pytest.approx(duck_db / 2, abs=1.5)


def test_the_stem_is_the_voice_in_time_and_silent_elsewhere(media, mixed):
    report = mixed["report"]
    stem = decode(mixed["stem"], 1)[:, 0]
    assert len(stem) == round(media["duration"] * RATE)
    voiced = np.zeros(len(stem), dtype=bool)
    for placement in media["placements"]:
        a, b = round(placement.start * RATE), round((placement.start + placement.seconds) * RATE)
        voiced[a:b] = True
        inside = stem[a:b]
        assert level_db(inside) > -45
        # Exactly the cue's audio at the mix's voice gain, from its first sample.
        voice = decode(placement.path, 1)[:, 0] * 10 ** ((report.voice_gain_db + report.normalisation_gain_db) / 20)
        assert np.max(np.abs(inside - voice)) < 2e-4
    silent = stem[~voiced]
    assert silent.size > 10 * RATE and level_db(silent) < -70


def test_build_stem_places_cues_at_a_gain(media, tmp_path):
    placements = media["placements"][:1]
    build_stem(placements, 12.0, tmp_path / "stem.wav", gain_db=-6.0)
    stem = decode(tmp_path / "stem.wav", 1)[:, 0]
    voice = decode(placements[0].path, 1)[:, 0]
    a = round(placements[0].start * RATE)
    assert len(stem) == 12 * RATE
    assert np.max(np.abs(stem[a:a + len(voice)] - voice * 10 ** (-6 / 20))) < 1e-4
    assert not stem[:a].any() and not stem[a + len(voice):].any()


def test_duck_windows_merge_close_cues():
    settings = MixSettings(merge_gap=1.0)
    assert duck_windows([(5.0, 6.0), (1.0, 2.0), (2.5, 3.0), (1.5, 2.2)], settings) == [(1.0, 3.0), (5.0, 6.0)]
    assert duck_windows([], settings) == []


def test_settings_make_a_stable_key():
    assert MixSettings().as_key() == MixSettings().as_key()
    assert MixSettings(duck_db=-12).as_key() != MixSettings().as_key()
    assert MixSettings().as_key()["target"]["integrated"] == -23.0


# ---------------------------------------------------------------- programmes of other shapes

def test_a_video_without_sound_gets_the_voice_alone_at_the_target(media, tmp_path):
    report, stem, mixed = run_mix(media, tmp_path, programme=None, regions=None)
    audio = decode(mixed, 1)
    assert report.channels == 1 and report.programme.silent
    assert abs(lufs(audio) - (-23.0)) <= 0.5 and true_peak_db(audio) <= -1.0
    assert np.allclose(audio[:, 0], decode(stem, 1)[:, 0], atol=1e-4), "the mix is the voice alone"


def test_a_silent_programme_gives_the_voice_alone_at_the_target(media, tmp_path):
    programme = tmp_path / "silence.wav"
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo", "-t", "24", "-c:a", "pcm_s16le", str(programme))
    report, stem, mixed = run_mix(media, tmp_path, programme=programme)
    assert abs(lufs(decode(mixed, 2)) - (-23.0)) <= 0.5
    assert any("silent" in w for w in report.warnings)


def test_a_mono_programme_gives_a_mono_mix(media, tmp_path):
    programme = tmp_path / "mono.wav"
    ffmpeg("-i", str(media["programme"]), "-ac", "1", "-c:a", "pcm_s16le", str(programme))
    report, stem, mixed = run_mix(media, tmp_path, programme=programme)
    assert probe(mixed)["streams"][0]["channels"] == 1 and report.channels == 1 and not report.warnings
    audio = decode(mixed, 1)
    assert abs(lufs(audio) - (-23.0)) <= 0.5
    voice_in_mix, dialogue = lufs(decode(stem, 1)), lufs(np.concatenate([seg(audio - decode(stem, 1), a, b)
                                                                           for a, b in DIALOGUE]))
    assert abs(voice_in_mix - dialogue) <= 1.0


def test_a_5_1_programme_keeps_5_1(media, tmp_path):
    """No longer downmixed to stereo: tests/test_mix_surround.py checks the 5.1 mix in detail."""
    programme = tmp_path / "surround.wav"
    ffmpeg("-i", str(media["programme"]), "-af", "pan=5.1|FL=c0|FR=c1|FC=0.5*c0+0.5*c1|LFE=0*c0|BL=0.3*c0|BR=0.3*c1",
           "-c:a", "pcm_s16le", str(programme))
    report, stem, mixed = run_mix(media, tmp_path, programme=programme)
    stream = probe(mixed)["streams"][0]
    assert (stream["channels"], stream["channel_layout"]) == (6, "5.1")
    assert (report.channels, report.layout) == (6, "5.1")
    assert not any("downmixed to stereo" in w for w in report.warnings)
    assert abs(measure(mixed).integrated - (-23.0)) <= 0.5


# ---------------------------------------------------------------- bad input

def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("change, message", [
    (lambda p, f: [Placement(p[0].start, f / "nowhere.wav", 1.0)], "voice file missing"),
    (lambda p, f: [Placement(99.0, p[0].path, p[0].seconds)], "outside the programme"),
    (lambda p, f: [Placement(-1.0, p[0].path, p[0].seconds)], "outside the programme"),
    (lambda p, f: [Placement(3.0, (f / "junk.wav"), 1.0)], "not a readable voice file"),
])
def test_bad_cues_are_one_clear_error_and_no_files(media, tmp_path, change, message):
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "junk.wav").write_bytes(b"RIFF not really a wave file" * 10)
    with pytest.raises(InputError, match=message) as error:
        mix(media["programme"], change(media["placements"], tmp_path), media["duration"], MixSettings(),
            out / "stem.wav", out / "mix.wav", DIALOGUE)
    assert "\n" not in str(error.value)
    assert leftovers(out) == []


@pytest.mark.parametrize("name, message", [("gone.wav", "programme sound missing"),
                                           ("junk.wav", "not a readable sound file")])
def test_a_missing_or_broken_programme_is_an_error_and_no_files(media, tmp_path, name, message):
    (tmp_path / "junk.wav").write_bytes(b"\x00garbage" * 100)
    out = tmp_path / "out"
    with pytest.raises(InputError, match=message):
        mix(tmp_path / name, media["placements"], media["duration"], MixSettings(), out / "stem.wav", out / "mix.wav")
    assert not out.exists() or leftovers(out) == []


def test_a_cue_running_past_the_end_is_cut_with_a_warning(media, tmp_path):
    last = media["placements"][0]
    late = Placement(media["duration"] - 0.5, last.path, last.seconds)
    report = mix(media["programme"], [late], media["duration"], MixSettings(), tmp_path / "s.wav", tmp_path / "m.wav")
    assert any("past the end" in w for w in report.warnings)
    assert len(decode(tmp_path / "s.wav", 1)) == round(media["duration"] * RATE)


# ---------------------------------------------------------------- tempo

def test_tempo_speeds_speech_up_by_the_factor(media, tmp_path):
    source = media["placements"][2].path
    before = len(decode(source, 1)) / RATE
    seconds = tempo(source, 1.25, tmp_path / "fast.wav")
    after = len(decode(tmp_path / "fast.wav", 1)) / RATE
    assert seconds == pytest.approx(after, abs=1e-3)
    assert after == pytest.approx(before / 1.25, rel=0.02)
    assert tempo(source, 1.0, tmp_path / "same.wav") == pytest.approx(before, rel=0.005)


def test_tempo_refuses_a_factor_out_of_bounds_and_a_missing_file(media, tmp_path):
    with pytest.raises(InputError, match="outside 1.0 to 1.25"):
        tempo(media["placements"][0].path, 1.4, tmp_path / "x.wav")
    with pytest.raises(InputError, match="voice file missing"):
        tempo(tmp_path / "none.wav", 1.1, tmp_path / "x.wav")
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------- the described media

CUES = [TextCue(7.0, 8.69, "남자가 방으로 들어온다."), TextCue(19.0, 21.2, "A man & a dog <wait>.")]


def srt_cues(path: Path, stream: str = "s:0") -> list[tuple[float, float, str]]:
    text = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-map", f"0:{stream}",
                           "-f", "srt", "-"], capture_output=True, text=True, check=True).stdout
    cues = []
    for block in text.strip().split("\n\n"):
        lines = block.splitlines()
        start, end = (sum(float(x) * m for x, m in zip(t.replace(",", ".").split(":"), (3600, 60, 1)))
                      for t in lines[1].split(" --> "))
        cues.append((start, end, "\n".join(lines[2:])))
    return cues


def video_md5(path: Path) -> str:
    return subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-map", "0:v", "-c", "copy",
                           "-f", "md5", "-"], capture_output=True, text=True, check=True).stdout.strip()


def lag_samples(reference: np.ndarray, other: np.ndarray, start: float = 6.5, seconds: float = 4.0,
                span: int = 2400) -> int:
    """How many samples late `other` is against `reference` (mono) around the first cue (0: in time)."""
    a = seg(reference, start, start + seconds)
    first = round(start * RATE)
    b = other[first - span:first + len(a) + span]
    return int(np.argmax(correlate(b, a, mode="valid", method="fft"))) - span


def assert_in_time_with_the_video(path: Path, reference: np.ndarray, stream: int) -> None:
    """The audio stream `stream`, decoded, lines up with `reference` where the player puts it.

    A decoder hands over every sample from the stream's first timestamp; the video may start
    later (Matroska: the AAC priming shifts all tracks, rounded to its 1 ms clock), so the
    reference's first sample belongs (video start - audio start) into the decoded track.
    """
    streams = probe(path)["streams"]
    video = next(s for s in streams if s["codec_type"] == "video")
    audio = streams[stream]
    expected = (float(video["start_time"]) - float(audio["start_time"])) * RATE
    track = decode(path, 1, f"{stream}")[:, 0]
    lag = lag_samples(reference, track)
    print(f"{path.suffix} stream {stream}: {lag} samples late, {expected:.0f} expected")
    assert abs(lag - expected) <= 0.001 * RATE + 2


@pytest.fixture(scope="module")
def ad_mp4(media, mixed, tmp_path_factory):
    target = tmp_path_factory.mktemp("mp4") / "drama.ad.mp4"
    assert write_ad_mp4(media["video"], mixed["mix"], CUES, "ko", target) == []
    return target


def test_the_ad_mp4_has_the_tracks_in_order_with_their_tags(media, ad_mp4):
    streams = probe(ad_mp4)["streams"]
    assert [(s["codec_type"], s["codec_name"]) for s in streams] == [
        ("video", "h264"), ("audio", "aac"), ("audio", "aac"), ("subtitle", "mov_text")]
    video, original, ad, text = streams
    assert original["tags"]["language"] == "eng" and original["disposition"]["default"] == 1
    assert original["disposition"]["descriptions"] == 0
    assert ad["tags"]["language"] == "kor" and ad["tags"]["handler_name"] == "화면해설 (Audio description, Korean)"
    assert ad["disposition"]["descriptions"] == 1 and ad["disposition"]["visual_impaired"] == 1
    assert ad["disposition"]["default"] == 0 and ad["channels"] == 2 and ad["sample_rate"] == "48000"
    assert text["tags"]["language"] == "kor" and text["disposition"]["descriptions"] == 1
    assert "화면해설" in text["tags"]["handler_name"]


def test_the_ad_mp4_keeps_the_video_and_the_durations(media, ad_mp4):
    source = probe(media["video"])
    out = probe(ad_mp4)
    duration = float(source["format"]["duration"])
    assert video_md5(ad_mp4) == video_md5(media["video"])
    assert out["streams"][0]["nb_frames"] == source["streams"][0]["nb_frames"]
    for stream in out["streams"][:3]:
        assert abs(float(stream["duration"]) - duration) <= 0.05, stream["codec_type"]  # a frame, an AAC frame
    assert abs(float(out["format"]["duration"]) - duration) <= 0.05


def test_the_ad_mp4_text_track_reads_back(ad_mp4):
    cues = srt_cues(ad_mp4)
    assert [c[2] for c in cues] == [c.text for c in CUES]
    for (start, end, _), cue in zip(cues, CUES):
        assert start == pytest.approx(cue.start, abs=0.002) and end == pytest.approx(cue.end, abs=0.002)


def test_the_ad_track_is_the_mix_in_time(media, mixed, ad_mp4):
    reference = decode(mixed["mix"], 1)[:, 0]
    track = decode(ad_mp4, 1, "a:1")[:, 0]
    assert abs(len(track) - len(reference)) <= 1024
    assert abs(lag_samples(reference, track)) <= 2
    assert_in_time_with_the_video(ad_mp4, reference, 2)
    n = min(len(track), len(reference))
    # AAC at 192 kb/s on noise: what comes back is the mix, 20 dB or more above the coding noise.
    assert level_db(reference[:n]) - level_db(track[:n] - reference[:n]) > 20
    # The original sound is copied untouched.
    assert np.array_equal(decode(ad_mp4, 2, "a:0"), decode(media["video"], 2, "a:0"))


def test_ad_default_makes_the_described_track_the_default(media, mixed, tmp_path):
    target = tmp_path / "default.mp4"
    write_ad_mp4(media["video"], mixed["mix"], CUES, "en", target, ad_default=True)
    _, original, ad, _ = probe(target)["streams"]
    assert ad["disposition"]["default"] == 1 and original["disposition"]["default"] == 0
    assert ad["tags"]["language"] == "eng" and ad["tags"]["handler_name"] == "Audio description (English)"


def test_a_video_without_sound_gets_the_mix_as_its_only_track(media, tmp_path):
    silent_video = tmp_path / "mute.mp4"
    ffmpeg("-i", str(media["video"]), "-an", "-c", "copy", str(silent_video))
    report, stem, mixed = run_mix(media, tmp_path, programme=None, regions=None)
    target = tmp_path / "mute.ad.mp4"
    write_ad_mp4(silent_video, mixed, CUES, "en", target)
    streams = probe(target)["streams"]
    assert [s["codec_type"] for s in streams] == ["video", "audio", "subtitle"]
    assert streams[1]["disposition"]["descriptions"] == 1 and streams[1]["disposition"]["default"] == 1
    assert abs(float(streams[1]["duration"]) - media["duration"]) <= 0.05


def test_the_ad_mkv_carries_webvtt(media, mixed, tmp_path):
    target = tmp_path / "drama.ad.mkv"
    write_ad_mkv(media["video"], mixed["mix"], CUES, "en", target)
    info = probe(target)
    streams = info["streams"]
    assert [(s["codec_type"], s["codec_name"]) for s in streams] == [
        ("video", "h264"), ("audio", "aac"), ("audio", "aac"), ("subtitle", "webvtt")]
    video, original, ad, text = streams
    assert ad["tags"]["language"] == "eng" and ad["tags"]["title"] == "Audio description (English)"
    assert ad["disposition"]["visual_impaired"] == 1 and ad["disposition"]["default"] == 0
    assert original["disposition"]["default"] == 1
    assert text["tags"]["language"] == "eng" and text["tags"]["title"] == "Audio description text (English)"
    assert video_md5(target) == video_md5(media["video"])
    # Matroska shifts every track by the same small amount (the AAC priming); times are relative to the video.
    offset = float(video["start_time"])
    cues = srt_cues(target)
    assert [c[2] for c in cues] == [c.text for c in CUES]
    for (start, end, _), cue in zip(cues, CUES):
        assert start - offset == pytest.approx(cue.start, abs=0.002)
        assert end - offset == pytest.approx(cue.end, abs=0.002)
    assert_in_time_with_the_video(target, decode(mixed["mix"], 1)[:, 0], 2)
    assert abs(float(info["format"]["duration"]) - media["duration"]) <= 0.05


def test_the_m4a_is_the_mix_with_a_language_tag(media, mixed, tmp_path):
    target = tmp_path / "drama.ad-mix.m4a"
    write_m4a(mixed["mix"], target, "ko")
    (stream,) = probe(target)["streams"]
    assert stream["codec_name"] == "aac" and stream["tags"]["language"] == "kor"
    assert stream["disposition"]["descriptions"] == 1
    assert abs(float(stream["duration"]) - media["duration"]) <= 0.05
    assert abs(lufs(decode(target, 2)) - (-23.0)) <= 0.5


def test_an_m4a_mix_is_copied_into_the_mp4_not_encoded_again(media, mixed, tmp_path):
    m4a = tmp_path / "mix.m4a"
    write_m4a(mixed["mix"], m4a, "en")
    target = tmp_path / "copied.ad.mp4"
    write_ad_mp4(media["video"], m4a, CUES, "en", target)

    def packets(path: Path, stream: str) -> str:
        return subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-map", stream, "-c", "copy",
                               "-f", "md5", "-"], capture_output=True, text=True, check=True).stdout
    assert packets(target, "0:a:1") == packets(m4a, "0:a:0")
    ad = probe(target)["streams"][2]
    assert ad["disposition"]["descriptions"] == 1 and ad["disposition"]["default"] == 0
    assert_in_time_with_the_video(target, decode(mixed["mix"], 1)[:, 0], 2)


def test_muxing_refuses_a_missing_mix_and_leaves_nothing(media, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(InputError, match="described mix missing"):
        write_ad_mp4(media["video"], tmp_path / "none.wav", CUES, "ko", out / "x.ad.mp4")
    with pytest.raises(InputError, match="described mix missing"):
        write_m4a(tmp_path / "none.wav", out / "x.m4a", "ko")
    assert leftovers(out) == []


def test_the_sources_own_subtitles_stay_in_mkv_and_are_named_when_mp4_cannot_take_them(media, mixed, tmp_path):
    srt = tmp_path / "own.srt"
    srt.write_text("1\n00:00:01,000 --> 00:00:03,000\n자막이다.\n", encoding="utf-8")
    source = tmp_path / "with-subs.mkv"
    ffmpeg("-i", str(media["video"]), "-i", str(srt), "-map", "0", "-map", "1", "-c", "copy",
           "-metadata:s:s:0", "language=kor", str(source))
    mkv = tmp_path / "x.ad.mkv"
    assert write_ad_mkv(source, mixed["mix"], CUES, "ko", mkv) == []
    streams = probe(mkv)["streams"]
    texts = [s for s in streams if s["codec_type"] == "subtitle"]
    assert [(s["codec_name"], s["tags"]["language"]) for s in texts] == [("webvtt", "kor"), ("subrip", "kor")]
    offset = float(streams[0]["start_time"])  # Matroska's shift of every track, as above
    ((start, end, text),) = srt_cues(mkv, "s:1")
    assert (start - offset, end - offset, text) == (pytest.approx(1.0, abs=0.002), pytest.approx(3.0, abs=0.002),
                                                    "자막이다.")
    mp4 = tmp_path / "x.ad.mp4"
    (warning,) = write_ad_mp4(source, mixed["mix"], CUES, "ko", mp4)
    assert "1 subtitle track of the source (subrip)" in warning and "--container mkv" in warning
    assert [s["codec_name"] for s in probe(mp4)["streams"] if s["codec_type"] == "subtitle"] == ["mov_text"]
