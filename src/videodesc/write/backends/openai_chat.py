"""The `openai` writer: any OpenAI-compatible chat completions endpoint, with keyframes as images.

Works with OpenAI, CLOVA Studio's OpenAI-compatible API (HyperCLOVA X), vLLM, Ollama and
llama.cpp's server. Only standard request fields are sent (model, messages, temperature,
max_tokens, and response_format when configured), because several of these servers refuse
fields they do not know. Written on the standard library alone (urllib + json): no client
package to pin, and nothing is imported unless this backend is chosen.

Answers are cached in `cache_dir`, one JSON file per request keyed by a hash of the URL and the
request body, so re-running `write` with the same slots and prompts costs nothing. Only answers
that hold text are cached, and a cached one is checked again when read (an earlier version kept
empty ones), so a server that once answered badly is asked again rather than believed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import urllib.parse
from pathlib import Path
from typing import Any

import cv2

from videodesc import httpapi
from videodesc.errors import InputError, ModelError
from videodesc.records import Claim
from videodesc.workfolder import write_text_atomic
from videodesc.write.backends import EmptyAnswer
from videodesc.write.context import SlotContext
from videodesc.write.prompts import Prompt, candidates_prompt, parse_candidates, prompt_fingerprint, shorten_prompt
from videodesc.write.speaking import SpeakingRate

MAX_IMAGE_WIDTH = 768  # keyframes are downscaled to this width: enough to see, small to send
JPEG_QUALITY = 85
# Empty answers in a row after which the endpoint counts as broken and the run stops: one or two
# can be the model's own (a filter, a long think), more is the server.
MAX_EMPTY_IN_A_ROW = 3


class OpenAIChatWriter:
    """Writes candidates through an OpenAI-compatible `/chat/completions` endpoint.

    Args:
        base_url: the API root, e.g. "https://api.openai.com/v1",
            "https://clovastudio.stream.ntruss.com/v1/openai", "http://127.0.0.1:8080/v1".
        model: the model name the endpoint knows, e.g. "HCX-005", "gpt-4o-mini".
        api_key_env: the environment variable holding the API key; unset means no
            Authorization header (local servers need none).
        timeout: seconds to wait for one whole answer. A vision-language model on a CPU can take
            a minute for a request with three keyframes, hence twice that by default.
        retries: further attempts after a 429, a 5xx or a refused or dropped connection (a
            timeout is tried once more only after the endpoint has answered; see httpapi).
        cache_dir: a folder for cached answers; None caches nothing.
        images: send the main shot's keyframes (turn off for text-only models).
        max_images: at most this many keyframes per request.
        temperature, max_tokens: sampling settings sent with every request.
        response_format: None (not sent), "json_object", "json_schema", or a dict sent as is.
            Not every server has it (CLOVA Studio's HCX-005 does not), hence off by default.
        one_image_per_message: put each keyframe in its own user message. CLOVA Studio accepts
            one image per message ("Each user message can contain only one image"); None turns
            it on for CLOVA Studio's host and off elsewhere (some chat templates refuse two
            user messages in a row).
        backoff: seconds before the first retry; doubled for each further one.
        rate: the describer's speaking rate, for the length budget in the prompt.
    """

    def __init__(self, base_url: str, model: str, api_key_env: str = "OPENAI_API_KEY", timeout: float = 120,
                 retries: int = 3, cache_dir: Path | str | None = None, images: bool = True, max_images: int = 3,
                 *, temperature: float = 0.7, max_tokens: int = 512,
                 response_format: str | dict | None = None, one_image_per_message: bool | None = None,
                 backoff: float = 1.0, rate: SpeakingRate | None = None):
        parsed = urllib.parse.urlparse(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise InputError(f"writer base URL {base_url!r} is not an http(s) URL")
        if not model:
            raise InputError("the openai writer needs a model name")
        self.base_url = base_url.rstrip("/")
        self.url = self.base_url + "/chat/completions"
        self.model = model
        self.api_key_env = api_key_env
        httpapi.check_settings(timeout, retries)
        self.timeout = timeout
        self.retries = retries
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.images = images
        self.max_images = max_images
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.response_format = response_format
        if one_image_per_message is None:
            one_image_per_message = parsed.hostname is not None and "clovastudio" in parsed.hostname
        self.one_image_per_message = one_image_per_message
        self.backoff = backoff
        self.rate = rate
        self.name = f"openai:{model}"
        self.requests = 0  # HTTP requests sent (retries included)
        self.answers = 0  # requests the endpoint answered (with anything)
        self.empty_in_a_row = 0
        self.cache_hits = 0

    def as_key(self) -> dict:
        """What the answers depend on, for the work folder's stage key."""
        return {"url": self.url, "model": self.model, "images": self.images, "max_images": self.max_images,
                "temperature": self.temperature, "max_tokens": self.max_tokens,
                "response_format": self.response_format, "one_image_per_message": self.one_image_per_message,
                "prompts": {lang: prompt_fingerprint(lang) for lang in ("ko", "en")}}

    # --- Writer protocol ---------------------------------------------------------------------

    def candidates(self, context: SlotContext, count: int) -> list[str]:
        prompt = candidates_prompt(context, count, images=self.images, max_images=self.max_images,
                                   rate=self.rate or context.rate)
        return prompt.fresh(parse_candidates(self.complete(prompt)))[:count]

    def shorten(self, context: SlotContext, text: str, seconds: float) -> list[str]:
        prompt = shorten_prompt(context, text, seconds, rate=self.rate or context.rate)
        return [t for t in prompt.fresh(parse_candidates(self.complete(prompt))) if t != text.strip()]

    def claims(self, context: SlotContext, text: str) -> list[Claim]:
        return []  # a model's sentence is not built from named facts

    # --- the request -------------------------------------------------------------------------

    def messages(self, prompt: Prompt) -> list[dict]:
        """The chat messages for `prompt`: system text, then the user's text and keyframes."""
        messages: list[dict[str, Any]] = [{"role": "system", "content": prompt.system}]
        images = [encode_image(path) for path in prompt.images]
        if not images:
            messages.append({"role": "user", "content": prompt.user})
        elif self.one_image_per_message:
            for caption, url in zip(prompt.image_labels or [""] * len(images), images):
                parts = [{"type": "text", "text": caption}] if caption else []
                messages.append({"role": "user", "content": parts + [_image_part(url)]})
            messages.append({"role": "user", "content": prompt.user})
        else:
            messages.append({"role": "user",
                             "content": [{"type": "text", "text": prompt.user}] + [_image_part(u) for u in images]})
        return messages

    def body(self, prompt: Prompt) -> dict:
        body: dict[str, Any] = {"model": self.model, "messages": self.messages(prompt),
                                "temperature": self.temperature, "max_tokens": self.max_tokens}
        if self.response_format == "json_object":
            body["response_format"] = {"type": "json_object"}
        elif self.response_format == "json_schema":
            body["response_format"] = {"type": "json_schema", "json_schema": {
                "name": "candidates", "strict": True,
                "schema": {"type": "object", "additionalProperties": False, "required": ["candidates"],
                           "properties": {"candidates": {"type": "array", "items": {"type": "string"}}}}}}
        elif isinstance(self.response_format, dict):
            body["response_format"] = self.response_format
        return body

    def complete(self, prompt: Prompt) -> str:
        """The text of the model's answer to `prompt` (from the cache when it was asked before).

        Raises:
            EmptyAnswer: the model answered with no text (the caller leaves the slot silent).
            ModelError: the endpoint fails, answers with something that is no chat completion,
                or answers MAX_EMPTY_IN_A_ROW requests in a row with no text.
        """
        body = self.body(prompt)
        payload = json.dumps(body, ensure_ascii=False, sort_keys=True)
        key = hashlib.sha256(f"{self.url}\n{payload}".encode("utf-8")).hexdigest()
        cached = self._cache_get(key)
        if cached is not None:
            try:
                text = message_text(cached, self.url)
            except ModelError:
                pass  # an unusable answer an earlier version cached: asked again, and replaced
            else:
                self.cache_hits += 1
                return text
        reply = self._post(payload.encode("utf-8"))
        try:
            text = message_text(reply, self.url)  # checked before it is cached
        except EmptyAnswer as empty:
            self.empty_in_a_row += 1
            if self.empty_in_a_row >= MAX_EMPTY_IN_A_ROW:
                raise ModelError(f"{empty} for {self.empty_in_a_row} requests in a row: the model {self.model} "
                                 f"at {self.base_url} is not answering; check that it answers a chat request") from None
            raise
        self.empty_in_a_row = 0
        self._cache_put(key, reply)
        return text

    def _cache_get(self, key: str) -> dict | None:
        if self.cache_dir is None:
            return None
        try:
            return json.loads((self.cache_dir / f"{key}.json").read_text(encoding="utf-8"))["response"]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _cache_put(self, key: str, reply: dict) -> None:
        if self.cache_dir is None:
            return
        document = {"url": self.url, "model": self.model, "response": reply}
        write_text_atomic(self.cache_dir / f"{key}.json", json.dumps(document, ensure_ascii=False, indent=1))

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "User-Agent": "videodesc"}
        key = os.environ.get(self.api_key_env, "").strip() if self.api_key_env else ""
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _post(self, data: bytes) -> dict:
        def permanent(status: int, detail: str) -> ModelError | None:
            if _refuses_images(detail):  # llama.cpp says so with a 500: retrying cannot help
                return ModelError(f"the model {self.model} at {self.base_url} does not take images ({detail}): "
                                  "run write with --no-images or use a vision model")
            return None

        def count() -> None:
            self.requests += 1

        kind, raw = httpapi.post(self.url, data, self._headers(), timeout=self.timeout, retries=self.retries,
                                 backoff=self.backoff, refusal=self._refusal, what="the writer endpoint",
                                 permanent=permanent, on_attempt=count, answered_before=self.answers > 0)
        self.answers += 1
        # A proxy's or a web server's page with status 200 is no chat completion: the same page
        # would come back for every slot, so the run stops at the first.
        try:
            reply = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ModelError(f"{self.url} did not answer with JSON ({httpapi.answer_summary(kind, raw)}): "
                             "is it an OpenAI-compatible API?") from None
        if not isinstance(reply, dict):
            raise ModelError(f"{self.url} answered with something other than a chat completion "
                             f"({httpapi.answer_summary(kind, raw)})")
        return reply

    def _refusal(self, status: int, detail: str) -> ModelError:
        suffix = f" ({detail})" if detail else ""
        if status in (401, 403):
            if not os.environ.get(self.api_key_env or "", "").strip():
                return ModelError(f"the endpoint {self.base_url} wants an API key: set ${self.api_key_env}{suffix}")
            return ModelError(f"the endpoint refused the API key in ${self.api_key_env} (HTTP {status}){suffix}")
        if status == 404:
            if "model" in detail.lower():
                return ModelError(f"model {self.model} not found at {self.base_url}{suffix}")
            return ModelError(f"no chat completions endpoint at {self.url}: check the base URL "
                              f"(it usually ends in /v1){suffix}")
        return ModelError(f"the endpoint {self.url} rejected the request (HTTP {status}){suffix}")


