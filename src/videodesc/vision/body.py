"""Bodies: MediaPipe's BlazePose person detector and full-body landmark model, run with LiteRT.

The two models ship inside the `mediapipe==0.10.21` wheel (`mediapipe/modules/pose_detection`,
`mediapipe/modules/pose_landmark`; Apache-2.0), the last release that bundles them. `make setup`
installs the wheel without its dependencies and videodesc never imports it: its own graph runner
tracks a single person and pins protobuf<5, while the models are plain TFLite files that the
LiteRT interpreter (already used for the expression model) runs directly. Doing the pre- and
post-processing here also lets one frame hold several people: the detector runs on the whole
frame and on each person box the object detector found, and the landmark model on each person.

The steps follow MediaPipe's pose graph (pose_detection_cpu, pose_detection_to_roi,
pose_landmark_by_roi): the detector sees the frame letterboxed to 224x224 in [-1, 1] and
predicts, per SSD anchor, a box and four keypoints (hip centre, a point on the circle around the
whole body, shoulder centre, a point on the circle around the upper body). The landmark model
sees a 256x256 crop centred on the hips, 2.5 body radii wide, turned so that the body is upright,
in [0, 1], and returns 33 landmarks (x, y in crop pixels, depth, visibility and presence logits)
and a pose presence probability.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from videodesc.errors import ModelError

_DETECTOR = "pose_detection/pose_detection.tflite"
_LANDMARKS = "pose_landmark/pose_landmark_full.tflite"
_DETECT_SIZE = 224
_LANDMARK_SIZE = 256
# SsdAnchorsCalculator options of pose_detection_cpu: 5 layers, strides 8, 16, 32, 32, 32, two
# anchors per layer and cell (aspect ratio 1 and the interpolated scale); with fixed_anchor_size
# only the anchor centres matter.
_STRIDES = (8, 16, 32, 32, 32)
_ROI_SCALE = 1.25  # RectTransformationCalculator in pose_detection_to_roi

# Landmark numbers of the 33-point BlazePose topology.
NOSE, LEFT_EYE, RIGHT_EYE, LEFT_EAR, RIGHT_EAR, MOUTH_LEFT, MOUTH_RIGHT = 0, 2, 5, 7, 8, 9, 10
LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_ELBOW, RIGHT_ELBOW, LEFT_WRIST, RIGHT_WRIST = 11, 12, 13, 14, 15, 16
LEFT_PINKY, RIGHT_PINKY, LEFT_INDEX, RIGHT_INDEX = 17, 18, 19, 20
LEFT_HIP, RIGHT_HIP, LEFT_KNEE, RIGHT_KNEE, LEFT_ANKLE, RIGHT_ANKLE = 23, 24, 25, 26, 27, 28
LANDMARK_COUNT = 33
# Bones drawn in the report.
SKELETON = ((11, 12), (11, 13), (13, 15), (12, 14), (14, 16), (11, 23), (12, 24), (23, 24), (23, 25),
            (25, 27), (24, 26), (26, 28), (0, 2), (0, 5), (2, 7), (5, 8))


@dataclass
class BodySettings:
    min_detection: float = 0.5  # MediaPipe's own min_score_thresh for the detector
    min_presence: float = 0.6  # the landmark model's pose flag; MediaPipe tracks above 0.5
    overlap: float = 0.3  # detections overlapping more (IoU) are one person, as in MediaPipe's NMS
    max_people: int = 5  # a describer talks about the main people; the rest cost time
    min_person_box: float = 0.4  # object-detector person boxes looked at more closely when this sure

    def as_key(self) -> dict:
        return dict(vars(self))


@dataclass
class Body:
    """One person's landmarks on one image."""

    points: np.ndarray = field(repr=False)  # (33, 3): x, y in image pixels, visibility 0-1
    presence: float  # the landmark model's pose presence probability
    detection: float  # the detector's score

    @property
    def box(self) -> tuple[int, int, int, int]:
        """x, y, width, height around the landmarks the model is fairly sure of."""
        seen = self.points[self.points[:, 2] >= 0.5] if (self.points[:, 2] >= 0.5).sum() >= 4 else self.points
        x0, y0 = seen[:, :2].min(axis=0)
        x1, y1 = seen[:, :2].max(axis=0)
        return int(x0), int(y0), int(x1 - x0), int(y1 - y0)

    def shoulders_in(self, box: tuple[int, int, int, int]) -> bool:
        """Whether the point between the shoulders lies in `box` (x, y, width, height): this
        body is the person another detector boxed, even when the hips are out of the frame."""
        x, y, w, h = box
        cx, cy = self.points[[LEFT_SHOULDER, RIGHT_SHOULDER], :2].mean(axis=0)
        return bool(x <= cx <= x + w and y <= cy <= y + h)

    def visible(self, *indices: int, floor: float = 0.5) -> bool:
        return bool(all(self.points[i, 2] >= floor for i in indices))

    def xy(self, index: int) -> np.ndarray:
        return self.points[index, :2]


