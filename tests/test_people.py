"""Body facts on hand-labelled real frames: precision per fact kind (a wrong fact is worse than none).

The frames and their labels are in tests/people_labels.py. Each frame goes through the vision
stage's own chain (faces, objects, BlazePose, vision/people.py, the writer's confidence floors),
and every fact that would reach a writer is checked against the labels.
"""

from __future__ import annotations

import json
from collections import defaultdict

import cv2
import numpy as np
import pytest

from conftest import NARRATED_CLIP, ffmpeg
from people_labels import FRAMES
from videodesc.records import ShotFacts
from videodesc.vision.body import LANDMARK_COUNT, PoseEstimator
from videodesc.vision.faces import FaceDetector
from videodesc.vision.hands import HandLandmarker
from videodesc.vision.objects import ObjectDetector
from videodesc.vision.people import shot_scale
from videodesc.vision.reliable import ConfidenceFloors, reliable_facts
from videodesc.records import Face
from videodesc.vision.see import people_on_keyframe


@pytest.fixture(scope="module")
def models():
    return FaceDetector(), ObjectDetector(), PoseEstimator(), HandLandmarker()


def frame_image(samples, tmp_path_factory, source: str, transform: str) -> np.ndarray:
    if source == "black":
        image = np.zeros((720, 1280, 3), np.uint8)
    elif "@" in source:
        clip, seconds = source.split("@")
        video = NARRATED_CLIP if clip == "narrated" else samples / {"bbb": "bbb.mp4", "vtest": "vtest.avi"}[clip]
        target = tmp_path_factory.mktemp("frame") / "frame.png"
        ffmpeg("-ss", seconds, "-i", str(video), "-frames:v", "1", str(target))
        image = cv2.imread(str(target))
    else:
        image = cv2.imread(str(samples / source))
    assert image is not None, source
    if transform == "mirror":
        image = cv2.flip(image, 1)
    elif transform == "turn":
        image = cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE)
    elif transform.startswith("crop:"):
        x0, y0, x1, y1 = map(float, transform[5:].split(","))
        h, w = image.shape[:2]
        image = image[int(y0 * h):int(y1 * h), int(x0 * w):int(x1 * w)].copy()
    elif transform.startswith("shrink:"):
        image = cv2.resize(image, None, fx=float(transform[7:]), fy=float(transform[7:]), interpolation=cv2.INTER_AREA)
    return image


def sure_facts(image: np.ndarray, models) -> tuple[list, str | None]:
    """The people and the shot scale a writer would be given for this one frame."""
    faces_model, objects_model, poses, hands = models
    objects = objects_model.detect(image)
    bodies = poses.estimate(image, [o.box for o in objects if o.label == "person" and o.confidence >= 0.4])
    faces = [Face("frame", list(d.box), d.score, "") for d in faces_model.detect(image)]
    people = [person for person, _, _ in people_on_keyframe("frame", image, bodies, faces, objects, hands)]
    scale = shot_scale(image.shape, [f.box[3] for f in faces], bodies,
                       [(o.confidence, o.box) for o in objects if o.label == "person"])
    shot = ShotFacts(0, people=people, scale=scale.value if scale else None,
                     scale_confidence=scale.confidence if scale else None)
    sure = reliable_facts(shot, ConfidenceFloors())
    return sure.people, sure.scale


def _labelled(person, labels: list[dict], shape) -> dict | None:
    """Of the labelled people whose box holds the found person's centre, the one it overlaps most."""
    height, width = shape[:2]
    x, y, w, h = person.box
    found = np.array([x / width, y / height, (x + w) / width, (y + h) / height])

    def iou(box) -> float:
        box = np.array(box)
        inter = np.prod(np.clip(np.minimum(found[2:], box[2:]) - np.maximum(found[:2], box[:2]), 0, None))
        union = np.prod(found[2:] - found[:2]) + np.prod(box[2:] - box[:2]) - inter
        return float(inter / union) if union > 0 else 0.0

    cx, cy = (found[0] + found[2]) / 2, (found[1] + found[3]) / 2
    holding = [label for label in labels if label["box"][0] <= cx <= label["box"][2] and label["box"][1] <= cy <= label["box"][3]]
    return max(holding, key=lambda label: iou(label["box"]), default=None)


