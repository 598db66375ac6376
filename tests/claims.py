"""Walking a script's cues back to facts.json: which claims of a chosen candidate no sure fact holds.

Checked against facts.json as `analyze` wrote it, with the writer's confidence floors, and written
independently of the template writer's grammar: a claim holds when the fact it names is there.
"""

from __future__ import annotations

from videodesc.records import Claim, Facts, Script
from videodesc.vision.reliable import ConfidenceFloors

FLOORS = ConfidenceFloors()
_AGE_BANDS = {"child": (0, 13), "young": (13, 25), "older": (55, 200)}


def unsupported(script: Script, facts: Facts) -> list[tuple[str, Claim | None]]:
    """(cue text, claim) for each claim no fact supports, and (cue text, None) for a cue with no claim."""
    found = []
    for cue in script.cues:
        claims = cue.candidates[cue.chosen].claims
        if not claims:
            found.append((cue.text, None))
        found += [(cue.text, claim) for claim in claims if not holds(claim, facts)]
    return found


def holds(claim: Claim, facts: Facts) -> bool:
    shot = next((s for s in facts.shots if s.shot == claim.shot), None)
    character = next((c for c in facts.characters if c.id == claim.who), None)
    if shot is None:
        return False
    kind, value, who = claim.kind, claim.value, claim.who
    faces = [f for f in shot.faces if f.character == who and f.score >= FLOORS.face]
    bodies = [p for p in shot.people if p.character == who]
    if kind in ("appears", "on_screen"):
        return bool(faces) and (kind == "on_screen" or value == who)
    if kind == "gender":
        return character is not None and character.gender == value and character.gender_confidence >= FLOORS.gender
    if kind == "age":
        low, high = _AGE_BANDS[value]
        return (character is not None and character.age is not None and low <= character.age < high
                and character.age_confidence >= FLOORS.age)
    if kind == "expression":
        return any(f.expression == value and f.expression_confidence >= FLOORS.expression for f in faces)
    if kind in ("posture", "gesture", "holding", "clothing"):
        if any(f.kind == kind and f.value == value and f.confidence >= FLOORS.person for p in bodies for f in p.facts):
            return True
        # A top's colour said on first sight is the character's outfit, seen on this shot's bodies.
        return kind == "clothing" and (
            any(t.label == value and t.confidence >= FLOORS.tags for t in shot.tags)
            or (character is not None and any(o.colour == value for o in character.outfits)
                and any(f.kind == "clothing" and f.value == value for p in bodies for f in p.facts)))
    if kind == "seat":
        # Sitting or lying on the keyframe where that furniture was seen, touching the body's box.
        return any(f.kind == "posture" and f.confidence >= FLOORS.person and o.keyframe == p.keyframe
                   and o.label == value and o.confidence >= FLOORS.objects and _touch(o.box, p.box)
                   for p in bodies for f in p.facts for o in shot.objects)
    if kind == "event":
        event_kind, _, direction = value.partition(":")
        return any(e.time == claim.time and e.kind == event_kind and (e.direction or "") == direction
                   and who in (e.character, e.person) and e.confidence >= FLOORS.event for e in shot.events)
    if kind == "crowd":
        return len({e.person for e in shot.events if e.kind == "walks" and e.confidence >= FLOORS.event}) >= 3
    if kind == "text":
        return any(line.text == value and line.kind == "scene" and line.confidence >= FLOORS.text for line in shot.text)
    if kind == "people":
        per_keyframe: dict[str, int] = {}
        for hint in shot.objects:
            if hint.label == "person" and hint.confidence >= FLOORS.objects:
                per_keyframe[hint.keyframe] = per_keyframe.get(hint.keyframe, 0) + 1
        return 0 < int(value) <= max(per_keyframe.values(), default=0)
    if kind == "scale":
        return shot.scale == value and shot.scale_confidence >= FLOORS.scale and bool(faces)
    if kind in ("place", "setting", "light"):
        return any(p.kind == kind and p.value == value for p in shot.place)
    if kind == "object":
        return (any(o.label == value and o.confidence >= FLOORS.objects for o in shot.objects)
                or any(t.label == value and t.confidence >= FLOORS.tags for t in shot.tags))
    return False


def _touch(a, b) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]
