"""Speech edges to within tens of milliseconds: VAD regions and recognised words checked against the signal.

Neither source is exact on its own. Silero VAD decides per 32 ms window and is padded, so its
edges are off by a window or two. Whisper's word times come from attention over 20 ms steps and
often reach into the silence around a word: the first word of a line starts early, the last one
ends late, which eats the pauses a description needs.

The signal's short-time energy places an edge to 10 ms, but music and room noise have energy too,
so it is only used near an edge VAD already found, against the noise floor of the pause beside
that edge:
1. each VAD region's start and end move to where the energy first rises above, and last stays
   above, a threshold between the pause's floor and the region's speech level (searched a little
   either side of VAD's edge);
2. a stretch inside a region that stays under that threshold for `split_pause` or longer is a
   pause VAD bridged (its windows and padding join speech across up to about 0.36 s), and splits
   the region;
3. a recognised word is cut back to the region it overlaps, where it reaches into a pause that is
   quiet (a word across a whole pause goes to one side of it: a line's first word to the speech
   after it, its last word to the speech before); a word lying wholly in a quiet pause (Whisper
   misplaced it) is moved onto the edge of the region nearest it; a word over sound that VAD
   missed (a quiet line) is kept, cut or stretched to where that sound is.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, replace

import numpy as np

from videodesc.records import Span, Utterance, Word
from videodesc.speech.audio import SAMPLE_RATE

HOP = 0.01  # s between energy frames; each is taken over the 20 ms about it


@dataclass
class BoundarySettings:
    # How far from VAD's edge the real one is looked for: VAD windows are 32 ms and padded by
    # VadSettings.pad_ms, so its edges are early or late by at most a few windows.
    search_outside: float = 0.15
    search_inside: float = 0.3
    # The threshold lies this far from the pause's floor towards the region's speech level (dB).
    level_share: float = 0.3
    min_rise_db: float = 6.0  # a region less this far above its pause is left as VAD gave it
    split_pause: float = 0.25  # s under the threshold inside a region that make it two

    def as_key(self) -> dict:
        return dict(vars(self))


@dataclass
class _Energy:
    db: np.ndarray  # per frame, dB relative to full scale

    def frame(self, time: float) -> int:
        return int(np.clip(round(time / HOP), 0, len(self.db) - 1))

    def inside(self, start: float, end: float) -> np.ndarray:
        """The frames centred strictly between two times (frame i is centred at i * HOP)."""
        a = max(0, int(np.floor(start / HOP + 1e-6)) + 1)
        b = min(len(self.db) - 1, int(np.ceil(end / HOP - 1e-6)) - 1)
        return self.db[a:b + 1] if b >= a else self.db[:0]

    def level(self, start: float, end: float, percentile: float) -> float | None:
        frames = self.inside(start, end)
        return float(np.percentile(frames, percentile)) if frames.size else None


def frame_energy(samples: np.ndarray) -> np.ndarray:
    """dBFS of each 10 ms step i, over the 20 ms from (i - 1) * HOP to (i + 1) * HOP.

    Taken a chunk at a time, so a film's sound costs no copy of itself.
    """
    hop = int(HOP * SAMPLE_RATE)
    count = max(1, int(np.ceil(len(samples) / hop)))
    blocks = np.zeros(count, np.float64)  # mean square of each 10 ms block
    chunk = hop * 60_000  # ten minutes
    for first in range(0, len(samples), chunk):
        part = samples[first:first + chunk].astype(np.float64)
        part = np.pad(part, (0, -len(part) % hop))
        blocks[first // hop:first // hop + len(part) // hop] = (part.reshape(-1, hop) ** 2).mean(axis=1)
    power = (blocks + np.concatenate([[0.0], blocks[:-1]])) / 2
    return (10 * np.log10(power + 1e-10)).astype(np.float32)


def refine(samples: np.ndarray, vad: list[Span], utterances: list[Utterance],
           settings: BoundarySettings | None = None) -> tuple[list[Span], list[Utterance]]:
    """VAD regions and recognised utterances with their edges moved to where speech is.

    Subtitle cues (no words) are returned as they are: their times are the user's.
    """
    settings = settings or BoundarySettings()
    if samples.size == 0:
        return list(vad), list(utterances)
    energy = _Energy(frame_energy(samples))
    duration = len(samples) / SAMPLE_RATE
    found = _Regions(energy, sorted(vad, key=lambda s: s.start), duration, settings)
    edged = [_refine_region(found, i) for i in range(len(found.spans))]
    # Refining never makes two regions overlap more than VAD had them.
    for a, b in zip(edged, edged[1:]):
        if a.end > b.start:
            a.end = b.start = round((a.end + b.start) / 2, 3)
    edged_regions = _Regions(energy, edged, duration, settings)
    refined = _Regions(energy, [part for i in range(len(edged)) for part in _split_at_pauses(edged_regions, i)],
                       duration, settings)
    out = []
    for utterance in utterances:
        if not utterance.words:
            out.append(utterance)
            continue
        last = len(utterance.words) - 1
        words = [_refine_word(refined, word, i == 0, i == last) for i, word in enumerate(utterance.words)]
        out.append(replace(utterance, start=words[0].start, end=words[-1].end, words=words))
    return refined.spans, out


class _Regions:
    """Sorted speech regions and the pauses between them, with the level each edge is placed by."""

    def __init__(self, energy: _Energy, spans: list[Span], duration: float, settings: BoundarySettings):
        self.energy, self.spans, self.duration, self.settings = energy, spans, duration, settings
        self._starts = [s.start for s in spans]
        self._ends = [s.end for s in spans]
        self._levels: dict[tuple[int, str], float | None] = {}

    def pause(self, i: int, side: str) -> Span:
        """The pause "before" or "after" region i."""
        if side == "before":
            return Span(self.spans[i - 1].end if i else 0.0, self.spans[i].start)
        return Span(self.spans[i].end, self.spans[i + 1].start if i + 1 < len(self.spans) else self.duration)

    def level(self, i: int, side: str) -> float | None:
        """The energy between the pause's floor and region i's speech; None when they are too alike to tell."""
        if (i, side) not in self._levels:
            pause, region = self.pause(i, side), self.spans[i]
            floor = self.energy.level(pause.start, pause.end, 20) if pause.duration >= 2 * HOP else None
            speech = self.energy.level(region.start, region.end, 90)
            ok = floor is not None and speech is not None and speech - floor >= self.settings.min_rise_db
            self._levels[(i, side)] = floor + self.settings.level_share * (speech - floor) if ok else None
        return self._levels[(i, side)]

    def under(self, start: float, end: float) -> list[int]:
        """The regions overlapping a stretch, in order."""
        first = bisect.bisect_right(self._ends, start)
        last = bisect.bisect_left(self._starts, end)
        return list(range(first, last))

    def around(self, time: float) -> tuple[int | None, int | None]:
        """The regions just before and just after a time outside all of them."""
        after = bisect.bisect_left(self._starts, time)
        return (after - 1 if after else None), (after if after < len(self.spans) else None)

    def quiet(self, part: Span, i: int, side: str) -> bool:
        """Whether `part`, in the pause on `side` of region i, stays below the level that edge was placed by."""
        level = self.level(i, side)
        if level is None:
            return False
        # The frames whose windows hold a region's edge (this one's, or the one across the pause)
        # are loud by definition: they are not the pause's.
        return bool((self.energy.inside(part.start + HOP, part.end - HOP) < level).all())


def _onset(frame: int) -> float:
    """Where sound starts, given the first frame loud enough: that frame's 20 ms window crosses
    the threshold once the sound fills part of it, so the onset lies in its later half."""
    return float(frame * HOP + HOP / 2)


def _offset(frame: int) -> float:
    """Where sound ends, given the last frame loud enough (its earlier half, as for _onset)."""
    return float(frame * HOP - HOP / 2)


def _refine_region(regions: _Regions, i: int) -> Span:
    energy, settings, region = regions.energy, regions.settings, regions.spans[i]
    start, end = region.start, region.end
    level = regions.level(i, "before")
    if level is not None:
        lo = energy.frame(max(regions.pause(i, "before").start, region.start - settings.search_outside))
        hi = energy.frame(min(region.end, region.start + settings.search_inside))
        above = np.flatnonzero(energy.db[lo:hi + 1] >= level)
        if above.size:
            start = _onset(lo + above[0])
    level = regions.level(i, "after")
    if level is not None:
        lo = energy.frame(max(start, region.end - settings.search_inside))
        hi = energy.frame(min(regions.pause(i, "after").end, region.end + settings.search_outside))
        above = np.flatnonzero(energy.db[lo:hi + 1] >= level)
        if above.size:
            end = _offset(lo + above[-1])
    return Span(round(max(0.0, start), 3), round(max(start + HOP, end), 3))


def _split_at_pauses(regions: _Regions, i: int) -> list[Span]:
    """Region i cut where it stays quieter than its edges' threshold for `split_pause` or longer."""
    region, energy = regions.spans[i], regions.energy
    levels = [level for level in (regions.level(i, "before"), regions.level(i, "after")) if level is not None]
    if not levels:
        return [region]
    first = regions.energy.frame(region.start) + 1
    quiet = energy.db[first:energy.frame(region.end)] < min(levels)
    parts, start = [], region.start
    # Runs of quiet frames, as [begin, end) frame indices.
    edges = np.flatnonzero(np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]])))
    for begin, end in zip(edges[::2] + first, edges[1::2] + first):
        pause_start, pause_end = _offset(begin - 1), _onset(end)
        long_enough = pause_end - pause_start >= regions.settings.split_pause
        if long_enough and pause_start - start >= HOP and region.end - pause_end >= HOP:
            parts.append(Span(round(start, 3), round(pause_start, 3)))
            start = pause_end
    parts.append(Span(round(start, 3), region.end))
    return parts


