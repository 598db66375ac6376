"""Benchmark `videodesc describe` end to end, and `render` alone: real-time factor and peak memory.

Usage: python benchmarks/describe.py [--samples DIR] [--only NAME]

Each input is described from an empty output folder in a fresh process (every model loaded,
nothing cached but the converted Gemma), then `render` is run again alone after its speech cache
is cleared, so that it speaks every cue again as it would after a new `write`. Peak memory is the
child's VmHWM, polled. Prints a Markdown table to paste into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
from pathlib import Path

from child import timed

REPO = Path(__file__).resolve().parents[1]
NARRATED = Path("/usr/share/openboard/library/videos/wannaworktogether.mp4")


def stages(events: list[dict]) -> str:
    return ", ".join(f"{e['stage']} {e['seconds']:.1f}" for e in events if e.get("event") == "done")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path,
                        default=Path(os.environ.get("VIDEODESC_SAMPLES", REPO / ".cache/samples")))
    parser.add_argument("--only", choices=["narrated", "bbb"])
    args = parser.parse_args()
    inputs = {"narrated": (NARRATED, "wannaworktogether.mp4 (3:00, 480x352, narration)"),
              "bbb": (args.samples / "bbb.mp4", "bbb.mp4 (9:56, 1280x720, no dialogue)")}
    print(f"machine: {platform.node()}, {len(os.sched_getaffinity(0))} cores, {platform.machine()}, "
          f"Python {platform.python_version()}\n")
    print("| input | step | s | real-time factor | peak memory MiB | cues | stages (s) |")
    print("|---|---|---|---|---|---|---|")
    for name, (video, label) in inputs.items():
        if args.only and name != args.only:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out"
            seconds, peak, events = timed(["describe", str(video), "-o", str(out), "--lang", "en"])
            script = json.loads((out / "script.json").read_text())
            duration = script["media"]["duration"]
            print(f"| {label} | describe | {seconds:.1f} | {seconds / duration:.3f} | {peak:.0f} "
                  f"| {len(script['cues'])} | {stages(events)} |", flush=True)
            shutil.rmtree(out / "work" / "speech")
            seconds, peak, events = timed(["render", str(out)])
            print(f"| {label} | render | {seconds:.1f} | {seconds / duration:.3f} | {peak:.0f} "
                  f"| {len(script['cues'])} | {stages(events)} |", flush=True)


if __name__ == "__main__":
    main()
