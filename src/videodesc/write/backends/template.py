"""The offline writer: a small grammar in Korean and English over the facts of the shot on screen.

It says only what the vision stage saw with confidence (see vision/reliable.py): who is there
(by name, or "인물 1" / "Person 1"), a new character appearing, a smile or a frown, what their
body shows (a posture, a gesture, what a hand holds), text on screen, people in view, the place
and things in view when the detectors are sure. It never says an action no fact holds. Each fact becomes one short sentence; candidates are the most important
facts first, one to four sentences long, so the selector can trade content against the time
the slot gives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from videodesc.records import Face, ShotFacts
from videodesc.vision.reliable import ConfidenceFloors, reliable_facts
from videodesc.write import korean
from videodesc.write.context import SlotContext
from videodesc.write.speaking import spoken_seconds
from videodesc.write.vocabulary import OBJECTS, Term, tag_term

_KO_COUNT = {1: "한", 2: "두", 3: "세", 4: "네", 5: "다섯"}
_EN_COUNT = {1: "One person is", 2: "Two people are", 3: "Three people are", 4: "Four people are",
             5: "Five people are"}
_MAX_TEXT_LINES = 2
_MIN_TEXT_LETTERS = 2  # a lone letter or digit read on screen is more often noise than a sign


@dataclass
class Sentence:
    priority: int  # lower is said first
    en: str
    ko: str
    mentions: tuple[str, ...] = ()  # character ids named in it
    # An action of the same person said in one breath with this sentence: "Person 1 appears and
    # smiles." rather than "Person 1 appears. Person 1 smiles."
    joined: tuple[Sentence, str, str] | None = None  # (the action sentence, en text, ko text)
    # Other wordings of the same fact, (en, ko): the fluency model may like one better.
    rewordings: tuple[tuple[str, str], ...] = ()

    def text(self, language: str) -> str:
        return self.ko if language == "ko" else self.en

    def reworded(self, number: int) -> Sentence:
        en, ko = self.rewordings[number]
        return Sentence(self.priority, en, ko, self.mentions)


class TemplateWriter:
    name = "template"

    def __init__(self, floors: ConfidenceFloors | None = None):
        self.floors = floors or ConfidenceFloors()

    def candidates(self, context: SlotContext, count: int) -> list[str]:
        sentences = self.sentences(context)
        if not sentences:
            return []
        language = context.language
        texts: list[str] = []
        # The most important fact alone, then with the next ones: different lengths, same order.
        for size in range(1, len(sentences) + 1):
            texts.append(_join(sentences[:size], language))
        # And the most important fact with each of the lesser ones alone, for variety.
        for extra in sentences[2:]:
            texts.append(_join([sentences[0], extra], language))
        # And the most important fact in other words, alone.
        for number in range(len(sentences[0].rewordings)):
            texts.append(_join([sentences[0].reworded(number)], language))
        unique = list(dict.fromkeys(texts))
        if len(unique) <= count:
            return unique
        # Keep the shortest and the longest, and spread the rest.
        step = (len(unique) - 1) / (count - 1) if count > 1 else 0
        return [unique[round(i * step)] for i in range(count)]

    def shorten(self, context: SlotContext, text: str, seconds: float) -> list[str]:
        """Drop sentences from the end, then appositions ("Person 1, a young woman, ..."), until it fits."""
        parts = _split_sentences(text)
        shorter = [" ".join(parts[:n]) for n in range(len(parts) - 1, 0, -1)]
        bare = [_drop_apposition(part, context.language) for part in parts]
        shorter += [" ".join(bare[:n]) for n in range(len(bare), 0, -1)]
        fitting = [t for t in dict.fromkeys(shorter)
                   if t != text and spoken_seconds(t, context.language) <= seconds]
        return sorted(fitting, key=len, reverse=True)

    def sentences(self, context: SlotContext) -> list[Sentence]:
        """Every sentence the facts of the slot's main shot support, most important first."""
        main = context.main_shot
        if main is None or main.facts is None:
            return []
        facts = reliable_facts(main.facts, self.floors, context.characters)
        people = _people(facts)
        sentences: list[Sentence] = []
        for character_id, face in people.items():
            character = context.characters.get(character_id)
            new = (character_id not in context.introduced and character is not None
                   and main.start - 0.05 <= character.first_seen <= main.end)
            name = context.character_name(character_id)
            action = _expression(name, face.expression, character_id)
            if new:
                sentences.append(_appears(name, _describe(face), character_id, action))
            if action:
                sentences.append(action)
        sentences += _actions(facts, people, context)
        sentences += _screen_text(facts)
        clothing, things, place = _seen_things(facts, context)
        if len(people) == 1 and clothing:
            (character_id,) = people
            name = context.character_name(character_id)
            sentences.append(Sentence(4, f"{name} wears {clothing.en}.",
                                      f"{korean.subject(name)} {korean.obj(clothing.ko)} 입고 있다.", (character_id,)))
        elif clothing:
            things.insert(0, clothing)
        crowd = _unnamed_people(facts, len(people))
        if crowd is not None:
            sentences.append(crowd)
        elif people and not any(s.priority <= 3 for s in sentences):
            sentences.append(_on_screen([context.character_name(c) for c in people], tuple(people)))
        if place is not None:
            sentences.append(Sentence(4, _capital(place.en) + ".", korean.copula(place.ko) + "."))
        if things:
            sentences.append(_things(things[:2]))
        sentences.sort(key=lambda s: s.priority)  # stable: the order within a priority stays
        return sentences


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


