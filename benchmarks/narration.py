"""How much of the free time the offline writer narrates: described seconds per minute of dialogue-free time.

Usage: python benchmarks/narration.py [--samples DIR] [--keep DIR]

Analyses the 3-minute narrated clip of Debian's openboard-common and the first 60 s of Big Buck
Bunny once each (not timed; with --keep DIR the analyses are kept there and reused), then runs
`videodesc write` in Korean and English and counts, from script.json: slots, their free seconds,
cues, the seconds the cues take (estimated speaking time), described seconds per minute of free
time, and near-duplicate pairs among the cues (multilingual-e5-small, as the selector judges
them). Prints a Markdown table to paste into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

NARRATED = Path("/usr/share/openboard/library/videos/wannaworktogether.mp4")


def videodesc(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "videodesc", *args, "--quiet"], check=True)


def analysed(video: Path, out: Path, seconds: float | None, work: Path) -> Path:
    if (out / "timeline.json").is_file():
        return out
    if seconds is not None:
        cut = work / f"{video.stem}-{seconds:.0f}s.mp4"
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(video), "-t", str(seconds), "-c", "copy",
                        str(cut)], check=True)
        video = cut
    videodesc("analyze", str(video), "-o", str(out), "--lang", "en")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=Path(".cache/samples"))
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the analyses in this folder")
    args = parser.parse_args()
    from videodesc.write.embed import Embedder

    embedder = Embedder()
    print(f"machine: {platform.node()}, Python {platform.python_version()}\n")
    print("| input | language | slots | free s | cues | described s | described s per free minute "
          "| near-duplicate pairs |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        keep = args.keep or Path(tmp)
        keep.mkdir(parents=True, exist_ok=True)
        inputs = [("wannaworktogether.mp4 (3:00)", NARRATED, None, "narrated"),
                  ("bbb.mp4, first 60 s", args.samples / "bbb.mp4", 60.0, "bbb60")]
        for title, video, seconds, name in inputs:
            out = analysed(video, keep / name, seconds, Path(tmp))
            timeline = json.loads((out / "timeline.json").read_text())
            free = sum(s["end"] - s["start"] for s in timeline["slots"])
            for language in ("en", "ko"):
                videodesc("write", str(out), "--lang", language)
                cues = json.loads((out / "script.json").read_text())["cues"]
                said = sum(c["candidates"][c["chosen"]]["spoken_seconds"] or 0.0 for c in cues)
                pairs = sum(embedder.near_duplicate(a["text"], b["text"]) for a, b in itertools.combinations(cues, 2))
                print(f"| {title} | {language} | {len(timeline['slots'])} | {free:.1f} | {len(cues)} | {said:.1f} "
                      f"| {60 * said / max(free, 1e-9):.1f} | {pairs} |", flush=True)
                for cue in cues:
                    print(f"  {cue['start']:7.2f}-{cue['end']:7.2f} {cue['text']}", file=sys.stderr)


if __name__ == "__main__":
    main()
