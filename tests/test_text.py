"""On-screen text rendered with Debian's Nanum fonts onto real photos, read back."""

from __future__ import annotations

import difflib

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from videodesc.vision.text import TextReader, is_subtitle

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
