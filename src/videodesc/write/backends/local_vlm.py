"""The `transformers` writer: a vision-language model loaded from a folder the user names.

For models such as Qwen2.5-VL, LLaVA, Idefics3 or Gemma 3 saved with `save_pretrained` (a
`config.json`, weights and a processor with a chat template). Nothing is downloaded: the folder
is read with `local_files_only=True`. A model that ships its own Python code (for example
HyperCLOVAX-SEED-Vision-Instruct-3B) loads only when the user allows it with
`trust_remote_code=True`, because that runs the folder's code.

The prompts are those of the chat endpoint writer (`videodesc.write.prompts`): the same facts,
dialogue, style rules and length budget; the keyframes go in as images.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from videodesc.errors import InputError, ModelError
from videodesc.records import Claim
from videodesc.write.context import SlotContext
from videodesc.write.prompts import Prompt, candidates_prompt, parse_candidates, prompt_fingerprint, shorten_prompt
from videodesc.write.speaking import SpeakingRate

TRANSFORMERS_PIN = "transformers==5.24.0"
SAMPLING_ROUNDS = 3


class TransformersWriter:
    """Writes candidates with a local vision-language model (CPU by default).

    Args:
        model_dir: the folder holding the model and its processor.
        trust_remote_code: allow the folder's own Python code to run (needed by custom models).
        images: give the model the main shot's keyframes.
        max_images: at most this many keyframes per slot (each costs hundreds of tokens).
        max_new_tokens: the answer's length limit.
        temperature: for the sampled candidates; the first answer is greedy.
        dtype: "auto" (as saved), "float32", "bfloat16", ...
        device: "cpu", "cuda", ...
        rate: the describer's speaking rate, for the length budget in the prompt.
    """

    def __init__(self, model_dir: Path | str, *, trust_remote_code: bool = False, images: bool = True,
                 max_images: int = 3, max_new_tokens: int = 256, temperature: float = 0.8, dtype: str = "auto",
                 device: str = "cpu", rate: SpeakingRate | None = None):
        self.model_dir = Path(model_dir)
        self.trust_remote_code = trust_remote_code
        self.images = images
        self.max_images = max_images
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.device = device
        self.rate = rate
        self.name = f"transformers:{self.model_dir.name}"
        self._check_folder()
        self.processor, self.model = self._load(dtype)
        self.tokenizer = getattr(self.processor, "tokenizer", self.processor)
        if not getattr(self.processor, "chat_template", None) and not getattr(self.tokenizer, "chat_template", None):
            raise ModelError(f"the model in {self.model_dir} has no chat template: it is not an instruction-tuned "
                             "chat model, or its processor was saved without one")

    def as_key(self) -> dict:
        """What the answers depend on, for the work folder's stage key."""
        config = self.model_dir / "config.json"
        return {"model": str(self.model_dir.resolve()), "config_mtime": config.stat().st_mtime,
                "images": self.images, "max_images": self.max_images, "max_new_tokens": self.max_new_tokens,
                "temperature": self.temperature, "prompts": {lang: prompt_fingerprint(lang) for lang in ("ko", "en")}}

    # --- loading -----------------------------------------------------------------------------

    def _check_folder(self) -> None:
        if not self.model_dir.exists():
            raise ModelError(f"the writer model folder {self.model_dir} does not exist: set --vlm to a "
                             "folder saved with save_pretrained")
        if not self.model_dir.is_dir():
            raise ModelError(f"the writer model {self.model_dir} is a file, not a model folder")
        config = self.model_dir / "config.json"
        if not config.is_file():
            raise ModelError(f"{self.model_dir} is not a model folder: it has no config.json")
        try:
            json.loads(config.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ModelError(f"{config} is not readable JSON: {error}") from None

    def _load(self, dtype: str) -> tuple[Any, Any]:
        try:
            import transformers
        except ImportError:
            raise ModelError(f"the transformers writer needs the transformers package: pip install {TRANSFORMERS_PIN}"
                             ) from None
        folder = str(self.model_dir)
        options = {"local_files_only": True, "trust_remote_code": self.trust_remote_code}
        try:
            processor = transformers.AutoProcessor.from_pretrained(folder, **options)
        except Exception as error:  # noqa: BLE001 - transformers raises many kinds; all mean "cannot load"
            raise self._load_error("processor", error) from None
        model = None
        errors = []
        # Most vision-language models register as image-text-to-text; some custom ones
        # (HyperCLOVAX-SEED-Vision) only as causal LMs with their own code.
        for loader in ("AutoModelForImageTextToText", "AutoModelForCausalLM"):
            auto = getattr(transformers, loader, None)
            if auto is None:
                continue
            try:
                model = auto.from_pretrained(folder, dtype=dtype, **options)
                break
            except ValueError as error:  # the config is not of this auto class
                errors.append(error)
            except Exception as error:  # noqa: BLE001
                raise self._load_error("model", error) from None
        if model is None:
            raise self._load_error("model", errors[0] if errors else RuntimeError("no loader"))
        model.to(self.device)
        model.eval()
        return processor, model

    def _load_error(self, what: str, error: Exception) -> ModelError:
        text = " ".join(str(error).split())
        if "trust_remote_code" in text and not self.trust_remote_code:
            return ModelError(f"the model in {self.model_dir} needs its own code: allow it with "
                              "--trust-remote-code (this runs Python files from that folder)")
        if len(text) > 300:
            text = text[:300] + "…"
        return ModelError(f"cannot load the {what} from {self.model_dir}: {text}")

    # --- Writer protocol ---------------------------------------------------------------------

    def candidates(self, context: SlotContext, count: int) -> list[str]:
        prompt = candidates_prompt(context, count, images=self.images, max_images=self.max_images,
                                   rate=self.rate or context.rate)
        return self._write(prompt, count)

    def shorten(self, context: SlotContext, text: str, seconds: float) -> list[str]:
        prompt = shorten_prompt(context, text, seconds, rate=self.rate or context.rate)
        return [t for t in self._write(prompt, 3) if t != text.strip()]

    def claims(self, context: SlotContext, text: str) -> list[Claim]:
        return []  # a model's sentence is not built from named facts

    # --- generation --------------------------------------------------------------------------

    def _write(self, prompt: Prompt, count: int) -> list[str]:
        """Up to `count` candidates: a greedy answer first, then sampled ones until there are enough."""
        inputs = self._inputs(prompt)
        found: list[str] = []
        for text in self._generate(inputs, sample=False, sequences=1):
            _add(found, prompt.fresh(parse_candidates(text)))
        for _ in range(SAMPLING_ROUNDS):  # sampled answers may repeat one another, or the request
            if len(found) >= count:
                break
            for text in self._generate(inputs, sample=True, sequences=count - len(found)):
                _add(found, prompt.fresh(parse_candidates(text)))
        return found[:count]

    def _inputs(self, prompt: Prompt) -> dict:
        from PIL import Image

        pictures = []
        for path in prompt.images:
            try:
                with Image.open(path) as image:
                    pictures.append(image.convert("RGB"))
            except OSError as error:
                raise InputError(f"cannot read the keyframe {path}: {error}") from None
        content: list[dict] = [{"type": "image"} for _ in pictures]
        content.append({"type": "text", "text": prompt.user})
        messages = [{"role": "system", "content": [{"type": "text", "text": prompt.system}]},
                    {"role": "user", "content": content}]
        try:
            text = self.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        except Exception as error:  # noqa: BLE001 - a template may refuse a system turn
            if "system" not in str(error).lower():
                raise ModelError(f"the chat template of {self.model_dir} failed: {error}") from None
            content[-1] = {"type": "text", "text": f"{prompt.system}\n\n{prompt.user}"}
            text = self.processor.apply_chat_template(messages[1:], add_generation_prompt=True, tokenize=False)
        options: dict[str, Any] = {"text": [text], "return_tensors": "pt"}
        if pictures:
            options["images"] = pictures
        return self.processor(**options).to(self.device)

    def _generate(self, inputs: dict, sample: bool, sequences: int) -> list[str]:
        import torch

        settings: dict[str, Any] = {"max_new_tokens": self.max_new_tokens, "num_return_sequences": sequences}
        if sample:
            settings.update(do_sample=True, temperature=self.temperature, top_p=0.95)
        else:
            settings.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if getattr(self.tokenizer, "pad_token_id", None) is None and getattr(self.tokenizer, "eos_token_id", None) is not None:
            settings["pad_token_id"] = self.tokenizer.eos_token_id
        with torch.inference_mode():
            output = self.model.generate(**inputs, **settings)
        answers = output[:, inputs["input_ids"].shape[1]:]
        return self.processor.batch_decode(answers, skip_special_tokens=True)


def _add(found: list[str], items: list[str]) -> None:
    for item in items:
        if item not in found:
            found.append(item)
