"""On-screen text, Korean and English: signs, documents, title cards and burned-in subtitles.

Lines are found by the PP-OCR text detector inside `rapidocr-onnxruntime` (installed without
dependencies: it declares the GUI OpenCV). Each line is read by PP-OCR's recogniser, which knows
Latin script only; a confident Latin reading is kept, any other line goes to Tesseract's Korean
+ English model (Debian `tesseract-ocr-kor`, through `tesserocr`) in single-line mode, read
both as it is and inverted (light-on-dark text), keeping the more confident reading.
"""

from __future__ import annotations

import difflib
import glob
import re
from dataclasses import dataclass

import cv2
import numpy as np

from videodesc.errors import ModelError

LATIN_MIN_SCORE = 0.8  # below this PP-OCR's Latin reading is likely another script or noise
TESSERACT_MIN_CONFIDENCE = 60  # mean word confidence, 0-100
SUBTITLE_BAND = 0.72  # a line whose centre lies below this fraction of the height may be a subtitle
SAME_TEXT = 0.6  # similarity of a line to the dialogue above which it is taken for a subtitle


@dataclass
class ReadLine:
    text: str
    confidence: float  # 0-1
    box: tuple[int, int, int, int]  # x, y, width, height
    engine: str  # "ppocr" | "tesseract"


def _tessdata() -> str:
    found = sorted(glob.glob("/usr/share/tesseract-ocr/*/tessdata/kor.traineddata"))
    if not found:
        raise ModelError("Tesseract's Korean model is missing: apt-get install tesseract-ocr-kor (make setup)")
    return found[-1].rsplit("/", 1)[0]


class TextReader:
    """Finds and reads text lines; load once, call per image."""

    def __init__(self) -> None:
        try:
            from rapidocr_onnxruntime import RapidOCR
            from tesserocr import PSM, PyTessBaseAPI
        except ImportError as exc:
            raise ModelError(f"the OCR packages are missing ({exc.name}): run make setup") from exc
        self._ppocr = RapidOCR()
        self._tesseract = PyTessBaseAPI(path=_tessdata(), lang="kor+eng", psm=PSM.SINGLE_LINE)

    def read(self, image_bgr: np.ndarray) -> list[ReadLine]:
        """Text lines top to bottom."""
        boxes, _ = self._ppocr(image_bgr, use_det=True, use_cls=False, use_rec=False)
        lines = []
        height, width = image_bgr.shape[:2]
        for quad in boxes if boxes is not None else []:
            points = np.asarray(quad).astype(int)
            x0, y0 = np.maximum(points.min(axis=0) - 4, 0)
            x1, y1 = np.minimum(points.max(axis=0) + 4, [width, height])
            crop = image_bgr[y0:y1, x0:x1]
            if crop.size == 0:
                continue
            line = self._read_line(crop, (int(x0), int(y0), int(x1 - x0), int(y1 - y0)))
            if line is not None:
                lines.append(line)
        lines.sort(key=lambda line: (line.box[1], line.box[0]))
        return lines

    def _read_line(self, crop: np.ndarray, box: tuple[int, int, int, int]) -> ReadLine | None:
        result, _ = self._ppocr(crop, use_det=False, use_cls=False, use_rec=True)
        if result:
            text, score = result[0][0].strip(), float(result[0][1])
            # The Latin recogniser reads a Hangul line as a few confident Latin characters (one
            # sign came out as "3", score 0.87): a reading too short for the line is not Latin.
            covers_line = len(text) >= 0.4 * box[2] / max(box[3], 1)
            if score >= LATIN_MIN_SCORE and text and text.isascii() and covers_line:
                return ReadLine(text, round(score, 3), box, "ppocr")
        from PIL import Image

        grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
        best: tuple[int, str] = (-1, "")
        for candidate in (grey, 255 - grey):
            self._tesseract.SetImage(Image.fromarray(candidate))
            text = " ".join(self._tesseract.GetUTF8Text().split())
            confidence = self._tesseract.MeanTextConf()
            if text and confidence > best[0]:
                best = (confidence, text)
        if best[0] < TESSERACT_MIN_CONFIDENCE:
            return None
        return ReadLine(best[1], round(best[0] / 100, 3), box, "tesseract")


def _plain(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def is_subtitle(line: ReadLine, image_height: int, dialogue: list[str]) -> bool:
    """A burned-in subtitle: low in the frame and saying what is being said at the time."""
    centre = line.box[1] + line.box[3] / 2
    if centre < SUBTITLE_BAND * image_height:
        return False
    plain = _plain(line.text)
    return any(difflib.SequenceMatcher(None, plain, _plain(spoken)).ratio() >= SAME_TEXT
               or (len(plain) >= 4 and plain in _plain(spoken)) for spoken in dialogue)
