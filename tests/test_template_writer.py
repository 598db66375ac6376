"""The offline template writer on facts that the vision stage found in real photos, and what model
writers are given from the same facts (marked keyframes, the sure sentences) and checked against."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from conftest import ffmpeg
from test_text import render
from videodesc.records import load_facts, load_timeline
from videodesc.write import korean
from videodesc.write.backends.template import TemplateWriter
from videodesc.write.context import slot_contexts
from videodesc.write.style import problems
from videodesc.write.vocabulary import OBJECTS, TAGS


def analyse_photos(inputs: list, folder):
    """Each photo as a silent 3-second shot (fitted into 960x720), joined and analysed with vision on every shot."""
    args, chains = [], []
    for number, path in enumerate(inputs):
        args += ["-loop", "1", "-t", "3", "-i", str(path)]
        chains.append(f"[{number}:v]scale=960:720:force_original_aspect_ratio=decrease,"
                      f"pad=960:720:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=25[v{number}]")
    video = folder / "shots.mp4"
    ffmpeg(*args, "-filter_complex", ";".join(chains) + ";" + "".join(f"[v{n}]" for n in range(len(inputs)))
           + f"concat=n={len(inputs)}:v=1:a=0[v]", "-map", "[v]", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(video))
    out = folder / "out"
    proc = subprocess.run([sys.executable, "-m", "videodesc", "analyze", str(video), "-o", str(out), "--quiet",
                           "--vision", "all", "--lang", "en"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return load_timeline((out / "timeline.json").read_text()), load_facts((out / "facts.json").read_text()), out


@pytest.fixture(scope="module")
def analysed(samples, tmp_path_factory):
    """Four silent 3-second shots -- the astronaut, coffee under a Korean sign, the bus, the cat -- analysed."""
    folder = tmp_path_factory.mktemp("scenes")
    sign = folder / "sign.png"
    cv2.imwrite(str(sign), render(samples / "coffee.png", [("한빛 병원 응급실", (120, 90), 56, True)]))
    timeline, facts, out = analyse_photos([samples / "astronaut.png", sign, samples / "bus.jpg", samples / "chelsea.png"],
                                          folder)
    assert len(timeline.shots) == 4 and len(timeline.slots) == 1  # no sound: one slot over everything
    return timeline, facts, out


def contexts_per_shot(analysed, language):
    """One context per shot, as if a slot lay over each shot alone."""
    from videodesc.records import Slot

    timeline, facts, out = analysed
    timeline.slots = [Slot(shot.start + 0.1, shot.end - 0.1, [shot.index]) for shot in timeline.shots]
    return {c.main_shot.index: c for c in slot_contexts(timeline, facts, out, language)}


def spoken_terms(text: str, language: str) -> set[str]:
    """The detector labels whose words appear in `text` (outside quoted screen text)."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "", text)
    found = set()
    for table in (OBJECTS, TAGS):
        for label, term in table.items():
            word = term.ko if language == "ko" else term.en.split(" ", 1)[-1]
            # A Korean noun is followed by a particle or a space; "병" in "병원" is not a bottle.
            if re.search(rf"(?<![가-힣A-Za-z]){re.escape(word)}(?=[이가을를은는과와도]?(?:[^가-힣]|$))", text, re.I):
                found.add(label)
    return found


@pytest.mark.parametrize("language", ["ko", "en"])
def test_candidates_follow_the_style_rules_and_say_only_what_was_seen(analysed, language):
    timeline, facts, _ = analysed
    writer = TemplateWriter()
    by_shot = {shot.shot: shot for shot in facts.shots}
    for index, context in contexts_per_shot(analysed, language).items():
        candidates = writer.candidates(context, 4)
        assert len(candidates) == len(set(candidates))
        for text in candidates:
            assert problems(text, language) == [], text
            if language == "ko":
                assert all(s.endswith("다.") for s in re.split(r"(?<=\.)\s+", text)), text
            seen = {o.label for o in by_shot[index].objects} | {t.label for t in by_shot[index].tags}
            # Words for a dog, a bus, a cup... only where the detectors saw one (a breed counts as its animal).
            assert spoken_terms(text, language) <= seen | ({"cat"} if {"tabby", "tiger cat", "Egyptian cat"} & seen
                                                          else set()), (text, seen)


