"""Slots: the dialogue-free gaps in which a description may be spoken.

Speech is the union of every source we have -- voice activity, recognised words, subtitle
cues -- because each misses something: Whisper segments run across pauses (so word times, not
segment times, are used), VAD misses quiet lines, subtitles miss untranslated speech. A slot
is what is left after padding each speech region, and never overlaps speech.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from videodesc.records import Shot, Slot, Span, Utterance


@dataclass
class SlotSettings:
    pad_after_speech: float = 0.2  # let a line finish ringing before the describer starts
    pad_before_speech: float = 0.1  # stop just before the next line
    min_length: float = 1.2  # s of silence: shorter pauses cannot hold even a two-word description

    def as_key(self) -> dict:
        return dict(vars(self))


def merge_spans(spans: list[Span]) -> list[Span]:
    """Sorted union of possibly overlapping spans."""
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: s.start):
        if span.end <= span.start:
            continue
        if merged and span.start <= merged[-1].end:
            merged[-1].end = max(merged[-1].end, span.end)
        else:
            merged.append(Span(span.start, span.end))
    return merged


def speech_spans(utterances: list[Utterance], vad_regions: list[Span]) -> list[Span]:
    """Every stretch in which someone speaks, from words (or whole cues) and VAD."""
    spans = list(vad_regions)
    for utterance in utterances:
        if utterance.words:
            spans.extend(Span(w.start, w.end) for w in utterance.words)
        else:
            spans.append(Span(utterance.start, utterance.end))
    return merge_spans(spans)


def find_slots(speech: list[Span], duration: float, shots: list[Shot], settings: SlotSettings) -> list[Slot]:
    """The pauses of at least `settings.min_length` between speech, padded, with the shots they span.

    The length is the pause's own, before padding: a 1.5 s silence is a pause a describer uses,
    and it would not count if the padding were taken off first (measured edges are accurate to
    tens of milliseconds, speech/boundaries.py, so the padding is all the margin needed).
    """
    merged = merge_spans(speech)
    slots = []
    edges = [0.0, *(v for s in merged for v in (s.start, s.end)), duration]
    for before, after in zip(edges[::2], edges[1::2]):
        if round(after - before, 3) < settings.min_length:  # times are kept to the millisecond
            continue
        start = before + settings.pad_after_speech if before > 0 else 0.0
        end = after - settings.pad_before_speech if after < duration else duration
        # Round inwards to the millisecond so that rounding never makes a slot touch speech.
        start, end = math.ceil(start * 1000) / 1000, math.floor(end * 1000) / 1000
        if end - start <= 0:
            continue
        covered = [shot.index for shot in shots if shot.start < end and shot.end > start]
        slots.append(Slot(start, end, covered))
    return slots