def model_folder() -> Path:
    """mediapipe/modules inside the installed wheel, found without importing mediapipe."""
    spec = importlib.util.find_spec("mediapipe")
    locations = list(spec.submodule_search_locations or []) if spec else []
    folder = Path(locations[0]) / "modules" if locations else None
    if folder is None or not all((folder / name).is_file() for name in (_DETECTOR, _LANDMARKS)):
        raise ModelError("the body models are missing: install mediapipe==0.10.21 without dependencies (make setup)")
    return folder


@contextlib.contextmanager
def _stderr_silenced():
    """Point file descriptor 2 at /dev/null for a moment.

    LiteRT announces its XNNPACK delegate on the process's stderr ("INFO: Created TensorFlow Lite
    XNNPACK delegate for CPU."), from C++ and with no setting to stop it, which would break
    --quiet and the --json log. The delegate cannot be left out: without it these models ran
    6x slower (pose landmarks 29 -> 128 ms).
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def interpreter(path: Path):
    """A LiteRT interpreter on one thread, with the XNNPACK delegate."""
    from ai_edge_litert.interpreter import Interpreter

    try:
        with _stderr_silenced():
            found = Interpreter(model_path=str(path), num_threads=1)
            found.allocate_tensors()
    except (RuntimeError, ValueError) as exc:
        raise ModelError(f"the model {path} cannot be loaded: {str(exc).splitlines()[0]}") from exc
    return found


def square_to_crop(centre: np.ndarray, up: np.ndarray, side: float, size: int) -> np.ndarray:
    """The affine map from image pixels to a size x size crop: a square of `side` about `centre`,
    turned so that the unit vector `up` points to the crop's top."""
    right = np.array([-up[1], up[0]], np.float32)
    corners = np.float32([centre + side / 2 * (up - right), centre + side / 2 * (up + right),
                          centre - side / 2 * (up + right)])
    return cv2.getAffineTransform(corners, np.float32([[0, 0], [size, 0], [0, size]]))