def test_what_each_photo_yields_in_korean(analysed):
    contexts = contexts_per_shot(analysed, "ko")
    writer = TemplateWriter()
    astronaut = writer.candidates(contexts[0], 4)
    # The astronaut is new and smiles; she is said by her label, with sure age/gender words.
    assert any("인물 1" in text and "나타난다" in text for text in astronaut), astronaut
    assert any("미소 짓는다" in text for text in astronaut), astronaut
    sign = writer.candidates(contexts[1], 4)
    assert any("한빛 병원 응급실" in text for text in sign) and any("커피" in text for text in sign), sign
    assert any("사람이 보인다" in text for text in writer.candidates(contexts[2], 4))  # the bus: people, faces unseen or known
    assert any("고양이" in text for text in writer.candidates(contexts[3], 4))  # a tabby is said as a cat
    # Candidates differ in length so the selector can fit them to the slot.
    assert len({len(text) for text in sign}) == len(sign) >= 2


def test_an_introduced_character_does_not_appear_again(analysed):
    context = contexts_per_shot(analysed, "en")[0]
    first = TemplateWriter().candidates(context, 4)
    assert any(text.startswith("Person 1, a ") and "appears" in text for text in first), first
    context.introduced = {"person-1"}
    again = TemplateWriter().candidates(context, 4)
    assert not any("appears" in text for text in again) and any("smiles." in text for text in again), again


def test_no_facts_no_candidates(analysed):
    timeline, _, out = analysed
    (context,) = slot_contexts(timeline, None, out, "en")[:1]
    assert TemplateWriter().candidates(context, 4) == []


def test_shorten_drops_sentences_then_appositions(analysed):
    context = contexts_per_shot(analysed, "en")[0]  # the astronaut: a new person, a smile, things in view
    writer = TemplateWriter()
    text = max(writer.candidates(context, 8), key=len)
    assert text.startswith("Person 1, a ") and len(re.findall(r"\.(?:\s|$)", text)) >= 2, text
    shorter = writer.shorten(context, text, 2.0)
    assert shorter and all(len(t) < len(text) for t in shorter)
    assert any(t.startswith("Person 1 appears") for t in shorter), shorter
    # A shorter text states fewer facts: the age and gender go with the apposition.
    bare = next(t for t in shorter if t.startswith("Person 1 appears"))
    assert {c.kind for c in writer.claims(context, bare)} < {c.kind for c in writer.claims(context, text)}
    assert writer.shorten(context, text, 0.1) == []
    assert writer.shorten(context, "A text this writer did not write.", 5.0) == []


@pytest.mark.parametrize("word, particles", [
    ("인물 1", ("인물 1이", "인물 1은", "인물 1을")), ("민수", ("민수가", "민수는", "민수를")),
    ("컵", ("컵이", "컵은", "컵을")), ("인물 2", ("인물 2가", "인물 2는", "인물 2를")),
    ("Anna", ("Anna가", "Anna는", "Anna를")), ("John", ("John이", "John은", "John을"))])
def test_korean_particles_follow_the_final_sound(word, particles):
    assert (korean.subject(word), korean.topic(word), korean.obj(word)) == particles


@pytest.fixture(scope="module")
def bodies_analysed(samples, tmp_path_factory):
    """Three silent 3-second shots of people whose bodies show something: arms folded (obama3.jpg,
    biden.jpg) and both arms held out (messi5.jpg), analysed."""
    return analyse_photos([samples / "obama3.jpg", samples / "biden.jpg", samples / "messi5.jpg"],
                          tmp_path_factory.mktemp("bodies"))


# What each action sentence claims, by the gesture fact it needs.
CLAIMS = {"arms_crossed": ("arms folded", "팔짱을"), "arm_outstretched": ("holds an arm out", "한 팔을 뻗는다"),
          "arms_raised": ("raises both arms", "두 팔을"), "hands_together": ("hands together", "두 손을 모으고")}


