"""Extended description: pauses of the picture and the sound, measured on real files made by ffmpeg."""

from __future__ import annotations

import json
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from conftest import ffmpeg
from test_render import ffprobe, read_wav, run, source  # noqa: F401  (source: the clip with speech and a sign)
from videodesc.records import load_script, load_timeline
from videodesc.render.extend import Freeze, extend_audio, extend_video, shift, unshift

W, H, FPS = 160, 120, 25


def test_shift_adds_the_pauses_at_or_before_a_time_and_unshift_undoes_it():
    freezes = [Freeze(2.0, 1.5), Freeze(5.0, 0.5)]
    assert shift(0.0, freezes) == 0.0
    assert shift(1.999, freezes) == pytest.approx(1.999)
    assert shift(2.0, freezes) == pytest.approx(3.5)  # what starts at the pause starts after it
    assert shift(4.0, freezes) == pytest.approx(5.5)
    assert shift(5.0, freezes) == pytest.approx(7.0)
    assert shift(9.0, [Freeze(5.0, 0.5), Freeze(2.0, 1.5)]) == pytest.approx(11.0)  # order does not matter
    assert shift(3.0, []) == 3.0
    for t in (0.0, 1.0, 2.0, 4.0, 4.999, 5.0, 8.0):
        assert unshift(shift(t, freezes), freezes) == pytest.approx(t)
    assert unshift(2.7, freezes) == pytest.approx(2.0)  # inside the first pause: its point


