"""How long a text takes to say: the budget every description is fitted to.

Korean is timed by syllables (each Hangul block is one), English by words; digits and Latin
letters inside Korean text are counted as the syllables they are read as, roughly. The default
rates are those of a calm describer; `voice_rate` measures the voice that will speak instead
(`write` does, so that cues fit without being sped up), and `render` measures each spoken cue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?|\d+")
_DIGIT = re.compile(r"\d")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_LATIN_LETTER = re.compile(r"[A-Za-z]")
_SENTENCE_END = re.compile(r"[.!?。]+")


@dataclass
class SpeakingRate:
    # Korean broadcast description runs near 6 syllables per second; English near 160 words
    # per minute. Punctuation adds a short breath.
    ko_syllables_per_second: float = 6.0
    en_words_per_second: float = 2.7
    pause_per_sentence: float = 0.25  # between two sentences
    # Measured voices also have a fixed cost per text spoken (its first and last sounds are slower
    # than the words between) and a pause at each comma; the describer defaults leave them out.
    per_cue: float = 0.0
    per_comma: float = 0.0
    # A measured voice times English by letters (english_letters), which tell "a truck is in
    # view" from "Person 1, a man, appears" where words cannot; None: by words at en_words_per_second.
    en_letters_per_second: float | None = None

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


def english_letters(text: str) -> int:
    """Letters of English text as spoken, a digit as the three letters of its word, roughly ("1"
    is "one"). A measured voice is timed by these: on Piper's joe they predict a cue's length
    better than syllables or words (held-out template cues: mean error 0.20 s, against 0.27 s by
    syllables and 0.44 s by words)."""
    return len(_LATIN_LETTER.findall(text)) + 3 * len(_DIGIT.findall(text))


def sentence_count(text: str) -> int:
    """Sentences in `text`, by their end marks; at least one."""
    return max(1, len(_SENTENCE_END.findall(text.strip())))


def spoken_seconds(text: str, language: str, rate: SpeakingRate | None = None) -> float:
    """Estimated seconds to speak `text` in `language` ("ko" or "en")."""
    rate = rate or SpeakingRate()
    sentences = sentence_count(text)
    if language == "ko":
        speech = syllables(text) / rate.ko_syllables_per_second
    elif rate.en_letters_per_second:
        speech = english_letters(text) / rate.en_letters_per_second
    else:
        speech = words(text) / rate.en_words_per_second
    pauses = rate.pause_per_sentence * (sentences - 1) + rate.per_cue + rate.per_comma * text.count(",")
    return round(speech + pauses, 2)


# Describer-like sentences the voice is timed on: plain, present tense, short and long, with and
# without commas, with a numbered label as the writer says them.
CALIBRATION = {
    "en": ("A woman in a grey coat walks into the station.",
           "Person 1 stops.",
           "She looks up at the board, then at her watch, and sits down on a bench.",
           "Behind her, a train pulls in.",
           "On screen: \"Platform 4\".",
           "Person 2, an older man, comes in from the left."),
    "ko": ("회색 코트를 입은 여자가 역으로 들어온다.",
           "인물 1이 멈춰 선다.",
           "여자가 전광판을 올려다보고, 시계를 본 뒤, 벤치에 앉는다.",
           "그 뒤로 기차가 들어온다.",
           "화면에 '4번 승강장'이라고 적혀 있다.",
           "나이 든 남자인 인물 2가 왼쪽에서 들어온다."),
}


def voice_rate(spec, language: str, folder: Path) -> SpeakingRate:
    """The speaking rate of the voice `spec` (a VoiceSpec), measured on CALIBRATION: the units it
    says per second, its fixed cost per cue and per comma, and the pause between two sentences,
    fitted over the sentences spoken one by one and in pairs.

    The sentences are spoken once through a speech cache in `folder` (`write` keeps one per
    machine), so later runs only read their lengths. Korean is measured on the Korean passage,
    any other language on the English one.

    Raises:
        InputError, ModelError: as speak.make_voice and the voice's synthesis do.
    """
    from videodesc.speak import SpeechCache, make_voice

    key = "ko" if language == "ko" else "en"
    voice, cache = make_voice(spec), SpeechCache(folder)
    sentences = CALIBRATION[key]
    # Each sentence alone, and pairs of them said as one cue: what a join between sentences costs.
    texts = list(sentences) + [f"{a} {b}" for a, b in zip(sentences[::2], sentences[1::2])]
    seconds = np.array([cache.speak(voice, spec, text)[1] for text in texts])
    units = [syllables(t) if key == "ko" else english_letters(t) for t in texts]
    # seconds = per_cue + units / rate + per_comma * commas + pause * joins, by least squares; a
    # cost that comes out negative is taken as none and the rest fitted again.
    features = np.array([[1.0, u, t.count(","), sentence_count(t) - 1] for t, u in zip(texts, units)])
    used = [0, 1, 2, 3]
    while True:
        fitted, *_ = np.linalg.lstsq(features[:, used], seconds, rcond=None)
        negative = [i for i, value in zip(used, fitted) if value < 0 and i != 1]
        if not negative:
            break
        used.remove(negative[0])
    cost = dict.fromkeys(range(4), 0.0) | {i: float(value) for i, value in zip(used, fitted)}
    per_second = round(1.0 / max(cost[1], 1e-3), 2)
    measured = SpeakingRate(pause_per_sentence=round(cost[3], 2), per_cue=round(cost[0], 2), per_comma=round(cost[2], 2))
    if key == "ko":
        measured.ko_syllables_per_second = per_second
    else:
        measured.en_letters_per_second = per_second
        # The words a second it comes to on the passage, for prompts that budget in words.
        measured.en_words_per_second = round(sum(map(words, sentences)) / float(seconds[:len(sentences)].sum()), 2)
    return measured
