"""The described mix of a surround programme, and 24-bit output.

The programmes are made here, one sine per channel at a frequency of its own (the LFE at 60 Hz),
with a louder "dialogue" tone in the centre during the speech regions; the voice is a 1 kHz tone,
a frequency no channel of the programme has. So an FFT per channel tells where the voice went,
and the ratio of a channel's level in the mix (less the voice, which is the stem, in the centre)
to its level in the programme, window by window, is the gain the mix gave that channel there.

Loudness is read with the code's own meter (`measure`, ffmpeg's ebur128) and, for the 5.1 mix,
with pyloudnorm as well, which weights L, R, C, Ls, Rs by BS.1770 (the surrounds +1.5 dB) and is
handed the five full-range channels: the LFE is not part of the measure.
"""

from __future__ import annotations

import json
import math
import subprocess
import wave
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest

from conftest import ffmpeg
from videodesc.errors import InputError
from videodesc.render.loudness import measure
from videodesc.render.mix import SURROUND, MixSettings, Placement, build_stem, mix
from videodesc.render.mux import TextCue, write_ad_mp4, write_m4a

RATE = 48000
DURATION = 20.0
FREQ = {"FL": 300.0, "FR": 400.0, "FC": 500.0, "LFE": 60.0, "BL": 700.0, "BR": 800.0, "SL": 1300.0, "SR": 1500.0}
SIDE_FREQ = {"SL": 700.0, "SR": 800.0}  # in 5.1(side) the surrounds are SL/SR
VOICE_HZ = 1000.0
DIALOGUE_HZ = 2000.0
DIALOGUE = [(1.0, 4.5), (10.5, 14.0)]
CUES = [6.0, 16.0]  # each 2 s of voice
CUE_SECONDS = 2.0
INSIDE = [(6.05, 7.95), (16.05, 17.95)]                # fully ducked
OUTSIDE = [(0.3, 5.6), (8.4, 15.6), (18.4, 19.7)]      # clear of the ducks and their 0.25 s ramps
LAYOUTS_51 = ["5.1", "5.1(side)"]


# ---------------------------------------------------------------- media made for the tests

def probe_audio(path: Path) -> list[dict]:
    """ffprobe's audio streams of `path`."""
    out = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return [s for s in json.loads(out)["streams"] if s["codec_type"] == "audio"]


def decode(path: Path, stream: str = "a:0") -> np.ndarray:
    """Samples of an audio stream as float64, shape (n, its own channels, in ffmpeg's order)."""
    channels = int(subprocess.run(["ffprobe", "-v", "error", "-select_streams", stream, "-show_entries",
                                   "stream=channels", "-of", "csv=p=0", str(path)],
                                  capture_output=True, text=True, check=True).stdout.strip())
    raw = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-map", f"0:{stream}",
                          "-ar", str(RATE), "-f", "f64le", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype="<f8").reshape(-1, channels)


def write_layout(path: Path, samples: np.ndarray, layout: str, codec: str = "pcm_s16le") -> Path:
    """Float samples (n, channels) as a 48 kHz WAV with `layout` in its channel mask."""
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "f32le", "-ar", str(RATE), "-ch_layout", layout,
                    "-i", "-", "-c:a", codec, str(path)], input=samples.astype("<f4").tobytes(), check=True)
    return path


def channel_names(layout: str) -> tuple[str, ...]:
    return {"4.0": ("FL", "FR", "FC", "BC")}.get(layout) or SURROUND[layout]


def programme(layout: str, dialogue: bool = True) -> np.ndarray:
    """A sine per channel (0.05 amplitude; the LFE 0.2), and in the centre a 0.2 dialogue tone
    during the speech regions."""
    t = np.arange(round(DURATION * RATE)) / RATE
    columns = []
    for name in channel_names(layout):
        freq = (SIDE_FREQ if layout == "5.1(side)" else {}).get(name) or FREQ.get(name, 1700.0)
        column = (0.2 if name == "LFE" else 0.05) * np.sin(2 * np.pi * freq * t)
        if name == "FC" and dialogue:
            for a, b in DIALOGUE:
                inside = (t >= a) & (t < b)
                column[inside] += 0.2 * np.sin(2 * np.pi * DIALOGUE_HZ * t[inside])
        columns.append(column)
    return np.stack(columns, axis=1)


