"""Pairing human references with a script's cues by time.

Each reference goes to the cue that overlaps it most (the earlier cue on a tie); a reference
that no cue overlaps is unmatched, and so is a cue that no reference chose. A cue may be chosen
by several references (a person described in two lines what the script says in one): each
reference is scored against it. Spans that only touch (one ends where the other starts) do not
overlap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Seconds: below this, two spans touch rather than overlap (times are stored to the millisecond,
# so sums of them carry float noise far below it).
MIN_OVERLAP = 1e-6


@dataclass
class Pair:
    """A reference and the cue it was matched to."""

    reference: int  # index into the references
    cue: int | None  # index into the cues; None when no cue overlaps the reference
    overlap: float  # seconds the two share


@dataclass
class Matching:
    """Every reference's pair, in reference order, and the cues that no reference chose."""

    pairs: list[Pair]
    cues: int
    unmatched_cues: list[int]

    @property
    def matched_references(self) -> int:
        return sum(pair.cue is not None for pair in self.pairs)

    @property
    def unmatched_references(self) -> int:
        return len(self.pairs) - self.matched_references

    @property
    def matched_cues(self) -> int:
        return self.cues - len(self.unmatched_cues)


def match(references: Sequence[tuple[float, float]], cues: Sequence[tuple[float, float]]) -> Matching:
    """Match each (start, end) reference span to the (start, end) cue span it overlaps most."""
    cue_starts = np.array([start for start, _ in cues], dtype=float)
    cue_ends = np.array([end for _, end in cues], dtype=float)
    pairs = []
    for number, (start, end) in enumerate(references):
        if not len(cues):
            pairs.append(Pair(number, None, 0.0))
            continue
        overlaps = np.minimum(cue_ends, end) - np.maximum(cue_starts, start)
        best = int(np.argmax(overlaps))  # the first of equals: the earlier cue
        if overlaps[best] > MIN_OVERLAP:
            pairs.append(Pair(number, best, round(float(overlaps[best]), 6)))
        else:
            pairs.append(Pair(number, None, 0.0))
    chosen = {pair.cue for pair in pairs}
    return Matching(pairs, len(cues), [number for number in range(len(cues)) if number not in chosen])
