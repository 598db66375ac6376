"""`videodesc render` and `describe` on a real clip, measured on the files they write."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import LIBRIVOX, ffmpeg
from test_text import render as draw_text
from videodesc.records import dumps, load_script, load_timeline


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "videodesc", *args], capture_output=True, text=True, env=env)


def ffprobe(path: Path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


@pytest.fixture(scope="module")
def source(samples, tmp_path_factory) -> Path:
    """16 s: a sign reading EXIT 3 (0-8 s), then the astronaut (8-16 s); LibriVox speech at 3-7 s and 11-15 s;
    the source's own English subtitles as a mov_text track."""
    folder = tmp_path_factory.mktemp("render-src")
    own_subtitles = folder / "own.srt"
    own_subtitles.write_text("1\n00:00:03,000 --> 00:00:07,000\nSpoken words.\n", encoding="utf-8")
    sign = folder / "sign.png"
    cv2.imwrite(str(sign), draw_text(samples / "coffee.png", [("EXIT 3", (160, 120), 96, True)]))
    speech = LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0880.wav"
    video = folder / "source.mp4"
    ffmpeg("-loop", "1", "-t", "8", "-i", str(sign), "-loop", "1", "-t", "8", "-i", str(samples / "astronaut.png"),
           "-i", str(speech), "-i", str(own_subtitles), "-filter_complex",
           "[0:v]scale=1280:720,setsar=1,fps=25[a];[1:v]scale=720:720,pad=1280:720:280:0,setsar=1,fps=25[b];"
           "[a][b]concat=n=2:v=1:a=0[v];"
           "[2:a]atrim=0:4,asetpts=PTS-STARTPTS,aresample=48000,pan=stereo|c0=c0|c1=c0,asplit[s1][s2];"
           "[s1]adelay=3000|3000[d1];[s2]adelay=11000|11000[d2];"
           "anoisesrc=d=16:c=pink:a=0.02:r=48000,pan=stereo|c0=c0|c1=c0[bed];"
           "[bed][d1][d2]amix=inputs=3:normalize=0:duration=first[mix]",
           "-map", "[v]", "-map", "[mix]", "-map", "3:s", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac",
           "-b:a", "160k", "-c:s", "mov_text", "-t", "16", "-metadata:s:a:0", "language=eng",
           "-metadata:s:s:0", "language=eng", str(video))
    return video


@pytest.fixture(scope="module")
def described(source, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("render") / "out"
    proc = run("describe", str(source), "-o", str(out), "--lang", "en", "--vision", "all", "--no-fluency", "--quiet")
    assert proc.returncode == 0, proc.stderr
    return out


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as w:
        rate, channels = w.getframerate(), w.getnchannels()
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float64) / 32768
    return samples.reshape(-1, channels).mean(axis=1), rate


def test_the_described_mp4_has_the_tracks_players_expect(described, source):
    (mp4,) = described.glob("*.ad.mp4")
    info = ffprobe(mp4)
    kinds = [s["codec_type"] for s in info["streams"]]
    assert kinds == ["video", "audio", "audio", "subtitle", "subtitle"]
    video, original, ad, text, own_text = info["streams"]
    source_info = ffprobe(source)
    assert video["codec_name"] == "h264" and int(video["nb_frames"]) == int(source_info["streams"][0]["nb_frames"])
    assert original["tags"].get("language") == "eng" and original["disposition"]["default"] == 1
    assert ad["tags"].get("language") == "eng" and ad["disposition"].get("descriptions") == 1
    assert ad["disposition"]["default"] == 0 and "description" in ad["tags"].get("handler_name", "").lower()
    assert text["codec_name"] == "mov_text" and text["disposition"].get("descriptions") == 1
    assert own_text["codec_name"] == "mov_text" and own_text["disposition"].get("descriptions") == 0
    source_duration = float(source_info["format"]["duration"])
    for stream in (video, original, ad):
        assert abs(float(stream["duration"]) - source_duration) < 0.1, stream["codec_type"]


