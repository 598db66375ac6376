"""The `train` step: a LoRA adapter for the selector's language model, from prompt/response records.

The records come from `videodesc dataset sft` (or any JSON Lines file with `prompt` and
`response`, or `prompt` and `chosen`). Each is tokenised exactly as the selector scores a
candidate (`fluency.encode_for_scoring`: <bos>, the prompt, then the response), and the loss is
the response tokens' cross-entropy only, so training raises the very score the selector reads:
the mean log-probability of a human-like description after its header and context.

PEFT puts LoRA matrices on the attention and MLP projections of the model (by default the
packaged Gemma 3 270M, or any local causal language model folder) and the transformers Trainer
runs the loop, saving resumable checkpoints in OUT/checkpoints. The defaults finish a small
dataset on a 2-core CPU (about a second per step of 4 records); with a GPU, mixed precision is
used. The adapter is written to OUT, where `videodesc write --selector-adapter OUT` loads it.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from videodesc.dataset.jsonl import read_json_lines
from videodesc.errors import InputError, ModelError
from videodesc.workfolder import write_text_atomic
from videodesc.write.fluency import encode_for_scoring

CHECKPOINTS = "checkpoints"
LOG = "training.json"
# Every linear layer of a Gemma (and Llama, Qwen, Mistral) block: the selector's preference is a
# matter of wording, which the MLPs carry as much as the attention.
TARGET_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@dataclass
class TrainOptions:
    model_dir: Path | None = None  # None: the packaged Gemma 3 270M (converted on first use)
    epochs: float = 3.0
    max_steps: int = -1  # > 0 overrides epochs
    learning_rate: float = 2e-4
    batch_size: int = 4
    rank: int = 8
    alpha: int = 16
    dropout: float = 0.05
    max_tokens: int = 128  # longer examples are cut (a description and its context are far shorter)
    save_steps: int = 50
    seed: int = 0
    resume: bool = False  # carry on from the newest checkpoint in OUT/checkpoints
    target_modules: list[str] = field(default_factory=lambda: list(TARGET_MODULES))


@dataclass
class TrainResult:
    adapter: Path
    steps: int
    examples: int
    losses: list[float]  # training loss per logged step, in order
    seconds: float


def read_examples(path: Path) -> list[tuple[str, str]]:
    """(prompt, response) pairs of a JSON Lines file; one InputError naming file and line otherwise."""
    path = Path(path)
    examples = []
    for number, record in read_json_lines(path, "training data"):
        response = record.get("response", record.get("chosen")) if isinstance(record, dict) else None
        prompt = record.get("prompt") if isinstance(record, dict) else None
        if not isinstance(prompt, str) or not isinstance(response, str):
            raise InputError(f"{path}:{number}: a training record needs the texts 'prompt' and 'response' "
                             "(or 'chosen')")
        if not response.strip():
            raise InputError(f"{path}:{number}: empty response")
        examples.append((prompt, response))
    if not examples:
        raise InputError(f"training data {path} holds no records")
    return examples


def train(data: Path, out: Path, options: TrainOptions, on_step: Callable[[int, int], None] | None = None) -> TrainResult:
    """Train a LoRA adapter on the records in `data` and save it in `out`.

    Args:
        data: JSON Lines with prompt/response (or prompt/chosen) records.
        out: the adapter folder to write; OUT/checkpoints holds the resumable checkpoints.
        options: model, schedule and LoRA settings.
        on_step: called with (step, total steps) after each optimiser step.

    Raises:
        InputError: bad data or options. ModelError: the model cannot be loaded or trained.
    """
    examples = read_examples(data)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} is a file: -o takes the adapter folder to write")
    if options.batch_size < 1 or options.rank < 1 or options.learning_rate <= 0 or options.max_tokens < 8:
        raise InputError("--batch, --rank and --lr must be positive, --max-tokens at least 8")
    checkpoints = out / CHECKPOINTS
    if options.resume and not _newest_checkpoint(checkpoints):
        raise InputError(f"nothing to resume: {checkpoints} holds no checkpoint")

    from videodesc.write.fluency import _import_transformers, default_gemma_model

    torch, AutoModelForCausalLM, AutoTokenizer = _import_transformers()
    from peft import LoraConfig, get_peft_model
    from transformers import PrinterCallback, Trainer, TrainerCallback, TrainingArguments

    folder = Path(options.model_dir) if options.model_dir is not None else default_gemma_model()
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True, dtype=torch.float32)
    except Exception as exc:  # a broken or foreign folder fails in many ways
        raise ModelError(f"the language model in {folder} cannot be loaded: {str(exc).splitlines()[0]}") from exc
    present = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    targets = [m for m in options.target_modules if m in present]
    if not targets:
        raise ModelError(f"the model in {folder} has none of the layers LoRA is put on ({', '.join(options.target_modules)})")
    warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")  # peft 0.21 calls deprecated API
    model = get_peft_model(model, LoraConfig(r=options.rank, lora_alpha=options.alpha, lora_dropout=options.dropout,
                                             target_modules=targets, task_type="CAUSAL_LM"))

    rows = []
    for prompt, response in examples:
        head, body = encode_for_scoring(tokenizer, prompt, response)
        ids = (head + body)[:options.max_tokens]
        labels = ([-100] * len(head) + body)[:options.max_tokens]
        if any(label != -100 for label in labels):
            rows.append({"input_ids": ids, "labels": labels})
    if not rows:
        raise InputError(f"{data}: every record's prompt is longer than --max-tokens {options.max_tokens}")
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    def collate(batch: list[dict]) -> dict:
        width = max(len(row["input_ids"]) for row in batch)
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        labels = torch.full((len(batch), width), -100, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for r, row in enumerate(batch):
            n = len(row["input_ids"])
            ids[r, :n], labels[r, :n], mask[r, :n] = torch.tensor(row["input_ids"]), torch.tensor(row["labels"]), 1
        return {"input_ids": ids, "labels": labels, "attention_mask": mask}

    steps_per_epoch = math.ceil(len(rows) / options.batch_size)
    total = options.max_steps if options.max_steps > 0 else math.ceil(steps_per_epoch * options.epochs)
    gpu = torch.cuda.is_available()
    arguments = TrainingArguments(
        output_dir=str(checkpoints), per_device_train_batch_size=options.batch_size,
        learning_rate=options.learning_rate, num_train_epochs=options.epochs, max_steps=options.max_steps,
        lr_scheduler_type="linear", warmup_steps=0, logging_steps=1, save_strategy="steps",
        save_steps=options.save_steps, save_total_limit=2, seed=options.seed, report_to=[],
        use_cpu=not gpu, bf16=gpu and torch.cuda.is_bf16_supported(),
        fp16=gpu and not torch.cuda.is_bf16_supported(), dataloader_num_workers=0,
        remove_unused_columns=False, disable_tqdm=True, log_level="error")
    losses: list[float] = []

    class Progress(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                losses.append(float(logs["loss"]))

        def on_step_end(self, args, state, control, **kwargs):
            if on_step is not None:
                on_step(state.global_step, total)

    trainer = Trainer(model=model, args=arguments, train_dataset=_Rows(rows), data_collator=collate,
                      callbacks=[Progress()])
    trainer.remove_callback(PrinterCallback)  # progress goes through `on_step`, not dicts on stdout
    started = time.monotonic()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Trainer and peft warn about CPU-only defaults we chose
        try:
            trainer.train(resume_from_checkpoint=True if options.resume else None)
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"training failed: {str(exc).splitlines()[0]}") from exc
    seconds = time.monotonic() - started
    out.mkdir(parents=True, exist_ok=True)
    # Saved beside and then renamed in: an adapter folder never holds half-written weights.
    with tempfile.TemporaryDirectory(prefix=".adapter-", dir=out) as tmp:
        model.save_pretrained(tmp)
        for produced in Path(tmp).iterdir():
            if produced.is_file() and produced.name != "README.md":  # peft's model-card stub
                os.replace(produced, out / produced.name)
    result = TrainResult(out, trainer.state.global_step, len(rows), losses, round(seconds, 1))
    log = {**{k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(result).items()},
           "model": str(folder), "data": str(data),
           "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(options).items()}}
    write_text_atomic(out / LOG, json.dumps(log, ensure_ascii=False, indent=1))
    return result


class _Rows:
    """A list the Trainer indexes: tokenised rows."""

    def __init__(self, rows: list[dict]):
        self._rows = rows

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, index: int) -> dict:
        return self._rows[index]


def _newest_checkpoint(folder: Path) -> Path | None:
    found = sorted(folder.glob("checkpoint-*"), key=lambda p: int(p.name.rsplit("-", 1)[-1])
                   if p.name.rsplit("-", 1)[-1].isdigit() else -1)
    return found[-1] if found else None

