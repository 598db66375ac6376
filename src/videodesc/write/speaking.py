"""How long a text takes to say: the budget every description is fitted to.

Korean is timed by syllables (each Hangul block is one), English by words; digits and Latin
letters inside Korean text are counted as the syllables they are read as, roughly. The rates are
those of a calm describer's voice; `render` measures the real spoken length once a voice speaks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?|\d+")
_DIGIT = re.compile(r"\d")
_LATIN_WORD = re.compile(r"[A-Za-z]+")


@dataclass
class SpeakingRate:
    # Korean broadcast description runs near 6 syllables per second; English near 160 words
    # per minute. Punctuation adds a short breath.
    ko_syllables_per_second: float = 6.0
    en_words_per_second: float = 2.7
    pause_per_sentence: float = 0.25

    def as_key(self) -> dict:
        return dict(vars(self))


def syllables(text: str) -> int:
    """Spoken syllables of Korean text: Hangul blocks, plus digits and Latin words as read out."""
    hangul = len(_HANGUL.findall(text))
    digits = len(_DIGIT.findall(text))  # "3" is one syllable (삼); "15" two (십오) -- close enough
    latin = sum(max(1, len(word) // 3) for word in _LATIN_WORD.findall(text))
    return hangul + digits + latin


def words(text: str) -> int:
    return len(_WORD.findall(text))


def spoken_seconds(text: str, language: str, rate: SpeakingRate | None = None) -> float:
    """Estimated seconds to speak `text` in `language` ("ko" or "en")."""
    rate = rate or SpeakingRate()
    sentences = max(1, len(re.findall(r"[.!?。]+", text.strip())))
    if language == "ko":
        speech = syllables(text) / rate.ko_syllables_per_second
    else:
        speech = words(text) / rate.en_words_per_second
    return round(speech + rate.pause_per_sentence * (sentences - 1), 2)