@pytest.mark.parametrize("language", ["ko", "en"])
def test_what_people_do_is_said_and_only_what_their_sure_facts_show(bodies_analysed, language):
    from videodesc.vision.reliable import ConfidenceFloors, reliable_facts

    timeline, facts, out = bodies_analysed
    writer = TemplateWriter()
    contexts = contexts_per_shot(bodies_analysed, language)
    said_any = set()
    for index, context in contexts.items():
        sure = reliable_facts(next(s for s in facts.shots if s.shot == index), ConfidenceFloors(), context.characters)
        shown = {(p.character, f.value) for p in sure.people for f in p.facts if f.kind == "gesture"}
        for text in writer.candidates(context, 6):
            assert problems(text, language) == [], text
            for gesture, words in CLAIMS.items():
                word = words[0] if language == "en" else words[1]
                if word in text:
                    said_any.add(gesture)
                    # The person it is said of shows that gesture on a keyframe of this shot.
                    who = {c for c, value in shown if value == gesture}
                    assert who and any(context.character_name(c) in text for c in who if c), (text, shown)
    # Both men with folded arms, and Messi's arms held out, are said.
    assert {"arms_crossed", "arm_outstretched"} <= said_any, said_any



def test_a_body_without_a_face_gets_no_action(bodies_analysed):
    """A body confirmed only by a person box may be a cartoon animal: nothing is said it does."""
    context = copy.deepcopy(contexts_per_shot(bodies_analysed, "en")[0])  # the fixture's facts stay as they are
    assert any("arms folded" in text for text in TemplateWriter().candidates(context, 6))
    for person in context.main_shot.facts.people:
        person.character = None
    assert not any("arms folded" in text for text in TemplateWriter().candidates(context, 6))


