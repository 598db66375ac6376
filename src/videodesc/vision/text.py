"""On-screen text, Korean and English: signs, documents, title cards and burned-in subtitles.

Lines are found by the PP-OCR text detector inside `rapidocr-onnxruntime` (installed without
dependencies: it declares the GUI OpenCV). Each line is read by PP-OCR's recogniser, which knows
Latin script only; a confident Latin reading is kept, any other line goes to Tesseract's Korean
+ English model (Debian `tesseract-ocr-kor`, through `tesserocr`) in single-line mode, read
both as it is and inverted (light-on-dark text), keeping the more confident reading.

What reaches the writer is tidied: spaces the Latin recogniser dropped are put back from its own
evidence, a version number glued to a word is set apart, and fragments that no describer would
read aloud (a lone letter, stray symbols, a jamo, Tesseract's guesses at a logo) are dropped.
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
# PP-OCR's recogniser (trained mostly on Chinese, where lines have no spaces) often writes no space
# between two words ("THEEND", "Allowmodifications") yet still gives the space some probability on
# the blank steps between the two letters. On the narrated clip and on 1,650 letter pairs of words
# rendered on photos, pairs inside a word stayed below 0.01, while missing spaces went 0.02-0.48.
SPACE_EVIDENCE = 0.02
# A short reading from Tesseract is a line the Latin recogniser turned down; in the narrated clip
# (a frame a second) all 57 of them (logos and icons read as "cc", "00", "8", "Jd", "=a") were
# noise, the surest at 0.94, while a real "WC" sign came out at 0.96.
SHORT_TESSERACT_MIN_CONFIDENCE = 0.95
_JAMO = re.compile(r"[\u1100-\u11ff\u3131-\u318e]")
_LAUGHTER = re.compile(r"^([ㅋㅎㅠㅜ])\1+$")  # ㅋㅋ, ㅠㅠ: the one place jamo are written alone
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
# A version number run into the word before it ("ATTRIBUTION2.5", "ShareAlike2.5") or after it
# ("2.5Generic"). A lone "v" before the number is the version mark itself ("v1.0") and stays.
_GLUED_VERSION_BEFORE = re.compile(r"(?<=[A-Za-z]{2})(?=\d+\.\d)")
_GLUED_VERSION_AFTER = re.compile(r"(?<=\d\.\d)(?=[A-Z][a-z]{2,})")
# PP-OCR's recogniser has Chinese in its alphabet and reads a drawn check box as 口.
_CHECK_BOX = "口□"


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
        lines = []
        for crop, box, (text, score) in zip(crops, boxes, self._recognise(crops)):
            line = self._latin_line(text, score, box) or self._tesseract_line(crop, box)
            if line is not None:
                # A Latin line that is a fragment is not offered to Tesseract: it would only guess.
                line.text = tidy(line.text, line.engine, line.confidence)
                if line.text:
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

    def _recognise(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        """PP-OCR's reading and mean character score for each line crop.

        The batches are rapidocr's own (TextRecognizer pinned at 1.4.4: lines sorted by width,
        six at a time, padded to the widest), so a line reads as it did through `text_rec`; the
        call is made here to keep the per-step probabilities, where the dropped spaces are.
        """
        recogniser = self._ppocr.text_rec
        characters = recogniser.postprocess_op.character
        _, height, width = recogniser.rec_image_shape
        ratios = [crop.shape[1] / crop.shape[0] for crop in crops]
        order = np.argsort(ratios)
        readings: list[tuple[str, float]] = [("", 0.0)] * len(crops)
        for start in range(0, len(crops), recogniser.rec_batch_num):
            batch = order[start:start + recogniser.rec_batch_num]
            widest = max(width / height, max(ratios[i] for i in batch))
            images = np.stack([recogniser.resize_norm_img(crops[i], widest) for i in batch]).astype(np.float32)
            for i, probabilities in zip(batch, recogniser.session(images)[0]):
                readings[i] = _decode(probabilities, characters)
        return readings

    @staticmethod
    def _latin_line(text: str, score: float, box: tuple[int, int, int, int]) -> ReadLine | None:
        text = text.strip().strip(_CHECK_BOX).strip()
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


def _decode(probabilities: np.ndarray, characters: list[str]) -> tuple[str, float]:
    """Greedy CTC decoding as rapidocr does it, plus the spaces the recogniser only hinted at.

    Args:
        probabilities: (steps, alphabet) softmax output for one line; index 0 is the CTC blank.
        characters: the alphabet, "blank" first and " " last (rapidocr's CTCLabelDecode).
    Returns:
        The text and the mean probability of its characters (0.0 for no text).
    """
    space = len(characters) - 1
    best = probabilities.argmax(axis=1)
    steps = [t for t in range(len(best)) if best[t] and (t == 0 or best[t] != best[t - 1])]
    if not steps:
        return "", 0.0
    score = float(np.mean(probabilities[steps, best[steps]]))
    text = characters[best[steps[0]]]
    for before, after in zip(steps, steps[1:]):
        if (best[before] != space and best[after] != space and after > before + 1
                and probabilities[before + 1:after, space].max() >= SPACE_EVIDENCE):
            text += " "
        text += characters[best[after]]
    return text, score


def _unbalanced(token: str) -> str:
    """The token without a bracket at its edge that has no partner ("CC)" -> "CC")."""
    for opener, closer in ("()", "[]", "{}"):
        if token.endswith(closer) and opener not in token:
            token = token[:-1]
        if token.startswith(opener) and closer not in token:
            token = token[1:]
    return token


def tidy(text: str, engine: str, confidence: float) -> str:
    """The reading as a describer could quote it, or "" for a fragment not worth reading.

    Args:
        text: one line as an engine read it.
        engine: "ppocr" or "tesseract".
        confidence: the engine's confidence, 0-1.
    Returns:
        The words kept, with a version number set apart from a word it was run into
        ("ATTRIBUTION2.5" -> "ATTRIBUTION 2.5"); "" when nothing plausible is left.
    """
    text = _GLUED_VERSION_AFTER.sub(" ", _GLUED_VERSION_BEFORE.sub(" ", text))
    words = []
    for token in text.split():
        token = _unbalanced(token)
        if not token:
            continue
        if _JAMO.search(token) and not _LAUGHTER.match(token):  # "@ㄱ", "버티대ㅁ": Hangul never looks so
            continue
        words.append(token)
    # Marks at the ends of a line ("A |", "© For any") are borders and bullets read as text; between
    # words they are said ("ANIMATION + DESIGN").
    while words and not any(c.isalnum() for c in words[0]):
        words.pop(0)
    while words and not any(c.isalnum() for c in words[-1]):
        words.pop()
    text = " ".join(words)
    core = [c for c in text if c.isalnum()]
    if not core or len(core) < 0.5 * len(text.replace(" ", "")):
        return ""
    if _HANGUL.search(text) or len(core) > 2:
        return text
    # One or two letters or digits: a floor ("B1"), a number ("3"), a short sign ("OK", "TV", "No")
    # is read; a lone letter or a lowercase pair ("re") is a piece of something larger.
    if engine == "tesseract" and confidence < SHORT_TESSERACT_MIN_CONFIDENCE:
        return ""
    if any(c.isdigit() for c in core):
        return text
    if len(core) == 1 or text.islower():
        return ""
    return text


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
