"""The offline writer: a small grammar in Korean and English over the facts of the shot on screen.

It says only what the vision stage saw with confidence (see vision/reliable.py): who is there
(by name, or "인물 1" / "Person 1") and what they wear when first seen, what a person does in the
moment of the slot (comes in, goes out, walks, sits down, stands up, turns, raises a hand: the
events of vision/tracks.py), a close shot of someone, a smile or a frown, what their body shows
(a posture and the table or seat they are at, a gesture, what a hand holds), text on screen, people in view, the place and the
light when they change, and things in view when the detectors are sure. It never says an action
no fact holds: every sentence carries the facts (Claims) it states, and the script keeps them.

What the viewer was told in the last REMEMBER seconds and has not changed is not said again;
a slot with nothing new stays silent. A person is named first; a later sentence of the same cue
about them says "he" or "she" in English when their voted gender is sure and no one else in the
cue shares it, and drops the subject in Korean. Candidates are the most important facts first,
one to four sentences long, so the selector can trade content against the time the slot gives.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from pathlib import Path

from PIL import Image

from videodesc.records import Character, Claim, Event, Face, ObjectHint, Person, ShotFacts
from videodesc.vision import body as bp
from videodesc.vision.colours import NAMES as COLOURS
from videodesc.vision.place import PLACE_WORDS
from videodesc.vision.boxes import inside, outermost
from videodesc.vision.reliable import ConfidenceFloors, reliable_facts
from videodesc.write import korean
from videodesc.write.context import SlotContext, narrated_events
from videodesc.write.speaking import spoken_seconds
from videodesc.write.vocabulary import OBJECTS, Term, tag_term

_KO_COUNT = {1: "한", 2: "두", 3: "세"}
_EN_COUNT = {1: "One person is", 2: "Two people are", 3: "Three people are"}
_MAX_COUNTED = 3
_MAX_TEXT_LINES = 2
_MIN_TEXT_LETTERS = 2  # a lone letter or digit read on screen is more often noise than a sign
# Seconds a told fact stays known: a viewer keeps what they heard a minute or two ago, and a fact
# said again after that re-establishes the scene rather than repeating it.
REMEMBER = 120.0
EVENT_LEAD = 0.5  # seconds: an event this soon before the slot starts is still news in it
# Seconds after the slot starts within which text first read on a keyframe may be read out: a
# credit that comes up 30 s into a long shot is read when it comes up, not at the shot's start.
TEXT_LEAD = 1.2


@dataclass
class Sentence:
    priority: int  # lower is said first
    en: str
    ko: str
    claims: tuple[Claim, ...] = ()
    who: str | None = None  # the character the sentence starts with, named as its subject
    # An action of the same person said in one breath with this sentence: "Person 1 appears and
    # smiles." rather than "Person 1 appears. Person 1 smiles."
    joined: tuple[Sentence, str, str] | None = None  # (the action sentence, en text, ko text)
    # Other wordings of the same fact, (en, ko): the fluency model may like one better.
    rewordings: tuple[tuple[str, str], ...] = ()
    bare: Sentence | None = None  # the same without its apposition ("Person 1 appears."), to fit a short slot

    def text(self, language: str) -> str:
        return self.ko if language == "ko" else self.en

    def reworded(self, number: int) -> Sentence:
        en, ko = self.rewordings[number]
        return Sentence(self.priority, en, ko, self.claims, self.who, bare=self.bare)


@dataclass
class _Draft:
    sentences: list[Sentence]
    claims: list[Claim] = field(default_factory=list)


class TemplateWriter:
    name = "template"

    def __init__(self, floors: ConfidenceFloors | None = None):
        self.floors = floors or ConfidenceFloors()
        # The sentences behind each text offered, per slot: what `claims` and `shorten` work from.
        self._drafts: dict[tuple, _Draft] = {}

    def candidates(self, context: SlotContext, count: int) -> list[str]:
        sentences = self.sentences(context)
        if not sentences:
            return []
        options: list[list[Sentence]] = []
        # The most important fact alone, then with the next ones: different lengths, same order.
        for size in range(1, len(sentences) + 1):
            options.append(sentences[:size])
        # And the most important fact with each of the lesser ones alone, for variety.
        for extra in sentences[2:]:
            options.append([sentences[0], extra])
        # And the most important fact in other words, alone.
        for number in range(len(sentences[0].rewordings)):
            options.append([sentences[0].reworded(number)])
        unique = list(dict.fromkeys(self._draft(context, option) for option in options))
        if len(unique) <= count:
            return unique
        # Keep the shortest and the longest, and spread the rest.
        step = (len(unique) - 1) / (count - 1) if count > 1 else 0
        return [unique[round(i * step)] for i in range(count)]

    def shorten(self, context: SlotContext, text: str, seconds: float) -> list[str]:
        """Drop sentences from the end, then appositions ("Person 1, a young woman, ...") and second
        events, until it fits."""
        draft = self._drafts.get(_key(context, text))
        if draft is None:
            return []
        parts = draft.sentences
        options = [parts[:n] for n in range(len(parts) - 1, 0, -1)]
        bare = [part.bare or part for part in parts]
        while bare != parts:  # each sentence's shorter form, and its shorter form in turn
            options += [bare[:n] for n in range(len(bare), 0, -1)]
            parts, bare = bare, [part.bare or part for part in bare]
        shorter = dict.fromkeys(self._draft(context, option) for option in options)
        fitting = [t for t in shorter if t != text and spoken_seconds(t, context.language, context.rate) <= seconds]
        return sorted(fitting, key=len, reverse=True)

    def claims(self, context: SlotContext, text: str) -> list[Claim]:
        draft = self._drafts.get(_key(context, text))
        return list(draft.claims) if draft is not None else []

    def _draft(self, context: SlotContext, sentences: list[Sentence]) -> str:
        text, claims = _join(sentences, context, self.floors)
        self._drafts[_key(context, text)] = _Draft(sentences, claims)
        return text

    def sentences(self, context: SlotContext) -> list[Sentence]:
        """Every sentence the facts of the slot's main shot support that tells the viewer something
        new, most important first."""
        main = context.main_shot
        if main is None or main.facts is None:
            return []
        facts = reliable_facts(main.facts, self.floors, context.characters)
        shot = main.index
        people = _people(facts)
        sentences: list[Sentence] = []
        newcomers: dict[str, tuple] = {}  # appearing in this slot: (name, apposition)
        clothing, things = _seen_things(facts)
        for character_id, face in people.items():
            character = context.characters.get(character_id)
            new = (character_id not in context.introduced and character is not None
                   and main.start - 0.05 <= character.first_seen <= main.end)
            name = context.character_name(character_id)
            action = _expression(name, face.expression, character_id, shot)
            if action is not None and not _is_news(action, context):
                action = None
            if new:
                garment = clothing if len(people) == 1 else None
                outfit = _outfit(character, facts, main.start, main.end, garment)
                apposition = _apposition(name, _describe(face, shot), outfit)
                newcomers[character_id] = (name, apposition)
                sentences.append(_appears(name, apposition, character_id, shot, action))
            if action:
                sentences.append(action)
        for event in _events(facts, context, shot, self.floors):
            if event.who in newcomers:  # coming in is how they appear: said once, as the appearance
                sentences = [s for s in sentences if not (s.who == event.who and s.priority == 1)]
                event = _entrance(event, *newcomers.pop(event.who), shot)
            sentences.append(event)
        sentences += _close_up(facts, people, context, shot)
        sentences += _actions(facts, people, context, shot)
        sentences += _screen_text(facts, shot, main.shown_by(context.slot.start + TEXT_LEAD), context)
        worn_on_sight = clothing is not None and any(c.kind == "clothing" and c.value == clothing[0]
                                                     for s in sentences for c in s.claims)
        if len(people) == 1 and clothing and not worn_on_sight:
            (character_id,) = people
            name = context.character_name(character_id)
            sentences.append(Sentence(4, f"{name} wears {clothing[1].en}.",
                                      f"{korean.subject(name)} {korean.obj(clothing[1].ko)} 입고 있다.",
                                      (Claim(shot, "clothing", clothing[0], character_id),), character_id))
        elif clothing and not worn_on_sight:
            things.insert(0, clothing)
        walking = any(claim.kind == "crowd" for sentence in sentences for claim in sentence.claims)
        crowd = None if walking else _unnamed_people(facts, len(people), shot, context.folder)  # "people walk by" says it
        if crowd is not None:
            sentences.append(crowd)
        elif people and not any(s.priority <= 3 for s in sentences):
            sentences.append(_on_screen([context.character_name(c) for c in people], tuple(people), shot))
        place = _place(facts, shot)
        if place is not None:
            sentences.append(place)
        if things:
            sentences.append(_things(things[:2], shot))
        sentences = [s for s in sentences if _is_news(s, context)]
        sentences.sort(key=lambda s: s.priority)  # stable: the order within a priority stays
        return sentences


def _key(context: SlotContext, text: str) -> tuple:
    return (context.slot_index, context.slot.start, context.slot.end, context.language, text)


def _is_news(sentence: Sentence, context: SlotContext) -> bool:
    """Whether any fact of the sentence is one the viewer has not been told lately, or has changed."""
    return any(_is_new(claim, context) for claim in sentence.claims)


def _is_new(claim: Claim, context: SlotContext) -> bool:
    told = context.told.get(claim.subject)
    return told is None or told[0] != claim.value or context.slot.start - told[1] > REMEMBER


def _people(facts: ShotFacts) -> dict[str, Face]:
    """Each character in the shot with their biggest face (the clearest view), in order of first sight."""
    people: dict[str, Face] = {}
    for face in facts.faces:
        if not face.character:
            continue
        best = people.get(face.character)
        if best is None or face.box[2] * face.box[3] > best.box[2] * best.box[3]:
            people[face.character] = face
    return people


def _describe(face: Face, shot: int) -> tuple[str, str, tuple[Claim, ...]] | None:
    """Age and gender words ("a young woman", "젊은 여자"), from the sure estimates only."""
    age, gender, who = face.age, face.gender, face.character
    if age is None and gender is None:
        return None
    claims = tuple([Claim(shot, "gender", gender, who)] if gender else [])
    if age is not None and age < 13:
        en, ko = {"female": ("a girl", "소녀"), "male": ("a boy", "소년")}.get(gender or "", ("a child", "아이"))
        return en, ko, (*claims, Claim(shot, "age", "child", who))
    band = "" if age is None or 25 <= age < 55 else ("young" if age < 25 else "older")
    en_noun = {"female": "woman", "male": "man"}.get(gender or "", "person")
    ko_noun = {"female": "여자", "male": "남자"}.get(gender or "", "사람")
    if not band and not gender:
        return None
    if band:
        claims += (Claim(shot, "age", band, who),)
    en = f"{'an' if band == 'older' else 'a'} {band + ' ' if band else ''}{en_noun}"
    ko = {"young": "젊은 ", "older": "나이 든 ", "": ""}[band] + ko_noun
    return en, ko, claims


def _outfit(character: Character | None, facts: ShotFacts, start: float, end: float,
            garment: tuple[str, Term] | None = None) -> tuple[str, str, tuple[Claim, ...]] | None:
    """What a character wears in this shot, said once, when they are first seen: "in a blue top",
    "파란색 상의를 입은", or with the garment the whole picture shows ("in a black suit", "검은색
    정장을 입은"), and the claims. The colour is their outfit over the stretch, when their keyframes
    agree on it, else the surest reading of this shot's bodies (already above the floor)."""
    if character is None:
        return None
    sure = sorted((f for p in facts.people if p.character == character.id for f in p.facts if f.kind == "clothing"),
                  key=lambda f: -f.confidence)
    worn = [o.colour for o in character.outfits
            if o.start <= end + 0.05 and o.end >= start - 0.05 and o.confidence >= 0.75]
    colours = [c for c in worn if c in {f.value for f in sure}] or [f.value for f in sure]
    colour = next((c for c in colours if c in COLOURS), None)
    if colour is None:
        return None
    en, ko = COLOURS[colour]
    claims = (Claim(facts.shot, "clothing", colour, character.id),)
    if garment is None:
        return f"in a {en} top", f"{ko} 상의를 입은", claims
    label, term = garment
    noun = term.en.split(" ", 1)[-1] if term.en.startswith(("a ", "an ")) else term.en
    article = "" if noun.endswith("s") and not term.en.startswith(("a ", "an ")) else "a "
    return (f"in {article}{en} {noun}", f"{ko} {korean.obj(term.ko)} 입은",
            (*claims, Claim(facts.shot, "clothing", label, character.id)))


def _apposition(name: str, description: tuple[str, str, tuple[Claim, ...]] | None,
                outfit: tuple[str, str, tuple[Claim, ...]] | None) -> tuple[str, str, tuple[Claim, ...]] | None:
    """What a person is called by on first sight besides their label: ("a man in a blue top",
    "파란색 상의를 입은 남자", claims). A cast name needs no "a woman" after it."""
    if not name.startswith(("Person", "인물")):
        return None
    if outfit is not None and description is not None:
        return f"{description[0]} {outfit[0]}", f"{outfit[1]} {description[1]}", (*description[2], *outfit[2])
    if description is not None:
        return description
    if outfit is not None:
        return f"a person {outfit[0]}", f"{outfit[1]} 사람", outfit[2]
    return None


def _appears(name: str, apposition: tuple[str, str, tuple[Claim, ...]] | None, character_id: str, shot: int,
             action: Sentence | None) -> Sentence:
    seen = Claim(shot, "appears", character_id, character_id)
    bare = _appearance(name, None, None, (seen,), character_id, action)
    if apposition is None:
        return bare
    return replace(_appearance(name, apposition[0], apposition[1], (seen, *apposition[2]), character_id, action),
                   bare=bare)


def _entrance(event: Sentence, name: str, apposition: tuple[str, str, tuple[Claim, ...]] | None,
              shot: int) -> Sentence:
    """A new person's first event said as their appearance: "Person 1, a man, comes in from the left."
    Shorter forms drop the second event, then the apposition."""
    seen = Claim(shot, "appears", event.who, event.who)
    if apposition is None:
        shorter = _entrance(event.bare, name, None, shot) if event.bare is not None else None
        return replace(event, priority=1, claims=(seen, *event.claims), bare=shorter)
    ko_subject = korean.subject(name)
    verbs_en, verbs_ko = event.en[len(name):], event.ko[len(ko_subject):]
    shorter = _entrance(event.bare if event.bare is not None else event, name,
                        apposition if event.bare is not None else None, shot)
    return replace(event, priority=1, en=f"{name}, {apposition[0]},{verbs_en}",
                   ko=f"{apposition[1]}인 {ko_subject}{verbs_ko}", claims=(seen, *apposition[2], *event.claims),
                   bare=shorter)


def _appearance(name: str, words_en: str | None, words_ko: str | None, claims: tuple[Claim, ...], character_id: str,
                action: Sentence | None) -> Sentence:
    if words_en is None:
        en, ko = f"{name} appears", f"{korean.subject(name)} 나타나"
    else:
        en, ko = f"{name}, {words_en}, appears", f"{words_ko}인 {korean.subject(name)} 나타나"
    joined = None
    if action is not None and action.en.startswith(f"{name} "):
        verb_en = action.en[len(name) + 1:].rstrip(".")
        verb_ko = action.ko[len(korean.subject(name)) + 1:].rstrip(".")
        joined = (action, f"{en} and {verb_en}.", f"{ko} {verb_ko}.")
    rewordings = ((f"{en.removesuffix(' appears')} comes into view.", f"{ko.removesuffix(' 나타나')} 화면에 들어온다."),)
    return Sentence(1, f"{en}.", f"{ko[:-1]}난다.", claims, character_id, joined, rewordings)


def _expression(name: str, expression: str | None, character_id: str, shot: int) -> Sentence | None:
    # Only expressions a describer states as what is seen: a smile, a frown. "Sad", "afraid",
    # "surprised" and "disgusted" read a feeling into a face; they are left out.
    claims = (Claim(shot, "expression", expression or "", character_id),)
    if expression == "happy":
        return Sentence(3, f"{name} smiles.", f"{korean.subject(name)} 미소 짓는다.", claims, character_id,
                        rewordings=((f"{name} is smiling.", f"{korean.subject(name)} 웃고 있다."),))
    if expression == "angry":
        return Sentence(3, f"{name} frowns.", f"{korean.subject(name)} 얼굴을 찌푸린다.", claims, character_id)
    return None


# What a tracked person does (vision/tracks.py), by kind and direction: (en after the subject, ko
# after the subject, ko to go on with a second event: "왼쪽에서 들어와 오른쪽으로 걸어간다").
_EVENTS = {
    ("enters", "left"): ("comes in from the left", "왼쪽에서 들어온다", "왼쪽에서 들어와"),
    ("enters", "right"): ("comes in from the right", "오른쪽에서 들어온다", "오른쪽에서 들어와"),
    ("leaves", "left"): ("goes out to the left", "왼쪽으로 나간다", "왼쪽으로 나가"),
    ("leaves", "right"): ("goes out to the right", "오른쪽으로 나간다", "오른쪽으로 나가"),
    ("walks", "left"): ("walks to the left", "왼쪽으로 걸어간다", "왼쪽으로 걸어가"),
    ("walks", "right"): ("walks to the right", "오른쪽으로 걸어간다", "오른쪽으로 걸어가"),
    ("walks", "towards"): ("walks towards us", "앞으로 걸어온다", "앞으로 걸어와"),
    ("walks", "away"): ("walks away", "멀어져 간다", "멀어져 가"),
    ("stops", None): ("stops", "멈춰 선다", "멈춰 서"),
    ("sits_down", None): ("sits down", "자리에 앉는다", "자리에 앉아"),
    ("stands_up", None): ("stands up", "일어선다", "일어서"),
    ("turns", "to_camera"): ("turns towards us", "이쪽으로 돌아선다", "이쪽으로 돌아서"),
    ("turns", "away"): ("turns away", "등을 돌린다", "등을 돌리고"),
    ("raises_hand", None): ("raises a hand", "한 손을 든다", "한 손을 들고"),
}
_MAX_EVENTS_PER_PERSON = 2  # in one sentence: "comes in from the left and walks to the right"
_CROWD = 3  # people seen walking (none told one by one) that are "people walking by"


def _events(facts: ShotFacts, context: SlotContext, shot: int, floors: ConfidenceFloors) -> list[Sentence]:
    """What people do during the slot, in the order they do it; someone not known by face is "someone",
    and a crowd walking (each walker too many to tell) is "people walking by"."""
    start, end = context.slot.start - EVENT_LEAD, context.slot.end
    by_person: dict[str, list[Event]] = {}
    for event in narrated_events(facts, floors.event):
        if start <= event.time < end and (event.kind, event.direction) in _EVENTS:
            by_person.setdefault(event.character or event.person, []).append(event)
    sentences = []
    walkers = {e.person for e in facts.events if e.kind == "walks" and not e.character and start <= e.time < end}
    if len(walkers) >= _CROWD and not by_person:
        sentences.append(Sentence(3, "People walk by.", "사람들이 지나간다.", (Claim(shot, "crowd", "walks"),)))
    for who, events in sorted(by_person.items(), key=lambda item: item[1][0].time):
        events = events[:_MAX_EVENTS_PER_PERSON]
        known = events[0].character is not None
        name_en = context.character_name(who) if known else "Someone"
        name_ko = korean.subject(context.character_name(who)) if known else "누군가"
        words = [_EVENTS[(e.kind, e.direction)] for e in events]
        en = " and ".join(w[0] for w in words)
        ko = " ".join([w[2] for w in words[:-1]] + [words[-1][1]])
        claims = tuple(Claim(shot, "event", e.kind + (f":{e.direction}" if e.direction else ""), who, e.time)
                       for e in events)
        first = None
        if len(events) > 1:  # the first event alone, for a slot too short for both
            first = Sentence(1 if known else 2, f"{name_en} {words[0][0]}.", f"{name_ko} {words[0][1]}.", claims[:1],
                             who if known else None)
        sentences.append(Sentence(1 if known else 2, f"{name_en} {en}.", f"{name_ko} {ko}.", claims,
                                  who if known else None, bare=first))
    return sentences


def _close_up(facts: ShotFacts, people: dict[str, Face], context: SlotContext, shot: int) -> list[Sentence]:
    """"Close on Person 2.": a cut to a close shot of one known person is worth saying."""
    if facts.scale != "close-up" or len(people) != 1:
        return []
    (who,) = people
    name = context.character_name(who)
    return [Sentence(3, f"Close on {name}.", f"{korean.obj(name)} 가까이 비춘다.",
                     (Claim(shot, "scale", "close-up", who),), None)]


# What a body shows (vision/people.py), as said of a person: (en after the name, ko after the
# subject). "Action" gestures are things done; "state" ones are how the person holds themself,
# said after a posture ("sits with arms folded") or alone.
_ACTIONS = {
    "arms_raised": ("raises both arms", "두 팔을 들어 올린다"),
    "arm_raised": ("raises a hand", "한 손을 든다"),
    "pointing": ("points", "손가락으로 가리킨다"),
    "arm_outstretched": ("holds an arm out", "한 팔을 뻗는다"),
}
_STATES = {
    "arms_crossed": ("with arms folded", "팔짱을 끼고", "has arms folded", "팔짱을 끼고 있다"),
    "hands_together": ("with hands together", "두 손을 모으고", "holds both hands together", "두 손을 모으고 있다"),
    "hand_at_mouth": ("with a hand to the mouth", "손을 입에 대고", "holds a hand to the mouth", "손을 입에 대고 있다"),
    "hand_at_face": ("with a hand to the face", "손을 얼굴에 대고", "holds a hand to the face", "손을 얼굴에 대고 있다"),
}
_POSTURES = {"sitting": ("sits", "앉아 있다", "앉아서"), "lying": ("lies down", "누워 있다", "누워서")}
# What a sitting or lying person is at or on, by the COCO name of the furniture detected on the
# same keyframe, surest kind first: (en for the posture, ko before its verb). A table is what a
# scene is set at, so it is said over the chair under the person.
_SEATS = {
    "sitting": {"dining table": ("sits at a table", "탁자 앞에"), "couch": ("sits on a sofa", "소파에"),
                "bench": ("sits on a bench", "벤치에"), "bed": ("sits on a bed", "침대에"),
                "chair": ("sits on a chair", "의자에")},
    "lying": {"bed": ("lies on a bed", "침대에"), "couch": ("lies on a sofa", "소파에"), "bench": ("lies on a bench", "벤치에")},
}
_SEEN = 0.5  # landmark visibility for a hip or shoulder that places a person at a seat


def _seat(person: Person, posture: str, objects: list[ObjectHint]) -> ObjectHint | None:
    """The furniture `person` sits or lies on or at, on their own keyframe: a seat (or bed) that
    one of their visible hips is inside, or a table whose top lies below their shoulders and that
    covers a third of their width. None when no such object is sure."""
    points = person.points
    if len(points) <= max(bp.LEFT_HIP, bp.RIGHT_HIP):
        return None
    hips = [points[i] for i in (bp.LEFT_HIP, bp.RIGHT_HIP) if points[i][2] >= _SEEN]
    shoulders = [points[i] for i in (bp.LEFT_SHOULDER, bp.RIGHT_SHOULDER) if points[i][2] >= _SEEN]
    x, y, width, height = person.box
    found = []
    for hint in objects:
        if hint.keyframe != person.keyframe or hint.label not in _SEATS[posture]:
            continue
        left, top, w, h = hint.box
        if hint.label == "dining table":
            # Seated at a table, its top is at the waist: under the shoulders, above the box's foot.
            shared = max(0, min(x + width, left + w) - max(x, left))
            at = bool(shoulders) and min(p[1] for p in shoulders) < top < y + height and shared >= width / 3
        else:
            at = any(left <= p[0] <= left + w and top <= p[1] <= top + h for p in hips)
        if at:
            found.append(hint)
    order = list(_SEATS[posture])
    return min(found, key=lambda h: (order.index(h.label), -h.confidence), default=None)


def _actions(facts: ShotFacts, people: dict[str, Face], context: SlotContext, shot: int) -> list[Sentence]:
    """What each named person's body shows that the viewer was not told: a posture other than
    standing, the surest gesture, what a hand holds.

    Only of people whose face was seen: a body confirmed by a person box alone may be a cartoon
    animal (Big Buck Bunny's squirrels were read as lying with a hand at the mouth).
    """
    by_person: dict[str, dict[str, tuple[str, float]]] = {}
    for person in facts.people:
        if person.character not in people:
            continue
        kinds = by_person.setdefault(person.character, {})
        for fact in person.facts:
            if fact.kind in ("posture", "gesture", "holding") and fact.confidence > kinds.get(fact.kind, ("", 0.0))[1]:
                kinds[fact.kind] = (fact.value, fact.confidence)
            seat = _seat(person, fact.value, facts.objects) if fact.kind == "posture" and fact.value in _SEATS else None
            if seat is not None and seat.confidence > kinds.get("seat", ("", 0.0))[1]:
                kinds["seat"] = (seat.label, seat.confidence)
    for kinds in by_person.values():
        # A seat found beside another posture than the one said would put them at it wrongly.
        if "seat" in kinds and kinds["seat"][0] not in _SEATS.get(kinds.get("posture", ("", 0.0))[0], {}):
            del kinds["seat"]
    sentences = []
    for who, kinds in by_person.items():
        claims = {kind: Claim(shot, kind, value, who) for kind, (value, _) in kinds.items()}
        fresh = {kind: kinds[kind] for kind, claim in claims.items()
                 if _is_new(claim, context)}
        sentence = _action_sentence(context.character_name(who), fresh)
        if sentence is not None:
            said = tuple(claims[kind] for kind in sentence[2])
            sentences.append(Sentence(2, sentence[0], sentence[1], said, who))
    return sentences


def _action_sentence(name: str, kinds: dict[str, tuple[str, float]]) -> tuple[str, str, tuple[str, ...]] | None:
    """The sentence and the kinds of fact it says."""
    en_subject, ko_subject = name, korean.subject(name)
    posture_value = kinds.get("posture", ("", 0.0))[0]
    posture = _POSTURES.get(posture_value)
    seat = _SEATS.get(posture_value, {}).get(kinds.get("seat", ("", 0.0))[0])
    if posture is not None and seat is not None:
        posture = (seat[0], f"{seat[1]} {posture[1]}", f"{seat[1]} {posture[2]}")
    said = (("posture",) if posture else ()) + (("seat",) if posture and seat else ())
    gesture = kinds.get("gesture", ("", 0.0))[0]
    held = OBJECTS.get(kinds.get("holding", ("", 0.0))[0])
    said += ("holding",) if held else ()
    if gesture in _ACTIONS:
        en, ko = _ACTIONS[gesture]
        if posture is not None:
            en, ko = f"{posture[0]} and {en}", f"{posture[2]} {ko}"
        said += ("gesture",)
    elif gesture in _STATES:
        with_en, with_ko, alone_en, alone_ko = _STATES[gesture]
        en, ko = (f"{posture[0]} {with_en}", f"{with_ko} {posture[1]}") if posture else (alone_en, alone_ko)
        said += ("gesture",)
    elif posture is not None:
        en, ko = posture[0], posture[1]
    elif held is not None:
        return f"{en_subject} holds {held.en}.", f"{ko_subject} {korean.obj(held.ko)} 들고 있다.", said
    else:
        return None
    if held is not None:
        en, ko = f"{en}, holding {held.en}", f"{korean.obj(held.ko)} 든 채 {ko}"
    return f"{en_subject} {en}.", f"{ko_subject} {ko}.", said


def _join(sentences: list[Sentence], context: SlotContext, floors: ConfidenceFloors) -> tuple[str, list[Claim]]:
    """The sentences as one text and the facts it states. An appearance and the same person's action
    are said together; a person named in one sentence is "he"/"she" (English) or unnamed (Korean)
    in the next when it is about them again."""
    language = context.language
    parts, claims, skip = [], [], set()
    genders = _genders(sentences, context, floors)
    previous_who = None
    for sentence in sentences:
        if id(sentence) in skip:
            continue
        if sentence.joined is not None and any(s is sentence.joined[0] for s in sentences):
            action, en, ko = sentence.joined
            skip.add(id(action))
            text = ko if language == "ko" else en
            claims += [*sentence.claims, *action.claims]
        else:
            text = sentence.text(language)
            claims += sentence.claims
            if sentence.who is not None and sentence.who == previous_who:
                text, pronoun = _without_name(text, sentence.who, context, genders)
                if pronoun is not None:
                    claims.append(pronoun)
        parts.append(text)
        previous_who = sentence.who
    return " ".join(parts), list(dict.fromkeys(claims))


def _genders(sentences: list[Sentence], context: SlotContext, floors: ConfidenceFloors) -> dict[str, str]:
    """The sure voted gender of each person the sentences are about, when no one else in them shares it."""
    found: dict[str, str] = {}
    for who in {s.who for s in sentences if s.who is not None}:
        character = context.characters.get(who)
        if character is not None and character.gender and (character.gender_confidence or 0.0) >= floors.gender:
            found[who] = character.gender
    return {who: gender for who, gender in found.items() if list(found.values()).count(gender) == 1}


def _without_name(text: str, who: str, context: SlotContext, genders: dict[str, str]) -> tuple[str, Claim | None]:
    name = context.character_name(who)
    if context.language == "ko":
        subject = korean.subject(name) + " "
        return (text[len(subject):], None) if text.startswith(subject) else (text, None)
    pronoun = {"female": "She", "male": "He"}.get(genders.get(who, ""))
    if pronoun is None or not text.startswith(name + " "):
        return text, None
    shot = context.main_shot.index if context.main_shot is not None else -1
    return pronoun + text[len(name):], Claim(shot, "gender", genders[who], who)


def _screen_text(facts: ShotFacts, shot: int, shown: set[str], context: SlotContext) -> list[Sentence]:
    """The surest lines of text on screen that were not read out lately."""
    lines = [line for line in facts.text if line.kind == "scene" and line.keyframe in shown
             and sum(c.isalnum() for c in line.text) >= _MIN_TEXT_LETTERS
             and _is_new(Claim(shot, "text", line.text), context)]
    if not lines:
        return []
    # The surest lines, read out in reading order (top to bottom, left to right).
    surest = sorted(lines, key=lambda line: -line.confidence)[:_MAX_TEXT_LINES]
    ordered = sorted(surest, key=lambda line: (line.box[1], line.box[0]))
    shown = " ".join(line.text.strip() for line in ordered)
    claims = tuple(Claim(shot, "text", line.text) for line in ordered)
    return [Sentence(2, f'On screen: "{shown}".', f"화면에 '{shown}'라고 적혀 있다.", claims,
                     rewordings=((f'The words "{shown}" appear.', f"'{shown}'라는 글자가 보인다."),))]


def _seen_things(facts: ShotFacts) -> tuple[tuple[str, Term] | None, list[tuple[str, Term]]]:
    """Clothing and things in view, each said once, as (the detector's label, the words)."""
    terms: list[tuple[str, Term]] = []
    # Boxes first: a sure "bus" box says more than a "minibus" guess about the whole frame.
    for hint in sorted(facts.objects, key=lambda o: -o.confidence):
        term = OBJECTS.get(hint.label)
        if term is not None:
            terms.append((hint.label, term))
    for tag in facts.tags:
        term = tag_term(tag.label)
        if term is not None and term.kind != "place":  # places come from vision/place.py's sums
            terms.append((tag.label, term))
    seen_words: set[str] = set()
    unique = []
    for label, term in terms:
        if term.ko not in seen_words:
            seen_words.add(term.ko)
            unique.append((label, term))
    clothing = next((t for t in unique if t[1].kind == "clothing"), None)
    things, kinds = [], set()
    for label, term in unique:
        if term.kind == "clothing":
            continue
        if term.kind in ("vehicle", "animal") and term.kind in kinds:
            continue  # a "minibus" tag and a "bus" box are one vehicle; a breed and a "dog" one animal
        kinds.add(term.kind)
        things.append((label, term))
    return clothing, things


_SETTINGS = {"outdoor": ("Outdoors", "야외"), "indoor": ("Indoors", "실내")}
_LIGHTS = {"day": ("by day", "낮"), "night": ("at night", "밤")}


def _place(facts: ShotFacts, shot: int) -> Sentence | None:
    """Where the shot is and in what light ("A street, at night." / "밤의 거리다."), from vision/place.py."""
    found = {fact.kind: fact.value for fact in facts.place}
    place = PLACE_WORDS.get(found.get("place", ""))
    setting, light = _SETTINGS.get(found.get("setting", "")), _LIGHTS.get(found.get("light", ""))
    if place is not None:
        where_en, where_ko, claims = place.en, place.ko, [Claim(shot, "place", place.key)]
    elif setting is not None:
        where_en, where_ko, claims = setting[0], setting[1], [Claim(shot, "setting", found["setting"])]
    elif light is not None and found["light"] == "night":
        return Sentence(4, "It is night.", "밤이다.", (Claim(shot, "light", "night"),))
    else:
        return None
    if light is None:
        return Sentence(4, _capital(where_en) + ".", korean.copula(where_ko) + ".", tuple(claims))
    claims.append(Claim(shot, "light", found["light"]))
    return Sentence(4, f"{_capital(where_en)}, {light[0]}.", f"{light[1]}의 {korean.copula(where_ko)}.", tuple(claims))


def _things(terms: list[tuple[str, Term]], shot: int) -> Sentence:
    claims = tuple(Claim(shot, "object", label) for label, _ in terms)
    if len(terms) == 1:
        ((_, term),) = terms
        verb = "are" if term.en.endswith("s") and not term.en.startswith(("a ", "an ")) else "is"
        return Sentence(5, f"{_capital(term.en)} {verb} in view.", f"{korean.subject(term.ko)} 보인다.", claims,
                        rewordings=((f"There {verb} {term.en}.", f"{korean.subject(term.ko)} 있다."),))
    (_, first), (_, second) = terms
    return Sentence(5, f"{_capital(first.en)} and {second.en} are in view.",
                    f"{korean.and_(first.ko)} {korean.subject(second.ko)} 보인다.", claims)


def _on_screen(names: list[str], ids: tuple[str, ...], shot: int) -> Sentence:
    claims = tuple(Claim(shot, "on_screen", who, who) for who in ids)
    who = ids[0] if len(ids) == 1 else None
    if len(names) == 1:
        return Sentence(4, f"{names[0]} is on screen.", f"{korean.subject(names[0])} 화면에 있다.", claims, who)
    if len(names) == 2:
        return Sentence(4, f"{names[0]} and {names[1]} are on screen.",
                        f"{korean.and_(names[0])} {korean.subject(names[1])} 화면에 있다.", claims)
    return Sentence(4, f"{', '.join(names[:-1])} and {names[-1]} are on screen.",
                    f"{', '.join(names[:-1])}, {korean.subject(names[-1])} 화면에 있다.", claims)


def _unnamed_people(facts: ShotFacts, faces: int, shot: int, folder: Path) -> Sentence | None:
    """How many people are in view, when the object detector saw more people than faces were seen
    (some from behind or far away).

    Only keyframes where the landmark model confirmed a body in a person box count, and no box that
    is also boxed as an animal, nor a faceless box taller than half the picture unless its body is
    turned away: YOLOv3-tiny boxes cartoon characters as people and BlazePose finds bodies in them
    (Big Buck Bunny and the squirrels were "one person" again and again), while a person that big,
    facing the camera, has a face big enough to be found. Beyond three, the detector misses small
    figures: "a group".
    """
    animals = [o for o in facts.objects if o.label in OBJECTS and OBJECTS[o.label].kind == "animal"]
    per_keyframe: dict[str, list] = {}
    for hint in facts.objects:
        # The same thing boxed as a person and as an animal, on any keyframe of the shot, is the
        # animal (Big Buck Bunny's bird was a bird on one keyframe and a person on the next).
        if hint.label == "person" and not any(inside(hint.box, a.box, 0.5) for a in animals):
            per_keyframe.setdefault(hint.keyframe, []).append(hint)
    counts = []
    for keyframe, boxes in per_keyframe.items():
        bodies = [p for p in facts.people if p.keyframe == keyframe]
        height = _frame_height(folder / keyframe)
        people = [box for box in outermost(boxes, box=lambda o: o.box) if not _faceless_giant(box, bodies, facts, height)]
        if any(inside(body.box, box.box) for body in bodies for box in people):
            counts.append(len(people))
    count = max(counts, default=0)
    if count <= faces:
        return None
    claims = (Claim(shot, "people", str(count)),)
    if count <= _MAX_COUNTED:
        return Sentence(4, f"{_EN_COUNT[count]} in view.", f"{_KO_COUNT[count]} 사람이 보인다.", claims)
    return Sentence(4, "A group of people is in view.", "여러 사람이 보인다.", claims)


_GIANT = 0.5  # of the picture's height: a person box this tall shows a face big enough to be found


def _faceless_giant(box, bodies: list, facts: ShotFacts, height: int | None) -> bool:
    if height is None or box.box[3] < _GIANT * height:
        return False
    if any(face.keyframe == box.keyframe and inside(face.box, box.box) for face in facts.faces):
        return False
    turned = any(fact.kind == "facing" and fact.value == "away" for body in bodies if inside(body.box, box.box)
                 for fact in body.facts)
    return not turned


@functools.lru_cache(maxsize=4096)
def _frame_height(path: Path) -> int | None:
    """The keyframe's height in pixels (its header only), None when it cannot be read."""
    try:
        with Image.open(path) as image:
            return image.height
    except OSError:
        return None


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
