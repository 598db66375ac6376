"""Colour names for clothing and hair, in English and Korean, from the pixels of a region.

Pixels are named one by one in HSV (hue decides among the chromatic colours, lightness and
saturation among black, white and grey, dark orange is brown), and a region gets a colour only
when one name covers most of its pixels: a patterned shirt or a region half in shadow gets none.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# Name: (English, Korean). Order matters only for the tables below.
NAMES: dict[str, tuple[str, str]] = {
    "black": ("black", "검은색"), "white": ("white", "흰색"), "grey": ("grey", "회색"),
    "red": ("red", "빨간색"), "orange": ("orange", "주황색"), "yellow": ("yellow", "노란색"),
    "green": ("green", "초록색"), "blue": ("blue", "파란색"), "purple": ("purple", "보라색"),
    "pink": ("pink", "분홍색"), "brown": ("brown", "갈색"), "beige": ("beige", "베이지색"),
}
# Hue bands on OpenCV's 0-180 scale: (upper bound, name).
_HUES = ((8, "red"), (21, "orange"), (34, "yellow"), (85, "green"), (130, "blue"), (150, "purple"),
         (170, "pink"), (181, "red"))


@dataclass
class NamedColour:
    name: str  # a key of NAMES
    share: float  # of the region's pixels that carry this name


def pixel_names(bgr: np.ndarray) -> np.ndarray:
    """A colour name per pixel of an (N, 3) uint8 BGR array."""
    hsv = cv2.cvtColor(bgr.reshape(-1, 1, 3), cv2.COLOR_BGR2HSV).reshape(-1, 3).astype(np.int32)
    hue, saturation, value = hsv[:, 0], hsv[:, 1], hsv[:, 2]
    names = np.empty(len(hsv), dtype=object)
    for upper, name in reversed(_HUES):
        names[hue < upper] = name
    # Dark or greyish orange-yellow is brown; pale, weakly coloured orange-yellow is beige.
    warm = (hue >= 5) & (hue < 30)
    names[warm & (value < 150) & (saturation >= 60)] = "brown"
    names[warm & (value >= 150) & (saturation >= 25) & (saturation < 90)] = "beige"
    names[(hue >= 150) & (hue < 175) & (value < 120)] = "purple"  # dark magenta reads as purple, not pink
    # Achromatic: low saturation or too dark to have a colour.
    grey = saturation < 35
    names[grey & (value >= 190)] = "white"
    names[grey & (value < 190) & (value >= 70)] = "grey"
    names[(value < 55) | (grey & (value < 70))] = "black"
    return names


def dominant_colour(bgr_pixels: np.ndarray, min_pixels: int = 150) -> NamedColour | None:
    """The colour most pixels of a region have, with its share; None for too few pixels."""
    pixels = np.asarray(bgr_pixels, np.uint8).reshape(-1, 3)
    if len(pixels) < min_pixels:
        return None
    if len(pixels) > 4000:  # a share is as well measured on a few thousand pixels, at a fraction of the cost
        pixels = pixels[::len(pixels) // 4000 + 1]
    names, counts = np.unique(pixel_names(pixels).astype(str), return_counts=True)
    best = int(np.argmax(counts))
    return NamedColour(str(names[best]), round(float(counts[best] / counts.sum()), 3))
