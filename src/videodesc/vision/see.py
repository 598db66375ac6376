"""The vision stage of `analyze`: per keyframe faces, objects, text and scene tags; across the video the characters.

To keep the cost down, only shots that a description could be about are looked at by default:
those a slot overlaps and their neighbours (the shot just before a gap is often what the
describer talks about). `scope="all"` looks at every shot.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from videodesc.records import (Character, Face, Facts, Keyframe, ObjectHint, Person, PersonFact, PlaceFact, SceneTag,
                               Shot, ShotFacts, TextLine, Timeline)
from videodesc.vision.age_gender import AgeGenderEstimator
from videodesc.vision.body import Body, BodySettings, PoseEstimator
from videodesc.vision.body import NOSE as _NOSE
from videodesc.vision.characters import SAME_PERSON_DISTANCE, group_faces, outfits, vote_age, vote_gender
from videodesc.vision.emotion import ExpressionReader
from videodesc.vision.face_mesh import FaceMesh
from videodesc.vision.faces import FaceDetector, FaceSettings
from videodesc.vision.hands import HandLandmarker, HandSettings
from videodesc.vision.objects import ObjectDetector, ObjectSettings
from videodesc.vision.people import Observation, hair, observe, shot_scale
from videodesc.vision.place import read_place
from videodesc.vision.scene import SceneSettings, SceneTagger
from videodesc.vision.text import TextReader, is_subtitle
from videodesc.vision.tracks import Frame, Sighting, events, head_box, link, sightings_on

SCOPES = ("slots", "all", "off")
CHARACTER_DIR = "characters"
CENTROIDS = "centroids.json"  # mean face embedding per character, for naming from a cast file
# Faces on samples (at most 640 px wide) narrower than this are not embedded. Seven photo faces
# shrunk to 48 px embedded at most 0.25 from themselves full size (0.12 at 100 px, 0.31 at 40
# px), while two different people came as close as 0.57, under the same-person distance of 0.6.
SAMPLE_FACE = 48
# A face on a sample names a track's character only when this near that character's mean face and
# clearly nearer it than any other's: faces on samples are small, and two young men in the test
# photos (new_wave_2.jpg, jesper_2.jpg) were already 0.57 apart full size.
SAMPLE_SAME_PERSON = 0.5
SAMPLE_MARGIN = 0.1


@dataclass
class VisionSettings:
    scope: str = "slots"
    faces: FaceSettings = field(default_factory=FaceSettings)
    objects: ObjectSettings = field(default_factory=ObjectSettings)
    scene: SceneSettings = field(default_factory=SceneSettings)
    bodies: BodySettings = field(default_factory=BodySettings)
    hands: HandSettings = field(default_factory=HandSettings)
    same_person_distance: float = SAME_PERSON_DISTANCE

    def as_key(self) -> dict:
        return {"scope": self.scope, "faces": self.faces.as_key(), "objects": self.objects.as_key(),
                "scene": self.scene.as_key(), "bodies": self.bodies.as_key(), "hands": self.hands.as_key(),
                "same_person": self.same_person_distance}


def shots_to_analyse(timeline: Timeline, scope: str) -> list[Shot]:
    if scope == "all":
        return list(timeline.shots)
    wanted = {i + d for slot in timeline.slots for i in slot.shots for d in (-1, 0, 1)}
    return [shot for shot in timeline.shots if shot.index in wanted]


def see(timeline: Timeline, keyframe_root: Path, crop_root: Path, settings: VisionSettings,
        on_progress: Callable[[float], None] | None = None, warn: Callable[[str], None] = lambda _: None) -> Facts:
    """Look at the keyframes of the chosen shots, and follow people through their samples.

    Args:
        timeline: the time line, whose Keyframe paths are relative to `keyframe_root`.
        keyframe_root: where the keyframe images are now.
        crop_root: the folder in which `characters/person-N.jpg` crops and `centroids.json`
            (each character's mean embedding) are written.
        settings: scope and thresholds.
        on_progress: called with the number of keyframes and samples done (a shot's samples are
            looked at only when someone was seen on its keyframes; otherwise they count as done).
        warn: called with a message for each keyframe that cannot be read.
    """
    detector = FaceDetector(settings.faces)
    expressions = ExpressionReader()
    ages = AgeGenderEstimator()
    objects = ObjectDetector(settings.objects)
    reader = TextReader()
    tagger = SceneTagger(settings.scene)
    poses = PoseEstimator(settings.bodies)
    hands = HandLandmarker(settings.hands)
    meshes = FaceMesh()
    shots = shots_to_analyse(timeline, settings.scope)
    facts = [ShotFacts(shot.index) for shot in shots]
    found: list[tuple[float, Face, np.ndarray, np.ndarray]] = []  # time, face, embedding, crop
    seen_with: list[tuple[float, Person, Face]] = []  # bodies whose face was seen: they take its character
    followed: list[tuple[ShotFacts, list[Frame]]] = []  # tracked once the characters are known

    def faces_in(image: np.ndarray) -> list:
        read = []
        for detected in detector.detect(image):
            expression = expressions.read(image, detected.box)
            shown = meshes.observe(image, detected.box, detected.landmarks, expression.label, expression.confidence)
            read.append((detected, expression, ages.estimate(image, detected.box, detected.landmarks), shown))
        return read

    done = 0
    # Faces (dlib, one core) run in a worker thread while objects, text and scene tags (onnxruntime,
    # OpenCV, PyTorch, which release the interpreter) run here: 15% less time per keyframe on two
    # cores. Each model is only ever called from one of the two threads.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="faces") as face_worker:
        for shot, shot_facts in zip(shots, facts):
            dialogue = [u.text for u in timeline.utterances if u.start < shot.end and u.end > shot.start]
            seen_text: set[str] = set()
            scales = []
            places: list[PlaceFact] = []
            frames: list[Frame] = []
            for keyframe in shot.keyframes:
                image = cv2.imread(str(keyframe_root / keyframe.path))
                done += 1
                if image is None or image.size == 0:
                    warn(f"keyframe {keyframe.path} cannot be read: shot {shot.index} is described without faces")
                    continue
                faces_job = face_worker.submit(faces_in, image)
                detected_objects = objects.detect(image)
                shot_facts.objects.extend(ObjectHint(keyframe.path, o.label, o.confidence, list(o.box))
                                          for o in detected_objects)
                person_boxes = _person_boxes(detected_objects, settings.bodies.min_person_box)
                # A body needs a person box or a face to count (people_on_keyframe): with no box,
                # BlazePose waits for the faces, and is skipped when there are none.
                bodies = poses.estimate(image, [box for box, _ in person_boxes]) if person_boxes else None
                for line in reader.read(image):
                    if line.text in seen_text:  # a sign stays up across keyframes: one fact
                        continue
                    seen_text.add(line.text)
                    kind = "subtitle" if is_subtitle(line, image.shape[0], dialogue) else "scene"
                    shot_facts.text.append(TextLine(keyframe.path, line.text, line.confidence, list(line.box),
                                                    kind, line.engine))
                probabilities = tagger.probabilities(image)
                for tag in tagger.tags_from(probabilities):
                    shot_facts.tags.append(SceneTag(keyframe.path, tag.label, tag.confidence))
                reading = read_place(image, probabilities)
                if reading.place is not None:
                    places.append(PlaceFact("place", reading.place.key, reading.place.confidence))
                places += [PlaceFact(kind, found.value, found.confidence)
                           for kind, found in (("setting", reading.setting), ("light", reading.light)) if found is not None]
                keyframe_faces = []
                for detected, expression, age_gender, shown in faces_job.result():
                    face = Face(keyframe=keyframe.path, box=list(detected.box), score=detected.score, character="",
                                expression=expression.label, expression_confidence=expression.confidence,
                                age=age_gender.age, age_confidence=age_gender.age_confidence,
                                gender=age_gender.gender, gender_confidence=age_gender.gender_confidence,
                                facts=[PersonFact(o.kind, o.value, o.confidence) for o in shown])
                    shot_facts.faces.append(face)
                    keyframe_faces.append(face)
                    found.append((keyframe.time, face, detected.embedding, _crop(image, detected.box)))
                if bodies is None:
                    bodies = poses.estimate(image) if keyframe_faces else []
                people = people_on_keyframe(keyframe.path, image, bodies, keyframe_faces, detected_objects, hands)
                shot_facts.people.extend(person for person, _, _ in people)
                seen_with.extend((keyframe.time, person, face) for person, face, _ in people if face is not None)
                if shot.samples:
                    frames.append(_frame(keyframe, image, sightings_on(image, keyframe.time, person_boxes, [
                        (body, [Observation(f.kind, f.value, f.confidence) for f in person.facts], person)
                        for person, _, body in people])))
                scales.append(shot_scale(image.shape, [face.box[3] for face in keyframe_faces], bodies,
                                         [(o.confidence, o.box) for o in detected_objects if o.label == "person"]))
                if on_progress is not None:
                    on_progress(done)
            if any(frame.sightings for frame in frames):
                for sample in shot.samples:
                    done += 1
                    image = cv2.imread(str(keyframe_root / sample.path))
                    if image is not None and image.size:
                        frame = _sample_frame(sample, image, frames[0], objects, poses, settings.bodies.min_person_box)
                        # On the faces thread, the only one that calls the face detector.
                        face_worker.submit(_embed_faces, image, frame.sightings, detector).result()
                        frames.append(frame)
                    if on_progress is not None:
                        on_progress(done)
                followed.append((shot_facts, sorted(frames, key=lambda f: f.time)))
            elif shot.samples:
                done += len(shot.samples)
                if on_progress is not None:
                    on_progress(done)
            shot_facts.tags = _best_per_label(shot_facts.tags)
            shot_facts.scale, shot_facts.scale_confidence = _shot_scale(scales)
            shot_facts.place = _agreed_place(places)

    found.sort(key=lambda item: item[0])
    numbers = group_faces([embedding for _, _, embedding, _ in found], settings.same_person_distance)
    characters: dict[int, Character] = {}
    best_crop: dict[int, tuple[float, np.ndarray]] = {}
    members: dict[int, list[np.ndarray]] = {}
    for (time, face, embedding, crop), number in zip(found, numbers):
        members.setdefault(number, []).append(embedding)
        face.character = f"person-{number}"
        if number not in characters:
            characters[number] = Character(id=face.character, label={"ko": f"인물 {number}", "en": f"Person {number}"},
                                           appearances=0, first_seen=time, crop=f"{CHARACTER_DIR}/{face.character}.jpg")
        characters[number].appearances += 1
        quality = face.score * face.box[2]  # a big, clear face represents the person best
        if number not in best_crop or quality > best_crop[number][0]:
            best_crop[number] = (quality, crop)
    for _, person, face in seen_with:
        person.character = face.character
    _consolidate(characters, [face for _, face, _, _ in found], seen_with)
    known = [(characters[n].id, np.mean(members[n], axis=0)) for n in sorted(characters)]
    for shot_facts, frames in followed:
        tracks = link(frames)
        shot_facts.tracks = [track.to_record(lambda embedding: _identify(embedding, known)) for track in tracks]
        character_of = {track.id: track.character for track in shot_facts.tracks}
        shot_facts.events = events(tracks, frames)
        for event in shot_facts.events:
            event.character = character_of[event.person]
    if characters:
        (crop_root / CHARACTER_DIR).mkdir(parents=True, exist_ok=True)
    for number, (_, crop) in best_crop.items():
        cv2.imwrite(str(crop_root / characters[number].crop), crop, [cv2.IMWRITE_JPEG_QUALITY, 90])
    centroids = {character_id: centroid.round(5).tolist() for character_id, centroid in known}
    (crop_root / CENTROIDS).write_text(json.dumps(centroids))
    return Facts(characters=[characters[n] for n in sorted(characters)], shots=facts, analysed=settings.scope)


def people_on_keyframe(keyframe: str, image: np.ndarray, bodies: list[Body], faces: list[Face],
                       detected_objects: list, hands: HandLandmarker) -> list[tuple[Person, Face | None, Body]]:
    """Each confirmed body as a Person with its facts, the face on it (the one whose box holds the body's nose), and the body.

    A body counts only when a second model agrees that a person is there: a face on it, or a
    person box of the object detector around its shoulders. BlazePose alone took cartoon
    animals of Big Buck Bunny for people. Only a confirmed body's hands are looked for.
    """
    objects_seen = [(o.label, o.confidence, o.box) for o in detected_objects]
    person_boxes = [o.box for o in detected_objects if o.label == "person"]
    boxes = [tuple(face.box) for face in faces]
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB) if bodies else None
    people = []
    for body in bodies:
        nose_x, nose_y, nose_seen = body.points[_NOSE]
        face = next((f for f in faces if nose_seen >= 0.5 and f.box[0] - 0.2 * f.box[2] <= nose_x <= f.box[0] + 1.2 * f.box[2]
                     and f.box[1] - 0.2 * f.box[3] <= nose_y <= f.box[1] + 1.2 * f.box[3]), None)
        if face is None and not any(body.shoulders_in(box) for box in person_boxes):
            continue
        facts = observe(body, image, face is not None, boxes, objects_seen, hands.find(rgb, body))
        if face is not None:
            facts += hair(image, tuple(face.box))
        person = Person(keyframe=keyframe, box=list(body.box), presence=body.presence,
                        points=[[round(float(x), 1), round(float(y), 1), round(float(v), 2)] for x, y, v in body.points],
                        facts=[PersonFact(o.kind, o.value, o.confidence) for o in facts])
        people.append((person, face, body))
    return people


def _person_boxes(detected_objects: list, floor: float) -> list[tuple[tuple[int, int, int, int], float]]:
    return [(tuple(o.box), o.confidence) for o in detected_objects if o.label == "person" and o.confidence >= floor]


def _frame(keyframe: Keyframe, image: np.ndarray, sightings: list) -> Frame:
    return Frame(keyframe.time, image.shape[1], image.shape[0], keyframe.camera, sightings)


def _sample_frame(sample: Keyframe, image: np.ndarray, keyframe: Frame, objects: ObjectDetector,
                  poses: PoseEstimator, min_person_box: float) -> Frame:
    """The people on one sample: person boxes and the bodies in them, with their facts (no faces)."""
    detected_objects = objects.detect(image)
    person_boxes = _person_boxes(detected_objects, min_person_box)
    bodies = poses.estimate(image, [box for box, _ in person_boxes])
    objects_seen = [(o.label, o.confidence, o.box) for o in detected_objects]
    # Samples are smaller than keyframes: boxes go into keyframe pixels. No hand model here: a
    # shot's samples outnumber its keyframes, and the pose's hand rules are enough for tracking.
    sightings = sightings_on(image, sample.time, person_boxes,
                             [(body, observe(body, image, False, [], objects_seen, []), None) for body in bodies],
                             keyframe.width / image.shape[1])
    return Frame(sample.time, keyframe.width, keyframe.height, sample.camera, sightings)


def _embed_faces(image: np.ndarray, sightings: list[Sighting], detector: FaceDetector) -> None:
    """Give each sighting on a sample the embedding of its face, where the face is big enough to
    tell who it is (SAMPLE_FACE px); the detector looks only around the head of the body."""
    for sighting in sightings:
        if sighting.body is None:
            continue
        box = head_box(sighting.body, SAMPLE_FACE)
        if box is None:
            continue
        x, y, w, h = box
        x0, y0 = max(0, x), max(0, y)
        crop = image[y0:y + h, x0:x + w]
        if crop.size == 0:
            continue
        faces = detector.detect(crop)  # biggest first: the crop holds this person's head
        if faces and faces[0].box[2] >= SAMPLE_FACE:
            sighting.embedding = faces[0].embedding


def _identify(embedding: np.ndarray, known: list[tuple[str, np.ndarray]]) -> str | None:
    """The character a sample's face belongs to: the nearest mean face, if near and unrivalled."""
    distances = sorted((float(np.linalg.norm(embedding - centroid)), character_id) for character_id, centroid in known)
    if not distances or distances[0][0] > SAMPLE_SAME_PERSON:
        return None
    if len(distances) > 1 and distances[1][0] - distances[0][0] < SAMPLE_MARGIN:
        return None
    return distances[0][1]


def _shot_scale(scales: list) -> tuple[str | None, float | None]:
    """The scale most keyframes of the shot agree on; None when they disagree or none is sure."""
    values = [s.value for s in scales if s is not None]
    if not values:
        return None, None
    best = max(set(values), key=values.count)
    if values.count(best) * 2 <= len(scales):  # not a majority of the keyframes
        return None, None
    confidences = [s.confidence for s in scales if s is not None and s.value == best]
    return best, round(float(np.mean(confidences)) * values.count(best) / len(scales), 3)


def _agreed_place(found: list[PlaceFact]) -> list[PlaceFact]:
    """Per kind, the value the keyframes back most, unless another has half as much backing (they disagree)."""
    agreed = []
    for kind in ("place", "setting", "light"):
        backing: dict[str, list[float]] = {}
        for fact in found:
            if fact.kind == kind:
                backing.setdefault(fact.value, []).append(fact.confidence)
        ranked = sorted(backing.items(), key=lambda item: -sum(item[1]))
        if not ranked or (len(ranked) > 1 and sum(ranked[1][1]) >= 0.5 * sum(ranked[0][1])):
            continue
        value, confidences = ranked[0]
        agreed.append(PlaceFact(kind, value, round(max(confidences), 3)))
    return agreed


def _consolidate(characters: dict[int, Character], faces: list[Face],
                 people: list[tuple[float, Person, Face]]) -> None:
    """Each character's one gender and age, voted over all their faces (bigger and surer faces
    weigh more), and the colour of their top per stretch of the video."""
    by_id = {c.id: c for c in characters.values()}
    genders: dict[str, list] = {}
    ages: dict[str, list] = {}
    for face in faces:
        weight = max(face.score, 0.1) * face.box[2]
        if face.gender in ("male", "female") and face.gender_confidence is not None:
            genders.setdefault(face.character, []).append((face.gender, face.gender_confidence, weight))
        if face.age is not None and face.age_confidence is not None:
            ages.setdefault(face.character, []).append((face.age, face.age_confidence, weight))
    for character_id, character in by_id.items():
        character.gender, character.gender_confidence = vote_gender(genders.get(character_id, []))
        character.age, character.age_confidence = vote_age(ages.get(character_id, []))
    tops: dict[str, list[tuple[float, str, float]]] = {}
    for time, person, _ in people:
        for fact in person.facts:
            if fact.kind == "clothing":
                tops.setdefault(person.character, []).append((time, fact.value, fact.confidence))
    for character_id, character in by_id.items():
        character.outfits = outfits(tops.get(character_id, []))


def _best_per_label(tags: list[SceneTag]) -> list[SceneTag]:
    """One tag per class for the shot, from the keyframe where it was surest; surest first."""
    best: dict[str, SceneTag] = {}
    for tag in tags:
        if tag.label not in best or tag.confidence > best[tag.label].confidence:
            best[tag.label] = tag
    return sorted(best.values(), key=lambda tag: tag.confidence, reverse=True)


def _crop(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The face with a quarter of its size around it, so that hair and chin are in the picture."""
    x, y, w, h = box
    pad_x, pad_y = w // 4, h // 4
    return image[max(0, y - pad_y):y + h + pad_y, max(0, x - pad_x):x + w + pad_x].copy()
