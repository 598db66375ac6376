"""Korean particles that depend on how the word before them ends (이/가, 은/는, 을/를, 와/과, 이다/다).

The choice follows the sound: a final consonant (받침) takes 이, 은, 을, 과, 이다. Digits are
read in Sino-Korean ("인물 1" ends in 일, a consonant); Latin names are judged by their last
letter, which is right for most names a cast file holds.
"""

from __future__ import annotations

# Does the Sino-Korean reading of the digit end in a consonant? 영 일 이 삼 사 오 육 칠 팔 구
_DIGIT_CONSONANT = {"0": True, "1": True, "2": False, "3": True, "4": False, "5": False,
                    "6": True, "7": True, "8": True, "9": False}
_LATIN_VOWEL_ENDINGS = set("aeiouyAEIOUY")


def ends_in_consonant(word: str) -> bool:
    """Whether `word` is read with a final consonant (받침)."""
    stripped = word.rstrip(" '\"”’)]")
    if not stripped:
        return False
    last = stripped[-1]
    if "\uac00" <= last <= "\ud7a3":
        return (ord(last) - 0xAC00) % 28 != 0
    if last in _DIGIT_CONSONANT:
        return _DIGIT_CONSONANT[last]
    if last.isascii() and last.isalpha():
        return last not in _LATIN_VOWEL_ENDINGS
    return False


def _pick(word: str, after_consonant: str, after_vowel: str) -> str:
    return word + (after_consonant if ends_in_consonant(word) else after_vowel)


def subject(word: str) -> str:
    """민수가, 인물 1이"""
    return _pick(word, "이", "가")


def topic(word: str) -> str:
    """민수는, 인물 1은"""
    return _pick(word, "은", "는")


def obj(word: str) -> str:
    """컵을, 커피를"""
    return _pick(word, "을", "를")


def and_(word: str) -> str:
    """컵과, 커피와"""
    return _pick(word, "과", "와")


def copula(word: str) -> str:
    """식당이다, 바닷가다"""
    return _pick(word, "이다", "다")