def _describe(face: Face) -> tuple[str, str] | None:
    """Age and gender words ("a young woman", "젊은 여자"), from the sure estimates only."""
    age, gender = face.age, face.gender
    if age is None and gender is None:
        return None
    if age is not None and age < 13:
        return {"female": ("a girl", "소녀"), "male": ("a boy", "소년")}.get(gender or "", ("a child", "아이"))
    band = "" if age is None or 25 <= age < 55 else ("young" if age < 25 else "older")
    en_noun = {"female": "woman", "male": "man"}.get(gender or "", "person")
    ko_noun = {"female": "여자", "male": "남자"}.get(gender or "", "사람")
    if not band and not gender:
        return None
    en = f"{'an' if band == 'older' else 'a'} {band + ' ' if band else ''}{en_noun}"
    ko = {"young": "젊은 ", "older": "나이 든 ", "": ""}[band] + ko_noun
    return en, ko


def _appears(name: str, description: tuple[str, str] | None, character_id: str,
             action: Sentence | None) -> Sentence:
    if description is None or not name.startswith(("Person", "인물")):
        en, ko = f"{name} appears", f"{korean.subject(name)} 나타나"
    else:
        en, ko = f"{name}, {description[0]}, appears", f"{description[1]}인 {korean.subject(name)} 나타나"
    joined = None
    if action is not None and action.en.startswith(f"{name} "):
        verb_en = action.en[len(name) + 1:].rstrip(".")
        verb_ko = action.ko[len(korean.subject(name)) + 1:].rstrip(".")
        joined = (action, f"{en} and {verb_en}.", f"{ko} {verb_ko}.")
    rewordings = ((f"{en.removesuffix(' appears')} comes into view.", f"{ko.removesuffix(' 나타나')} 화면에 들어온다."),)
    return Sentence(1, f"{en}.", f"{ko[:-1]}난다.", (character_id,), joined, rewordings)


def _expression(name: str, expression: str | None, character_id: str) -> Sentence | None:
    # Only expressions a describer states as what is seen: a smile, a frown. "Sad", "afraid",
    # "surprised" and "disgusted" read a feeling into a face; they are left out.
    if expression == "happy":
        return Sentence(3, f"{name} smiles.", f"{korean.subject(name)} 미소 짓는다.", (character_id,),
                        rewordings=((f"{name} is smiling.", f"{korean.subject(name)} 웃고 있다."),))
    if expression == "angry":
        return Sentence(3, f"{name} frowns.", f"{korean.subject(name)} 얼굴을 찌푸린다.", (character_id,))
    return None


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


def _actions(facts: ShotFacts, people: dict[str, Face], context: SlotContext) -> list[Sentence]:
    """What each named person's body shows: a posture other than standing, the surest gesture,
    what a hand holds.

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
    sentences = []
    for who, kinds in by_person.items():
        sentence = _action_sentence(context.character_name(who), kinds)
        if sentence is not None:
            sentences.append(Sentence(2, sentence[0], sentence[1], (who,)))
    return sentences


def _action_sentence(name: str, kinds: dict[str, tuple[str, float]]) -> tuple[str, str] | None:
    en_subject, ko_subject = name, korean.subject(name)
    posture = _POSTURES.get(kinds.get("posture", ("", 0.0))[0])
    gesture = kinds.get("gesture", ("", 0.0))[0]
    held = OBJECTS.get(kinds.get("holding", ("", 0.0))[0])
    if gesture in _ACTIONS:
        en, ko = _ACTIONS[gesture]
        if posture is not None:
            en, ko = f"{posture[0]} and {en}", f"{posture[2]} {ko}"
    elif gesture in _STATES:
        with_en, with_ko, alone_en, alone_ko = _STATES[gesture]
        en, ko = (f"{posture[0]} {with_en}", f"{with_ko} {posture[1]}") if posture else (alone_en, alone_ko)
    elif posture is not None:
        en, ko = posture[0], posture[1]
    elif held is not None:
        return f"{en_subject} holds {held.en}.", f"{ko_subject} {korean.obj(held.ko)} 들고 있다."
    else:
        return None
    if held is not None:
        en, ko = f"{en}, holding {held.en}", f"{korean.obj(held.ko)} 든 채 {ko}"
    return f"{en_subject} {en}.", f"{ko_subject} {ko}."


def _join(sentences: list[Sentence], language: str) -> str:
    """The sentences as one text, an appearance and the same person's action said together."""
    parts, skip = [], set()
    for sentence in sentences:
        if id(sentence) in skip:
            continue
        if sentence.joined is not None and any(s is sentence.joined[0] for s in sentences):
            action, en, ko = sentence.joined
            skip.add(id(action))
            parts.append(ko if language == "ko" else en)
        else:
            parts.append(sentence.text(language))
    return " ".join(parts)


