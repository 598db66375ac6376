"""Choosing what to say in each slot: score every candidate, keep the scores, fit the winner to the slot.

Scores, each in 0-1 and kept in the script so that a reviewer sees why a candidate won:
- style: the describers' rules (style.py);
- fit: how well the spoken length uses the slot -- a candidate that does not fit scores 0, and
  short ones score less than ones that fill most of the slot, since a slot is there to inform;
- fluency: the language model's length-normalised log-probability, scaled within the slot;
- novelty: 0 for a near-repeat of the dialogue around it or the descriptions before it, else 1.
A candidate too close to an earlier description or a line of dialogue is a near-duplicate and
cannot be chosen, nor can one the facts contradict (a person named who is not in view, a number
of people not seen: write/checks.py); when
nothing fits, shorter versions are asked for; when still nothing fits, the slot stays silent
unless extended description is allowed. Not every gap is filled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from videodesc.records import Candidate, Cue, SkippedSlot
from videodesc.write.backends import Writer
from videodesc.write.checks import AGAINST, FactCheck
from videodesc.write.context import SlotContext
from videodesc.write.embed import NEAR_DUPLICATE
from videodesc.write.speaking import SpeakingRate, spoken_seconds
from videodesc.write.style import problems as style_problems


class FluencyModel(Protocol):
    def score(self, texts: list[str], context: str = "") -> list[float]: ...


class SentenceEmbedder(Protocol):
    def near_duplicate(self, a: str, b: str) -> bool: ...

    def novelty(self, text: str, earlier: Sequence[str]) -> float: ...  # 1 - highest similarity


@dataclass
class SelectionSettings:
    weights: dict[str, float] = field(default_factory=lambda: {"style": 0.3, "fit": 0.3, "fluency": 0.3,
                                                                "novelty": 0.1})
    # Novelty falls from 1 to 0 between these similarities to the nearest earlier description
    # or line of dialogue. It only penalises near-repeats: a description that goes on with the
    # same person and place scores about 0.95 against the one before (multilingual-e5-small
    # cannot tell "sits down with a coffee" from "walks into the café" much better), so a wide
    # scale would reward changing the subject.
    near_duplicate: float = NEAR_DUPLICATE
    similar: float = 0.93
    fill_target: float = 0.6  # share of the slot at which a description is long enough
    min_gap: float = 1.0  # seconds of programme sound between two descriptions
    min_seconds: float = 0.8  # a slot shorter than this after the gap is left silent
    recent: int = 5  # earlier descriptions compared against for repeats
    extended: bool = False  # allow a description longer than its slot (the player pauses)
    rate: SpeakingRate = field(default_factory=SpeakingRate)

    def as_key(self) -> dict:
        return {**{k: v for k, v in vars(self).items() if k != "rate"}, "rate": self.rate.as_key()}


@dataclass
class Decision:
    """What happened to one slot: a cue, or the reason it stays silent."""

    cue: Cue | None
    skipped: SkippedSlot | None


class Selector:
    def __init__(self, settings: SelectionSettings, fluency: FluencyModel | None, embedder: SentenceEmbedder | None):
        self.settings = settings
        self.fluency = fluency
        self.embedder = embedder

    def decide(self, context: SlotContext, writer: Writer, texts: list[str], earliest_start: float) -> Decision:
        """Choose among `texts` for the slot of `context`, not starting before `earliest_start`."""
        settings = self.settings
        slot = context.slot
        start = max(slot.start, earliest_start)
        budget = slot.end - start
        if budget < settings.min_seconds:
            return self._skip(context, "too close to the previous description", [])
        if not texts:
            return self._skip(context, "nothing sure to describe in this shot", [])
        candidates = self.score(context, writer, texts, budget)
        best = self._best(candidates, budget)
        usable = [c for c in candidates if not _barred(c)]
        if best is None and usable:
            top = max(usable, key=lambda c: c.scores["total"])
            shorter = [t for t in writer.shorten(context, top.text, budget) if t not in texts]
            if shorter:  # scored again with the rest, so that fluency is scaled over one set
                candidates = self.score(context, writer, texts + shorter, budget)
                best = self._best(candidates, budget)
        if best is None:
            usable = [c for c in candidates if not _barred(c)]
            if not usable:
                return self._skip(context, "nothing new to say: every candidate repeats an earlier description "
                                           "or the dialogue, or contradicts the facts", candidates)
            if not settings.extended:
                shortest = min(c.spoken_seconds or 0.0 for c in usable)
                return self._skip(context, f"too long for the slot: {shortest:.1f} s needed, {budget:.1f} s free",
                                  candidates)
            best = max(usable, key=lambda c: c.scores["total"])
        chosen = candidates.index(best)
        spoken = best.spoken_seconds or 0.0
        extended = spoken > budget
        end = start + spoken if extended else min(slot.end, start + spoken)
        cue = Cue(start=round(start, 3), end=round(end, 3), text=best.text, lang=context.language,
                  slot=context.slot_index, shots=[s.index for s in context.shots if s.end > slot.start],
                  candidates=candidates, chosen=chosen, extended=extended)
        return Decision(cue, None)

    def score(self, context: SlotContext, writer: Writer, texts: list[str], budget: float) -> list[Candidate]:
        settings = self.settings
        language = context.language
        candidates = []
        against = FactCheck(context)
        for text in texts:
            seconds = spoken_seconds(text, language, settings.rate)
            found = style_problems(text, language) + against.problems(text)
            fit = 0.0 if seconds > budget else min(1.0, seconds / (settings.fill_target * budget))
            style = max(0.0, 1.0 - 0.4 * len(found))
            if seconds > budget:
                found.append(f"too long: {seconds:.1f} s for {budget:.1f} s")
            candidates.append(Candidate(text, writer.name, seconds, {"style": round(style, 3), "fit": round(fit, 3)},
                                        found, writer.claims(context, text)))
        self._score_fluency(context, candidates)
        self._score_novelty(context, candidates)
        weights = settings.weights
        for candidate in candidates:
            parts = {k: candidate.scores.get(k) for k in weights}
            used = {k: v for k, v in parts.items() if v is not None}
            total = sum(weights[k] * v for k, v in used.items()) / sum(weights[k] for k in used)
            candidate.scores["total"] = round(total, 3)
        return candidates

    def _score_fluency(self, context: SlotContext, candidates: list[Candidate]) -> None:
        if self.fluency is None:
            return
        lead = context.previous[-1] if context.previous else ""
        raw = self.fluency.score([c.text for c in candidates], lead)
        low, high = min(raw), max(raw)
        for candidate, value in zip(candidates, raw):
            # Scaled within the slot: the model's absolute level varies with the topic, its order does not.
            candidate.scores["fluency"] = round((value - low) / (high - low), 3) if high > low else 1.0
            candidate.scores["log_prob"] = round(value, 3)

    def _score_novelty(self, context: SlotContext, candidates: list[Candidate]) -> None:
        if self.embedder is None:
            return
        settings = self.settings
        previous = context.previous[-settings.recent:]
        dialogue = [u.text for u in context.dialogue_before[-1:] + context.dialogue_after[:1]]
        span = settings.near_duplicate - settings.similar
        for candidate in candidates:
            closest = 1.0 - self.embedder.novelty(candidate.text, previous + dialogue)
            candidate.scores["novelty"] = round(float(np.clip((settings.near_duplicate - closest) / span, 0, 1)), 3)
            # Something a person does at a new moment is news even when worded like an earlier
            # cue ("walks to the right" again after standing still); the writer tells each event once.
            happens = any(claim.kind == "event" for claim in candidate.claims)
            if not happens and any(self.embedder.near_duplicate(earlier, candidate.text) for earlier in previous):
                candidate.problems.append(_REPEATS_DESCRIPTION)
            elif any(self.embedder.near_duplicate(line, candidate.text) for line in dialogue):
                candidate.problems.append(_REPEATS_DIALOGUE)

    def _best(self, candidates: list[Candidate], budget: float) -> Candidate | None:
        usable = [c for c in candidates if (c.spoken_seconds or 0.0) <= budget and not _barred(c)]
        return max(usable, key=lambda c: c.scores["total"]) if usable else None

    def _skip(self, context: SlotContext, reason: str, candidates: list[Candidate]) -> Decision:
        slot = context.slot
        return Decision(None, SkippedSlot(context.slot_index, slot.start, slot.end, reason, candidates))


_REPEATS_DESCRIPTION = "repeats an earlier description"
_REPEATS_DIALOGUE = "repeats the dialogue"


def _barred(candidate: Candidate) -> bool:
    """Whether the candidate may not be chosen: it repeats, or contradicts the facts (write/checks.py)."""
    return (_REPEATS_DESCRIPTION in candidate.problems or _REPEATS_DIALOGUE in candidate.problems
            or any(problem.startswith(AGAINST) for problem in candidate.problems))