def _refine_word(regions: _Regions, word: Word, first: bool, last: bool) -> Word:
    """`first` and `last`: whether the word opens or closes its utterance."""
    under = regions.under(word.start, word.end)
    if under:
        # A word across a pause belongs on one side of it: the first word of a line to the
        # speech after the pause (Whisper starts lines early), the last to the speech before.
        overlap = lambda j: min(word.end, regions.spans[j].end) - max(word.start, regions.spans[j].start)
        i = (under[-1] if first else under[0]) if len(under) > 1 and first != last else max(under, key=overlap)
        region = regions.spans[i]
        # Whatever part of the word lies in the pause beside its region is cut off when that
        # part of the pause is quiet.
        start, end = word.start, word.end
        before = regions.pause(i, "before")
        if start < region.start and regions.quiet(Span(max(start, before.start), region.start), i, "before"):
            start = region.start
        after = regions.pause(i, "after")
        if end > region.end and regions.quiet(Span(region.end, min(end, after.end)), i, "after"):
            end = region.end
        if (start, end) == (word.start, word.end):
            return word
        return replace(word, start=round(start, 3), end=round(max(end, start + HOP), 3))
    # No region under the word. In a quiet pause it belongs to the nearest region, which Whisper
    # put it too far from; over sound VAD did not take for speech (a quiet line, or a word VAD
    # missed at the start of a line) it is cut to that sound.
    before, after = regions.around(word.start)
    gap_before = word.start - regions.spans[before].end if before is not None else float("inf")
    gap_after = regions.spans[after].start - word.end if after is not None else float("inf")
    if before is not None and gap_before <= gap_after and regions.quiet(Span(word.start, word.end), before, "after"):
        region = regions.spans[before]
        return replace(word, start=round(region.end - min(word.end - word.start, region.duration), 3), end=region.end)
    if after is not None and gap_after < gap_before and regions.quiet(Span(word.start, word.end), after, "before"):
        region = regions.spans[after]
        return replace(word, start=region.start, end=round(region.start + min(word.end - word.start, region.duration), 3))
    return _to_its_sound(regions, word, before, after)


