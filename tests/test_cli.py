"""The `videodesc analyze` command as a user runs it: outputs, exit codes, errors, caching."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import LIBRIVOX, ffmpeg, video_with_audio
from videodesc.records import load_timeline
from videodesc.workfolder import LOCK_FILE  # the run's lock, not a stage's result


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "videodesc", *args], capture_output=True, text=True)


@pytest.fixture(scope="module")
def spoken_video(tmp_path_factory) -> Path:
    """Ten seconds of LibriVox speech with a pause, under a moving test pattern."""
    folder = tmp_path_factory.mktemp("spoken")
    wav = folder / "speech.wav"
    ffmpeg("-i", str(LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0880.wav"),
           "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono:d=3",
           "-i", str(LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0930.wav"),
           "-filter_complex", "[0:a][1:a][2:a]concat=n=3:v=0:a=1", "-ar", "16000", str(wav))
    return video_with_audio(wav, folder / "spoken.mp4")


def test_analyze_writes_every_output(spoken_video, tmp_path):
    out = tmp_path / "out"
    proc = run("analyze", str(spoken_video), "-o", str(out), "--lang", "en", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # --quiet: not a word from us or from the model runtimes
    timeline = load_timeline((out / "timeline.json").read_text())
    assert timeline.language == "en"
    assert timeline.shots and timeline.utterances and timeline.slots
    assert "young man" in " ".join(u.text for u in timeline.utterances).lower()
    for shot in timeline.shots:
        for keyframe in shot.keyframes:
            assert (out / keyframe.path).is_file()
    srt = (out / "dialogue.srt").read_text()
    vtt = (out / "dialogue.vtt").read_text()
    assert "young man" in srt.lower() and vtt.startswith("WEBVTT")
    report = (out / "report.html").read_text()
    assert "keyframes/" in report
    assert "faster-whisper" in timeline.provenance["asr"]
    # The source video is never modified.
    assert not list(spoken_video.parent.glob("spoken.mp4.*"))


def test_second_run_recomputes_nothing_and_force_recomputes(spoken_video, tmp_path):
    out = tmp_path / "out"
    first = run("analyze", str(spoken_video), "-o", str(out), "--lang", "en", "--json")
    assert first.returncode == 0, first.stderr
    work_files = {p: p.stat().st_mtime_ns for p in (out / "work").iterdir() if p.name != LOCK_FILE}
    events = lambda proc: [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]

    second = run("analyze", str(spoken_video), "-o", str(out), "--lang", "en", "--json")
    assert second.returncode == 0, second.stderr
    cached = {e["stage"] for e in events(second) if e.get("event") == "cached"}
    computed = {e["stage"] for e in events(second) if e.get("event") == "done"}
    assert {"shots", "audio", "vad", "asr"} <= cached
    assert not computed & {"shots", "audio", "vad", "asr"}
    assert {p: p.stat().st_mtime_ns for p in (out / "work").iterdir() if p.name != LOCK_FILE} == work_files

    forced = run("analyze", str(spoken_video), "-o", str(out), "--lang", "en", "--json", "--force")
    assert forced.returncode == 0, forced.stderr
    computed = {e["stage"] for e in events(forced) if e.get("event") == "done"}
    assert {"shots", "audio", "vad", "asr"} <= computed
    # Changing a slot option reuses every expensive stage but changes the slots.
    tighter = run("analyze", str(spoken_video), "-o", str(out), "--lang", "en", "--json", "--min-slot", "5")
    assert {"shots", "audio", "vad", "asr"} <= {e["stage"] for e in events(tighter) if e.get("event") == "cached"}
    assert all(s.duration >= 5 for s in load_timeline((out / "timeline.json").read_text()).slots)


def test_video_without_audio_is_analysed_with_a_warning(tmp_path):
    silent = tmp_path / "silent.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=320x180:r=25", "-t", "4", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(silent))
    out = tmp_path / "out"
    proc = run("analyze", str(silent), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "no audio" in proc.stderr
    timeline = load_timeline((out / "timeline.json").read_text())
    assert timeline.utterances == [] and len(timeline.slots) == 1
    assert timeline.slots[0].start == 0 and timeline.slots[0].end == pytest.approx(4.0, abs=0.05)
    assert any("no audio" in w for w in timeline.warnings)


def _bad_inputs(folder: Path) -> dict[str, tuple[Path, str]]:
    good = folder / "good.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=320x180:r=25", "-f", "lavfi", "-i", "sine=f=440",
           "-t", "20", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-movflags", "+faststart", str(good))
    truncated = folder / "truncated.mp4"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    text = folder / "notes.mp4"
    text.write_text("this is not a video\n" * 50)
    audio_only = folder / "speech.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=f=300", "-t", "3", "-c:a", "aac", str(audio_only))
    zero = folder / "zero.mp4"
    ffmpeg("-f", "lavfi", "-i", "color=c=red:s=64x64:r=25", "-frames:v", "0", str(zero))
    empty = folder / "empty.mp4"
    empty.write_bytes(b"")
    return {
        "missing": (folder / "nope.mp4", "no such file"),
        "empty": (empty, "empty file"),
        "not media": (text, "not a readable media file"),
        "truncated": (truncated, "truncated"),
        "audio only": (audio_only, "no video stream"),
        "zero duration": (zero, "zero duration"),
        "folder": (folder, "is a folder"),
    }


def test_bad_inputs_get_one_line_errors_exit_2_and_leave_nothing(tmp_path):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for name, (path, message) in _bad_inputs(inputs).items():
        out = tmp_path / f"out-{name.replace(' ', '_')}"
        proc = run("analyze", str(path), "-o", str(out))
        assert proc.returncode == 2, (name, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("videodesc: error:"), (name, proc.stderr)
        assert message in lines[0], (name, lines[0])
        assert "Traceback" not in proc.stderr
        assert not out.exists(), name


def test_unwritable_output_folder_is_refused(spoken_video, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for out, message in ((blocker / "out", "is a file"), (Path("/proc/videodesc-out"), "not writable")):
        proc = run("analyze", str(spoken_video), "-o", str(out))
        assert proc.returncode == 2, proc.stderr
        assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_missing_asr_model_folder_is_named(spoken_video, tmp_path):
    proc = run("analyze", str(spoken_video), "-o", str(tmp_path / "out"), "--asr-model", str(tmp_path / "large-v3"))
    assert proc.returncode == 2
    assert "--asr-model" in proc.stderr and "large-v3" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_user_asr_model_folder_goes_through_the_same_path(spoken_video, tmp_path):
    from videodesc.speech.models import default_whisper_model

    own_model = tmp_path / "my-whisper"
    own_model.symlink_to(default_whisper_model(), target_is_directory=True)
    out = tmp_path / "out"
    proc = run("analyze", str(spoken_video), "-o", str(out), "--asr-model", str(own_model), "--lang", "en", "--quiet")
    assert proc.returncode == 0, proc.stderr
    timeline = load_timeline((out / "timeline.json").read_text())
    assert "my-whisper" in timeline.provenance["asr"]
    assert "young man" in " ".join(u.text for u in timeline.utterances).lower()


def test_help_lists_the_options():
    proc = run("analyze", "--help")
    assert proc.returncode == 0
    for option in ("--lang", "--subtitles", "--asr-model", "--force", "-o"):
        assert option in proc.stdout


def test_korean_cp949_subtitles_replace_speech_recognition(spoken_video, tmp_path):
    srt = tmp_path / "dialogue.srt"
    srt.write_bytes(("1\n00:00:00,500 --> 00:00:02,000\n안녕하세요.\n\n"
                     "2\n00:00:03,000 --> 00:00:04,500\n{민수가 문을 열고 들어온다.}\n\n"
                     "3\n00:00:05,000 --> 00:00:06,000\n잘 지냈어?\n").encode("cp949"))
    out = tmp_path / "out"
    proc = run("analyze", str(spoken_video), "-o", str(out), "--subtitles", str(srt), "--quiet")
    assert proc.returncode == 0, proc.stderr
    timeline = load_timeline((out / "timeline.json").read_text())
    assert [u.text for u in timeline.utterances] == ["안녕하세요.", "잘 지냈어?"]
    assert all(u.source == "subtitle" for u in timeline.utterances)
    assert [r.text for r in timeline.references] == ["민수가 문을 열고 들어온다."]
    assert timeline.language == "ko"
    assert "asr" not in timeline.provenance
    assert "안녕하세요." in (out / "dialogue.srt").read_text(encoding="utf-8")


def test_a_file_name_starting_with_a_dash_is_a_file_not_an_option(spoken_video, tmp_path):
    (tmp_path / "-dash.mp4").write_bytes(spoken_video.read_bytes())
    for name in ("./-dash.mp4", "-dash.mp4"):
        out = tmp_path / f"out{len(name)}"
        args = ["analyze", "-o", str(out), "--vision", "off", "--lang", "en", "--quiet", "--", name]
        proc = subprocess.run([sys.executable, "-m", "videodesc", *args], capture_output=True, text=True, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert load_timeline((out / "timeline.json").read_text()).utterances


@pytest.mark.parametrize("args, said", [
    (["render", "OUT", "--duck", "nan"], "argument --duck: must be a level in dB from -60 to 0: nan"),
    (["render", "OUT", "--duck", "inf"], "argument --duck: must be a level in dB from -60 to 0: inf"),
    (["render", "OUT", "--duck", "100"], "argument --duck: must be a level in dB from -60 to 0: 100"),
    (["analyze", "V.mp4", "-o", "OUT", "--min-slot", "nan"], "argument --min-slot: must be a number of seconds"),
    (["analyze", "V.mp4", "-o", "OUT", "--pad-after", "inf"], "argument --pad-after: must be a number of seconds"),
])
def test_impossible_values_are_refused_before_any_work(args, said, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "videodesc", *args], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2 and said in proc.stderr, proc.stderr
    assert list(tmp_path.iterdir()) == []
