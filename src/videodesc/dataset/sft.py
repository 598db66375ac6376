"""Fine-tuning data from human audio description: for each described moment, the writer's candidate
closest to what the person wrote.

This is the original videodesc method. For each reference moment a writer backend proposes
candidates for the same stretch of video; the candidate most similar to the human description
(cosine of multilingual-e5-small sentence embeddings) becomes the response of a prompt/response
record, and the least similar one is kept as the rejected side of a preference record. Training
the selector's language model on these (`videodesc train`) makes it prefer, among what the
writer can say, what a human describer would have said.

The prompt is exactly what the selector scores a candidate after (`fluency.scoring_prompt`): the
header in the description's language and the previous human description of the same file, so
the adapter learns the very probability the selector reads.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from videodesc.records import DatasetItem, Facts, Slot, Timeline, Utterance
from videodesc.write.backends import EmptyAnswer, Writer
from videodesc.write.context import SlotContext, span_context
from videodesc.write.fluency import scoring_prompt

FORMS = ("sft", "preference")
MIN_CANDIDATES = 2  # with one candidate nothing was chosen


@dataclass
class SftRecord:
    prompt: str
    chosen: str  # the candidate closest to the reference: the response
    rejected: str  # the candidate furthest from it
    reference: str
    similarity_chosen: float
    similarity_rejected: float
    language: str
    source: str
    candidates: int

    def as_json(self, form: str) -> dict:
        common = {"reference": self.reference, "language": self.language, "source": self.source,
                  "candidates": self.candidates}
        if form == "sft":
            return {"prompt": self.prompt, "response": self.chosen, **common,
                    "similarity": round(self.similarity_chosen, 4)}
        return {"prompt": self.prompt, "chosen": self.chosen, "rejected": self.rejected, **common,
                "similarity_chosen": round(self.similarity_chosen, 4),
                "similarity_rejected": round(self.similarity_rejected, 4)}


@dataclass
class SftResult:
    records: list[SftRecord]
    skipped: Counter = field(default_factory=Counter)  # reason -> number of items


def closest(reference: str, candidates: list[str], embedder) -> tuple[int, int, np.ndarray]:
    """Indices of the candidate most and least similar to `reference`, and every similarity."""
    similarities = embedder.similarity([reference], candidates)[0]
    return int(np.argmax(similarities)), int(np.argmin(similarities)), similarities


def item_context(item: DatasetItem, previous: str, language: str, analysis: tuple[Timeline, Facts | None] | None,
                 folder: Path) -> SlotContext:
    """What a writer is told about the described moment: the analysed video's shots and dialogue when
    there is an analysis, else the dialogue the dataset carries."""
    if analysis is not None:
        timeline, facts = analysis
        context = span_context(timeline, facts, folder, language, item.start, item.end)
    else:
        def said(texts: list[str], at: float) -> list[Utterance]:
            return [Utterance(at, at, text, [], "subtitle") for text in texts]

        context = SlotContext(-1, Slot(item.start, item.end), language, folder, [],
                              said(item.dialogue_before, item.start), said(item.dialogue_after, item.end), [], {},
                              budget_seconds=item.end - item.start)
    context.previous = [previous] if previous else []
    return context


def build(items: list[DatasetItem], writer: Writer, embedder, count: int,
          analysis: tuple[Timeline, Facts | None] | None, folder: Path, on_item=None) -> SftResult:
    """SFT records for `items`, in order; items the writer says nothing (or only one thing) about are skipped.

    Args:
        items: the dataset, in file order (the previous item of the same file is the context).
        writer: any writer backend.
        embedder: the sentence embedder (videodesc.write.embed.Embedder).
        count: candidates asked of the writer per item.
        analysis: the time line and facts of the items' video, when it was analysed.
        folder: the analysis folder (keyframe paths are relative to it), or any folder.
        on_item: called with the number of items done.
    """
    result = SftResult([])
    previous_by_file: dict[str, str] = {}
    for done, item in enumerate(items, start=1):
        file = item.source.rsplit(":", 1)[0]
        language = item.language if item.language in ("ko", "en") else "en"
        previous = previous_by_file.get(file, "")
        previous_by_file[file] = item.reference
        context = item_context(item, previous, language, analysis, folder)
        try:
            texts = list(dict.fromkeys(t.strip() for t in writer.candidates(context, count) if t.strip()))
            reason = "no candidates" if not texts else "one candidate only"
        except EmptyAnswer:  # the item is skipped; the writer stops the run itself when they persist
            texts, reason = [], "empty answer"
        if len(texts) < MIN_CANDIDATES:
            result.skipped[reason] += 1
        else:
            best, worst, similarities = closest(item.reference, texts, embedder)
            result.records.append(SftRecord(
                prompt=scoring_prompt(texts[best], previous), chosen=texts[best], rejected=texts[worst],
                reference=item.reference, similarity_chosen=float(similarities[best]),
                similarity_rejected=float(similarities[worst]), language=language, source=item.source,
                candidates=len(texts)))
        if on_item is not None:
            on_item(done)
    return result
