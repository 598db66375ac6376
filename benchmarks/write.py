"""Benchmark `videodesc write` with the offline default writer: seconds per slot and real-time factor.

Usage: python benchmarks/write.py [--vision slots|all]

Analyses the 3-minute narrated clip of Debian's openboard-common once (not timed), then runs
`videodesc write` in a fresh process for each language, so loading the scoring models (Gemma 3
270M, multilingual-e5-small) is counted as a user would see it. The converted Gemma is cached
before the first timed run (its one-time conversion is reported separately). Prints a Markdown
table to paste into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from child import timed

CLIP = Path("/usr/share/openboard/library/videos/wannaworktogether.mp4")


def videodesc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "videodesc", *args], capture_output=True, text=True, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vision", choices=["slots", "all"], default="slots")
    args = parser.parse_args()

    started = time.perf_counter()
    from videodesc.write.fluency import default_gemma_model

    default_gemma_model()
    print(f"Gemma conversion (cached after the first run): {time.perf_counter() - started:.1f} s")
    print(f"machine: {platform.node()}, {len(__import__('os').sched_getaffinity(0))} cores, {platform.machine()}, "
          f"Python {platform.python_version()}\n")
    print("| input | language | slots | cues | write s | s per slot | real-time factor | peak memory MiB | stages (s) |")
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        videodesc("analyze", str(CLIP), "-o", str(out), "--lang", "en", "--quiet", "--vision", args.vision)
        timeline = json.loads((out / "timeline.json").read_text())
        duration, slots = timeline["media"]["duration"], len(timeline["slots"])
        for language in ("en", "ko"):
            seconds, peak, stages = timed(["write", str(out), "--lang", language])
            spent = ", ".join(f"{e['stage']} {e['seconds']:.1f}" for e in stages
                              if e.get("event") == "done" and "seconds" in e)
            script = json.loads((out / "script.json").read_text())
            print(f"| {CLIP.name} (3:00) | {language} | {slots} | {len(script['cues'])} | {seconds:.1f} "
                  f"| {seconds / max(slots, 1):.2f} | {seconds / duration:.3f} "
                  f"| {peak:.0f} | {spent} |", flush=True)


if __name__ == "__main__":
    main()