def tone_wav(path: Path, seconds: float = CUE_SECONDS, amplitude: float = 0.1, freq: float = VOICE_HZ,
             fade: float = 0.02) -> Path:
    """What the TTS hands the mixer (48 kHz mono 16-bit WAV): a tone burst with short fades."""
    t = np.arange(round(seconds * RATE)) / RATE
    ramp = np.clip(np.minimum(t, seconds - t) / fade, 0, 1) if fade else np.ones_like(t)
    samples = amplitude * ramp * np.sin(2 * np.pi * freq * t)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(np.round(np.clip(samples, -1, 32767 / 32768) * 32768).astype("<i2").tobytes())
    return path


@pytest.fixture(scope="module")
def voice(tmp_path_factory) -> list[Placement]:
    path = tone_wav(tmp_path_factory.mktemp("voice") / "cue.wav")
    return [Placement(start, path, CUE_SECONDS) for start in CUES]


def run_mix(folder: Path, source: Path, placements: list[Placement], settings: MixSettings = MixSettings(),
            regions=DIALOGUE, name: str = "mix"):
    stem, mixed = folder / f"{name}-stem.wav", folder / f"{name}.wav"
    report = mix(source, placements, DURATION, settings, stem, mixed, regions)
    return report, stem, mixed


@pytest.fixture(scope="module", params=LAYOUTS_51)
def surround(request, tmp_path_factory, voice) -> dict:
    """A 5.1 programme (back or side surrounds) mixed with the default settings."""
    layout = request.param
    folder = tmp_path_factory.mktemp("surround")
    source = write_layout(folder / "programme.wav", programme(layout), layout)
    report, stem, mixed = run_mix(folder, source, voice)
    return {"layout": layout, "folder": folder, "source": source, "report": report, "stem": stem, "mix": mixed}


# ---------------------------------------------------------------- measures

def seg(x: np.ndarray, start: float, end: float) -> np.ndarray:
    return x[round(start * RATE):round(end * RATE)]


def level_db(x: np.ndarray) -> float:
    return 10 * math.log10(float(np.mean(np.square(x))) + 1e-30)


def tone_db(x: np.ndarray, freq: float) -> float:
    """The amplitude (dBFS) of the `freq` component of `x`, read off a Hann-windowed FFT."""
    window = np.hanning(len(x))
    spectrum = np.abs(np.fft.rfft(x * window)) * 2 / window.sum()
    k = int(round(freq * len(x) / RATE))
    return 20 * math.log10(float(spectrum[k - 2:k + 3].max()) + 1e-30)


