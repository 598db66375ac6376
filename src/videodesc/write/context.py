"""What a writer is told about one slot: the picture's facts, the dialogue around it, what was said before.

Every writer backend gets the same SlotContext, built from the time line and the facts of
`analyze`, so the template grammar, a chat endpoint and a local model describe the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from videodesc.records import Character, Facts, ShotFacts, Slot, Timeline, Utterance

DIALOGUE_AROUND = 3  # utterances before and after the slot shown to the writer
# A gap longer than this that spans several shots gets a description per shot: a film's
# dialogue-free opening is minutes long, and one sentence for it would describe one shot only.
LONG_SLOT = 8.0
MIN_PART = 1.2  # seconds: a shot's share of a long gap shorter than this is not described on its own


@dataclass
class ShotView:
    """One shot a description may talk about, with what the vision stage saw in it."""

    index: int
    start: float
    end: float
    keyframes: list[str]  # paths relative to the output folder, in time order
    facts: ShotFacts | None  # None: the vision stage did not look at this shot (or did not run)


@dataclass
class SlotContext:
    slot_index: int
    slot: Slot
    language: str  # "ko" or "en": the language to write in
    folder: Path  # the output folder; keyframe paths are relative to it
    shots: list[ShotView]  # the shot before the slot's first shot (to tell a change of place), then the shots it overlaps
    dialogue_before: list[Utterance]
    dialogue_after: list[Utterance]
    previous: list[str]  # descriptions already chosen for earlier slots, oldest first
    characters: dict[str, Character]  # by id
    introduced: set[str] = field(default_factory=set)  # character ids already named in an earlier description
    budget_seconds: float = 0.0  # time available to speak

    @property
    def main_shot(self) -> ShotView | None:
        """The shot on screen for most of the slot: what the description is about."""
        inside = [s for s in self.shots if s.end > self.slot.start and s.start < self.slot.end]
        if not inside:
            return self.shots[0] if self.shots else None
        return max(inside, key=lambda s: min(s.end, self.slot.end) - max(s.start, self.slot.start))

    @property
    def previous_shot(self) -> ShotView | None:
        """The shot before the main one, when the context holds it: to tell a change of place."""
        main = self.main_shot
        earlier = [s for s in self.shots if main is not None and s.index == main.index - 1]
        return earlier[0] if earlier else None

    def character_name(self, character_id: str) -> str:
        character = self.characters.get(character_id)
        if character is None:
            return character_id
        return character.name or character.label.get(self.language) or character.label.get("en", character_id)


def slot_contexts(timeline: Timeline, facts: Facts | None, folder: Path, language: str) -> list[SlotContext]:
    """One context per slot, in time order; `previous` and `introduced` are filled in while writing."""
    by_shot = {shot_facts.shot: shot_facts for shot_facts in facts.shots} if facts else {}
    characters = {c.id: c for c in facts.characters} if facts else {}
    shots = {shot.index: shot for shot in timeline.shots}
    contexts = []
    for number, slot in enumerate(timeline.slots):
        indices = sorted(set(slot.shots) or {s.index for s in timeline.shots
                                             if s.start < slot.end and s.end > slot.start})
        for part, part_indices in _parts(slot, [shots[i] for i in indices if i in shots]):
            contexts.append(_context(number, part, part_indices, timeline, by_shot, characters, folder, language))
    return contexts


def span_context(timeline: Timeline, facts: Facts | None, folder: Path, language: str, start: float,
                 end: float) -> SlotContext:
    """A context for any stretch of the video, e.g. a moment a person described (training data).

    Its slot index is -1: the stretch need not be one of the time line's slots.
    """
    by_shot = {shot_facts.shot: shot_facts for shot_facts in facts.shots} if facts else {}
    characters = {c.id: c for c in facts.characters} if facts else {}
    indices = [s.index for s in timeline.shots if s.start < end and s.end > start]
    return _context(-1, Slot(start, end, indices), list(indices), timeline, by_shot, characters, folder, language)


def _context(number: int, part: Slot, indices: list[int], timeline: Timeline, by_shot: dict[int, ShotFacts],
             characters: dict[str, Character], folder: Path, language: str) -> SlotContext:
    shots = {shot.index: shot for shot in timeline.shots}
    if indices and indices[0] - 1 in shots:
        indices.insert(0, indices[0] - 1)
    views = [ShotView(i, shots[i].start, shots[i].end, [k.path for k in shots[i].keyframes], by_shot.get(i))
             for i in indices if i in shots]
    before = [u for u in timeline.utterances if u.end <= part.start + 1e-6][-DIALOGUE_AROUND:]
    after = [u for u in timeline.utterances if u.start >= part.end - 1e-6][:DIALOGUE_AROUND]
    return SlotContext(number, part, language, folder, views, before, after, [], characters,
                       budget_seconds=part.duration)


def _parts(slot: Slot, shots: list) -> list[tuple[Slot, list[int]]]:
    """The slot whole, or for a long slot over several shots, each shot's share of it."""
    if slot.duration <= LONG_SLOT or len(shots) < 2:
        return [(slot, [s.index for s in shots])]
    parts = []
    for shot in shots:
        start, end = max(slot.start, shot.start), min(slot.end, shot.end)
        if end - start >= MIN_PART:
            parts.append((Slot(start, end, [shot.index]), [shot.index]))
    return parts or [(slot, [s.index for s in shots])]
