"""What a writer is told about one slot: the picture's facts, the dialogue around it, what was said before.

Every writer backend gets the same SlotContext, built from the time line and the facts of
`analyze`, so the template grammar, a chat endpoint and a local model describe the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from videodesc.records import Character, Event, Facts, Shot, ShotFacts, Slot, Timeline, Utterance
from videodesc.vision.reliable import ConfidenceFloors
from videodesc.write.speaking import SpeakingRate

DIALOGUE_AROUND = 3  # utterances before and after the slot shown to the writer
# A gap longer than this is narrated as it unfolds: a part from each new shot and from each
# thing a person does in it (vision/tracks.py's events), so that a cue comes when its event
# happens. A film's dialogue-free opening is minutes long; one sentence would describe one moment.
LONG_SLOT = 8.0
# Seconds: a moment this soon after the one before is told with it, not on its own; a person
# coming in 1.3 s into a gap is said at its start, with the time to say it.
MIN_PART = 2.0
# What someone not known by face does is told only while at most this many people are in view:
# in a crowd (vtest.avi's campus path has five to eight walkers at a time) "someone walks to the
# left" every second says nothing a viewer can follow.
MAX_UNNAMED_IN_VIEW = 2


@dataclass
class ShotView:
    """One shot a description may talk about, with what the vision stage saw in it."""

    index: int
    start: float
    end: float
    keyframes: list[str]  # paths relative to the output folder, in time order
    facts: ShotFacts | None  # None: the vision stage did not look at this shot (or did not run)
    keyframe_times: list[float] = field(default_factory=list)  # seconds, one per keyframe

    def shown_by(self, time: float) -> set[str]:
        """The keyframes on screen by `time`: those up to it, and always the shot's first (a part
        that starts with the shot is about what its first keyframe shows, whenever that was taken)."""
        return {path for number, (path, at) in enumerate(zip(self.keyframes, self.keyframe_times))
                if number == 0 or at <= time}


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
    # What the viewer has been told: Claim.subject -> (value, time of the cue that said it).
    told: dict[tuple, tuple[str, float]] = field(default_factory=dict)
    rate: SpeakingRate = field(default_factory=SpeakingRate)  # how fast the voice that will speak talks

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
        for part, part_indices in _parts(slot, [shots[i] for i in indices if i in shots], by_shot):
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
    views = [ShotView(i, shots[i].start, shots[i].end, [k.path for k in shots[i].keyframes], by_shot.get(i),
                      [k.time for k in shots[i].keyframes])
             for i in indices if i in shots]
    before = [u for u in timeline.utterances if u.end <= part.start + 1e-6][-DIALOGUE_AROUND:]
    after = [u for u in timeline.utterances if u.start >= part.end - 1e-6][:DIALOGUE_AROUND]
    return SlotContext(number, part, language, folder, views, before, after, [], characters,
                       budget_seconds=part.duration)


def narrated_events(facts: ShotFacts, floor: float | None = None) -> list[Event]:
    """The shot's sure events worth a sentence: a known character's, or someone's in a shot with
    few people in view."""
    floor = ConfidenceFloors().event if floor is None else floor
    worth = []
    for event in facts.events:
        if event.confidence < floor:
            continue
        in_view = sum(track.start - 0.5 <= event.time <= track.end + 0.5 for track in facts.tracks)
        if event.character or in_view <= MAX_UNNAMED_IN_VIEW:
            worth.append(event)
    return worth


def _new_text_times(shot: Shot, facts: ShotFacts | None) -> list[float]:
    """When text is first read on a keyframe after the shot's first: a title or a sign coming up."""
    if facts is None:
        return []
    floor = ConfidenceFloors().text
    first_read = {line.keyframe for line in facts.text if line.kind == "scene" and line.confidence >= floor}
    return [k.time for k in shot.keyframes[1:] if k.path in first_read]


def _parts(slot: Slot, shots: list[Shot], by_shot: dict[int, ShotFacts]) -> list[tuple[Slot, list[int]]]:
    """The slot whole, or for a long slot, a part from each moment something new is on screen: the
    start of each shot in it, each sure event, and text first read on a later keyframe. A part runs
    until the next moment."""
    if slot.duration <= LONG_SLOT:
        return [(slot, [s.index for s in shots])]
    moments = [slot.start]
    for shot in shots:
        facts = by_shot.get(shot.index)
        events = [e.time for e in narrated_events(facts)] if facts is not None else []
        for time in sorted([shot.start, *events, *_new_text_times(shot, facts)]):
            if slot.start < time < slot.end - MIN_PART and time - moments[-1] >= MIN_PART:
                moments.append(time)
    if len(moments) == 1:
        return [(slot, [s.index for s in shots])]
    parts = []
    for start, end in zip(moments, [*moments[1:], slot.end]):
        inside = [s.index for s in shots if s.start < end and s.end > start]
        parts.append((Slot(round(start, 3), round(end, 3), inside), inside))
    return parts
