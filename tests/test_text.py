"""On-screen text rendered with Debian's Nanum fonts onto real photos, read back."""

from __future__ import annotations

import difflib

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from conftest import NARRATED_CLIP, ffmpeg
from videodesc.vision.text import TextReader, is_subtitle, tidy

FONT = "/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf"


@pytest.fixture(scope="module")
def reader() -> TextReader:
    return TextReader()


def render(photo, lines: list[tuple[str, tuple[int, int], int, bool]]) -> np.ndarray:
    """Draw (text, position, size, on_a_panel) lines onto a photo scaled to 1280x720."""
    image = Image.open(photo).convert("RGB").resize((1280, 720))
    draw = ImageDraw.Draw(image)
    for text, (x, y), size, panel in lines:
        font = ImageFont.truetype(FONT, size)
        if panel:  # a sign: light text on a dark plate
            left, top, right, bottom = draw.textbbox((x, y), text, font=font)
            draw.rectangle((left - 16, top - 12, right + 16, bottom + 12), fill=(28, 52, 120))
            draw.text((x, y), text, font=font, fill=(250, 250, 250))
        else:  # a subtitle: white with a black outline, straight on the picture
            draw.text((x, y), text, font=font, fill=(255, 255, 255), stroke_width=3, stroke_fill=(0, 0, 0))
    return cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR)


def accuracy(truth: str, read: str) -> float:
    """Character accuracy ignoring spaces: 1 - edits / length, from difflib's matching blocks."""
    a, b = truth.replace(" ", ""), read.replace(" ", "")
    matched = sum(block.size for block in difflib.SequenceMatcher(None, a, b).get_matching_blocks())
    return (matched - max(0, len(b) - matched)) / len(a)


KOREAN = ["서울역 3번 출구", "한빛 병원 응급실", "3년 후"]


def test_korean_signs_on_photos_are_read_with_at_least_90_percent_accuracy(samples, reader):
    total = 0.0
    for i, sign in enumerate(KOREAN):
        photo = samples / ("coffee.png", "astronaut.png", "chelsea.png")[i]
        lines = reader.read(render(photo, [(sign, (120, 90), 56, True)]))
        read = " ".join(line.text for line in lines if line.box[1] < 300)
        total += accuracy(sign, read)
    assert total / len(KOREAN) >= 0.9


def test_english_text_is_read_exactly(samples, reader):
    image = render(samples / "astronaut.png", [("NO ENTRY", (140, 100), 60, True),
                                               ("Where are you going?", (340, 620), 48, False)])
    assert [line.text for line in reader.read(image)] == ["NO ENTRY", "Where are you going?"]


def test_a_subtitle_matching_dialogue_is_told_from_a_sign(samples, reader):
    image = render(samples / "coffee.png", [("한빛 병원", (120, 90), 56, True), ("어디 가는 거야?", (470, 620), 48, False)])
    lines = reader.read(image)
    assert len(lines) == 2
    dialogue = ["어디 가는 거야?", "병원에 가."]
    kinds = [is_subtitle(line, image.shape[0], dialogue) for line in lines]
    assert kinds == [False, True]
    # The same bottom line is scene text when nobody says it.
    assert not is_subtitle(lines[1], image.shape[0], ["다른 대사"])


def clip_frame(tmp_path, seconds: float) -> np.ndarray:
    """One frame of the narrated Creative Commons clip (480x352), taken by ffmpeg."""
    frame = tmp_path / f"at_{seconds}.png"
    ffmpeg("-ss", str(seconds), "-i", str(NARRATED_CLIP), "-frames:v", "1", str(frame))
    return cv2.imread(str(frame))


def test_the_narrated_clips_end_card_reads_the_end(reader, tmp_path):
    # PP-OCR's recogniser reads the card as "THEEND"; the space comes back from its own evidence.
    assert [line.text for line in reader.read(clip_frame(tmp_path, 152.6))] == ["THE END"]
    # The credits, in another face and size: "of thePublic Domain" before.
    assert [line.text for line in reader.read(clip_frame(tmp_path, 173.5))] == [
        "VERY SPECIAL THANKS", "Center for the Study", "of the Public Domain", "law.duke.edu/cspd"]


def test_words_keep_their_spaces_and_a_word_is_not_split(samples, reader):
    # After a lone "I" the recogniser drops the space ("ILOVE YOU", "IAM LEGEND").
    for text, photo in (("I LOVE YOU", "astronaut.png"), ("I AM LEGEND", "chelsea.png"),
                        ("OPEN LATE", "coffee.png"), ("NO PARKING HERE", "camera.png"),
                        ("INFORMATION", "astronaut.png")):
        lines = reader.read(render(samples / photo, [(text, (100, 200), 60, True)]))
        assert [line.text for line in lines] == [text]


def test_logos_and_icons_are_not_read_as_text_but_short_signs_are(samples, reader, tmp_path):
    # The narrated clip's Creative Commons logo (Tesseract: "cc") and film and pen icons ("Jd").
    for seconds in (1.5, 85.5):
        assert reader.read(clip_frame(tmp_path, seconds)) == []
    for text, size in (("EXIT", 60), ("3", 60), ("B1", 60), ("No", 60), ("출구", 90)):
        lines = reader.read(render(samples / "coffee.png", [(text, (300, 200), size, True)]))
        assert [line.text for line in lines] == [text]


def test_fragments_are_dropped_and_words_around_marks_kept():
    assert tidy("@ㄱ", "tesseract", 0.9) == ""  # a lone jamo with a symbol
    assert tidy("버티대ㅁ", "tesseract", 0.9) == ""  # Hangul with a jamo glued on is not Korean
    assert tidy("re", "ppocr", 0.99) == ""  # a lowercase piece of a word
    assert tidy("C", "ppocr", 0.99) == ""
    assert tidy("A |", "tesseract", 0.82) == ""
    assert tidy("CC)", "tesseract", 0.76) == ""  # Tesseract's guess at a logo
    assert tidy("ㅋㅋㅋ", "tesseract", 0.9) == "ㅋㅋㅋ"
    assert tidy("3", "ppocr", 0.99) == "3"
    assert tidy("WC", "tesseract", 0.96) == "WC"
    assert tidy("문", "tesseract", 0.92) == "문"
    assert tidy("ANIMATION + DESIGN", "ppocr", 0.95) == "ANIMATION + DESIGN"
    assert tidy("© For any reuse", "tesseract", 0.9) == "For any reuse"


def test_a_version_number_is_not_read_as_part_of_a_word(samples, reader):
    # A licence name printed tight against its version: the reading holds the word and the number.
    lines = reader.read(render(samples / "coffee.png", [("ATTRIBUTION2.5", (100, 200), 60, True)]))
    assert [line.text for line in lines] == ["ATTRIBUTION 2.5"]
    assert tidy("Attribution-ShareAlike2.5Generic", "ppocr", 0.97) == "Attribution-ShareAlike 2.5 Generic"
    for kept in ("CC BY-SA 3.0", "v1.0", "LSR1.com", "H.264"):
        assert tidy(kept, "ppocr", 0.97) == kept
