"""How much of the described time lies on dialogue: the describers' first rule, "never over
dialogue", as a number. Used by `evaluate`'s checks and by the QC report of `render`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Seconds of a cue on speech below which it is not counted as talking over it: times are stored
# to the millisecond, so a cue that ends where speech starts may seem to overlap it by that much.
COUNTED_OVERLAP = 0.01


@dataclass
class SpeechOverlap:
    described_seconds: float  # the union of where cues are heard
    over_speech_seconds: float  # of which on a speech region
    share: float  # over_speech_seconds / described_seconds (0 when nothing is described)
    cues_over_speech: int  # cues heard more than COUNTED_OVERLAP seconds on speech


def _union(spans: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _intersection(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> float:
    """Seconds shared by two sorted lists of disjoint spans."""
    total, i, j = 0.0, 0, 0
    while i < len(a) and j < len(b):
        total += max(0.0, min(a[i][1], b[j][1]) - max(a[i][0], b[j][0]))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total


def speech_overlap(cue_spans: Sequence[tuple[float, float]],
                   speech: Sequence[tuple[float, float]]) -> SpeechOverlap:
    """How much of the described time (`cue_spans`) lies on `speech`."""
    described, regions = _union(cue_spans), _union(speech)
    described_seconds = sum(end - start for start, end in described)
    over = _intersection(described, regions)
    cues_over = sum(_intersection([span], regions) > COUNTED_OVERLAP for span in cue_spans if span[1] > span[0])
    return SpeechOverlap(round(described_seconds, 3), round(over, 3),
                         over / described_seconds if described_seconds > 0 else 0.0, cues_over)
