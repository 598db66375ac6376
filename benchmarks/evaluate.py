"""Benchmark `videodesc evaluate`: seconds for a film-length script against 1,000 references.

Usage: python benchmarks/evaluate.py [--references N]

Builds (not timed) a Korean dataset of N references, distinct sentences made of a subject, a
place and an action, one every 6 s (N = 1,000 is 100 minutes of programme), and an output
folder with a matching script and time line: for each reference a cue that overlaps it and says
the same, or the same with another action or place or person, or nothing (one reference in ten
is left unmatched); speech between the cues. Then times `videodesc evaluate OUT --reference
DATASET --json RESULT` in a fresh process, as a user runs it: loading the metrics packages and
the embedding model, matching, the five text metrics, embedding every reference and cue, and
the checks. There is no rendered mix, so no loudness is measured (ffmpeg's ebur128 pass over
the mix comes on top; see the mix benchmark for its speed). Prints a Markdown row to paste
into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from videodesc.dataset.jsonl import write_items  # noqa: E402
from videodesc.records import Candidate, Cue, DatasetItem, Media, Script, Span, Timeline, dumps  # noqa: E402

SUBJECTS = ["지우가", "민준이", "할머니가", "형사가", "아이가", "의사가", "남자가", "여자가", "선생님이", "경찰이"]
PLACES = ["카페에서", "병원 복도에서", "교실에서", "거실에서", "골목에서", "사무실에서", "버스 정류장에서", "옥상에서",
          "시장에서", "공원에서"]
ACTIONS = ["문을 연다", "창밖을 본다", "커피를 마신다", "전화를 받는다", "가방을 든다", "편지를 읽는다", "계단을 오른다",
           "사진을 본다", "우산을 편다", "차에서 내린다"]
SPACING = 6.0  # seconds between references


def sentence(subject: int, place: int, action: int) -> str:
    return f"{SUBJECTS[subject % 10]} {PLACES[place % 10]} {ACTIONS[action % 10]}."


def build(folder: Path, count: int) -> Path:
    """Write the dataset and the output folder; the dataset's path."""
    duration = count * SPACING
    media = Media(path=str(folder / "film.mp4"), duration=duration, fps=24.0, width=1920, height=1080,
                  video_codec="h264", audio_streams=[], size_bytes=1, content_hash="0")
    references, cues, speech = [], [], []
    for number in range(count):
        # Digits of the number pick the words, so that every reference is a different sentence.
        subject, place, action = number % 10, number // 10 % 10, number // 100 % 10
        at = number * SPACING
        references.append(DatasetItem(at + 1.0, at + 2.5, sentence(subject, place, action), "ko", f"bench:{number}"))
        speech.append(Span(at + 4.0, at + 5.8))
        kind = number % 10
        if kind == 0:
            continue  # a moment the script leaves silent
        text = (sentence(subject, place, action) if kind <= 3 else sentence(subject, place, action + 1) if kind <= 6
                else sentence(subject, place + 1, action) if kind <= 8 else sentence(subject + 1, place, action))
        cues.append(Cue(at + 1.2, at + 3.4, text, "ko", number, [], [Candidate(text, "template")], 0))
    out = folder / "out"
    out.mkdir()
    (out / "script.json").write_text(dumps(Script(media, "ko", [], cues)), encoding="utf-8")
    (out / "timeline.json").write_text(dumps(Timeline(media, "ko", [], [], speech, [])), encoding="utf-8")
    dataset = folder / "references.jsonl"
    write_items(dataset, references)
    return dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--references", type=int, default=1000, metavar="N")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        dataset = build(folder, args.references)
        result = folder / "result.json"
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "videodesc", "evaluate", str(folder / "out"), "--reference",
                        str(dataset), "--json", str(result), "--quiet"], check=True, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        (system,) = json.loads(result.read_text(encoding="utf-8"))["systems"]

    scores = system["reference"]["scores"]
    cues = system["checks"]["descriptions"]
    machine = (f"{platform.node()}, {len(os.sched_getaffinity(0))} cores, {platform.machine()}, "
               f"Python {platform.python_version()}")
    print(f"BLEU {scores['bleu']:.1f}, chrF {scores['chrf']:.1f}, CIDEr-D {scores['cider_d']:.1f}, "
          f"{len(system['checks']['repeated'])} near-duplicate pairs (a sanity check, not a result)\n")
    print("| machine | input | seconds | peak memory MiB |")
    print("|---|---|---|---|")
    print(f"| {machine} | {args.references} Korean references, {cues} cues, "
          f"{args.references * SPACING / 60:.0f} min, no mix | {seconds:.1f} | {peak:.0f} |")


if __name__ == "__main__":
    main()
