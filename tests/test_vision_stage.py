"""The vision stage inside `analyze`: facts.json, characters across shots, scope, bad keyframes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ffmpeg
from videodesc.records import Keyframe, Shot, load_facts, load_timeline
from videodesc.vision.see import VisionSettings, see


@pytest.fixture(scope="module")
def photo_video(samples, tmp_path_factory):
    """Three 3-second shots: the astronaut, a cup of coffee, the astronaut mirrored. No sound."""
    folder = tmp_path_factory.mktemp("photos")
    target = folder / "photos.mp4"
    ffmpeg("-loop", "1", "-t", "3", "-i", str(samples / "astronaut.png"),
           "-loop", "1", "-t", "3", "-i", str(samples / "coffee.png"),
           "-loop", "1", "-t", "3", "-i", str(samples / "astronaut.png"),
           "-filter_complex",
           "[0:v]scale=512:512,setsar=1,fps=25[a];[1:v]scale=512:512,setsar=1,fps=25[b];"
           "[2:v]scale=512:512,setsar=1,fps=25,hflip[c];[a][b][c]concat=n=3:v=1:a=0[v]",
           "-map", "[v]", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(target))
    return target


def analyze(video, out, *extra):
    return subprocess.run([sys.executable, "-m", "videodesc", "analyze", str(video), "-o", str(out), "--json", *extra],
                          capture_output=True, text=True)


def test_the_same_face_in_two_shots_is_one_character(photo_video, tmp_path):
    out = tmp_path / "out"
    proc = analyze(photo_video, out)
    assert proc.returncode == 0, proc.stderr
    timeline = load_timeline((out / "timeline.json").read_text())
    assert len(timeline.shots) == 3
    facts = load_facts((out / "facts.json").read_text())
    faces = {shot.shot: shot.faces for shot in facts.shots}
    assert faces[1] == []  # the coffee
    assert faces[0] and faces[2]
    assert {f.character for f in faces[0] + faces[2]} == {"person-1"}
    assert [c.id for c in facts.characters] == ["person-1"]
    person = facts.characters[0]
    assert person.label == {"ko": "인물 1", "en": "Person 1"}
    assert person.appearances == len(faces[0]) + len(faces[2])
    assert person.first_seen < 3.0 and (out / person.crop).is_file()
    assert faces[0][0].expression == "happy" and faces[0][0].gender == "female"
    tags = {shot.shot: [tag.label for tag in shot.tags] for shot in facts.shots}
    assert tags[1][0] == "espresso"
    assert {"faces", "objects", "text", "scene"} <= set(facts.provenance)

    again = analyze(photo_video, out)
    assert '"stage": "vision", "event": "cached"' in again.stderr


def test_vision_all_looks_at_every_shot_and_off_writes_no_facts(photo_video, tmp_path):
    out = tmp_path / "out"
    assert analyze(photo_video, out, "--vision", "all").returncode == 0
    facts = load_facts((out / "facts.json").read_text())
    assert facts.analysed == "all" and [s.shot for s in facts.shots] == [0, 1, 2]
    assert [bool(s.faces) for s in facts.shots] == [True, False, True]
    assert analyze(photo_video, out, "--vision", "off").returncode == 0
    assert not (out / "facts.json").exists()


def test_an_unreadable_keyframe_is_reported_and_skipped(photo_video, samples, tmp_path):
    out = tmp_path / "out"
    assert analyze(photo_video, out, "--vision", "off").returncode == 0
    timeline = load_timeline((out / "timeline.json").read_text())
    (out / "keyframes" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    timeline.shots.append(Shot(3, 9.0, 10.0, [Keyframe(9.5, "keyframes/broken.jpg", 0.0)]))
    timeline.slots[0].shots.append(3)
    warnings = []
    facts = see(timeline, out, tmp_path / "crops", VisionSettings(scope="all"), warn=warnings.append)
    assert len(warnings) == 1 and "broken.jpg" in warnings[0]
    assert [c.id for c in facts.characters] == ["person-1"]
    assert next(s for s in facts.shots if s.shot == 3).faces == []


def test_default_scope_looks_only_at_shots_a_slot_touches_and_their_neighbours():
    from videodesc.records import Slot
    from videodesc.vision.see import shots_to_analyse
    from test_records import sample_timeline

    timeline = sample_timeline()
    timeline.shots = [Shot(i, i * 5.0, i * 5.0 + 5) for i in range(8)]
    timeline.slots = [Slot(11.0, 13.0, [2]), Slot(36.0, 38.0, [7])]
    assert [s.index for s in shots_to_analyse(timeline, "slots")] == [1, 2, 3, 6, 7]
    assert len(shots_to_analyse(timeline, "all")) == 8


def test_a_cast_file_names_the_matching_character_only(photo_video, samples, tmp_path):
    import cv2

    photos = tmp_path / "cast"
    photos.mkdir()
    # A reference photo that is not a frame of the video: darker, smaller, re-compressed.
    astronaut = cv2.imread(str(samples / "astronaut.png"))
    cv2.imwrite(str(photos / "eileen.jpg"), cv2.resize((astronaut * 0.6).astype("uint8"), (300, 300)),
                [cv2.IMWRITE_JPEG_QUALITY, 60])
    (photos / "zidane.jpg").write_bytes((samples / "zidane.jpg").read_bytes())
    cast = tmp_path / "cast.toml"
    cast.write_text('[[character]]\nname = "지단"\nphotos = ["cast/zidane.jpg"]\n\n'
                    '[[character]]\nname = "Eileen"\nphotos = ["cast/eileen.jpg"]\n', encoding="utf-8")
    out = tmp_path / "out"
    proc = analyze(photo_video, out, "--cast", str(cast))
    assert proc.returncode == 0, proc.stderr
    facts = load_facts((out / "facts.json").read_text())
    assert [(c.id, c.name) for c in facts.characters] == [("person-1", "Eileen")]

    as_json = tmp_path / "cast.json"
    as_json.write_text('{"characters": [{"name": "Zidane", "photos": ["cast/zidane.jpg"]}]}')
    assert analyze(photo_video, out, "--cast", str(as_json)).returncode == 0
    facts = load_facts((out / "facts.json").read_text())
    assert [(c.id, c.name) for c in facts.characters] == [("person-1", None)]


@pytest.mark.parametrize("body, message", [
    ('[[character]]\nname = "A"\nphotos = ["nowhere.jpg"]\n', "photo nowhere.jpg of A not found"),
    ('[[character]]\nname = "A"\nphotos = ["coffee.png"]\n', "photo coffee.png of A shows no face"),
    ('[[character]]\nphotos = ["coffee.png"]\n', "needs a name and at least one photo"),
    ('[[character]\nname = "A"\n', "not valid TOML"),
])
def test_a_broken_cast_file_is_named_and_nothing_is_written(photo_video, samples, tmp_path, body, message):
    (tmp_path / "coffee.png").write_bytes((samples / "coffee.png").read_bytes())
    cast = tmp_path / "cast.toml"
    cast.write_text(body)
    out = tmp_path / "out"
    proc = analyze(photo_video, out, "--cast", str(cast))
    assert proc.returncode == 2
    # With --json (as `analyze` here runs), the error is the last JSON line.
    error = json.loads(proc.stderr.strip().splitlines()[-1])
    assert error["event"] == "error" and error["exit_code"] == 2
    assert message in error["message"] and "cast.toml" in error["message"]
    assert "Traceback" not in proc.stderr
    assert not out.exists()


def test_objects_are_reported_per_shot_with_confidence(samples, tmp_path):
    video = tmp_path / "bus.mp4"
    ffmpeg("-loop", "1", "-t", "2", "-i", str(samples / "bus.jpg"), "-vf", "scale=810:1080,fps=25",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", str(video))
    out = tmp_path / "out"
    assert analyze(video, out).returncode == 0
    facts = load_facts((out / "facts.json").read_text())
    (shot,) = facts.shots
    labels = [o.label for o in shot.objects]
    assert labels.count("person") >= 3
    assert all(0.3 <= o.confidence <= 1 and o.keyframe.startswith("keyframes/") for o in shot.objects)


def test_a_sign_in_a_shot_is_scene_text_in_the_facts(samples, tmp_path):
    from test_text import render

    import cv2

    frame = tmp_path / "sign.png"
    cv2.imwrite(str(frame), render(samples / "coffee.png", [("서울역 3번 출구", (120, 90), 56, True)]))
    video = tmp_path / "sign.mp4"
    ffmpeg("-loop", "1", "-t", "2", "-i", str(frame), "-vf", "fps=25", "-c:v", "libx264", "-pix_fmt", "yuv420p",
           str(video))
    out = tmp_path / "out"
    assert analyze(video, out).returncode == 0
    (shot,) = load_facts((out / "facts.json").read_text()).shots
    assert [(line.text, line.kind) for line in shot.text] == [("서울역 3번 출구", "scene")]  # merged across keyframes


def test_only_sure_facts_reach_the_writer():
    from videodesc.records import Face, ObjectHint, SceneTag, ShotFacts, TextLine
    from videodesc.vision.reliable import reliable_facts

    sure_face = Face("k.jpg", [0, 0, 50, 50], 1.2, "person-1", "happy", 0.9, 34, 0.7, "female", 0.97)
    doubtful_face = Face("k.jpg", [60, 0, 50, 50], 0.9, "person-2", "sad", 0.41, 61, 0.2, "male", 0.6)
    faint_face = Face("k.jpg", [0, 60, 40, 40], 0.35, "person-3", "happy", 0.99, 30, 0.9, "male", 0.99)
    shot = ShotFacts(4, faces=[sure_face, doubtful_face, faint_face],
                     objects=[ObjectHint("k.jpg", "cup", 0.81, [0, 0, 9, 9]), ObjectHint("k.jpg", "dog", 0.32, [0, 0, 9, 9])],
                     text=[TextLine("k.jpg", "출구", 0.93, [0, 0, 9, 9], "scene", "tesseract"),
                           TextLine("k.jpg", "xq7", 0.41, [0, 0, 9, 9], "scene", "tesseract")],
                     tags=[SceneTag("k.jpg", "espresso", 0.9), SceneTag("k.jpg", "bobsled", 0.2)])
    sure = reliable_facts(shot)
    assert [f.character for f in sure.faces] == ["person-1", "person-2"]
    assert (sure.faces[0].expression, sure.faces[0].age, sure.faces[0].gender) == ("happy", 34, "female")
    assert (sure.faces[1].expression, sure.faces[1].age, sure.faces[1].gender) == (None, None, None)
    assert [o.label for o in sure.objects] == ["cup"]
    assert [t.text for t in sure.text] == ["출구"] and [t.label for t in sure.tags] == ["espresso"]
    assert shot.faces[1].expression == "sad"  # the stage's own facts are left whole


def test_facts_carry_bodies_with_their_facts_and_the_shot_scale(samples, tmp_path):
    """Three 2-second shots: the street (two men standing), a man with folded arms, the astronaut (waist up)."""
    video = tmp_path / "people.mp4"
    inputs = []
    for name in ("bus.jpg", "obama3.jpg", "astronaut.png"):
        inputs += ["-loop", "1", "-t", "2", "-i", str(samples / name)]
    fit = "scale=-2:720,pad=960:720:(ow-iw)/2:0,setsar=1,fps=25"
    # The astronaut a little smaller, her face 15% of the height: clearly a medium shot.
    smaller = "scale=-2:600,pad=960:720:(ow-iw)/2:60,setsar=1,fps=25"
    ffmpeg(*inputs, "-filter_complex", f"[0:v]{fit}[a];[1:v]{fit}[b];[2:v]{smaller}[c];[a][b][c]concat=n=3:v=1:a=0[v]",
           "-map", "[v]", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(video))
    out = tmp_path / "out"
    proc = analyze(video, out, "--vision", "all")
    assert proc.returncode == 0, proc.stderr
    facts = load_facts((out / "facts.json").read_text())
    street, folded, portrait = facts.shots
    assert len(street.people) >= 2  # the two men in front of the bus
    facts_of = lambda shot: {(f.kind, f.value) for p in shot.people for f in p.facts if f.confidence >= 0.75}
    assert {("posture", "standing"), ("facing", "camera")} <= facts_of(street)
    assert {("gesture", "arms_crossed"), ("facing", "camera")} <= facts_of(folded)
    assert street.scale == "wide" and folded.scale == "medium" and portrait.scale == "medium"
    assert ("facing", "camera") in facts_of(portrait)
    assert ("mouth", "smiling") in {(f.kind, f.value) for face in portrait.faces for f in face.facts}
    assert all(len(p.points) == 33 for p in street.people + folded.people + portrait.people)
    # Bodies carry the character of the face on them; a character has one voted gender.
    assert {p.character for p in portrait.people} == {portrait.faces[0].character}
    assert {p.character for p in folded.people} == {folded.faces[0].character} != {portrait.faces[0].character}
    assert all(c.gender in ("male", "female") and 0.5 <= c.gender_confidence <= 1 for c in facts.characters)
    html = (out / "report.html").read_text()
    assert 'class="skeleton"' in html and "arms crossed" in html


def test_a_character_gets_one_gender_from_all_their_faces():
    from videodesc.vision.characters import vote_age, vote_gender

    # Read as a woman once, surely, and as a man three times: a man, but not surely enough to say.
    gender, confidence = vote_gender([("female", 0.99, 1.0), ("male", 0.9, 1.0), ("male", 0.9, 1.0), ("male", 0.9, 1.0)])
    assert gender == "male" and confidence == pytest.approx(0.6775, abs=0.001)
    assert vote_gender([("female", 0.95, 3.0), ("male", 0.7, 1.0)]) == ("female", pytest.approx(0.7875, abs=0.001))
    assert vote_gender([]) == (None, None)
    assert vote_age([(30, 0.6, 1.0), (34, 0.6, 1.0), (70, 0.2, 1.0)])[0] in (30, 34)


def test_the_writer_sees_the_characters_voted_gender_not_the_faces_own():
    from videodesc.records import Character, Face, ShotFacts
    from videodesc.vision.reliable import reliable_facts

    misread = Face("k.jpg", [0, 0, 80, 80], 1.2, "person-1", gender="female", gender_confidence=0.99, age=30,
                   age_confidence=0.8)
    man = Character("person-1", {"en": "Person 1", "ko": "인물 1"}, 4, 0.0, "c.jpg", gender="male",
                    gender_confidence=0.93, age=41, age_confidence=0.7)
    shot = ShotFacts(0, faces=[misread])
    assert reliable_facts(shot).faces[0].gender == "female"
    (face,) = reliable_facts(shot, characters={"person-1": man}).faces
    assert (face.gender, face.age) == ("male", 41)
    unsure = Character("person-1", {"en": "Person 1"}, 4, 0.0, "c.jpg", gender="male", gender_confidence=0.6)
    assert reliable_facts(shot, characters={"person-1": unsure}).faces[0].gender is None


def test_a_street_shot_is_outdoors_in_daylight_in_the_facts(samples, tmp_path):
    video = tmp_path / "street.mp4"
    ffmpeg("-loop", "1", "-t", "2", "-i", str(samples / "bus.jpg"), "-vf", "scale=540:720,fps=25", "-c:v", "libx264",
           "-pix_fmt", "yuv420p", str(video))
    out = tmp_path / "out"
    assert analyze(video, out).returncode == 0
    (shot,) = load_facts((out / "facts.json").read_text()).shots
    said = {fact.kind: fact.value for fact in shot.place}
    assert said.get("setting") == "outdoor" and said.get("light") == "day"
    assert "Place and light" in (out / "report.html").read_text()


def test_a_characters_clothing_is_one_colour_per_stretch_of_the_video():
    from videodesc.vision.characters import outfits

    seen = [(1.0, "red", 0.9), (5.0, "red", 0.8), (9.0, "black", 0.9),  # one odd reading: noise
            (14.0, "red", 0.7), (300.0, "blue", 0.8), (310.0, "blue", 0.9), (320.0, "white", 0.6)]
    first, second = outfits(seen)
    assert (first.colour, first.start, first.end, first.sightings) == ("red", 1.0, 14.0, 3)
    assert first.confidence == pytest.approx(0.8 * 3 / 4)  # the black reading costs a quarter
    assert (second.colour, second.start, second.end) == ("blue", 300.0, 310.0)
    assert outfits([(1.0, "red", 0.9)]) == []  # one keyframe is no stretch
    assert outfits([]) == []
