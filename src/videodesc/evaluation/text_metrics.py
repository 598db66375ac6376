"""Text metrics of a script's cues against human references, over matched pairs, corpus level.

Each metric comes from the package that defines its usual form, so that numbers can be set
beside published ones:
- BLEU and chrF: sacrebleu's corpus scores (0-100). BLEU is computed on the tokens of
  `evaluation.tokenize` (eojeol for Korean, case-folded; sacrebleu's default tokenizer splits
  much the same way but keeps case, and its Korean one needs MeCab and a dictionary); chrF on
  the normalised text as it is (character 6-grams, beta 2, case-sensitive: sacrebleu's defaults).
- ROUGE-L: the F-measure of rouge-score (Google's reimplementation of ROUGE-1.5.5) with our
  tokenizer passed in, since its default one drops every non-ASCII letter (Korean would be
  empty); the mean over pairs, times 100.
- CIDEr-D: the scorer of the COCO caption evaluation (pycocoevalcap), fed tokens we make, since
  its own PTB tokenizer runs Java; the mean over pairs, times 100 as caption papers report it.
  Its IDF weights come from the references themselves: it needs a corpus (with one reference
  every weight is 0, and so is the score), and words every reference uses count for nothing.
- Embedding similarity: the mean cosine of multilingual-e5-small embeddings (0-1; unrelated
  sentences still score about 0.73, paraphrases 0.95 or more, see `write.embed`).

An unmatched reference (no cue overlaps it) is scored as if the script said nothing there: an
empty hypothesis, which lowers BLEU's brevity penalty and chrF's recall, and scores 0 for
ROUGE-L, CIDEr-D and embedding similarity. A cue that matches no reference is not scored (a
person may simply not have described that moment); the report counts them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pycocoevalcap.cider.cider_scorer import CiderScorer
from rouge_score.rouge_scorer import RougeScorer
from sacrebleu.metrics import BLEU, CHRF

from videodesc.evaluation.tokenize import normalise, tokens
from videodesc.write.embed import Embedder


@dataclass
class TextScores:
    """Corpus-level scores of one script against the references."""

    bleu: float  # 0-100
    chrf: float  # 0-100
    rouge_l: float  # mean F-measure x 100
    cider_d: float  # mean CIDEr-D x 100
    embedding: float  # mean cosine similarity, 0-1


@dataclass
class PairScores:
    """The per-pair scores behind the corpus means (BLEU and chrF have none that add up)."""

    rouge_l: float
    cider_d: float
    embedding: float


def score(hypotheses: Sequence[str], references: Sequence[str],
          embedder: Embedder) -> tuple[TextScores, list[PairScores]]:
    """Score each hypothesis against its reference ("" for an unmatched reference)."""
    rouge = rouge_l(hypotheses, references)
    cider = cider_d(hypotheses, references)
    similarity = embedding_similarity(hypotheses, references, embedder)
    pairs = [PairScores(round(r, 4), round(c, 4), round(e, 4)) for r, c, e in zip(rouge, cider, similarity)]
    return TextScores(bleu=bleu(hypotheses, references), chrf=chrf(hypotheses, references), rouge_l=_mean(rouge),
                      cider_d=_mean(cider), embedding=_mean(similarity)), pairs


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if len(values) else 0.0


def bleu(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Corpus BLEU (sacrebleu, 4-grams, exponential smoothing) on our tokens, 0-100."""
    # force: the input is tokenized on purpose (sacrebleu warns about ' .' endings otherwise).
    metric = BLEU(tokenize="none", force=True)
    joined = lambda texts: [" ".join(tokens(text)) for text in texts]
    return float(metric.corpus_score(joined(hypotheses), [joined(references)]).score)


def chrf(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Corpus chrF (sacrebleu's defaults: character 6-grams, beta 2) on the normalised text, 0-100."""
    return float(CHRF().corpus_score([normalise(t) for t in hypotheses],
                                     [[normalise(t) for t in references]]).score)


class _Tokenizer:
    """Our tokens, in the shape rouge-score asks for (an object with `tokenize`)."""

    def tokenize(self, text: str) -> list[str]:
        return tokens(text, punctuation=False)


def rouge_l(hypotheses: Sequence[str], references: Sequence[str]) -> list[float]:
    """ROUGE-L F-measure of each pair (rouge-score, longest common subsequence of words), x 100."""
    scorer = RougeScorer(["rougeL"], tokenizer=_Tokenizer())
    return [100.0 * scorer.score(reference, hypothesis)["rougeL"].fmeasure
            for hypothesis, reference in zip(hypotheses, references)]


def cider_d(hypotheses: Sequence[str], references: Sequence[str]) -> list[float]:
    """CIDEr-D of each pair (pycocoevalcap: n-grams up to 4, sigma 6, IDF over the references), x 100."""
    joined = lambda text: " ".join(tokens(text, punctuation=False))
    refs = [joined(text) for text in references]
    if not any(refs):  # nothing to weigh (and the scorer cannot take an empty vocabulary)
        return [0.0] * len(refs)
    scorer = CiderScorer(n=4, sigma=6.0)
    for hypothesis, reference in zip(hypotheses, refs):
        scorer += (joined(hypothesis), [reference])
    _, scores = scorer.compute_score()
    return [100.0 * float(value) for value in scores]


def embedding_similarity(hypotheses: Sequence[str], references: Sequence[str], embedder: Embedder) -> list[float]:
    """Cosine similarity of each pair's embeddings; 0 where the hypothesis is empty."""
    said = [number for number, text in enumerate(hypotheses) if text.strip()]
    similarity = [0.0] * len(hypotheses)
    if said:
        hyp = embedder.embed([normalise(hypotheses[n]) for n in said])
        ref = embedder.embed([normalise(references[n]) for n in said])
        for number, value in zip(said, np.sum(hyp * ref, axis=1)):
            similarity[number] = float(value)
    return similarity