def programme_in_mix(mixed: np.ndarray, stem: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """The mix less the voice: the stem is the voice exactly as it is in the centre channel."""
    ducked = mixed.copy()
    ducked[:, names.index("FC")] -= stem[:len(ducked), 0]
    return ducked


def channel_gains(original: np.ndarray, ducked: np.ndarray, names: tuple[str, ...],
                  spans: list[tuple[float, float]]) -> dict[str, list[float]]:
    """Per channel, the gain (dB) the mix gave the programme in each span."""
    return {name: [level_db(seg(ducked[:, i], a, b)) - level_db(seg(original[:, i], a, b)) for a, b in spans]
            for i, name in enumerate(names)}


def bs1770(x: np.ndarray, names: tuple[str, ...]) -> float:
    """pyloudnorm's BS.1770 loudness of a 5.1 signal: L, R, C, Ls, Rs (weighted 1, 1, 1, 1.41, 1.41), no LFE."""
    order = [names.index(n) for n in ("FL", "FR", "FC")] + [i for i, n in enumerate(names) if n[0] in "BS"]
    return pyloudnorm.Meter(RATE).integrated_loudness(x[:, order])


# ---------------------------------------------------------------- 5.1 keeps its layout

def test_a_5_1_programme_gives_a_5_1_mix_in_its_own_layout(surround):
    report = surround["report"]
    stream = probe_audio(surround["mix"])[0]
    print(f"{surround['layout']}: {stream['channels']} channels, {stream['channel_layout']}; {report.warnings}")
    assert stream["channels"] == 6 and stream["channel_layout"] == surround["layout"]
    assert report.channels == 6 and report.layout == surround["layout"]
    assert not report.warnings
    assert probe_audio(surround["stem"])[0]["channels"] == 1, "the stem is the voice alone, mono"


def test_the_voice_is_in_the_centre_channel_only(surround):
    names = SURROUND[surround["layout"]]
    mixed = decode(surround["mix"])
    for a, b in INSIDE:
        levels = {name: tone_db(seg(mixed[:, i], a, b), VOICE_HZ) for i, name in enumerate(names)}
        print(f"1 kHz during the cue at {a:.0f} s: " + ", ".join(f"{n} {v:.1f}" for n, v in levels.items()))
        assert levels["FC"] > -40, "the voice is heard in the centre"
        for name, value in levels.items():
            if name != "FC":
                assert value < levels["FC"] - 90, f"no voice in {name}"
    # And the centre holds the voice exactly as the stem has it.
    stem = decode(surround["stem"])
    a, b = INSIDE[0]
    assert tone_db(seg(mixed[:, names.index("FC")], a, b), VOICE_HZ) == pytest.approx(
        tone_db(seg(stem[:, 0], a, b), VOICE_HZ), abs=0.05)


@pytest.mark.parametrize("duck_db, side_duck_db", [(-10.0, None), (-12.0, -3.0)], ids=["default", "set"])
def test_the_centre_is_ducked_by_duck_db_and_the_other_channels_lighter(surround, voice, tmp_path, duck_db,
                                                                         side_duck_db):
    names = SURROUND[surround["layout"]]
    if side_duck_db is None:
        report, stem, mixed = surround["report"], surround["stem"], surround["mix"]
    else:
        report, stem, mixed = run_mix(tmp_path, surround["source"], voice,
                                      MixSettings(duck_db=duck_db, side_duck_db=side_duck_db))
    side = duck_db / 2 if side_duck_db is None else side_duck_db
    assert np.allclose(report.duck_windows, [(start, start + CUE_SECONDS) for start in CUES], atol=1e-3)

    original = decode(surround["source"])
    ducked = programme_in_mix(decode(mixed), decode(stem), names)
    outside = channel_gains(original, ducked, names, OUTSIDE)
    inside = channel_gains(original, ducked, names, INSIDE)
    for name in names:
        base = float(np.mean(outside[name]))
        depths = [value - base for value in inside[name]]
        print(f"{name}: outside {np.round(outside[name], 2)} dB, ducked by {np.round(depths, 2)} dB")
        assert max(outside[name]) - min(outside[name]) < 0.1, "outside the ducks only the normalising gain"
        assert base == pytest.approx(report.normalisation_gain_db, abs=0.1)
        for depth in depths:
            assert depth == pytest.approx(duck_db if name == "FC" else side, abs=0.5), name


def test_the_5_1_mix_meets_the_loudness_target(surround):
    report, target = surround["report"], MixSettings().target
    names = SURROUND[surround["layout"]]
    measured = measure(surround["mix"])
    independent = bs1770(decode(surround["mix"]), names)
    print(f"{surround['layout']}: {measured.integrated} LUFS, {measured.true_peak} dBTP (ffmpeg); "
          f"{independent:.2f} LUFS (pyloudnorm, 5 channels); limited {report.limited}")
    assert abs(measured.integrated - target.integrated) <= 0.5
    assert measured.true_peak <= target.true_peak
    assert abs(independent - target.integrated) <= 0.5, "the surrounds weighted +1.5 dB, the LFE left out"


def test_the_voice_in_the_centre_sits_at_the_dialogue_level(surround):
    """Matched by BS.1770: the voice alone in the centre (weight 1) measures as the mono voice does,
    with no +3 dB as on the two channels of a stereo mix; so the stem's loudness is the voice's in
    the mix, and it equals the loudness of the programme (as mixed) within the speech regions."""
    report = surround["report"]
    names = SURROUND[surround["layout"]]
    stem = decode(surround["stem"])
    ducked = programme_in_mix(decode(surround["mix"]), stem, names)
    dialogue = bs1770(np.concatenate([seg(ducked, a, b) for a, b in DIALOGUE]), names)
    voice_in_mix = pyloudnorm.Meter(RATE).integrated_loudness(stem[:, 0])
    print(f"{surround['layout']}: dialogue {dialogue:.2f} LUFS, voice {voice_in_mix:.2f} LUFS in the mix "
          f"(stem); dialogue level {report.dialogue_level}, programme {report.programme.integrated}, "
          f"voice gain {report.voice_gain_db:+.2f} dB, normalisation {report.normalisation_gain_db:+.2f} dB")
    assert report.dialogue_level != report.programme.integrated, "measured within the speech regions"
    assert abs(voice_in_mix - dialogue) <= 0.5


# ---------------------------------------------------------------- other layouts

def test_a_7_1_programme_keeps_7_1_with_the_voice_in_the_centre(voice, tmp_path):
    names = SURROUND["7.1"]
    source = write_layout(tmp_path / "programme.wav", programme("7.1"), "7.1")
    report, stem, mixed = run_mix(tmp_path, source, voice)
    stream = probe_audio(mixed)[0]
    assert (stream["channels"], stream["channel_layout"]) == (8, "7.1")
    assert (report.channels, report.layout) == (8, "7.1") and not report.warnings

    audio = decode(mixed)
    a, b = INSIDE[0]
    voice_db = {name: tone_db(seg(audio[:, i], a, b), VOICE_HZ) for i, name in enumerate(names)}
    assert all(value < voice_db["FC"] - 90 for name, value in voice_db.items() if name != "FC"), voice_db
    original = decode(source)
    ducked = programme_in_mix(audio, decode(stem), names)
    outside, inside = channel_gains(original, ducked, names, OUTSIDE), channel_gains(original, ducked, names, INSIDE)
    depths = {name: float(np.mean(inside[name]) - np.mean(outside[name])) for name in names}
    print("7.1 ducks: " + ", ".join(f"{n} {v:.2f}" for n, v in depths.items()))
    for name, depth in depths.items():
        assert depth == pytest.approx(-10.0 if name == "FC" else -5.0, abs=0.5), name
    assert abs(measure(mixed).integrated - (-23.0)) <= 0.5


def test_a_4_0_programme_is_downmixed_to_stereo(voice, tmp_path):
    source = write_layout(tmp_path / "programme.wav", programme("4.0"), "4.0")
    report, _, mixed = run_mix(tmp_path, source, voice)
    assert probe_audio(mixed)[0]["channels"] == 2 and (report.channels, report.layout) == (2, "stereo")
    assert any("4 channels (4.0) were downmixed to stereo" in w for w in report.warnings), report.warnings


def test_six_channels_without_a_channel_mask_are_taken_for_5_1(voice, tmp_path):
    """A WAV as Python's wave module writes it: no channel mask, so ffmpeg (and the mix) assume 5.1."""
    source = tmp_path / "unmasked.wav"
    with wave.open(str(source), "wb") as out:
        out.setnchannels(6)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(np.round(programme("5.1") * 32768).astype("<i2").tobytes())
    assert "channel_layout" not in probe_audio(source)[0]
    report, _, mixed = run_mix(tmp_path, source, voice)
    assert probe_audio(mixed)[0]["channel_layout"] == "5.1" and report.layout == "5.1" and not report.warnings
    a, b = INSIDE[0]
    audio = decode(mixed)
    assert tone_db(seg(audio[:, 2], a, b), VOICE_HZ) > tone_db(seg(audio[:, 0], a, b), VOICE_HZ) + 90


def test_stereo_asked_for_downmixes_5_1_without_a_warning(surround, voice, tmp_path):
    report, _, mixed = run_mix(tmp_path, surround["source"], voice, MixSettings(stereo=True))
    assert probe_audio(mixed)[0]["channels"] == 2 and report.layout == "stereo" and not report.warnings


# ---------------------------------------------------------------- 24-bit

def test_24_bit_output_is_pcm_s24le_and_16_bit_the_default(surround, voice, tmp_path):
    report, stem, mixed = run_mix(tmp_path, surround["source"], voice, MixSettings(sample_bits=24))
    for path in (mixed, stem):
        stream = probe_audio(path)[0]
        assert (stream["codec_name"], stream["bits_per_sample"], stream["sample_fmt"]) == ("pcm_s24le", 24, "s32")
    assert probe_audio(mixed)[0]["channel_layout"] == surround["layout"]
    assert abs(measure(mixed).integrated - (-23.0)) <= 0.5
    for path in (surround["mix"], surround["stem"]):
        assert probe_audio(path)[0]["codec_name"] == "pcm_s16le"
    assert MixSettings(sample_bits=24).as_key() != MixSettings().as_key()


def test_24_bit_holds_a_difference_that_16_bit_loses(voice, tmp_path):
    """Two 24-bit programmes that differ by a -110 dBFS tone (under 16-bit's step, 2^-15 = -90 dBFS):
    the difference of their 24-bit mixes is that tone at the mix's gain, sample by sample; the
    difference of their 16-bit mixes is rounding noise louder than the tone."""
    t = np.arange(round(DURATION * RATE)) / RATE
    detail = 10 ** (-110 / 20) * np.sin(2 * np.pi * 3000 * t)
    base = programme("5.1", dialogue=False)
    finer = base.copy()
    finer[:, 0] += detail
    plain = write_layout(tmp_path / "a.wav", base, "5.1", "pcm_s24le")
    detailed = write_layout(tmp_path / "b.wav", finer, "5.1", "pcm_s24le")

    a, b = OUTSIDE[1]  # no duck there, and no voice in FL anywhere
    for bits in (24, 16):
        settings = MixSettings(sample_bits=bits)
        ra, _, ma = run_mix(tmp_path, plain, voice, settings, regions=None, name=f"a{bits}")
        rb, _, mb = run_mix(tmp_path, detailed, voice, settings, regions=None, name=f"b{bits}")
        assert ra.normalisation_gain_db == rb.normalisation_gain_db and not ra.limited
        difference = decode(mb)[:, 0] - decode(ma)[:, 0]
        expected = detail * 10 ** (ra.normalisation_gain_db / 20)  # the detail as the mix has it
        detail_db = level_db(seg(expected, a, b))
        residual_db = level_db(seg(difference - expected, a, b))
        print(f"{bits}-bit: the detail at {detail_db:.1f} dB RMS, what the mixes' difference misses of it "
              f"{residual_db:.1f} dB RMS")
        if bits == 24:
            assert residual_db < detail_db - 20, "24-bit keeps the -110 dBFS detail"
        else:
            assert residual_db > detail_db, "16-bit cannot (so the test tells the depths apart)"


def test_a_24_bit_stem_is_exact_to_its_step_and_clips_at_its_own_full_scale(tmp_path):
    # Peaks at 16-bit full scale both ways (+-32767).
    cue = tone_wav(tmp_path / "loud.wav", seconds=1.0, amplitude=32767 / 32768, fade=0.0)
    placements = [Placement(1.0, cue, 1.0)]
    source = decode(cue)[:, 0]
    a = RATE

    errors = {}
    for bits in (24, 16):
        target = tmp_path / f"stem{bits}.wav"
        assert not build_stem(placements, 3.0, target, gain_db=-6.0, sample_bits=bits)
        stream = probe_audio(target)[0]
        assert (stream["codec_name"], stream["channels"]) == (f"pcm_s{bits}le", 1)
        stem = decode(target)[:, 0]
        errors[bits] = float(np.max(np.abs(stem[a:a + len(source)] - source * 10 ** (-6 / 20))))
    print(f"largest error at -6 dB: 24-bit {errors[24]:.2e}, 16-bit {errors[16]:.2e}")
    assert errors[24] <= 2 ** -24 * 1.01, "rounded to the nearest 24-bit step"
    assert errors[16] > 100 * errors[24]

    # A hair louder than 16-bit full scale clips in 16 bits, not in 24.
    hair = 20 * math.log10((1 - 2 ** -20) / (32767 / 32768))
    peaks = int(np.count_nonzero(np.abs(source) * 10 ** (hair / 20) > 32767 / 32768))
    assert peaks > 0
    assert build_stem(placements, 3.0, tmp_path / "hair16.wav", gain_db=hair, sample_bits=16) == [
        f"{peaks} samples of the voice stem clipped"]
    assert not build_stem(placements, 3.0, tmp_path / "hair24.wav", gain_db=hair, sample_bits=24)
    # 12 dB over, a 24-bit stem clips too, at its own largest sample.
    over = int(np.count_nonzero(np.abs(source) * 10 ** (12 / 20) > 1 - 2 ** -23))
    assert build_stem(placements, 3.0, tmp_path / "over24.wav", gain_db=12.0, sample_bits=24) == [
        f"{over} samples of the voice stem clipped"]
    assert float(np.max(decode(tmp_path / "over24.wav"))) == 1 - 2 ** -23


def test_sample_bits_must_be_16_or_24(voice, tmp_path):
    with pytest.raises(InputError, match="16- or 24-bit"):
        run_mix(tmp_path, None, voice, MixSettings(sample_bits=32))
    with pytest.raises(InputError, match="16- or 24-bit"):
        build_stem(voice, DURATION, tmp_path / "stem.wav", sample_bits=8)


# ---------------------------------------------------------------- AAC: the M4A and the MP4's described track

def test_a_5_1_mix_becomes_a_5_1_m4a_and_described_mp4_track(surround, voice, tmp_path):
    """From a 24-bit 5.1 mix (back or side surrounds): AAC in the plain 5.1 layout, 576 kb/s, the
    voice still in the centre and each surround's own sine in the back channels."""
    _, _, mixed = run_mix(tmp_path, surround["source"], voice, MixSettings(sample_bits=24))
    m4a = tmp_path / "mix.m4a"
    write_m4a(mixed, m4a, "en")
    stream = probe_audio(m4a)[0]
    print(f"m4a from {surround['layout']}: {stream['codec_name']}, {stream['channels']} channels, "
          f"{stream.get('channel_layout')}, {int(stream['bit_rate']) // 1000} kb/s")
    assert (stream["codec_name"], stream["channels"], stream.get("channel_layout")) == ("aac", 6, "5.1")
    assert 500_000 < int(stream["bit_rate"]) < 650_000  # 96 kb/s a channel
    audio = decode(m4a)
    a, b = INSIDE[0]
    voice_db = [tone_db(seg(audio[:, i], a, b), VOICE_HZ) for i in range(6)]
    assert voice_db[2] > max(voice_db[:2] + voice_db[3:]) + 40, voice_db  # AAC's noise, not a voice
    for i, freq in ((4, 700.0), (5, 800.0)):
        assert tone_db(seg(audio[:, i], 0.5, 5.5), freq) > -35, "the surrounds carried to BL/BR"

    video = tmp_path / "video.mp4"
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=s=160x90:r=25:d={DURATION}", "-f", "lavfi", "-i",
           f"sine=f=440:sample_rate=48000:d={DURATION}", "-c:v", "libx264", "-preset", "ultrafast",
           "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "2", str(video))
    cues = [TextCue(start, start + CUE_SECONDS, "A door opens.") for start in CUES]
    for source in (mixed, m4a):  # encoded here, or the M4A copied
        target = tmp_path / f"described-{source.suffix[1:]}.mp4"
        assert not write_ad_mp4(video, source, cues, "en", target)
        described = probe_audio(target)[1]
        assert (described["codec_name"], described["channels"], described.get("channel_layout")) == ("aac", 6, "5.1")
        assert described["disposition"]["descriptions"] == 1
