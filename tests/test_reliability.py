"""Faults a user meets: edited scripts with bad text or times, edits that `write` would overwrite,
two runs into one folder, what an interrupted run leaves, and errors in --json mode."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from processes import processes
from videodesc.records import dumps, load_script


def run(*args):
    return subprocess.run([sys.executable, "-m", "videodesc", *args], capture_output=True, text=True)


def one_line_error(proc, code: int = 2) -> str:
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("videodesc: error: ") and "Traceback" not in proc.stderr, lines
    return lines[0]


@pytest.fixture(scope="module")
def analysed(studio_clip, tmp_path_factory) -> Path:
    """The studio clip analysed (no vision: quick) and written; its script then gets one hand-made cue
    in its first slot, as a describer would add it."""
    out = tmp_path_factory.mktemp("reliability") / "out"
    for step in (["analyze", str(studio_clip), "-o", str(out), "--lang", "en", "--vision", "off"],
                 ["write", str(out), "--no-fluency"]):
        proc = run(*step, "--quiet")
        assert proc.returncode == 0, proc.stderr
    return out


def with_cue(out: Path, text: str = "A man in a suit stands at a lectern.", start: float | None = None,
             end: float | None = None) -> str:
    """script.json's text with one cue of `text` at the first slot (as a person would add it)."""
    from videodesc.records import Cue, load_timeline

    script = load_script((out / "script.json").read_text(encoding="utf-8"))
    slot = load_timeline((out / "timeline.json").read_text(encoding="utf-8")).slots[0]
    start = slot.start if start is None else start
    script.cues = [Cue(start=start, end=slot.end if end is None else end, text=text, lang="en", slot=0,
                       shots=[0], candidates=[], chosen=-1)]
    return dumps(script)