def encode_image(path: Path, max_width: int = MAX_IMAGE_WIDTH) -> str:
    """A keyframe as a `data:image/jpeg;base64,...` URL, downscaled to at most `max_width` pixels wide."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError(f"cannot read the keyframe {path}")
    height, width = image.shape[:2]
    if width > max_width:
        image = cv2.resize(image, (max_width, max(1, round(height * max_width / width))),
                           interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise InputError(f"cannot encode the keyframe {path} as JPEG")
    return "data:image/jpeg;base64," + base64.b64encode(encoded.tobytes()).decode("ascii")


def message_text(reply: dict, url: str = "the endpoint") -> str:
    """The assistant's text in a chat completion; `content` may be a string or a list of parts.

    Raises:
        ModelError: `reply` is no chat completion (an error, no choices[0].message, content
            that is neither text nor parts).
        EmptyAnswer: it is one, but without text (content null, blank or without text parts).
    """
    try:
        choice = reply["choices"][0]
        message = choice["message"]
    except (KeyError, IndexError, TypeError):
        error = reply.get("error") if isinstance(reply, dict) else None
        if error:
            raise ModelError(f"{url} answered with an error: {httpapi.one_line(error)}") from None
        raise ModelError(f"{url} answered without choices[0].message: is it an OpenAI-compatible API?") from None
    if not isinstance(message, dict):
        raise ModelError(f"{url} answered with a message that is {type(message).__name__}, not an object")
    content = message.get("content")
    if content is None:
        text = ""
    elif isinstance(content, str):
        text = content
    elif isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str) and part.get("type", "text") in (
                    "text", "output_text"):
                texts.append(part["text"])
        text = "\n".join(texts)
    else:
        raise ModelError(f"{url} answered with message content of type {type(content).__name__}")
    if not text.strip():
        shown = "null" if content is None else httpapi.one_line(json.dumps(content, ensure_ascii=False), 60)
        finish = choice.get("finish_reason") if isinstance(choice, dict) else None
        raise EmptyAnswer(f"{url} answered with no text (content {shown}"
                          + (f", finish_reason {httpapi.one_line(finish, 40)}" if finish else "") + ")")
    return text


def _image_part(url: str) -> dict:
    return {"type": "image_url", "image_url": {"url": url}}


def _refuses_images(detail: str) -> bool:
    detail = detail.lower()
    return "image" in detail and any(words in detail for words in (
        "not supported", "not support", "unsupported", "not a multimodal", "does not support"))
