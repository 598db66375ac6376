"""Benchmark `videodesc batch`: throughput in video-seconds per wall-second, by workers and runner.

Usage: python benchmarks/batch.py [--samples DIR] [--videos N] [--seconds S]

The inputs are N distinct S-second cuts of Big Buck Bunny (picture and sound, vision on) and the
3-minute narrated clip's first S seconds, made once. Each configuration -- the local pool with
1 worker, 2 workers and one per core, and a local Ray instance -- describes all of them into an
empty OUTDIR in one run of this script, so they meet the same machine state. Prints a Markdown
table to paste into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NARRATED = Path("/usr/share/openboard/library/videos/wannaworktogether.mp4")


def make_inputs(samples: Path, folder: Path, videos: int, seconds: float) -> float:
    """Cut the inputs into `folder`; returns their total duration."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = [(samples / "bbb.mp4", 30 + i * (seconds + 20)) for i in range(videos - 1)] + [(NARRATED, 0.0)]
    for number, (source, start) in enumerate(sources):
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", f"{start}", "-i", str(source), "-t", f"{seconds}",
                        "-c:v", "libx264", "-preset", "veryfast", "-c:a", "aac", str(folder / f"cut{number:02d}.mp4")],
                       check=True)
    return videos * seconds


def run_batch(inputs: Path, out: Path, extra: list[str]) -> tuple[float, dict]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "videodesc", "batch", str(inputs), "-o", str(out), "--lang", "en",
                           "--quiet", *extra], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"batch {' '.join(extra)} failed:\n{proc.stderr[-2000:]}")
    return seconds, json.loads((out / "batch.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path,
                        default=Path(os.environ.get("VIDEODESC_SAMPLES", REPO / ".cache/samples")))
    parser.add_argument("--videos", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=45.0)
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    print(f"machine: {platform.node()}, {cores} cores, {platform.machine()}, Python {platform.python_version()}\n")
    configurations = [("local", ["--jobs", "1"]), ("local", ["--jobs", "2"])]
    if cores > 2:
        configurations.append(("local", ["--jobs", str(cores)]))
    configurations.append(("Ray, local instance", ["--ray"]))
    with tempfile.TemporaryDirectory() as tmp:
        inputs = Path(tmp) / "inputs"
        total = make_inputs(args.samples, inputs, args.videos, args.seconds)
        print(f"inputs: {args.videos} videos of {args.seconds:g} s ({total:g} s)\n")
        print("| runner | workers | wall s | video-s per wall-s | vs 1 worker | steps' own s (sum) | peak step MiB |")
        print("|---|---|---|---|---|---|---|")
        single = None
        for number, (runner, extra) in enumerate(configurations):
            seconds, summary = run_batch(inputs, Path(tmp) / f"out{number}", extra)
            throughput = total / seconds
            single = single or throughput
            steps = [s for v in summary["videos"] for s in v["steps"].values()]
            workers = extra[1] if extra[:1] == ["--jobs"] else str(cores)
            print(f"| {runner} | {workers} | {seconds:.1f} | {throughput:.3f} | {throughput / single:.2f}x "
                  f"| {sum(s['seconds'] for s in steps):.1f} | {max(s['peak_memory_mib'] for s in steps)} |",
                  flush=True)


if __name__ == "__main__":
    main()
