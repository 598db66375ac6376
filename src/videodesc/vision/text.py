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
# Lines are found on the frame scaled to this short side (PaddleOCR's own default scale, about
# 960x544): 720p detection took 215 ms a frame at full size, 115 ms at 544. Lines are read from the
# full-size frame.
DETECT_SHORT_SIDE = 544
# Credits and documents hold dozens of lines; reading them all cost 10-18 s a frame in Big Buck
# Bunny's end credits, and a describer reads none of them aloud. The tallest lines (titles,
# signs, headlines) are read.
MAX_LINES = 8


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
        # limit_side_len: the detector's own resizing would scale the frame up again to 736.
        self._ppocr = RapidOCR(det_limit_side_len=DETECT_SHORT_SIDE)
        self._tesseract = PyTessBaseAPI(path=_tessdata(), lang="kor+eng", psm=PSM.SINGLE_LINE)

    def read(self, image_bgr: np.ndarray) -> list[ReadLine]:
        """The text lines (the MAX_LINES tallest), top to bottom."""
        boxes = self.find(image_bgr)
        crops = [image_bgr[y:y + h, x:x + w] for x, y, w, h in boxes]
        # One batched call of the Latin recogniser for all lines (rapidocr's TextRecognizer,
        # pinned at 1.4.4); the lines it cannot read go to Tesseract one by one.
        latin, _ = self._ppocr.text_rec(crops) if crops else ([], 0.0)
        lines = []
        for crop, box, (text, score) in zip(crops, boxes, latin):
            line = self._latin_line(text, float(score), box) or self._tesseract_line(crop, box)
            if line is not None:
                lines.append(line)
        lines.sort(key=lambda line: (line.box[1], line.box[0]))
        return lines

    def find(self, image_bgr: np.ndarray) -> list[tuple[int, int, int, int]]:
        """Boxes (x, y, width, height) of the MAX_LINES tallest text lines, in full-size pixels."""
        height, width = image_bgr.shape[:2]
        scale = DETECT_SHORT_SIDE / min(height, width)
        scanned = cv2.resize(image_bgr, None, fx=scale, fy=scale,
                             interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        quads, _ = self._ppocr(scanned, use_det=True, use_cls=False, use_rec=False)
        boxes = []
        for quad in quads if quads is not None else []:
            points = np.asarray(quad) / scale
            x0, y0 = np.maximum(np.floor(points.min(axis=0)).astype(int) - 4, 0)
            x1, y1 = np.minimum(np.ceil(points.max(axis=0)).astype(int) + 4, [width, height])
            if x1 > x0 and y1 > y0:
                boxes.append((int(x0), int(y0), int(x1 - x0), int(y1 - y0)))
        return sorted(boxes, key=lambda box: box[3], reverse=True)[:MAX_LINES]

    @staticmethod
    def _latin_line(text: str, score: float, box: tuple[int, int, int, int]) -> ReadLine | None:
        text = text.strip()
        # The Latin recogniser reads a Hangul line as a few confident Latin characters (one
        # sign came out as "3", score 0.87): a reading too short for the line is not Latin.
        covers_line = len(text) >= 0.4 * box[2] / max(box[3], 1)
        if score >= LATIN_MIN_SCORE and text and text.isascii() and covers_line:
            return ReadLine(text, round(score, 3), box, "ppocr")
        return None

    def _tesseract_line(self, crop: np.ndarray, box: tuple[int, int, int, int]) -> ReadLine | None:
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
