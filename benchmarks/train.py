"""Benchmark `videodesc train`: seconds per LoRA training step on the packaged Gemma 3 270M.

Usage: python benchmarks/train.py [--records N] [--steps N] [--batch N]

Writes N prompt/response records in the selector's layout (description sentences, Korean and
English, each after the previous one as context, as `dataset sft` makes them), then runs
`videodesc train` with the default settings (rank 8 on every attention and MLP projection,
batch 4) for a fixed number of steps in a fresh process. Reports the seconds of the training
loop per step (from training.json), the whole command's time (model loading included) and its
peak memory. Prints a Markdown row to paste into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from pathlib import Path

from child import timed

SUBJECTS = ["민수가", "지수가", "남자가", "여자가", "아이가", "노인이", "경찰이", "의사가"]
ACTIONS = ["창문을 연다.", "커피를 마신다.", "계단을 내려간다.", "편지를 읽는다.", "전화를 받는다.", "고개를 돌린다."]
ENGLISH = ["Minsu", "Jisu", "A man", "A woman", "A child", "An old man", "A police officer", "A doctor"]
VERBS = ["opens the window.", "drinks coffee.", "walks down the stairs.", "reads a letter.",
         "answers the phone.", "turns his head."]


def records(count: int) -> list[dict]:
    from videodesc.write.fluency import scoring_prompt

    texts = [f"{s} {a}" for s in SUBJECTS for a in ACTIONS] + [f"{s} {v}" for s in ENGLISH for v in VERBS]
    out, previous = [], ""
    for i in range(count):
        text = texts[i % len(texts)]
        out.append({"prompt": scoring_prompt(text, previous), "response": text})
        previous = text
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "sft.jsonl"
        data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records(args.records)),
                        encoding="utf-8")
        seconds, peak, _ = timed(["train", str(data), "-o", str(Path(tmp) / "adapter"), "--max-steps",
                                  str(args.steps), "--batch", str(args.batch), "--save-steps", "1000"])
        log = json.loads((Path(tmp) / "adapter" / "training.json").read_text())
    per_step = log["seconds"] / log["steps"]
    print(f"machine: {platform.node()}, {len(os.sched_getaffinity(0))} cores, {platform.machine()}, "
          f"Python {platform.python_version()}\n")
    print("| records | batch | steps | s per step | train command s | peak memory MiB | loss first -> last |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {args.records} | {args.batch} | {log['steps']} | {per_step:.2f} | {seconds:.1f} | {peak:.0f} "
          f"| {log['losses'][0]:.2f} -> {log['losses'][-1]:.2f} |")


if __name__ == "__main__":
    main()