def crop_to_image(to_crop: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Points in crop pixels back in image pixels."""
    back = cv2.invertAffineTransform(to_crop)
    return xy @ back[:, :2].T + back[:, 2]


def run_on_crop(net, rgb: np.ndarray, to_crop: np.ndarray, size: int) -> None:
    """Run a MediaPipe model on the size x size crop `to_crop` cuts from an RGB image (black
    beyond its edges, values in [0, 1]); its outputs are then read from `net`."""
    crop = cv2.warpAffine(rgb, to_crop, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    net.set_tensor(net.get_input_details()[0]["index"], (crop.astype(np.float32) / 255.0)[None])
    net.invoke()


def _anchors() -> np.ndarray:
    centres = []
    layer = 0
    while layer < len(_STRIDES):
        last = layer
        while last < len(_STRIDES) and _STRIDES[last] == _STRIDES[layer]:
            last += 1
        per_cell = 2 * (last - layer)
        cells = int(np.ceil(_DETECT_SIZE / _STRIDES[layer]))
        for y in range(cells):
            for x in range(cells):
                centres.extend([((x + 0.5) / cells, (y + 0.5) / cells)] * per_cell)
        layer = last
    return np.asarray(centres, np.float32)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -80, 80)))


@dataclass
class _Detection:
    score: float
    box: np.ndarray  # x0, y0, x1, y1 in image pixels (the head and shoulders the detector keys on)
    keypoints: np.ndarray  # (4, 2) in image pixels


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    x0, y0 = np.maximum(a[:2], b[:2])
    x1, y1 = np.minimum(a[2:], b[2:])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


class PoseEstimator:
    """Finds people and their 33 body landmarks; load once, call per image."""

    def __init__(self, settings: BodySettings | None = None):
        self.settings = settings or BodySettings()
        folder = model_folder()
        self._detector = interpreter(folder / _DETECTOR)
        self._landmarker = interpreter(folder / _LANDMARKS)
        self._anchors = _anchors()
        outputs = sorted(self._detector.get_output_details(), key=lambda d: d["shape"][-1], reverse=True)
        self._boxes_out, self._scores_out = outputs[0]["index"], outputs[1]["index"]
        by_name = {d["name"]: d["index"] for d in self._landmarker.get_output_details()}
        self._points_out, self._flag_out = by_name["Identity"], by_name["Identity_1"]

    def estimate(self, image_bgr: np.ndarray, person_boxes: list[tuple[int, int, int, int]] = ()) -> list[Body]:
        """The people in a BGR image, biggest first.

        Args:
            image_bgr: the frame.
            person_boxes: boxes (x, y, width, height) where another detector saw a person; each
                is searched on its own too, so that people too small for the whole-frame pass
                (the detector sees the frame at 224 px) are found.
        """
        rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)
        height, width = rgb.shape[:2]
        found = self._detect(rgb, (0, 0, width, height))
        for x, y, w, h in person_boxes:
            # A square around the box with room for arms: the detector wants the person whole.
            side = int(max(w, h) * 1.3)
            cx, cy = x + w / 2, y + h / 2
            region = (int(cx - side / 2), int(cy - side / 2), side, side)
            def inside(d: _Detection) -> bool:  # shoulders in this box (the hips may be below the frame)
                px, py = d.keypoints[2]
                return x <= px <= x + w and y <= py <= y + h

            if any(inside(d) for d in found):
                continue  # found already
            # With the rest of the square blacked out, a neighbour cannot be found again instead
            # (bus.jpg: two men side by side); but the person alone is found less well (Zidane's
            # pose came out with presence 0.56 instead of 0.82), so the plain square goes first.
            near = [d for d in self._detect(rgb, region)[:1] if inside(d)]
            found += near or self._detect(rgb, region, keep=(x - 0.1 * w, y, x + 1.1 * w, y + h))[:1]
        found = self._suppress(found)
        bodies = []
        for detection in found[:self.settings.max_people]:
            body = self._landmarks(rgb, detection)
            if body is not None and body.presence >= self.settings.min_presence:
                bodies.append(body)
        bodies = self._distinct(bodies)
        bodies.sort(key=lambda b: b.box[2] * b.box[3], reverse=True)
        return bodies

    def _detect(self, rgb: np.ndarray, region: tuple[int, int, int, int],
                keep: tuple[float, float, float, float] | None = None) -> list[_Detection]:
        """Detections in a square region of the image (letterboxed when it is the whole frame).

        `keep` (x0, y0, x1, y1 in image pixels): black out everything else.
        """
        x, y, w, h = region
        side = max(w, h)
        # The region, centred in a black square of `side` (outside the image is black too).
        offset_x, offset_y = x - (side - w) / 2, y - (side - h) / 2
        to_square = np.float32([[1, 0, -offset_x], [0, 1, -offset_y]]) * (_DETECT_SIZE / side)
        square = cv2.warpAffine(rgb, to_square, (_DETECT_SIZE, _DETECT_SIZE), flags=cv2.INTER_AREA,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
        if keep is not None:
            (x0, y0), (x1, y1) = (np.array(keep, np.float32).reshape(2, 2) - [offset_x, offset_y]) * (_DETECT_SIZE / side)
            mask = np.zeros(square.shape[:2], bool)
            mask[max(0, int(y0)):max(0, int(np.ceil(y1))), max(0, int(x0)):max(0, int(np.ceil(x1)))] = True
            square[~mask] = 0
        tensor = square.astype(np.float32) / 127.5 - 1.0
        self._detector.set_tensor(self._detector.get_input_details()[0]["index"], tensor[None])
        self._detector.invoke()
        raw = self._detector.get_tensor(self._boxes_out)[0]
        scores = _sigmoid(self._detector.get_tensor(self._scores_out)[0, :, 0])
        keep = np.flatnonzero(scores >= self.settings.min_detection)
        found = []
        for i in keep:
            values = raw[i] / _DETECT_SIZE
            anchor = self._anchors[i]
            cx, cy = values[0] + anchor[0], values[1] + anchor[1]
            bw, bh = values[2], values[3]
            box = np.array([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], np.float32)
            keypoints = values[4:12].reshape(4, 2) + anchor
            # Back from the unit square to image pixels.
            box = box * side + np.array([offset_x, offset_y, offset_x, offset_y], np.float32)
            keypoints = keypoints * side + np.array([offset_x, offset_y], np.float32)
            found.append(_Detection(float(scores[i]), box, keypoints))
        return self._suppress(found)

    def _suppress(self, detections: list[_Detection]) -> list[_Detection]:
        """Weighted non-maximum suppression, as MediaPipe's: overlapping detections averaged by score."""
        remaining = sorted(detections, key=lambda d: d.score, reverse=True)
        kept = []
        while remaining:
            best = remaining[0]
            group = [d for d in remaining if _iou(best.box, d.box) > self.settings.overlap]
            remaining = [d for d in remaining if _iou(best.box, d.box) <= self.settings.overlap]
            weights = np.array([d.score for d in group])[:, None]
            box = (np.array([d.box for d in group]) * weights).sum(axis=0) / weights.sum()
            keypoints = (np.array([d.keypoints for d in group]) * weights[:, :, None]).sum(axis=0) / weights.sum()
            kept.append(_Detection(best.score, box.astype(np.float32), keypoints.astype(np.float32)))
        return kept

    def _landmarks(self, rgb: np.ndarray, detection: _Detection) -> Body | None:
        """Landmarks in the detection's region, then once more in the region they outline.

        The second pass is MediaPipe's tracking step (pose_landmarks_to_roi: the two auxiliary
        landmarks give centre and size), which frames the person better than the detector's
        keypoints; the surer of the two results is kept.
        """
        first = self._landmarks_in(rgb, detection.keypoints[0], detection.keypoints[1], detection.score)
        if first is None:
            return None
        body, aux = first
        second = self._landmarks_in(rgb, aux[0], aux[1], detection.score)
        if second is not None and second[0].presence > body.presence:
            body = second[0]
        return body

    def _landmarks_in(self, rgb: np.ndarray, centre: np.ndarray, towards: np.ndarray,
                      score: float) -> tuple[Body, np.ndarray] | None:
        up = towards - centre  # from the body centre towards the point on the circle around it
        radius = float(np.linalg.norm(up))
        if radius < 4:
            return None
        up /= radius
        to_crop = square_to_crop(centre, up, 2 * radius * _ROI_SCALE, _LANDMARK_SIZE)
        run_on_crop(self._landmarker, rgb, to_crop, _LANDMARK_SIZE)
        presence = float(self._landmarker.get_tensor(self._flag_out).reshape(-1)[0])
        raw = self._landmarker.get_tensor(self._points_out).reshape(-1, 5)
        xy_all = crop_to_image(to_crop, raw[:, :2])
        aux = xy_all[LANDMARK_COUNT:LANDMARK_COUNT + 2]
        raw, xy = raw[:LANDMARK_COUNT], xy_all[:LANDMARK_COUNT]
        # Visibility: seen and not hidden behind something; presence: inside the picture. A point
        # counts as seen only when both say so.
        seen = np.minimum(_sigmoid(raw[:, 3]), _sigmoid(raw[:, 4]))
        height, width = rgb.shape[:2]
        outside = (xy[:, 0] < 0) | (xy[:, 1] < 0) | (xy[:, 0] >= width) | (xy[:, 1] >= height)
        seen[outside] = 0.0  # a guess past the frame edge is not something seen
        return Body(np.column_stack([xy, seen]).astype(np.float32), round(presence, 3), round(score, 3)), aux

    def _distinct(self, bodies: list[Body]) -> list[Body]:
        """Drop a body whose shoulders sit on another's: one person found from two regions."""
        kept: list[Body] = []
        for body in sorted(bodies, key=lambda b: b.presence, reverse=True):
            width = np.linalg.norm(body.xy(LEFT_SHOULDER) - body.xy(RIGHT_SHOULDER)) + 1
            if any(np.linalg.norm(body.xy(LEFT_SHOULDER) - other.xy(LEFT_SHOULDER)) < 0.5 * width and
                   np.linalg.norm(body.xy(RIGHT_SHOULDER) - other.xy(RIGHT_SHOULDER)) < 0.5 * width for other in kept):
                continue
            kept.append(body)
        return kept