def _to_its_sound(regions: _Regions, word: Word, before: int | None, after: int | None) -> Word:
    """A word outside every region, cut to where its sound rises above the pause it lies in."""
    energy, settings = regions.energy, regions.settings
    pause_start = regions.spans[before].end if before is not None else 0.0
    pause_end = regions.spans[after].start if after is not None else regions.duration
    floor = energy.level(pause_start, pause_end, 20)
    loudest = energy.level(word.start, word.end, 90)
    if floor is None or loudest is None or loudest - floor < settings.min_rise_db:
        return word
    level = floor + settings.level_share * (loudest - floor)
    lo, hi = energy.frame(word.start), energy.frame(word.end)
    above = np.flatnonzero(energy.db[lo:hi + 1] >= level)
    if not above.size:
        return word
    # Whisper's edges are a bound to tighten to, except where the word's sound runs on unbroken
    # past them (it ends "Hello" while the vowel still sounds): followed for up to search_outside,
    # never into the regions either side.
    first, last = lo + above[0], lo + above[-1]
    reach = int(round(settings.search_outside / HOP))
    earliest, latest = max(energy.frame(pause_start) + 1, first - reach), min(energy.frame(pause_end) - 1, last + reach)
    while first - 1 >= earliest and energy.db[first - 1] >= level:
        first -= 1
    while last + 1 <= latest and energy.db[last + 1] >= level:
        last += 1
    start = round(max(pause_start, _onset(first)), 3)
    end = round(min(pause_end, _offset(last)), 3)
    return replace(word, start=start, end=end) if end - start >= HOP else word
