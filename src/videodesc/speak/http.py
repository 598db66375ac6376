"""The `http` voice: any OpenAI-compatible `POST {endpoint}/audio/speech`, e.g. a local neural voice.

This is where a Korean neural voice plugs in. No Korean neural voice ships in a package we can
install, so the user runs one as a server and points videodesc at it:

- Xinference serves MeloTTS (`MeloTTS-Korean`, MIT) and others at `/v1/audio/speech`; the model
  name is the UID Xinference gives the launched model.
- MeloTTS-FastAPI (alvaroemtnez/MeloTTS-FastAPI) wraps MeloTTS with voices such as `KR`.
- Supertonic (Supertone's on-device ONNX TTS, Korean among five languages) behind an
  OpenAI-compatible wrapper such as rvuyyuru2/supertonic-restapi or sameert89/supertonic-tts-openai.
- openedai-speech (`tts-1` = Piper, `tts-1-hd` = XTTS v2, which speaks Korean), Kokoro-FastAPI
  (port 8880; English and others, no Korean), LocalAI, and OpenAI itself.

Only the standard fields are sent -- model, input, voice, response_format "wav", speed (= rate) --
and whatever audio comes back (WAV, MP3, ...) is converted with ffmpeg; an answer that is no audio
(an error page or JSON with status 200, nothing, bytes ffmpeg cannot decode) is a one-line
ModelError naming what came back. Written on the standard library alone, with the same behaviour
as the `openai` writer: the retries and time limits of `httpapi`, a one-line ModelError for a
refused key or an unknown model, and the key read from an environment variable (unset: no
Authorization header, as local servers want). A speech engine that has no HTTP server of its own
can instead become a backend class here beside espeak.py and piper.py: a class with a `name` and
`synthesize(text, target) -> seconds` that calls `base.finish`, registered in `make_voice`.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from pathlib import Path

from videodesc import httpapi
from videodesc.errors import InputError, ModelError, VideodescError
from videodesc.speak.base import VoiceSpec, finish_bytes
from videodesc.speak.text import speakable

DEFAULT_MODEL = "tts-1"
DEFAULT_VOICE = "alloy"
# One cue is a sentence or two: even a large voice on a CPU says it within seconds.
DEFAULT_TIMEOUT = 60.0
DEFAULT_RETRIES = 3


class HTTPVoice:
    """Speaks through an OpenAI-compatible `/audio/speech` endpoint.

    Args:
        spec: backend "http"; `endpoint` the API root ("http://127.0.0.1:8880/v1"); `model`
            (default "tts-1"); `voice` the endpoint's voice name (default "alloy"); `rate` sent
            as `speed`; `api_key_env` the variable holding the key; `timeout` seconds to wait for
            one whole answer and `retries` further attempts after a 429, a 5xx or a refused or
            dropped connection (None: DEFAULT_TIMEOUT, DEFAULT_RETRIES; a timeout is tried once
            more only after the endpoint has answered, see httpapi).
        backoff: seconds before the first retry; doubled for each further one.

    Raises:
        InputError: no endpoint, one that is not an http(s) URL, or a timeout or retries out of range.
    """

    def __init__(self, spec: VoiceSpec, backoff: float = 1.0):
        if not spec.endpoint:
            raise InputError("the http voice needs an endpoint: set --tts-endpoint to the API root, "
                             "e.g. http://127.0.0.1:8880/v1")
        parsed = urllib.parse.urlparse(spec.endpoint)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise InputError(f"TTS endpoint {spec.endpoint!r} is not an http(s) URL")
        self.spec = spec
        self.base_url = spec.endpoint.rstrip("/")
        self.url = self.base_url + "/audio/speech"
        self.model = spec.model or DEFAULT_MODEL
        self.voice = spec.voice or DEFAULT_VOICE
        self.timeout = DEFAULT_TIMEOUT if spec.timeout is None else spec.timeout
        self.retries = DEFAULT_RETRIES if spec.retries is None else spec.retries
        httpapi.check_settings(self.timeout, self.retries)
        self.backoff = backoff
        self.name = f"http {self.model}/{self.voice}"
        self.requests = 0  # HTTP requests sent (retries included)
        self.answers = 0  # requests the endpoint answered (with anything)

    def body(self, text: str) -> dict:
        return {"model": self.model, "input": speakable(text, self.spec.language), "voice": self.voice,
                "response_format": "wav", "speed": round(float(self.spec.rate), 4)}

    def synthesize(self, text: str, target: Path) -> float:
        body = self.body(text)
        if not body["input"]:
            raise InputError(f"nothing to say in {text!r}")
        kind, audio = self._post(json.dumps(body, ensure_ascii=False).encode("utf-8"))
        try:
            return finish_bytes(audio, target, f"the TTS endpoint {self.base_url}")
        except (InputError, ModelError):
            raise  # the machine's refusal (disk full), or no audible speech: already one clear line
        except VideodescError as error:  # ffmpeg could not decode it: the endpoint's fault, not ours
            raise ModelError(f"{self.url} answered with audio ffmpeg cannot decode "
                             f"({httpapi.answer_summary(kind, audio)}): {error}") from None

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "audio/wav, audio/*",
                   "User-Agent": "videodesc"}
        key = os.environ.get(self.spec.api_key_env, "").strip() if self.spec.api_key_env else ""
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _post(self, data: bytes) -> tuple[str, bytes]:
        """The content type and bytes of the endpoint's answer to `data`, when they may be audio."""
        def count() -> None:
            self.requests += 1

        kind, raw = httpapi.post(self.url, data, self._headers(), timeout=self.timeout, retries=self.retries,
                                 backoff=self.backoff, refusal=self._refusal, what="the TTS endpoint",
                                 on_attempt=count, answered_before=self.answers > 0)
        self.answers += 1
        # An error page or an error object sent with status 200, whatever content type it claims.
        markup = raw.lstrip()[:1] in (b"<", b"{", b"[")
        if not raw or markup or kind.startswith("text/") or kind.endswith(("json", "xml")):
            raise ModelError(f"{self.url} answered with no audio ({httpapi.answer_summary(kind, raw)})")
        return kind, raw

    def _refusal(self, status: int, detail: str) -> ModelError:
        suffix = f" ({detail})" if detail else ""
        if status in (401, 403):
            if not os.environ.get(self.spec.api_key_env or "", "").strip():
                return ModelError(f"the TTS endpoint {self.base_url} wants an API key: set "
                                  f"${self.spec.api_key_env}{suffix}")
            return ModelError(f"the TTS endpoint refused the API key in ${self.spec.api_key_env} "
                              f"(HTTP {status}){suffix}")
        if status == 404:
            if any(word in detail.lower() for word in ("model", "voice")):
                return ModelError(f"model {self.model} or voice {self.voice} not found at {self.base_url}{suffix}")
            return ModelError(f"no speech endpoint at {self.url}: check the base URL (it usually ends in /v1){suffix}")
        return ModelError(f"the TTS endpoint {self.url} rejected the request (HTTP {status}){suffix}")
