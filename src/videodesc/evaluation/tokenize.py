"""Word tokens for the word-level metrics (BLEU, ROUGE-L, CIDEr-D), one rule for Korean and English.

Korean is split into eojeol, the units between spaces ("지우가 문을 연다." -> 지우가 / 문을 /
연다 / .), with punctuation split off as its own tokens. Eojeol carry their particles and
endings, so "지우가" and "지우는" are different words here: word-level scores of Korean are
strict, and chrF (character n-grams, which sees 지우 in both) is the lenient counterpart. A
morpheme analyser would split particles off, but none installs from PyPI without a dictionary
package and a C library; eojeol need nothing and are what a reader of the scores can reproduce
by eye.

English gets the same rule, which is close to sacrebleu's default ("13a") tokenizer: words and
punctuation marks apart, hyphenated words ("Min-jun") and apostrophes between Latin letters
("Min-su's") kept whole. An apostrophe-like quote next to Hangul closes a quotation
("‘OPEN’이라는"), so it is split off.

Everything is NFC-normalised (Korean arrives decomposed from some subtitle files and would
otherwise match nothing) and case-folded, for every metric alike.
"""

from __future__ import annotations

import re
import unicodedata

# A word: letters and digits, joined by hyphens, or by apostrophes between two Latin letters;
# anything else that is not a space is one punctuation token.
_TOKEN = re.compile(r"[^\W_]+(?:(?:-|(?<=[a-z])['’](?=[a-z]))[^\W_]+)*|[^\w\s]|_")
_WORD = re.compile(r"[^\W_]")


def normalise(text: str) -> str:
    """NFC form with whitespace runs collapsed: what every metric compares."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def tokens(text: str, punctuation: bool = True) -> list[str]:
    """The case-folded word (eojeol) and punctuation tokens of `text`.

    Args:
        punctuation: keep punctuation marks as tokens (BLEU counts them, as sacrebleu's own
            tokenizers do); False drops them (ROUGE-L and CIDEr-D, as their reference
            tokenizers do).
    """
    found = _TOKEN.findall(normalise(text).casefold())
    return found if punctuation else [token for token in found if _WORD.match(token)]