def test_body_facts_on_labelled_frames_are_right_nine_times_in_ten(samples, tmp_path_factory, models, tmp_path):
    assert len(FRAMES) >= 30
    right, said = defaultdict(int), defaultdict(int)
    true_total = defaultdict(int)  # labelled facts, for recall
    wrong: list[str] = []
    for name, (source, transform, labels, scales) in FRAMES.items():
        image = frame_image(samples, tmp_path_factory, source, transform)
        people, scale = sure_facts(image, models)
        for label in labels:
            for kind in ("posture", "facing", "clothing"):
                true_total[kind] += bool(label.get(kind))
            true_total["gesture"] += len(label.get("gesture", ()))
        true_total["scale"] += bool(scales)
        true_total["count"] += len(labels)
        if scale is not None:
            said["scale"] += 1
            right["scale"] += scale in scales
            if scale not in scales:
                wrong.append(f"{name}: scale {scale}")
        matched = set()
        for person in people:
            assert len(person.points) == LANDMARK_COUNT
            label = _labelled(person, labels, image.shape)
            said["count"] += 1
            if label is None or id(label) in matched:
                wrong.append(f"{name}: a person at {person.box} who is not there")
                for fact in person.facts:
                    said[fact.kind] += 1
                    wrong.append(f"{name}: {fact.kind} {fact.value} of nobody")
                continue
            matched.add(id(label))
            right["count"] += 1
            for fact in person.facts:
                said[fact.kind] += 1
                if fact.value in label.get(fact.kind, ()):
                    right[fact.kind] += 1
                else:
                    wrong.append(f"{name}: {fact.kind} {fact.value} ({fact.confidence}) of the person at {label['box']}")
    table = {kind: {"said": said[kind], "right": right[kind], "labelled": true_total[kind],
                    "precision": round(right[kind] / said[kind], 3) if said[kind] else None,
                    "recall": round(right[kind] / true_total[kind], 3) if true_total[kind] else None}
             for kind in sorted(set(said) | set(true_total))}
    print(f"\nbody facts on {len(FRAMES)} labelled frames:\n" + json.dumps(table, indent=1) + "\nwrong:\n" + "\n".join(wrong))
    (tmp_path / "precision.json").write_text(json.dumps(table))
    for kind, row in table.items():
        if row["said"]:
            assert row["precision"] >= 0.9, (kind, row, wrong)
    # Enough is said for the precision to mean something.
    for kind in ("count", "posture", "facing", "gesture", "clothing", "scale"):
        assert said[kind] >= 4, (kind, table)


def test_no_facts_on_black_tiny_or_cut_frames(models, samples):
    black = np.zeros((360, 640, 3), np.uint8)
    assert sure_facts(black, models) == ([], None)
    tiny = cv2.resize(cv2.imread(str(samples / "astronaut.png")), (24, 24))
    assert sure_facts(tiny, models)[0] == []
    # The astronaut cut at the frame's edge: only the shoulder and part of the face show.
    edge = cv2.imread(str(samples / "astronaut.png"))[:, :90].copy()
    people, _ = sure_facts(edge, models)
    assert all(fact.kind in ("clothing", "hair") for person in people for fact in person.facts)


def test_the_face_mesh_reads_a_smile_and_a_tilted_head_and_nothing_on_a_plain_face(samples):
    from videodesc.vision.emotion import ExpressionReader
    from videodesc.vision.face_mesh import FaceMesh

    faces, meshes, expressions = FaceDetector(), FaceMesh(), ExpressionReader()

    def shown(image):
        (face,) = faces.detect(image)[:1]
        expression = expressions.read(image, face.box)
        return {o.value for o in meshes.observe(image, face.box, face.landmarks, expression.label,
                                                expression.confidence) if o.confidence >= 0.75}

    astronaut = cv2.imread(str(samples / "astronaut.png"))
    assert shown(astronaut) == {"smiling"}
    # The same photo turned 25 degrees about her face: the head is now tilted in the picture.
    turn = cv2.getRotationMatrix2D((220, 120), 25, 1.0)
    tilted = cv2.warpAffine(astronaut, turn, (512, 512), borderMode=cv2.BORDER_REFLECT)
    assert "head_tilted" in shown(tilted)
    # A man with a straight face, looking at the camera: nothing to say.
    assert shown(cv2.imread(str(samples / "biden.jpg"))) == set()


def test_only_small_whole_people_make_a_wide_shot():
    shape = (576, 768, 3)
    small = [(0.9, (100, 200, 20, 60)), (0.8, (400, 250, 25, 90))]  # 10-16% of the height
    scale = shot_scale(shape, [], [], small)
    assert scale is not None and scale.value == "wide" and scale.confidence >= 0.6
    # One near person, a third of the frame tall: nothing said.
    assert shot_scale(shape, [], [], [*small, (0.9, (300, 100, 80, 200))]) is None
    # A box cut by the bottom edge may be someone near, mostly out of the picture.
    assert shot_scale(shape, [], [], [*small, (0.9, (600, 500, 60, 76))]) is None
    # Unsure boxes do not count, for or against.
    assert shot_scale(shape, [], [], [(0.5, (100, 200, 20, 60))]) is None
    assert shot_scale(shape, [], [], [*small, (0.4, (300, 100, 80, 300))]).value == "wide"
    # A face big enough to place the shot decides before the boxes.
    assert shot_scale(shape, [150], [], small).value == "close-up"