def copy_of(analysed: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(analysed, out)
    return out


# As JSON escapes in the file: all three are valid JSON, and none is text a voice or a subtitle can carry.
@pytest.mark.parametrize("escape, what", [("\\u0000", "U+0000"), ("\\u001b[2J", "U+001B"), ("\\ud800", "U+D800")])
def test_bad_text_in_an_edited_script_is_refused_in_one_line(analysed, tmp_path, escape, what):
    out = copy_of(analysed, tmp_path)
    (out / "script.json").write_text(with_cue(out, "A door HERE opens.").replace("HERE", escape), encoding="utf-8")
    line = one_line_error(run("render", str(out)))
    assert what in line and "script.json" in line
    assert not list(out.glob("*.ad.mp4")) and not (out / "descriptions.vtt").read_text().count("-->")


def test_impossible_times_are_refused(analysed, tmp_path):
    out = copy_of(analysed, tmp_path)
    (out / "script.json").write_text(with_cue(out, end=0.1, start=1.5), encoding="utf-8")
    assert "before it starts" in one_line_error(run("render", str(out)))
    text = with_cue(out).replace('"end": ', '"end": Infinity, "was_end": ', 1)
    (out / "script.json").write_text(text, encoding="utf-8")
    assert "not a finite number" in one_line_error(run("render", str(out)))
    assert not list(out.glob("*.ad.mp4"))


def test_write_keeps_a_hand_edited_script_and_says_so(analysed, tmp_path):
    out = copy_of(analysed, tmp_path)
    # Unchanged since write wrote it: a second write makes no copy.
    proc = run("write", str(out), "--no-fluency")
    assert proc.returncode == 0, proc.stderr
    assert not list(out.glob("script.edited-*.json"))
    edited = with_cue(out)
    (out / "script.json").write_text(edited, encoding="utf-8")
    proc = run("write", str(out), "--no-fluency")
    assert proc.returncode == 0, proc.stderr
    (backup,) = out.glob("script.edited-*.json")
    assert backup.read_text(encoding="utf-8") == edited and backup.name in proc.stderr
    assert "A man in a suit" not in (out / "script.json").read_text(encoding="utf-8")


def test_a_rendered_script_is_not_taken_for_an_edit_and_speech_files_are_copies(analysed, tmp_path):
    out = copy_of(analysed, tmp_path)
    (out / "script.json").write_text(with_cue(out), encoding="utf-8")
    proc = run("render", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    # A speech file edited in place must not change the cached speech a later render reuses.
    (spoken,) = (out / "speech").glob("*.wav")
    assert os.stat(spoken).st_nlink == 1
    # What render wrote is videodesc's own: writing again keeps no copy... of render's script.
    assert run("write", str(out), "--no-fluency").returncode == 0
    assert not list(out.glob("script.edited-*.json"))


def test_a_second_run_into_the_same_folder_is_refused_and_leftovers_are_removed(analysed, tmp_path):
    from videodesc.workfolder import exclusive

    out = copy_of(analysed, tmp_path)
    with exclusive(out):
        line = one_line_error(run("write", str(out), "--no-fluency"))
        assert "another videodesc run" in line and str(os.getpid()) in line
    # What a killed run leaves: a hidden .part file, a .part folder, a mix's scratch folder.
    (out / ".video.ad.mp4.k2j3h4.part").write_bytes(b"\0" * 200_000)
    (out / "work" / ".speech.x1y2.part").mkdir()
    (out / "work" / ".speech.x1y2.part" / "0001.wav").write_bytes(b"\0" * 1000)
    (out / "work" / "render").mkdir(parents=True, exist_ok=True)
    (out / "work" / "render" / ".mix-abc").mkdir()
    proc = run("write", str(out), "--no-fluency")
    assert proc.returncode == 0, proc.stderr
    assert "removed 0.2 MB of temporary files" in proc.stderr
    assert not [p for pattern in (".*.part", ".mix-*") for p in out.rglob(pattern)]


def test_json_mode_ends_an_error_with_a_json_line(tmp_path):
    proc = run("render", str(tmp_path / "nothing"), "--json")
    assert proc.returncode == 2
    event = json.loads(proc.stderr.strip().splitlines()[-1])
    assert event["event"] == "error" and event["exit_code"] == 2 and "holds no timeline.json" in event["message"]
    assert not (tmp_path / "nothing").exists(), "a failed run leaves no folder it made"


def test_a_folder_that_is_no_adapter_is_refused_before_any_model_loads(analysed, tmp_path):
    out = copy_of(analysed, tmp_path)
    before = (out / "script.json").read_bytes()
    not_an_adapter = tmp_path / "adapter"
    not_an_adapter.mkdir()
    (not_an_adapter / "adapter_config.json").write_text('{"peft_type": "PREFIX_TUNING"}')
    proc = run("write", str(out), "--adapter", str(not_an_adapter), "--json")
    assert proc.returncode == 2, proc.stderr
    events = [json.loads(line) for line in proc.stderr.splitlines()]
    assert "not a LoRA adapter" in events[-1]["message"]
    assert not [e for e in events if e.get("event") == "start"], "no stage (voice, scorers) began"
    assert (out / "script.json").read_bytes() == before


def test_a_video_name_too_long_for_the_outputs_is_refused_before_any_work(studio_clip, tmp_path):
    long_name = tmp_path / ("a" * 236 + ".mp4")
    shutil.copyfile(studio_clip, long_name)  # not a link: the outputs are named after the file linked to
    out = tmp_path / "out"
    line = one_line_error(run("describe", str(long_name), "-o", str(out), "--no-fluency"))
    assert "too long" in line and "rename the video" in line
    assert not (out / "timeline.json").exists() and not (out / "work").exists()


def test_a_video_where_the_analysis_writes_is_refused(studio_clip, tmp_path):
    out = tmp_path / "out"
    (out / "work").mkdir(parents=True)
    video = out / "work" / "clip.mp4"
    shutil.copyfile(studio_clip, video)
    before = video.read_bytes()
    line = one_line_error(run("analyze", str(video), "-o", str(out)))
    assert "inside the output folder" in line
    assert video.read_bytes() == before


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("room_kb", [100, 2500, 4500, 6000])
def test_a_full_disk_is_one_clear_error_and_leaves_nothing_half_written(analysed, tmp_path, room_kb):
    """render into a folder on a small tmpfs: with less room than its outputs need it is refused
    before any work; when it runs out of space while writing it says the disk is full (exit 2), or
    it succeeds; never an internal error, a .part file or a changed script."""
    disk = tmp_path / "disk"
    disk.mkdir()
    size = folder_bytes(analysed) + 4096 * len(list(analysed.rglob("*"))) + room_kb * 1024
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(disk)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        out = disk / "out"
        shutil.copytree(analysed, out)
        script = with_cue(out)
        (out / "script.json").write_text(script, encoding="utf-8")
        before = folder_bytes(out)
        proc = run("render", str(out), "--quiet")
        assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
        if room_kb <= 2500:  # less than the sound WAVs take (4 MB): refused before any work
            line = one_line_error(proc)
            assert "not enough free space" in line and "need about 4.0 MB" in line, line
            assert folder_bytes(out) == before
        elif room_kb == 4500:  # more than the estimate, less than the scratch files need: found while writing
            assert "disk is full" in one_line_error(proc)
        if proc.returncode != 0:
            assert (out / "script.json").read_text(encoding="utf-8") == script
            assert not list(out.glob("*.ad.mp4"))
        assert not [p for pattern in (".*.part", ".mix-*", ".mux-*") for p in out.rglob(pattern)]
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def children_of(pid: int) -> list[str]:
    """Command lines of the processes whose parent is `pid`."""
    return [p.command for p in processes() if p.parent == pid]


def alive_with(text: str) -> list[str]:
    """Command lines of running processes that mention `text` (an output folder)."""
    return [p.command for p in processes() if text in p.command and p.state != "Z"]


@pytest.fixture(scope="module")
def long_analysed(tmp_path_factory) -> Path:
    """Four minutes of a tiny test picture and pink noise, one subtitle line, analysed without vision
    and written, with one cue added: its render keeps ffmpeg busy for seconds at a time."""
    from conftest import ffmpeg

    folder = tmp_path_factory.mktemp("long")
    video = folder / "long.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=160x90:r=10:d=240", "-f", "lavfi", "-i",
           "anoisesrc=d=240:c=pink:a=0.05:r=48000", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
           "-c:a", "aac", "-ac", "2", "-shortest", str(video))
    subtitles = folder / "long.srt"
    subtitles.write_text("1\n00:00:10,000 --> 00:00:12,000\nHello there.\n", encoding="utf-8")
    out = folder / "out"
    for step in (["analyze", str(video), "-o", str(out), "--lang", "en", "--vision", "off", "--subtitles",
                  str(subtitles)], ["write", str(out), "--no-fluency"]):
        proc = run(*step, "--quiet")
        assert proc.returncode == 0, proc.stderr
    (out / "script.json").write_text(with_cue(out), encoding="utf-8")
    return out


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_render_stopped_while_ffmpeg_runs_leaves_no_process_and_the_rerun_finishes(long_analysed, tmp_path, sig):
    out = copy_of(long_analysed, tmp_path)
    script = (out / "script.json").read_text(encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "videodesc", "render", str(out), "--quiet"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not any("ffmpeg" in command for command in children_of(process.pid)):
        assert process.poll() is None and time.monotonic() < deadline, "render ended before ffmpeg was seen"
        time.sleep(0.01)
    process.send_signal(sig)
    code = process.wait(timeout=30)
    time.sleep(0.5)  # the kernel's SIGKILL to the orphaned ffmpeg
    assert alive_with(str(out)) == [], "a child went on running"
    if sig == signal.SIGTERM:
        assert code == 143 and process.stderr.read().strip() == "videodesc: terminated"
        # Unwound: every temporary file removed on the way out.
        assert not [p for pattern in (".*.part", ".mix-*", ".mux-*") for p in out.rglob(pattern)]
    else:
        assert code == -signal.SIGKILL
    assert (out / "script.json").read_text(encoding="utf-8") == script and not list(out.glob("*.ad.mp4"))
    proc = run("render", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert list(out.glob("*.ad.mp4")) and not [p for p in out.rglob(".*.part")]


def test_subtitle_lines_past_the_end_of_the_video_are_left_out_with_a_warning(studio_clip, tmp_path):
    from videodesc.records import load_timeline

    subtitles = tmp_path / "other.srt"
    subtitles.write_text("1\n00:00:04,000 --> 00:00:06,000\nHello there.\n\n"
                         "2\n00:08:20,000 --> 00:08:22,000\nFrom another episode.\n", encoding="utf-8")
    out = tmp_path / "out"
    proc = run("analyze", str(studio_clip), "-o", str(out), "--vision", "off", "--subtitles", str(subtitles))
    assert proc.returncode == 0, proc.stderr
    assert "1 subtitle cue starts after the video's end" in proc.stderr and "500.0 s" in proc.stderr
    timeline = load_timeline((out / "timeline.json").read_text(encoding="utf-8"))
    assert [u.text for u in timeline.utterances] == ["Hello there."]
    assert any("after the video's end" in w for w in timeline.warnings)


def test_a_picture_that_ends_early_is_warned_about(tmp_path):
    from conftest import ffmpeg

    # The container lasts as long as its sound (6 s); the picture stops 0.8 s before.
    video = tmp_path / "short-picture.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=160x90:r=25:d=5.2", "-f", "lavfi", "-i", "sine=f=440:d=6:r=48000",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(video))
    proc = run("analyze", str(video), "-o", str(tmp_path / "out"), "--vision", "off", "--lang", "en")
    assert proc.returncode == 0, proc.stderr
    assert "ends 0.8 s before its duration" in proc.stderr, proc.stderr
    # Rendered, the described track lasts as long as the original sound, and the picture stays the
    # source's own: the output's tracks differ in length exactly as the source's do.
    for step in (["write", str(tmp_path / "out"), "--no-fluency"], ["render", str(tmp_path / "out")]):
        proc = run(*step, "--quiet")
        assert proc.returncode == 0, proc.stderr
    probed = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,duration", "-of", "json",
                             str(tmp_path / "out" / "short-picture.ad.mp4")], capture_output=True, text=True)
    lengths = [(s["codec_type"], float(s["duration"])) for s in json.loads(probed.stdout)["streams"]]
    assert [kind for kind, _ in lengths] == ["video", "audio", "audio"], lengths
    assert abs(lengths[0][1] - 5.2) < 0.05 and all(abs(seconds - 6) < 0.05 for _, seconds in lengths[1:]), lengths
    whole = tmp_path / "whole.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=160x90:r=25:d=6", "-f", "lavfi", "-i", "sine=f=440:d=6:r=48000",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(whole))
    proc = run("analyze", str(whole), "-o", str(tmp_path / "out2"), "--vision", "off", "--lang", "en")
    assert proc.returncode == 0 and "before its duration" not in proc.stderr, proc.stderr