@pytest.mark.parametrize("language", ["ko", "en"])
def test_every_cue_of_a_written_script_traces_to_facts(analysed, bodies_analysed, language):
    """`videodesc write` on both photo sets: each cue's chosen candidate names the facts it states,
    and every one of them is in facts.json with a confidence the writer may use."""
    from claims import unsupported
    from videodesc.records import load_script

    for _, facts, out in (analysed, bodies_analysed):
        proc = subprocess.run([sys.executable, "-m", "videodesc", "write", str(out), "--lang", language, "--quiet"],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        script = load_script((out / "script.json").read_text())
        assert len(script.cues) >= 2, [c.text for c in script.cues]
        assert unsupported(script, facts) == []
        # A character is introduced once and not said to appear again.
        appears = [c.who for cue in script.cues for c in cue.candidates[cue.chosen].claims if c.kind == "appears"]
        assert len(appears) == len(set(appears))


def test_what_was_told_is_not_said_again_until_it_changes(bodies_analysed):
    context = copy.deepcopy(contexts_per_shot(bodies_analysed, "en")[0])  # Obama, arms folded
    writer = TemplateWriter()
    first = max(writer.candidates(context, 6), key=len)
    claims = writer.claims(context, first)
    assert any(c.kind == "gesture" and c.value == "arms_crossed" for c in claims), first
    context.told = {c.subject: (c.value, context.slot.start - 5.0) for c in claims}
    context.introduced = {c.who for c in claims if c.kind == "appears"}
    assert not any("arms folded" in t for t in writer.candidates(context, 6))
    # Told long ago, or told with another value, it is news again.
    gesture = next(c for c in claims if c.kind == "gesture")
    context.told[gesture.subject] = ("arms_crossed", context.slot.start - 600.0)
    assert any("arms folded" in t for t in writer.candidates(context, 6))
    context.told[gesture.subject] = ("hands_together", context.slot.start - 5.0)
    assert any("arms folded" in t for t in writer.candidates(context, 6))


def test_a_pronoun_only_with_a_sure_voted_gender(analysed):
    context = copy.deepcopy(contexts_per_shot(analysed, "en")[0])  # the astronaut: sits and smiles
    context.introduced = {"person-1"}
    character = context.characters["person-1"]
    assert character.gender == "female" and character.gender_confidence >= 0.85
    texts = TemplateWriter().candidates(context, 8)
    both = [t for t in texts if t.count(".") >= 2 and "smiles" in t]
    assert both and all(" She smiles." in t for t in both), texts
    assert TemplateWriter().claims(context, both[0]) == []  # a writer knows the facts of its own texts only
    writer = TemplateWriter()
    text = next(t for t in writer.candidates(context, 8) if " She " in t)
    assert any(c.kind == "gender" and c.value == "female" for c in writer.claims(context, text))
    character.gender_confidence = 0.6  # not sure: the name again, no "she"
    assert not any(" She " in t for t in TemplateWriter().candidates(context, 8))
    korean_context = copy.deepcopy(contexts_per_shot(analysed, "ko")[0])
    korean_context.introduced = {"person-1"}
    korean_texts = TemplateWriter().candidates(korean_context, 8)
    # Korean drops the subject the second time rather than saying 그녀.
    assert not any("그녀" in t or t.count("인물 1") > 1 for t in korean_texts), korean_texts



def test_model_writers_see_the_faces_marked_and_the_sure_sentences(analysed):
    import hashlib

    import numpy as np

    from videodesc.write.prompts import candidates_prompt

    context = copy.deepcopy(contexts_per_shot(analysed, "en")[0])  # the astronaut, Person 1
    (face,) = [f for f in context.main_shot.facts.faces if f.character == "person-1"]
    original = context.folder / face.keyframe
    before = hashlib.sha256(original.read_bytes()).hexdigest()
    prompt = candidates_prompt(context, 3, max_images=3)
    marked = [path for path in prompt.images if "marked" in path.parts]
    assert marked and hashlib.sha256(original.read_bytes()).hexdigest() == before  # the keyframe is untouched
    image = cv2.imread(str(marked[0]))
    x, y, w, h = face.box
    edge = image[y:y + h, max(0, x - 2):x + 3].astype(int)  # a strip of 5 columns over the box's left side
    yellow = (edge[..., 2] > 200) & (edge[..., 1] > 170) & (edge[..., 0] < 90)  # BGR
    assert yellow.any(axis=1).mean() > 0.9, yellow.any(axis=1).mean()  # drawn down the whole side
    assert not np.array_equal(image, cv2.imread(str(original)))
    assert "outlined in yellow" in prompt.user
    # The sure sentences of the offline grammar are in the facts, and not taken for parroting.
    sentences = [s.en for s in TemplateWriter().sentences(context)]
    assert sentences and all(sentence in prompt.user for sentence in sentences)
    assert prompt.fresh([sentences[0]]) == [sentences[0]]
    # The next shot (the sign) gets the astronaut's last keyframe first, her face marked on it.
    after = contexts_per_shot(analysed, "en")[1]
    prompt = candidates_prompt(after, 3, max_images=3)
    assert prompt.image_labels[0] == "The shot before"
    assert len(prompt.images) == len(prompt.image_labels) == 1 + min(2, len(after.main_shot.keyframes))
    assert prompt.images[0].stem.startswith(Path(after.previous_shot.keyframes[-1]).stem)
    assert "shot before this one" in prompt.user
    assert all(Path(p).stem.split("-")[0] in {Path(k).stem for k in after.main_shot.keyframes} for p in prompt.images[1:])


@pytest.mark.parametrize("language", ["en", "ko"])
def test_a_model_sentence_the_facts_contradict_is_marked_and_not_chosen(bodies_analysed, language):
    from videodesc.write.checks import FactCheck
    from videodesc.write.select import SelectionSettings, Selector

    contexts = contexts_per_shot(bodies_analysed, language)
    context = contexts[0]
    here = {f.character for f in context.main_shot.facts.faces}
    away = next(c for ctx in contexts.values() for f in ctx.main_shot.facts.faces
                if (c := f.character) and c not in here)
    name, other = context.character_name(next(iter(here))), context.character_name(away)
    if language == "en":
        wrong_person, wrong_count, right = f"{other} folds his arms.", "Three people stand in a row.", f"{name} stands."
    else:
        wrong_person, wrong_count, right = f"{korean.subject(other)} 팔짱을 낀다.", "세 사람이 나란히 서 있다.", f"{korean.subject(name)} 서 있다."
    check = FactCheck(context)
    assert any("not in view" in p for p in check.problems(wrong_person))
    assert any("says 3 people" in p for p in check.problems(wrong_count))
    assert check.problems(right) == []
    for text in TemplateWriter().candidates(context, 6):  # the grammar's own sentences pass
        assert check.problems(text) == [], text

    class Model:
        name = "model"

        def candidates(self, context, count):
            return [wrong_person, wrong_count, right]

        def shorten(self, context, text, seconds):
            return []

        def claims(self, context, text):
            return []

    decision = Selector(SelectionSettings(), None, None).decide(context, Model(), Model().candidates(context, 3), 0.0)
    assert decision.cue is not None and decision.cue.text == right
    problems_of = {c.text: c.problems for c in decision.cue.candidates}
    assert any(p.startswith("against the facts") for p in problems_of[wrong_person] + problems_of[wrong_count])


def test_a_big_faceless_body_is_not_counted_as_a_person_unless_turned_away(bodies_analysed):
    """Big Buck Bunny's characters get person boxes and BlazePose bodies, but no face: a person box
    taller than half the picture with no face in it, facing the camera, is not "one person"."""
    from videodesc.records import PersonFact

    context = copy.deepcopy(contexts_per_shot(bodies_analysed, "en")[0])  # Obama, a tall box around him
    facts = context.main_shot.facts
    assert any("person" == o.label for o in facts.objects) and facts.people
    context.introduced = {f.character for f in facts.faces}
    facts.faces = []  # as if no face had been found
    for person in facts.people:
        person.character = None
    texts = TemplateWriter().candidates(context, 8)
    assert not any("person is in view" in t or "people are in view" in t for t in texts), texts
    for person in facts.people:  # seen from behind, the missing face is no doubt
        person.facts = [f for f in person.facts if f.kind != "facing"] + [PersonFact("facing", "away", 0.95)]
    texts = TemplateWriter().candidates(context, 8)
    assert any("One person is in view." in t for t in texts), texts


@pytest.mark.parametrize("language, worn", [("en", "in a black"), ("ko", "검은색")])
def test_what_a_newcomer_wears_is_said_on_first_sight(bodies_analysed, language, worn):
    from videodesc.vision.reliable import ConfidenceFloors, reliable_facts

    context = copy.deepcopy(contexts_per_shot(bodies_analysed, language)[0])  # Obama, in a dark suit
    sure = reliable_facts(context.main_shot.facts, ConfidenceFloors(), context.characters)
    assert {f.value for p in sure.people for f in p.facts if f.kind == "clothing"} == {"black"}
    writer = TemplateWriter()
    first = writer.candidates(context, 8)
    assert all(worn in t for t in first if "나타난다" in t or "appears" in t), first
    text = next(t for t in first if worn in t)
    assert {("clothing", "black")} <= {(c.kind, c.value) for c in writer.claims(context, text)}
    context.introduced = {f.character for f in sure.faces}  # named before: the colour is not said again
    assert not any(worn in t for t in TemplateWriter().candidates(context, 8))


@pytest.mark.parametrize("name, subject, obj", [("민수", "민수가", "민수를"), ("지훈", "지훈이", "지훈을"),
                                                ("인물 2", "인물 2가", "인물 2를"), ("인물 3", "인물 3이", "인물 3을")])
def test_korean_event_and_close_up_sentences_take_the_particle_of_the_name(name, subject, obj):
    """The grammar's own rules, on a hand-made shot: a named person comes in, walks, stops, in close-up."""
    from pathlib import Path as P

    from videodesc.records import Character, Event, Face, PersonTrack, ShotFacts, Slot
    from videodesc.write.context import ShotView, SlotContext

    face = Face("k.jpg", [10, 10, 200, 200], 0.9, "person-2")
    facts = ShotFacts(0, faces=[face], scale="close-up", scale_confidence=0.9,
                      tracks=[PersonTrack("track-1", 0.0, 9.0, 18, "person-2")],
                      events=[Event(1.0, "enters", "track-1", 0.8, "left", character="person-2"),
                              Event(1.5, "walks", "track-1", 0.7, "right", end=4.0, character="person-2"),
                              Event(4.0, "stops", "track-1", 0.7, character="person-2")])
    character = Character("person-2", {"ko": name, "en": name}, 3, 0.5, "c.jpg")
    context = SlotContext(0, Slot(0.5, 9.0, [0]), "ko", P("."), [ShotView(0, 0.0, 9.0, ["k.jpg"], facts, [2.0])],
                          [], [], [], {"person-2": character}, introduced={"person-2"})
    texts = TemplateWriter().candidates(context, 8)
    said = " ".join(texts)
    assert f"{subject} 왼쪽에서 들어와 오른쪽으로 걸어간다." in said, texts
    assert f"{obj} 가까이 비춘다." in said, texts
    for text in texts:
        assert problems(text, "ko") == [], text
        assert all(part.endswith("다") for part in text.rstrip(".").split(". ")), text


def seated_shot(objects, posture="sitting"):
    """A hand-made shot: Person 1 (known by face) seated on keyframe k.jpg, shoulders at y 200,
    hips at y 420, in a box 300-500 x 100-700; and the furniture `objects` (label, box) beside."""
    from pathlib import Path as P

    from videodesc.records import (Character, Face, ObjectHint, Person, PersonFact, ShotFacts, Slot)
    from videodesc.vision import body as bp
    from videodesc.write.context import ShotView, SlotContext

    points = [[400.0, 300.0, 0.0] for _ in range(33)]
    for index, (x, y) in {bp.LEFT_SHOULDER: (460, 200), bp.RIGHT_SHOULDER: (340, 200),
                          bp.LEFT_HIP: (440, 420), bp.RIGHT_HIP: (360, 420)}.items():
        points[index] = [float(x), float(y), 0.95]
    person = Person("k.jpg", [300, 100, 200, 600], 0.95, points, [PersonFact("posture", posture, 0.9)], "person-1")
    face = Face("k.jpg", [360, 110, 80, 80], 0.9, "person-1")
    facts = ShotFacts(0, faces=[face], people=[person],
                      objects=[ObjectHint("k.jpg", label, 0.8, box) for label, box in objects])
    character = Character("person-1", {"ko": "인물 1", "en": "Person 1"}, 0, 0.5, "c.jpg")
    views = [ShotView(0, 0.0, 4.0, ["k.jpg"], facts, [2.0])]
    return {language: SlotContext(0, Slot(0.5, 4.0, [0]), language, P("."), views, [], [], [],
                                  {"person-1": character}, introduced={"person-1"}) for language in ("en", "ko")}


@pytest.mark.parametrize("objects, en, ko", [
    ([("dining table", [200, 330, 500, 250])], "Person 1 sits at a table.", "인물 1이 탁자 앞에 앉아 있다."),
    ([("couch", [150, 300, 600, 350])], "Person 1 sits on a sofa.", "인물 1이 소파에 앉아 있다."),
    # Seated on a chair at a table: the table is said.
    ([("chair", [320, 380, 180, 250]), ("dining table", [100, 350, 320, 200])], "Person 1 sits at a table.",
     "인물 1이 탁자 앞에 앉아 있다."),
    # A table up on the wall (its top above the shoulders), a chair off to the side: just "sits".
    ([("dining table", [250, 50, 300, 100]), ("chair", [600, 380, 150, 250])], "Person 1 sits.", "인물 1이 앉아 있다."),
])
def test_where_someone_sits_is_said_from_the_furniture_at_their_body(objects, en, ko):
    from claims import holds

    from videodesc.records import Facts

    contexts = seated_shot(objects)
    for language, wanted in (("en", en), ("ko", ko)):
        writer = TemplateWriter()
        texts = writer.candidates(contexts[language], 6)
        assert wanted in texts, texts
        assert problems(wanted, language) == []
        facts = Facts(characters=list(contexts[language].characters.values()),
                      shots=[contexts[language].main_shot.facts], analysed="all")
        claims = writer.claims(contexts[language], wanted)
        assert claims and all(holds(claim, facts) for claim in claims), claims
        assert any(c.kind == "seat" for c in claims) == (wanted.endswith(("table.", "sofa.", "앞에 앉아 있다.", "소파에 앉아 있다.")))


def test_lying_on_a_bed_and_the_seat_said_with_a_gesture():
    from videodesc.records import PersonFact

    contexts = seated_shot([("bed", [100, 300, 700, 300])], posture="lying")
    assert "Person 1 lies on a bed." in TemplateWriter().candidates(contexts["en"], 6)
    assert "인물 1이 침대에 누워 있다." in TemplateWriter().candidates(contexts["ko"], 6)
    contexts = seated_shot([("dining table", [200, 330, 500, 250])])
    contexts["en"].main_shot.facts.people[0].facts.append(PersonFact("gesture", "arms_crossed", 0.9))  # both languages' shot
    assert "Person 1 sits at a table with arms folded." in TemplateWriter().candidates(contexts["en"], 6)
    assert "인물 1이 팔짱을 끼고 탁자 앞에 앉아 있다." in TemplateWriter().candidates(contexts["ko"], 6)
