"""The facts a description may be built on: the vision stage's output without its doubtful values.

facts.json keeps every value with its confidence, for the report and for people; a writer must
not say "a smiling woman in her thirties" on a coin toss. Values below these floors are dropped
(an attribute becomes None, a hint disappears) before any writer sees the facts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from collections.abc import Mapping

from videodesc.records import Character, ShotFacts


@dataclass
class ConfidenceFloors:
    # The expression model is right about 2 times in 3 on FER-2013; below 0.6 its top class is
    # often "neutral" versus "sad" by a hair.
    expression: float = 0.6
    # Age as a number is never said; an age word ("a child", "an old man") needs a sure estimate.
    age: float = 0.5
    gender: float = 0.85
    face: float = 0.5  # HOG score: faces below are kept as characters but not described
    objects: float = 0.5  # YOLOv3-tiny hints
    tags: float = 0.3  # ImageNet softmax probability
    text: float = 0.75  # OCR line confidence
    # Body facts (vision/people.py): the rule's confidence, i.e. the landmarks' visibility times
    # the margin past its threshold. At 0.75 the labelled test frames were right 9 times in 10 or
    # better for every kind (tests/test_people.py).
    person: float = 0.75
    scale: float = 0.6
    # Events (vision/tracks.py): enters and leaves carry the person boxes' confidence, walks that
    # times how far past the least walk they went. vtest.avi's hand-labelled edge crossings were
    # all right down to 0.42 (tests/test_tracks.py); YOLOv3-tiny is unsure of 40 px figures.
    event: float = 0.4

    def as_key(self) -> dict:
        return dict(vars(self))


def reliable_facts(shot: ShotFacts, floors: ConfidenceFloors | None = None,
                   characters: Mapping[str, Character] | None = None) -> ShotFacts:
    """A copy of one shot's facts holding only what is sure enough to describe.

    With `characters`, a face's age and gender are its character's (voted over the whole video),
    so that a person is not a man in one shot and a woman in the next.
    """
    floors = floors or ConfidenceFloors()
    characters = characters or {}
    faces = []
    for face in shot.faces:
        if face.score < floors.face:
            continue
        character = characters.get(face.character)
        # Facts written before characters were voted on (or by hand) keep the face's own values.
        if character is not None and character.gender_confidence is not None:
            face = dataclasses.replace(face, gender=character.gender, gender_confidence=character.gender_confidence)
        if character is not None and character.age_confidence is not None:
            face = dataclasses.replace(face, age=character.age, age_confidence=character.age_confidence)
        faces.append(dataclasses.replace(
            face,
            facts=[fact for fact in face.facts if fact.confidence >= floors.person],
            expression=_sure(face.expression, face.expression_confidence, floors.expression),
            age=_sure(face.age, face.age_confidence, floors.age),
            gender=_sure(face.gender, face.gender_confidence, floors.gender)))
    people = [dataclasses.replace(person, facts=[f for f in person.facts if f.confidence >= floors.person])
              for person in shot.people]
    sure_scale = shot.scale_confidence is not None and shot.scale_confidence >= floors.scale
    return ShotFacts(
        shot=shot.shot,
        faces=faces,
        objects=[o for o in shot.objects if o.confidence >= floors.objects],
        text=[line for line in shot.text if line.confidence >= floors.text],
        tags=[tag for tag in shot.tags if tag.confidence >= floors.tags],
        people=people,
        scale=shot.scale if sure_scale else None,
        scale_confidence=shot.scale_confidence if sure_scale else None,
        place=list(shot.place),  # vision/place.py says a place, setting or light only when sure
        tracks=list(shot.tracks),
        events=[event for event in shot.events if event.confidence >= floors.event])


def _sure(value, confidence: float | None, floor: float):
    return value if confidence is not None and confidence >= floor else None