def test_a_render_killed_while_piper_speaks_leaves_no_voice_process_and_its_folder_goes_next_run(
        long_analysed, tmp_path):
    import tempfile

    from videodesc import children

    out = copy_of(long_analysed, tmp_path)
    process = subprocess.Popen([sys.executable, "-m", "videodesc", "render", str(out), "--quiet"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not (voices := [p.pid for p in processes() if p.parent == process.pid and "-m piper" in p.command]):
        assert process.poll() is None and time.monotonic() < deadline, "render ended before Piper was seen"
        time.sleep(0.01)
    process.kill()
    process.wait(timeout=30)
    time.sleep(0.5)
    assert not [p for p in processes() if p.pid in voices and p.state != "Z"], "Piper went on running"
    left = list(Path(tempfile.gettempdir()).glob(f"videodesc-piper-{process.pid}-*"))
    assert left, "SIGKILL runs no clean-up: the scratch folder is there until a later run"
    stale = time.time() - children.STALE_AFTER_S - 60
    for folder in left:
        os.utime(folder, (stale, stale))
    proc = run("render", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert not [folder for folder in left if folder.exists()], "the next run removed the dead run's folder"


def test_describe_stopped_at_stage_boundaries_resumes_each_time_and_leaves_nothing_behind(studio_clip, tmp_path):
    """describe, stopped by a signal as one stage ends or another begins, then run again, and again:
    each run exits as the signal says, leaves no process, .part file or half-written output, and
    the next one takes up the finished stages from the work folder."""
    out = tmp_path / "out"
    command = [sys.executable, "-m", "videodesc", "describe", str(studio_clip), "-o", str(out), "--lang", "en",
               "--vision", "off", "--no-fluency", "--json"]
    stops = [(("shots", "done"), signal.SIGINT, 130), (("asr", "done"), signal.SIGTERM, 143),
             (("write", "start"), signal.SIGINT, 130), (("speak", "done"), signal.SIGTERM, 143),
             (("mux", "start"), signal.SIGKILL, -signal.SIGKILL)]
    seen_cached: set[str] = set()
    for (stage, event), sig, code in stops:
        # A shell's background job starts with SIGINT ignored, and Python keeps it so: as typed Ctrl-C
        # reaches it, the run gets SIGINT's default back.
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        events = []
        for line in process.stderr:
            events.append(json.loads(line))
            if (events[-1].get("stage"), events[-1].get("event")) == (stage, event):
                process.send_signal(sig)
                break
        else:
            pytest.fail(f"describe ended ({process.wait()}) before {stage} {event}: {events[-1:]}")
        events += [json.loads(line) for line in process.stderr if line.startswith("{")]
        assert process.wait(timeout=60) == code, (stage, events[-3:])
        seen_cached |= {e["stage"] for e in events if e.get("event") == "cached"}
        time.sleep(0.3)
        assert alive_with(str(out)) == [], f"a child went on running after {sig.name} at {stage} {event}"
        if sig != signal.SIGKILL:
            assert not [p for pattern in (".*.part", ".mix-*", ".mux-*") for p in out.rglob(pattern)]
        assert not list(out.glob("*.ad.mp4")), "no output published by a stopped run"
        if (out / "script.json").exists():
            load_script((out / "script.json").read_text(encoding="utf-8"))  # whole, never half-written
    assert {"shots", "asr"} <= seen_cached, "the reruns took up the finished analysis"
    proc = subprocess.run(command, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-500:]
    assert list(out.glob("*.ad.mp4")) and (out / "descriptions.vtt").is_file()
    assert not [p for pattern in (".*.part", ".mix-*", ".mux-*") for p in out.rglob(pattern)]


def test_a_source_changed_after_analysis_is_refused_until_analysed_again(analysed, studio_clip, tmp_path):
    out = copy_of(analysed, tmp_path)
    video = tmp_path / "clip.mp4"
    shutil.copyfile(studio_clip, video)
    for name in ("timeline.json", "script.json"):  # the analysis of this copy of the clip
        data = json.loads((out / name).read_text(encoding="utf-8"))
        data["media"]["path"] = str(video)
        (out / name).write_text(json.dumps(data), encoding="utf-8")
    (out / "script.json").write_text(with_cue(out), encoding="utf-8")
    from conftest import ffmpeg

    ffmpeg("-i", str(studio_clip), "-t", "6", "-c", "copy", str(tmp_path / "shorter.mp4"))
    os.replace(tmp_path / "shorter.mp4", video)  # the editor exported a new cut under the same name
    line = one_line_error(run("render", str(out), "--quiet"))
    assert "has changed since it was analysed" in line and "analyze" in line
    assert not list(out.glob("*.ad.mp4"))
    proc = run("analyze", str(video), "-o", str(out), "--lang", "en", "--vision", "off", "--quiet")
    assert proc.returncode == 0, proc.stderr
    timeline = json.loads((out / "timeline.json").read_text(encoding="utf-8"))
    assert abs(timeline["media"]["duration"] - 6) < 0.2, "the new cut was analysed, not the cache of the old"


def test_a_read_only_output_folder_is_refused_before_any_work(analysed, studio_clip, tmp_path):
    out = copy_of(analysed, tmp_path)
    before = folder_bytes(out)
    mounted = subprocess.run(["mount", "--bind", "-o", "ro", str(out), str(out)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot bind-mount read-only here: {mounted.stderr.strip()}")
    try:
        if os.access(out, os.W_OK) and subprocess.run(["touch", str(out / "probe")]).returncode == 0:
            pytest.skip("the bind mount is not read-only here")
        for step in (["write", str(out), "--no-fluency"], ["render", str(out)],
                     ["analyze", str(studio_clip), "-o", str(out)]):
            line = one_line_error(run(*step, "--quiet"))
            assert "not writable" in line and "Read-only file system" in line, (step, line)
        assert folder_bytes(out) == before
    finally:
        subprocess.run(["umount", "-l", str(out)], capture_output=True)
