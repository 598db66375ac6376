"""`videodesc batch`: the inputs it finds, a local batch and a Ray batch of real clips and bad files,
resuming, a step's process killed mid-task, and the same outputs from both runners."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ffmpeg
from processes import processes
from videodesc.batch.inputs import collect
from videodesc.batch.local import ResourcePool, default_jobs
from videodesc.batch.steps import GIB, StepNeeds
from videodesc.errors import InputError

OPTIONS = ["--lang", "en", "--no-fluency"]  # the vision of describe's default, without the fluency model


def run(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "videodesc", *args], capture_output=True, text=True, **kwargs)


# --- what a batch is made of ----------------------------------------------------------------------


def test_folders_lists_and_names(tmp_path):
    for path in ("season1/ep01.mp4", "season2/ep01.mp4", "season2/ep02.MKV", "season2/.hidden/x.mp4",
                 "season2/notes.txt", "special.mov", "work.mp4"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(b"x")
    videos = collect([tmp_path / "season1", tmp_path / "season2", tmp_path / "work.mp4"], reserved=("work",))
    assert [v.video.relative_to(tmp_path).as_posix() for v in videos] == [
        "season1/ep01.mp4", "season2/ep01.mp4", "season2/ep02.MKV", "work.mp4"]
    assert [v.name for v in videos][:3] == ["season1-ep01", "season2-ep01", "ep02"]
    assert videos[3].name == f"{tmp_path.name}-work", "OUTDIR/work is the batch's own"
    # A rerun keeps the names it gave, even when a new video would change them.
    again = collect([tmp_path / "season2", tmp_path / "special.mov"], {str(videos[1].video): "season2-ep01"})
    assert [v.name for v in again] == ["season2-ep01", "ep02", "special"]

    listing = tmp_path / "list.txt"
    listing.write_text("# the specials first\nspecial.mov\n\nseason1/ep01.mp4\nspecial.mov\n", encoding="utf-8")
    assert [v.name for v in collect([listing])] == ["special", "ep01"], "each video once"
    table = tmp_path / "list.csv"
    table.write_bytes("path,lang,subtitles,name\nseason1/ep01.mp4,ko,season2/notes.txt,제1회 특집\n".encode("cp949"))
    [video] = collect([table])
    assert video.name == "제1회_특집" and video.overrides == {"lang": "ko", "subtitles": str(tmp_path / "season2/notes.txt")}

    for text, message in (("path,speed\nspecial.mov,2\n", "unknown column 'speed'"),
                          ("file\nspecial.mov\n", "needs a header row with a 'path' column"),
                          ("path,lang\nspecial.mov,fr\n", "lang must be one of"),
                          ("path\nmissing.mp4\n", "line 2: missing.mp4: no such file")):
        table.write_text(text, encoding="utf-8")
        with pytest.raises(InputError, match=message):
            collect([table])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no video found"):
        collect([tmp_path / "empty"])
    with pytest.raises(InputError, match="no such file or folder"):
        collect([tmp_path / "nowhere"])


def test_the_pool_holds_steps_to_the_cores_and_memory():
    import threading

    pool = ResourcePool(cpus=2, memory=3 * GIB)
    running, most = 0, 0
    guard = threading.Lock()

    def step(needs: StepNeeds) -> None:
        nonlocal running, most
        with pool.hold(needs):
            with guard:
                running += 1
                most = max(most, running)
            time.sleep(0.2)
            with guard:
                running -= 1

    big = StepNeeds(1, int(2.5 * GIB))  # two of them do not fit in 3 GiB: one at a time
    threads = [threading.Thread(target=step, args=(big,)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most == 1
    small = StepNeeds(1, GIB // 2)  # four fit the memory, two the cores
    most = 0
    threads = [threading.Thread(target=step, args=(small,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most == 2
    huge = StepNeeds(1, 10 * GIB)  # larger than the budget: runs alone rather than never
    step(huge)
    assert default_jobs(cpus=8, memory=4 * GIB) == 1 and default_jobs(cpus=2, memory=24 * GIB) == 2


# --- whole batches --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def inputs(studio_clip, samples, tmp_path_factory) -> Path:
    """Two real clips (faces in photos under real speech), a truncated file and a file with no
    picture, in one folder."""
    folder = tmp_path_factory.mktemp("batch-inputs") / "videos"
    folder.mkdir()
    shutil.copyfile(studio_clip, folder / "studio.mp4")
    frame = "scale=640:480:force_original_aspect_ratio=decrease,pad=640:480:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=25"
    ffmpeg("-loop", "1", "-t", "5", "-i", str(samples / "zidane.jpg"), "-loop", "1", "-t", "5", "-i",
           str(samples / "messi5.jpg"), "-i", str(samples / "sample.wav"),
           "-filter_complex", f"[0:v]{frame}[a];[1:v]{frame}[b];[a][b]concat=n=2:v=1:a=0[v]",
           "-map", "[v]", "-map", "2:a", "-t", "10", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
           "-c:a", "aac", str(folder / "football.mp4"))
    data = (folder / "studio.mp4").read_bytes()
    (folder / "truncated.mp4").write_bytes(data[: len(data) // 3])
    ffmpeg("-i", str(samples / "sample.wav"), "-t", "5", "-c:a", "aac", str(folder / "no-picture.mp4"))
    return folder


GOOD, BAD = ("football", "studio"), ("no-picture", "truncated")


@pytest.fixture(scope="module")
def two_inputs(inputs, tmp_path_factory) -> Path:
    """The studio clip and the truncated file: for the tests that kill a step, where what counts
    is that the killed video is done, once."""
    folder = tmp_path_factory.mktemp("batch-two") / "videos"
    folder.mkdir()
    for name in ("studio.mp4", "truncated.mp4"):
        shutil.copyfile(inputs / name, folder / name)
    return folder


def check_batch(proc, out: Path, good=GOOD, bad=BAD, described: bool = True) -> dict:
    """The batch's exit, table and batch.json after describing `inputs`; returns batch.json."""
    assert proc.returncode == 2, proc.stderr  # the bad files failed
    assert "Traceback" not in proc.stderr
    summary = json.loads((out / "batch.json").read_text(encoding="utf-8"))
    assert summary["schema"] == "videodesc.batch/1"
    videos = {v["name"]: v for v in summary["videos"]}
    assert sorted(videos) == sorted(good + bad) and len(summary["videos"]) == len(videos), "each video once"
    for name in good:
        video = videos[name]
        assert video["status"] == "done", video
        folder = out / name
        for produced in (f"{name}.ad.mp4", "script.json", "descriptions.vtt", "descriptions.srt", "qc.json",
                         "timeline.json", f"{name}.ad-stem.wav", "review.html"):
            assert (folder / produced).is_file(), (name, produced)
        if described:
            assert video["cues"] >= 1 and video["described_seconds"] > 0
        assert abs(video["loudness"] + 23) <= 1 and video["duration"] > 9 and video["real_time_factor"] > 0
        assert set(video["steps"]) == {"analyze", "write", "render"}
    assert videos["truncated"]["status"] == "failed" and videos["truncated"]["failed_step"] == "analyze"
    assert "not a readable media file" in videos["truncated"]["error"] or "truncated" in videos["truncated"]["error"]
    assert "\n" not in videos["truncated"]["error"]
    if "no-picture" in bad:
        assert videos["no-picture"]["status"] == "failed" and "no video stream" in videos["no-picture"]["error"]
    lines = proc.stdout.strip().splitlines()
    # Ray's raylet may say on stdout that it lost a worker: the table follows.
    lines = lines[next(i for i, line in enumerate(lines) if line.startswith("video ")):]
    assert lines[0].split()[:3] == ["video", "status", "duration"] and len(lines) == len(videos) + 2
    assert lines[-1].startswith(f"{len(good)} of {len(videos)} videos described")
    return summary


