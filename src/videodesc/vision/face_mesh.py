"""Face geometry: MediaPipe's 468-point face mesh on each face dlib found, and what it shows.

The model (`mediapipe/modules/face_landmark/face_landmark.tflite`, Apache-2.0, inside the
mediapipe 0.10.21 wheel) runs with LiteRT like the body models (vision/body.py). The variant with
attention needs custom operators LiteRT lacks, so the plain one is used. Its input is a 192x192
crop in [0, 1] around the face, turned so that the eyes are level (MediaPipe frames it at 1.5x
the detector's box); it returns 468 points in crop pixels and a face-presence logit.

Because the crop is levelled on the eyes, the mesh is measured upright: the head's roll is the
eye line's angle in the picture, the turn of the head is where the nose tip sits between the
cheeks, and eyes and mouth are open or closed by the gap between the lids and the lips.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from videodesc.vision.body import interpreter, model_folder, run_on_crop

_MODEL = "face_landmark/face_landmark.tflite"
_SIZE = 192
_ROI_SCALE = 1.5  # of the detector's box, as MediaPipe's face_detection_front_detection_to_roi

# Mesh points (MediaPipe's canonical numbering).
_NOSE_TIP, _CHEEK_RIGHT, _CHEEK_LEFT = 1, 234, 454  # the person's right cheek is on the image's left
_RIGHT_EYE = (33, 133, 159, 145)  # outer corner, inner corner, upper lid, lower lid
_LEFT_EYE = (263, 362, 386, 374)
_MOUTH = (61, 291, 13, 14)  # corners, inner upper lip, inner lower lip
MIN_CONFIDENCE = 0.5


@dataclass
class FaceObservation:
    kind: str  # head, eyes, mouth
    value: str  # head_tilted, head_turned; eyes_closed; mouth_open, smiling
    confidence: float


def _margin(measure: float, threshold: float, full: float) -> float:
    return float(np.clip(0.5 + 0.5 * (measure - threshold) / (full - threshold), 0.5, 1.0))


class FaceMesh:
    """Reads head turn and tilt, closed eyes and an open mouth from a face; load once, call per face."""

    def __init__(self) -> None:
        self._net = interpreter(model_folder() / _MODEL)
        outputs = sorted(self._net.get_output_details(), key=lambda d: int(np.prod(d["shape"])), reverse=True)
        self._points_out, self._flag_out = outputs[0]["index"], outputs[1]["index"]

    def mesh(self, image_bgr: np.ndarray, box: tuple[int, int, int, int],
             landmarks: list[tuple[int, int]]) -> tuple[np.ndarray, float, float] | None:
        """The 468 points in the levelled crop, the face presence, and the eye line's angle (degrees)."""
        if len(landmarks) != 5:
            return None
        points = np.asarray(landmarks, np.float32)
        eyes = sorted([points[0:2].mean(axis=0), points[2:4].mean(axis=0)], key=lambda p: p[0])
        roll = float(np.degrees(np.arctan2(eyes[1][1] - eyes[0][1], eyes[1][0] - eyes[0][0])))
        x, y, w, h = box
        centre = (x + w / 2, y + h / 2)
        side = max(w, h) * _ROI_SCALE
        # Rotate about the face centre so that the eyes are level, and scale the square to 192 px.
        to_crop = cv2.getRotationMatrix2D(centre, roll, _SIZE / side)
        to_crop[:, 2] += np.array([_SIZE / 2 - centre[0], _SIZE / 2 - centre[1]])
        run_on_crop(self._net, cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB), to_crop, _SIZE)
        mesh = self._net.get_tensor(self._points_out).reshape(-1, 3)[:468]
        presence = float(1 / (1 + np.exp(-float(self._net.get_tensor(self._flag_out).reshape(-1)[0]))))
        return mesh, presence, roll

    def observe(self, image_bgr: np.ndarray, box: tuple[int, int, int, int], landmarks: list[tuple[int, int]],
                expression: str | None = None, expression_confidence: float | None = None) -> list[FaceObservation]:
        """What the face shows, each fact with a confidence; nothing for a face too small to measure."""
        if min(box[2], box[3]) < 48:
            return []  # lids and lips are a pixel or two apart: no measure to trust
        found = self.mesh(image_bgr, box, landmarks)
        if found is None:
            return []
        mesh, presence, roll = found
        if presence < 0.8:
            return []
        xy = mesh[:, :2]
        facts: list[FaceObservation] = []

        def add(kind: str, value: str, confidence: float) -> None:
            confidence = round(confidence * presence, 3)
            if confidence >= MIN_CONFIDENCE:
                facts.append(FaceObservation(kind, value, confidence))

        if abs(roll) > 15:
            add("head", "head_tilted", _margin(abs(roll), 15, 25))
        span = xy[_CHEEK_LEFT, 0] - xy[_CHEEK_RIGHT, 0]
        if span > 0:
            # 0.5: the nose halfway between the cheeks, a face turned straight to the camera.
            turn = abs((xy[_NOSE_TIP, 0] - xy[_CHEEK_RIGHT, 0]) / span - 0.5)
            if turn > 0.2:
                add("head", "head_turned", _margin(turn, 0.2, 0.3))
        openness = []
        for outer, inner, upper, lower in (_RIGHT_EYE, _LEFT_EYE):
            width = np.linalg.norm(xy[outer] - xy[inner])
            openness.append(float(np.linalg.norm(xy[upper] - xy[lower]) / width) if width > 0 else 1.0)
        if max(openness) < 0.12:
            add("eyes", "eyes_closed", _margin(0.12 - max(openness), 0.0, 0.06))
        left, right, upper, lower = _MOUTH
        mouth_width = np.linalg.norm(xy[left] - xy[right])
        gap = float(np.linalg.norm(xy[upper] - xy[lower]) / mouth_width) if mouth_width > 0 else 0.0
        if gap > 0.35:
            add("mouth", "mouth_open", _margin(gap, 0.35, 0.6))
        if expression == "happy" and (expression_confidence or 0) >= 0.6:
            # The expression model and the mesh agree: the corners of the mouth lifted above the lips' middle.
            middle = (xy[upper, 1] + xy[lower, 1]) / 2
            lift = float((middle - (xy[left, 1] + xy[right, 1]) / 2) / mouth_width) if mouth_width > 0 else 0.0
            if lift > 0.05:
                add("mouth", "smiling", min(float(expression_confidence), _margin(lift, 0.05, 0.15)))
        return facts
