"""A candidate's sentences checked against the facts: what a model wrote that the detectors contradict.

A model writer sees the picture and may be right where the detectors are silent, so only plain
contradictions are caught: a known person named who is not in view, and a number of people that
is not what was seen. The selector does not choose a candidate with such a problem. Template
sentences are built from the facts and pass by construction.
"""

from __future__ import annotations

import re

from videodesc.records import ShotFacts
from videodesc.vision.boxes import outermost
from videodesc.vision.reliable import ConfidenceFloors, reliable_facts
from videodesc.write.context import SlotContext

AGAINST = "against the facts: "  # the prefix of every problem found here

_EN_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8}
_KO_NUMBERS = {"한": 1, "두": 2, "세": 3, "네": 4, "다섯": 5, "여섯": 6, "일곱": 7, "여덟": 8}
_EN_COUNT = re.compile(r"\b(" + "|".join(_EN_NUMBERS) + r")\s+(?:[a-z]+\s+)?(people|persons|men|women|children|"
                       r"figures|girls|boys)\b", re.I)
_KO_COUNT = re.compile(r"(?<![가-힣])(" + "|".join(_KO_NUMBERS) + r")\s*(?:명의?\s*)?(사람|남자|여자|아이|명)")
# How far a said number of people may be from what was seen: the detectors miss people who are
# small, turned away or cut by the frame, so one more than seen is not a contradiction.
COUNT_SLACK = 1


class FactCheck:
    """The sure facts of one slot's main shot, read once, to check every candidate of the slot against."""

    def __init__(self, context: SlotContext, floors: ConfidenceFloors | None = None):
        self.context = context
        main = context.main_shot
        self.facts = reliable_facts(main.facts, floors, context.characters) if main and main.facts else None
        if self.facts is not None:
            self.in_view = _in_view(self.facts)
            self.seen = _people_seen(self.facts)
            self.faces_in_view = len(self.in_view & {f.character for f in self.facts.faces})

    def problems(self, text: str) -> list[str]:
        """The contradictions between `text` and the facts ([] without facts)."""
        if self.facts is None:
            return []
        context, found = self.context, []
        for character_id in context.characters:
            if character_id in self.in_view:
                continue
            for name in _names(context, character_id):
                if _mentions(text, name):
                    found.append(f"{AGAINST}names {name}, who is not in view")
                    break
        for said in _counts(text, context.language):
            if said > self.seen + COUNT_SLACK or said < self.faces_in_view:
                found.append(f"{AGAINST}says {said} people, the detectors saw {self.seen}")
        return found


def _in_view(facts: ShotFacts) -> set[str]:
    """The characters seen in the shot: by face, by body, or on a person track."""
    return ({f.character for f in facts.faces if f.character} | {p.character for p in facts.people if p.character}
            | {t.character for t in facts.tracks if t.character})


def _names(context: SlotContext, character_id: str) -> list[str]:
    character = context.characters[character_id]
    names = [character.name] if character.name else []
    return names + [label for label in character.label.values() if label]


def _mentions(text: str, name: str) -> bool:
    # "Person 1" must not match inside "Person 12"; a Korean name is followed by a particle.
    return re.search(rf"(?<![\w]){re.escape(name)}(?!\d)", text) is not None


def _counts(text: str, language: str) -> list[int]:
    if language == "ko":
        return [_KO_NUMBERS[m.group(1)] for m in _KO_COUNT.finditer(text)]
    return [_EN_NUMBERS[m.group(1).lower()] for m in _EN_COUNT.finditer(text)]


def _people_seen(facts: ShotFacts) -> int:
    """The most people on one keyframe: person boxes (a box inside a bigger one is the same person)
    or faces, whichever is more."""
    most = 0
    for keyframe in {o.keyframe for o in facts.objects} | {f.keyframe for f in facts.faces}:
        people = outermost([o for o in facts.objects if o.keyframe == keyframe and o.label == "person"], box=lambda o: o.box)
        faces = sum(f.keyframe == keyframe for f in facts.faces)
        most = max(most, len(people), faces)
    return most