def cues_of(out: Path, name: str) -> list[tuple]:
    script = json.loads((out / name / "script.json").read_text(encoding="utf-8"))
    return [(c["start"], c["end"], c["text"]) for c in script["cues"]]


@pytest.fixture(scope="module")
def local_batch(inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("batch-local") / "out"
    proc = run("batch", str(inputs), "-o", str(out), *OPTIONS)
    return proc, out


def test_a_local_batch_describes_every_good_video_and_reports_the_bad_ones_alone(local_batch):
    proc, out = local_batch
    summary = check_batch(proc, out)
    assert summary["runner"].startswith("this machine")


def test_a_rerun_skips_the_finished_videos_and_tries_the_failed_ones_again(local_batch, inputs):
    proc, out = local_batch
    stamps = {name: (out / name / f"{name}.ad.mp4").stat().st_mtime_ns for name in GOOD}
    again = run("batch", str(inputs), "-o", str(out), *OPTIONS)
    assert again.returncode == 2
    assert "2 of 4 videos were described by an earlier run" in again.stderr
    summary = json.loads((out / "batch.json").read_text(encoding="utf-8"))
    videos = {v["name"]: v for v in summary["videos"]}
    assert all(videos[name]["skipped"] and videos[name]["status"] == "done" for name in GOOD)
    assert all(videos[name]["status"] == "failed" and not videos[name]["skipped"] for name in BAD)
    assert {name: (out / name / f"{name}.ad.mp4").stat().st_mtime_ns for name in GOOD} == stamps
    assert "done (earlier)" in again.stdout


def test_a_ray_batch_gives_what_the_local_one_gives(local_batch, inputs, tmp_path):
    pytest.importorskip("ray")
    _, local_out = local_batch
    out = tmp_path / "out"
    proc = run("batch", str(inputs), "-o", str(out), *OPTIONS, "--ray")
    summary = check_batch(proc, out)
    assert summary["runner"].startswith("a local Ray instance (Ray ")
    for name in GOOD:
        ray_cues, local_cues = cues_of(out, name), cues_of(local_out, name)
        assert [c[2] for c in ray_cues] == [c[2] for c in local_cues], name
        # Piper samples its voice with noise: the same sentence spoken in another process lasts up
        # to a few tens of milliseconds more or less (measured: 4.896-4.913 s), so the cues' ends differ.
        assert all(a[0] == b[0] and abs(a[1] - b[1]) < 0.1 for a, b in zip(ray_cues, local_cues)), (ray_cues,
                                                                                                  local_cues)
        assert json.loads((out / name / "timeline.json").read_text())["slots"] == json.loads(
            (local_out / name / "timeline.json").read_text())["slots"]
    time.sleep(1.0)
    assert not [p.command for p in processes() if ("raylet" in p.command or "gcs_server" in p.command)
                and p.state != "Z"], "the local Ray instance ended with the batch"


def _killed_mid_step(command: list[str], step_of: str, kill_parent: bool, tmp_path: Path):
    """Run a batch and SIGKILL, once, the process running `step_of`'s analysis (the step itself,
    or the Ray worker that runs it) while it works; returns the finished batch's process."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    victim = None
    while victim is None:
        assert process.poll() is None and time.monotonic() < deadline, "the batch ended before the step was seen"
        for p in processes():
            if f"videodesc analyze {step_of}" in p.command and p.state != "Z":
                victim = p.parent if kill_parent else p.pid
                break
        time.sleep(0.05)
    time.sleep(1.0)  # into the work: models loading, shots being found
    os.kill(victim, signal.SIGKILL)
    stdout, stderr = process.communicate(timeout=600)
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr), victim


QUICK = [*OPTIONS, "--vision", "off"]  # no descriptions: what these tests check is the video done, once


def test_a_step_killed_mid_task_is_run_again_and_the_video_done_once(two_inputs, tmp_path):
    """As the kernel's OOM killer would: the step's own process gets SIGKILL."""
    out = tmp_path / "out"
    command = [sys.executable, "-m", "videodesc", "batch", str(two_inputs), "-o", str(out), *QUICK, "--jobs", "1"]
    proc, _ = _killed_mid_step(command, str(two_inputs / "studio.mp4"), kill_parent=False, tmp_path=tmp_path)
    summary = check_batch(proc, out, good=("studio",), bad=("truncated",), described=False)
    assert not [p for p in out.rglob("*.part")]
    assert summary["videos"][0]["steps"]["analyze"]["exit_code"] == 0


def test_a_ray_worker_killed_mid_task_is_replaced_and_the_video_done_once(two_inputs, tmp_path):
    pytest.importorskip("ray")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "videodesc", "batch", str(two_inputs), "-o", str(out), *QUICK, "--ray"]
    proc, worker = _killed_mid_step(command, str(two_inputs / "studio.mp4"), kill_parent=True, tmp_path=tmp_path)
    check_batch(proc, out, good=("studio",), bad=("truncated",), described=False)
    assert not [p for p in processes() if p.pid == worker and p.state != "Z"]


def test_a_stopped_batch_stops_its_steps_and_the_rerun_finishes(two_inputs, tmp_path):
    out = tmp_path / "out"
    command = [sys.executable, "-m", "videodesc", "batch", str(two_inputs), "-o", str(out), *QUICK, "--jobs", "1"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not [p for p in processes() if p.parent == process.pid and "videodesc analyze" in p.command]:
        assert process.poll() is None and time.monotonic() < deadline, "the batch ended before a step was seen"
        time.sleep(0.05)
    time.sleep(1.0)
    process.terminate()
    assert process.wait(timeout=60) == 143
    time.sleep(0.5)
    assert not [p for p in processes() if str(out) in p.command and p.state != "Z"], "a step went on running"
    summary = json.loads((out / "batch.json").read_text(encoding="utf-8"))
    assert {v["status"] for v in summary["videos"]} <= {"interrupted", "not run", "failed"}
    assert not [p for p in out.rglob("*.part")]
    proc = run("batch", str(two_inputs), "-o", str(out), *QUICK)
    check_batch(proc, out, good=("studio",), bad=("truncated",), described=False)
    # --force describes the finished video again, every stage recomputed.
    forced = run("batch", str(two_inputs), "-o", str(out), *QUICK, "--force", "--json")
    studio = next(v for v in check_batch(forced, out, good=("studio",), bad=("truncated",), described=False)["videos"]
                  if v["name"] == "studio")
    assert not studio["skipped"] and studio["steps"]["analyze"]["exit_code"] == 0
    assert "described by an earlier run" not in forced.stderr


def test_a_ray_address_where_nothing_listens_is_one_line_at_once(inputs, tmp_path):
    with socket.socket() as unused:  # a port nothing listens on
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    started = time.monotonic()
    proc = run("batch", str(inputs / "studio.mp4"), "-o", str(tmp_path / "out"), "--ray", f"127.0.0.1:{port}")
    assert proc.returncode == 2 and time.monotonic() - started < 30, proc.stderr  # Ray alone tries for minutes
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"cannot reach the Ray cluster at 127.0.0.1:{port}" in lines[0], lines
    assert not (tmp_path / "out").exists()