def test_the_mix_meets_the_loudness_target_and_the_voice_stays_out_of_speech(described):
    import pyloudnorm

    script = load_script((described / "script.json").read_text())
    timeline = load_timeline((described / "timeline.json").read_text())
    assert script.cues, "the sign and the astronaut give something to say"
    (m4a,) = described.glob("*.ad-mix.m4a")
    wav = described / "mix-check.wav"
    ffmpeg("-i", str(m4a), "-c:a", "pcm_s16le", str(wav))
    with wave.open(str(wav)) as w:
        rate, channels = w.getframerate(), w.getnchannels()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float64).reshape(-1, channels)
    loudness = pyloudnorm.Meter(rate).integrated_loudness(data / 32768)
    assert abs(loudness - (-23.0)) <= 0.5
    (stem,) = described.glob("*.ad-stem.wav")
    voice, rate = read_wav(stem)
    for region in timeline.speech_regions:
        inside = voice[int(region.start * rate):int(region.end * rate)]
        assert inside.size == 0 or np.sqrt(np.mean(inside ** 2)) < 10 ** (-70 / 20), region
    for cue in script.cues:
        assert cue.audio and (described / cue.audio).is_file() and cue.spoken_duration > 0.3
        spoken = voice[int(cue.start * rate):int(cue.end * rate)]
        assert np.sqrt(np.mean(spoken ** 2)) > 10 ** (-50 / 20)
    vtt = (described / "descriptions.vtt").read_text()
    assert vtt.count("-->") == len(script.cues)
    # Every slot is either spoken or said to be silent, with the reason (write's or render's).
    assert {c.slot for c in script.cues} | {s.slot for s in script.skipped} == set(range(len(timeline.slots)))


def test_editing_one_cue_speaks_only_that_cue_again(described, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(described, out)
    script = load_script((out / "script.json").read_text())
    before = set((out / "work" / "speech").rglob("*.wav"))
    script.cues[0].text = "A sign reads exit three."
    (out / "script.json").write_text(dumps(script))
    proc = run("render", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    new = set((out / "work" / "speech").rglob("*.wav")) - before
    assert len([p for p in new if ".x" not in p.name]) == 1  # one new synthesis (a sped-up copy aside)
    again = load_script((out / "script.json").read_text())
    assert again.cues[0].text == "A sign reads exit three."


@pytest.mark.parametrize("break_it, message", [
    (lambda s: s.update(schema_version=99), "schema version"),
    (lambda s: s["cues"][0].update(text="  "), "has no text"),
    (lambda s: s["cues"][0].update(start=999.0), "outside the video"),
    (lambda s: s["media"].update(path="/nowhere/video.mp4"), "is missing"),
])
def test_a_broken_script_is_one_clear_error_and_no_media(described, tmp_path, break_it, message):
    out = tmp_path / "out"
    shutil.copytree(described, out, ignore=shutil.ignore_patterns("*.ad.mp4", "*.ad-mix.m4a", "*.ad-stem.wav"))
    data = json.loads((out / "script.json").read_text())
    break_it(data)
    (out / "script.json").write_text(json.dumps(data))
    proc = run("render", str(out))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert message in proc.stderr.strip().splitlines()[-1]
    assert not list(out.glob("*.ad.mp4")) and not list(out.glob("*.ad-mix.m4a"))


def test_render_without_a_script_says_to_write_first(tmp_path):
    (tmp_path / "timeline.json").write_text("{}")
    proc = run("render", str(tmp_path))
    assert proc.returncode == 2 and "videodesc write" in proc.stderr


def test_a_late_failure_leaves_the_previous_outputs_untouched(described, tmp_path, monkeypatch):
    """Muxing fails after the stem, the speech and the M4A were made: none of them is published and
    the outputs of the previous render stay byte for byte (a full disk at the last step, say)."""
    from videodesc import rendering
    from videodesc.errors import InputError
    from videodesc.progress import Reporter

    out = tmp_path / "out"
    shutil.copytree(described, out)
    script = load_script((out / "script.json").read_text())
    script.cues[0].text = "A sign reads exit three."
    (out / "script.json").write_text(dumps(script))
    published = {p: p.read_bytes() for p in out.iterdir() if p.is_file()}
    published |= {p: p.read_bytes() for p in (out / "speech").iterdir()}

    def failing_writer(source, m4a, cues, language, target, ad_default):
        assert m4a.is_file() and m4a.stat().st_size > 0  # the M4A was made, unpublished
        Path(target).write_bytes(b"half a file")
        raise InputError(f"{target}: No space left on device")

    monkeypatch.setattr(rendering, "write_ad_mp4", failing_writer)
    with pytest.raises(InputError, match="No space left"):
        rendering.render(out, rendering.RenderOptions(), Reporter())
    now = {p: p.read_bytes() for p in out.iterdir() if p.is_file()}
    now |= {p: p.read_bytes() for p in (out / "speech").iterdir()}
    assert now == published
    assert not [p for p in out.rglob("*.part") if "work" not in p.parts]