def frames(path: Path) -> np.ndarray:
    """Every frame of the first video stream, as grey levels (n, H, W)."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v:0", "-f", "rawvideo",
                          "-pix_fmt", "gray", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, H, W).astype(np.float64)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """4 s of testsrc2 (every frame different: a moving pattern and a frame counter), 25 fps, with a tone."""
    path = tmp_path_factory.mktemp("extend") / "clip.mp4"
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=s={W}x{H}:r={FPS}:d=4", "-f", "lavfi", "-i", "sine=f=440:d=4:r=48000",
           "-c:v", "libx264", "-crf", "10", "-pix_fmt", "yuv420p", "-c:a", "aac", str(path))
    return path


def test_extend_video_holds_the_frame_at_each_pause_and_lengthens_by_their_sum(clip, tmp_path):
    freezes = [Freeze(1.0, 0.6), Freeze(2.52, 0.4)]
    out = tmp_path / "paused.mkv"
    extend_video(clip, freezes, out, 4.0)

    info = ffprobe(out)
    assert [s["codec_type"] for s in info["streams"]] == ["video"]
    stream = info["streams"][0]
    assert (stream["codec_name"], stream["width"], stream["height"], stream["pix_fmt"]) == ("h264", W, H, "yuv420p")
    assert stream["r_frame_rate"] == f"{FPS}/1"
    assert abs(float(info["format"]["duration"]) - (4.0 + 1.0)) <= 1 / FPS

    # Which source frame each output frame shows (the nearest one: the encoding is lossy).
    src, got = frames(clip), frames(out)
    assert len(got) == 100 + 15 + 10
    shown = [int(np.argmin(((src - frame) ** 2).mean(axis=(1, 2)))) for frame in got]
    expected = list(range(25)) + [24] * 15 + list(range(25, 63)) + [62] * 10 + list(range(63, 100))
    assert shown == expected
    # The held frames are the same picture: as close to each other as a re-encoding allows, while
    # neighbouring frames of the source differ far more.
    held = got[25:40]
    spread = max(np.abs(frame - held[0]).mean() for frame in held)
    assert spread < 1.0 < np.abs(src[25] - src[24]).mean()


def test_extend_video_pauses_at_the_very_start_and_end(clip, tmp_path):
    out = tmp_path / "ends.mkv"
    extend_video(clip, [Freeze(0.0, 0.2), Freeze(4.0, 0.4)], out, 4.0)
    src, got = frames(clip), frames(out)
    shown = [int(np.argmin(((src - frame) ** 2).mean(axis=(1, 2)))) for frame in got]
    assert shown == [0] * 5 + list(range(100)) + [99] * 10


def write_wav(path: Path, data: np.ndarray, rate: int) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(data.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(data.astype("<i2").tobytes())


def read_all(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as w:
        rate, channels = w.getframerate(), w.getnchannels()
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, channels), rate


def test_extend_audio_inserts_silence_of_each_pause_at_its_time(tmp_path):
    rate = 44100
    rng = np.random.default_rng(1)
    data = rng.integers(1000, 20000, size=(2 * rate, 2))  # never silent
    write_wav(tmp_path / "in.wav", data, rate)
    extend_audio(tmp_path / "in.wav", [Freeze(1.0, 0.1), Freeze(0.5, 0.25)], tmp_path / "out.wav")
    out, out_rate = read_all(tmp_path / "out.wav")
    assert out_rate == rate and out.shape == (data.shape[0] + round(0.35 * rate), 2)
    a, b = round(0.5 * rate), round(0.25 * rate)
    c, d = round(1.0 * rate), round(0.1 * rate)
    assert np.array_equal(out[:a], data[:a])
    assert not out[a:a + b].any()
    assert np.array_equal(out[a + b:c + b], data[a:c])
    assert not out[c + b:c + b + d].any()
    assert np.array_equal(out[c + b + d:], data[c:])


def test_no_pauses_copies_the_sound_unchanged(tmp_path):
    data = np.arange(-500, 500).reshape(-1, 1)
    write_wav(tmp_path / "in.wav", data, 8000)
    extend_audio(tmp_path / "in.wav", [], tmp_path / "out.wav")
    out, rate = read_all(tmp_path / "out.wav")
    assert rate == 8000 and np.array_equal(out, data)


# End to end: describe the clip, make its first cue too long for its gap, render with --extended.

def stream_md5(path: Path, spec: str) -> str:
    return subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", spec, "-c", "copy", "-f", "md5", "-"],
                          capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture(scope="module")
def described(source, tmp_path_factory) -> Path:  # noqa: F811
    out = tmp_path_factory.mktemp("extend-e2e") / "plain"
    proc = run("describe", str(source), "-o", str(out), "--lang", "en", "--vision", "all", "--no-fluency",
               "--quiet")
    assert proc.returncode == 0, proc.stderr
    return out


LONG = ("A green road sign reads exit three in tall white letters, mounted high above the empty "
        "motorway on a grey steel gantry, under a pale and cloudless morning sky.")


@pytest.fixture(scope="module")
def extended(described, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("extend-e2e") / "extended"
    shutil.copytree(described, out)
    data = json.loads((out / "script.json").read_text())
    first = data["cues"][0]
    first["text"] = LONG
    first["extended"] = True
    first["candidates"] = [dict(first["candidates"][first["chosen"]], text=LONG)]  # nothing shorter to fall back on
    first["chosen"] = 0
    (out / "script.json").write_text(json.dumps(data))
    proc = run("render", str(out), "--quiet", "--extended")
    assert proc.returncode == 0, proc.stderr
    return out


def test_without_pauses_the_video_stream_is_copied(described, source):  # noqa: F811
    script = load_script((described / "script.json").read_text())
    assert "extended_pauses" not in script.provenance
    (mp4,) = described.glob("*.ad.mp4")
    assert stream_md5(mp4, "0:v:0") == stream_md5(source, "0:v:0")


def test_extended_description_lengthens_the_video_by_the_pauses_and_shifts_later_cues(described, extended,
                                                                                        source):  # noqa: F811
    before = load_script((described / "script.json").read_text())
    after = load_script((extended / "script.json").read_text())
    timeline = load_timeline((extended / "timeline.json").read_text())
    pauses = [Freeze(at, seconds) for at, seconds in json.loads(after.provenance["extended_pauses"])]
    paused = sum(f.seconds for f in pauses)
    assert len(pauses) == 1 and paused > 0.5
    assert "extended description" in after.provenance
    assert len(after.cues) == len(before.cues) >= 2

    # The first cue is spoken whole, at its own pace, and the picture waits for it.
    first = after.cues[0]
    assert first.text == LONG and first.start == pytest.approx(before.cues[0].start, abs=1e-3)
    assert first.end == pytest.approx(pauses[0].at + paused, abs=1 / 25 + 1e-3)
    # Every later cue comes later by the pause.
    for old, new in zip(before.cues[1:], after.cues[1:]):
        assert new.start == pytest.approx(old.start + paused, abs=1e-3)
    vtt = (extended / "descriptions.vtt").read_text()
    second = after.cues[1].start
    stamp = f"{int(second // 3600):02d}:{int(second % 3600 // 60):02d}:{second % 60:06.3f}"
    assert f"\n{stamp} -->" in vtt

    # The picture and both sound tracks are longer than the source's by the pause.
    (mp4,) = extended.glob("*.ad.mp4")
    info, source_info = ffprobe(mp4), ffprobe(source)
    assert [s["codec_type"] for s in info["streams"]] == ["video", "audio", "audio", "subtitle"]
    source_duration = float(source_info["format"]["duration"])
    for stream in info["streams"][:3]:
        assert abs(float(stream["duration"]) - (source_duration + paused)) < 0.1, stream["codec_type"]
    assert info["streams"][1]["tags"].get("language") == "eng"
    assert info["streams"][2]["disposition"].get("descriptions") == 1
    # The source's own subtitles would be out of step after the pause: left out, and said so.
    assert "subtitle track was left out of the extended video" in (extended / "review.html").read_text()
    (m4a,) = extended.glob("*.ad-mix.m4a")
    assert abs(float(ffprobe(m4a)["format"]["duration"]) - (source_duration + paused)) < 0.1

    # The stem: the voice at the shifted times, silence in the shifted speech.
    (stem,) = extended.glob("*.ad-stem.wav")
    voice, rate = read_wav(stem)
    assert abs(len(voice) / rate - (source_duration + paused)) < 0.1
    for cue in after.cues:
        spoken = voice[int(cue.start * rate):int(cue.end * rate)]
        assert np.sqrt(np.mean(spoken ** 2)) > 10 ** (-50 / 20), cue.start
    for region in timeline.speech_regions:
        start, end = shift(region.start, pauses), shift(region.end, pauses)
        inside = voice[int(start * rate):int(end * rate)]
        assert inside.size == 0 or np.sqrt(np.mean(inside ** 2)) < 10 ** (-70 / 20), region
    # The original sound is silent during the pause and carries on after it.
    original = extended / "original.wav"
    ffmpeg("-i", str(mp4), "-map", "0:a:0", "-ac", "1", "-ar", "48000", str(original))
    sound, rate = read_wav(original)
    at = pauses[0].at
    assert np.sqrt(np.mean(sound[int((at + 0.05) * rate):int((at + paused - 0.05) * rate)] ** 2)) < 10 ** (-60 / 20)
    after = sound[int((at + paused + 0.05) * rate):int((at + paused + 0.5) * rate)]
    assert np.sqrt(np.mean(after ** 2)) > 10 ** (-50 / 20)


def test_rendering_an_extended_script_again_keeps_its_times(extended, tmp_path):
    out = tmp_path / "again"
    shutil.copytree(extended, out)
    first = load_script((out / "script.json").read_text())
    proc = run("render", str(out), "--quiet", "--extended")
    assert proc.returncode == 0, proc.stderr
    again = load_script((out / "script.json").read_text())
    assert [(c.start, c.end) for c in again.cues] == [(c.start, c.end) for c in first.cues]
    assert again.provenance["extended_pauses"] == first.provenance["extended_pauses"]
