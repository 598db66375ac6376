"""Description text as the speech engines should get it.

The writer quotes on-screen text (`화면에 'EXIT'라고`, `On screen: "EXIT".`). Quote marks are for
the reader of the subtitles, not for the listener, and one engine stumbles on them: espeak-ng's
Korean voice reads `'EXIT'라고` as "E X I T", an English "tick" and then spells out the syllables
after the closing mark, while `EXIT라고` comes out as "exit-rago". (English espeak-ng and Piper
ignore quote marks.) So quote marks go, and apostrophes inside Latin words (don't, Jisu's) stay.

A few symbols that espeak-ng's Korean voice reads in English are spelled out in Korean, and
whitespace (including line breaks, which Piper would take as separate utterances) becomes single
spaces.
"""

from __future__ import annotations

import re

# Bump when the rules change: speech made from the old text is then synthesised again.
VERSION = 1

_QUOTES = "\"“”„‟«»「」『』〈〉《》"
_SINGLE = "'‘’‚‛`´"
_APOSTROPHE = re.compile(rf"(?<=[A-Za-z])[{_SINGLE}](?=[A-Za-z])")
_KOREAN_SYMBOLS = {"%": "퍼센트", "&": " 앤 ", "~": " ", "～": " ", "·": ", "}
_SPACES = re.compile(r"\s+")


def speakable(text: str, language: str) -> str:
    """`text` with quote marks removed and whitespace collapsed, ready for a speech engine."""
    text = _APOSTROPHE.sub("\u0000", text)  # keep word-internal apostrophes through the next step
    text = text.translate({ord(c): " " if c in "「」『』〈〉《》«»" else None for c in _QUOTES + _SINGLE})
    text = text.replace("\u0000", "'")
    if language.split("-")[0].lower() == "ko":
        for symbol, spoken in _KOREAN_SYMBOLS.items():
            text = text.replace(symbol, spoken)
    text = _SPACES.sub(" ", text).strip()
    return re.sub(r" ([,.!?:;])", r"\1", text)
