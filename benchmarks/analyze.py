"""Benchmark `videodesc analyze`: real-time factor, time per stage and peak memory.

Usage: python benchmarks/analyze.py [--samples DIR] [--only NAME]

Runs `videodesc analyze` in a fresh process per input (so model loading is counted, as a user
would see it), from an empty output folder (nothing cached), with `--json` progress events
for the per-stage times, and polls the child's peak resident memory (VmHWM) from /proc. Prints a
Markdown table to paste into docs/benchmarks.md.

Inputs: the 3-minute narrated clip of Debian's openboard-common, the 10-minute Big Buck Bunny
(720p), and OpenCV's vtest.avi (79.5 s of pedestrians in one shot: people followed through 158
samples) from `make samples`.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import tempfile
from pathlib import Path

from child import timed

REPO = Path(__file__).resolve().parents[1]


def inputs(samples: Path) -> dict[str, tuple[Path, list[str]]]:
    return {
        "wannaworktogether (3:00, 480x352, narration)": (
            Path("/usr/share/openboard/library/videos/wannaworktogether.mp4"), ["--lang", "en"]),
        "Big Buck Bunny (9:56, 1280x720, no dialogue)": (samples / "bbb.mp4", ["--lang", "en"]),
        "vtest.avi (1:20, 768x576 10 fps, one shot of pedestrians, no sound)": (samples / "vtest.avi", ["--lang", "en"]),
    }


def probe_duration(video: Path) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                          str(video)], capture_output=True, text=True, check=True).stdout
    return float(out.strip())


def run_one(video: Path, extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        seconds, peak_mib, events = timed(["analyze", str(video), "-o", str(Path(tmp) / "out"), *extra])
    stages = {e["stage"]: e["seconds"] for e in events if e.get("event") == "done"}
    return {"seconds": seconds, "stages": stages, "peak_mib": peak_mib}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=Path(os.environ.get("VIDEODESC_SAMPLES", REPO / ".cache/samples")))
    parser.add_argument("--only", help="run only inputs whose name contains this")
    args = parser.parse_args()

    print(f"machine: {platform.node()}, {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}")
    print()
    print("| input | duration s | analyze s | real-time factor | peak memory MiB | stages (s) |")
    print("|---|---|---|---|---|---|")
    for name, (video, extra) in inputs(args.samples).items():
        if args.only and args.only.lower() not in name.lower():
            continue
        duration = probe_duration(video)
        result = run_one(video, extra)
        stages = ", ".join(f"{k} {v:.1f}" for k, v in result["stages"].items())
        print(f"| {name} | {duration:.1f} | {result['seconds']:.1f} | {result['seconds'] / duration:.3f} "
              f"| {result['peak_mib']:.0f} | {stages} |", flush=True)


if __name__ == "__main__":
    main()