def _screen_text(facts: ShotFacts) -> list[Sentence]:
    lines = [line for line in facts.text
             if line.kind == "scene" and sum(c.isalnum() for c in line.text) >= _MIN_TEXT_LETTERS]
    if not lines:
        return []
    # The surest lines, read out in reading order (top to bottom, left to right).
    surest = sorted(lines, key=lambda line: -line.confidence)[:_MAX_TEXT_LINES]
    shown = " ".join(line.text.strip() for line in sorted(surest, key=lambda line: (line.box[1], line.box[0])))
    return [Sentence(2, f'On screen: "{shown}".', f"화면에 '{shown}'라고 적혀 있다.",
                     rewordings=((f'The words "{shown}" appear.', f"'{shown}'라는 글자가 보인다."),))]


def _seen_things(facts: ShotFacts, context: SlotContext) -> tuple[Term | None, list[Term], Term | None]:
    """Clothing, things and a place, each said once; a place only when it changed since the last shot."""
    terms: list[Term] = []
    # Boxes first: a sure "bus" box says more than a "minibus" guess about the whole frame.
    for hint in sorted(facts.objects, key=lambda o: -o.confidence):
        term = OBJECTS.get(hint.label)
        if term is not None:
            terms.append(term)
    for tag in facts.tags:
        term = tag_term(tag.label)
        if term is not None:
            terms.append(term)
    seen_words: set[str] = set()
    unique = []
    for term in terms:
        if term.ko not in seen_words:
            seen_words.add(term.ko)
            unique.append(term)
    clothing = next((t for t in unique if t.kind == "clothing"), None)
    place = next((t for t in unique if t.kind == "place"), None)
    if place is not None and _place_already_known(place, context):
        place = None
    things, kinds = [], set()
    for term in unique:
        if term.kind in ("clothing", "place"):
            continue
        if term.kind in ("vehicle", "animal") and term.kind in kinds:
            continue  # a "minibus" tag and a "bus" box are one vehicle; a breed and a "dog" one animal
        kinds.add(term.kind)
        things.append(term)
    return clothing, things, place


def _place_already_known(place: Term, context: SlotContext) -> bool:
    earlier = context.previous_shot
    if earlier is not None and earlier.facts is not None:
        if any(tag_term(tag.label) == place for tag in earlier.facts.tags):
            return True
    said = place.ko if context.language == "ko" else place.en.split(" ", 1)[-1]
    return any(said in text for text in context.previous[-3:])


def _things(terms: list[Term]) -> Sentence:
    if len(terms) == 1:
        (term,) = terms
        verb = "are" if term.en.endswith("s") and not term.en.startswith(("a ", "an ")) else "is"
        return Sentence(5, f"{_capital(term.en)} {verb} in view.", f"{korean.subject(term.ko)} 보인다.",
                        rewordings=((f"There {verb} {term.en}.", f"{korean.subject(term.ko)} 있다."),))
    first, second = terms
    return Sentence(5, f"{_capital(first.en)} and {second.en} are in view.",
                    f"{korean.and_(first.ko)} {korean.subject(second.ko)} 보인다.")


def _on_screen(names: list[str], ids: tuple[str, ...]) -> Sentence:
    if len(names) == 1:
        return Sentence(4, f"{names[0]} is on screen.", f"{korean.subject(names[0])} 화면에 있다.", ids)
    if len(names) == 2:
        return Sentence(4, f"{names[0]} and {names[1]} are on screen.",
                        f"{korean.and_(names[0])} {korean.subject(names[1])} 화면에 있다.", ids)
    return Sentence(4, f"{', '.join(names[:-1])} and {names[-1]} are on screen.",
                    f"{', '.join(names[:-1])}, {korean.subject(names[-1])} 화면에 있다.", ids)


def _unnamed_people(facts: ShotFacts, faces: int) -> Sentence | None:
    """How many people are in view, when the object detector saw more people than faces were seen
    (some from behind or far away)."""
    per_keyframe: dict[str, int] = {}
    for hint in facts.objects:
        if hint.label == "person":
            per_keyframe[hint.keyframe] = per_keyframe.get(hint.keyframe, 0) + 1
    count = max(per_keyframe.values(), default=0)
    if count <= faces:
        return None
    if count in _EN_COUNT:
        return Sentence(4, f"{_EN_COUNT[count]} in view.", f"{_KO_COUNT[count]} 사람이 보인다.")
    return Sentence(4, "A group of people is in view.", "여러 사람이 보인다.")


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _split_sentences(text: str) -> list[str]:
    return [part for part in re.split(r"(?<=[.!?])\s+", text.strip()) if part]


def _drop_apposition(sentence: str, language: str) -> str:
    if language == "ko":
        return re.sub(r"^[^ ]+( [^ ]+)?인 (?=인물)", "", sentence)
    return re.sub(r", an? [a-z ]+, ", " ", sentence)
