"""What every voice shares: the user's settings (VoiceSpec), the Voice protocol, and the audio finish.

Every backend hands its raw output (whatever rate, channels and container the engine makes) to
`finish`, which converts it with ffmpeg to the one format the mixer takes -- 48 kHz, mono, 16-bit
WAV -- and trims the engine's own leading and trailing silence (espeak-ng adds about 0.3 s at the
end, Piper about 0.15 s), so that the length returned is the time the words take and a cue
placed at t starts speaking at t.
"""

from __future__ import annotations

import math
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from videodesc.errors import InputError, ModelError
from videodesc.media import ffmpeg

SAMPLE_RATE = 48_000
BACKENDS = ("espeak", "piper", "http")
MIN_RATE, MAX_RATE = 0.5, 2.0  # beyond these every engine stops being intelligible

# Edge trimming: samples quieter than the peak by more than TRIM_BELOW_PEAK_DB count as silence;
# a short pad is kept so that soft onsets and the decay of the last sound are not clipped.
TRIM_BELOW_PEAK_DB = 40.0
PAD_START_S = 0.03
PAD_END_S = 0.06
SILENT_PEAK_DBFS = -50.0  # a clip whose loudest sample is below this holds no speech
# Engines (Piper) write peaks at full scale and resampling overshoots them: the speech is lowered
# to peak here instead of clipping. Its level in the mix is set by loudness anyway.
PEAK_DBFS = -1.0


@dataclass
class VoiceSpec:
    """What the user configures per language.

    Args:
        backend: "espeak" | "piper" | "http".
        language: "ko", "en", ... (the script's language).
        voice: espeak voice ("ko", "en-us", "en-us+f3"); Piper model file (.onnx, its .onnx.json
            beside it) or None for the bundled English voice; the endpoint's voice name for http.
        rate: 1.0 = the backend's natural describer pace; 1.2 = 20 % faster (the spoken length
            divided by 1.2).
        pitch: espeak-ng pitch 0-99 (its default is 50); ignored by the other backends.
        endpoint: http: the API root, e.g. "http://127.0.0.1:8880/v1".
        model: http: the model name the endpoint knows ("tts-1", "kokoro", ...).
        api_key_env: http: the environment variable holding the API key (unset: no header).
        timeout: http: seconds to wait for one whole answer (None: the voice's default).
        retries: http: further attempts after a 429, a 5xx or a refused or dropped connection
            (None: the voice's default).
    """

    backend: str
    language: str
    voice: str | None = None
    rate: float = 1.0
    pitch: int | None = None
    endpoint: str | None = None
    model: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    timeout: float | None = None
    retries: int | None = None

    def as_key(self) -> dict:
        """What the audio depends on, for the speech cache (not the key's variable name, nor how
        long to wait for it)."""
        return {"backend": self.backend, "language": self.language, "voice": self.voice,
                "rate": round(float(self.rate), 4), "pitch": self.pitch,
                "endpoint": self.endpoint.rstrip("/") if self.endpoint else None, "model": self.model}


@runtime_checkable
class Voice(Protocol):
    """A text-to-speech engine ready to speak.

    `name` says which engine, voice and version speak (it goes into the script's provenance and
    the cache key, so a new engine version re-synthesises). `synthesize` writes a 48 kHz mono
    16-bit WAV to `target` (any file name: the cache passes a temporary one) and returns its
    length in seconds.
    """

    name: str

    def synthesize(self, text: str, target: Path) -> float: ...


def check_spec(spec: VoiceSpec) -> None:
    """One InputError line for settings no backend can use."""
    if spec.backend not in BACKENDS:
        raise InputError(f"unknown voice backend {spec.backend!r}: use one of {', '.join(BACKENDS)}")
    if not spec.language:
        raise InputError("the voice needs a language (e.g. ko, en)")
    if not (isinstance(spec.rate, (int, float)) and math.isfinite(spec.rate) and MIN_RATE <= spec.rate <= MAX_RATE):
        raise InputError(f"speaking rate {spec.rate!r} is outside {MIN_RATE:g}-{MAX_RATE:g} (1.0 = describer pace)")
    if spec.pitch is not None and not (isinstance(spec.pitch, int) and 0 <= spec.pitch <= 99):
        raise InputError(f"espeak pitch {spec.pitch!r} is outside 0-99 (default 50)")


def finish(source: Path, target: Path, what: str) -> float:
    """Convert the engine's output `source` to a trimmed 48 kHz mono s16 WAV at `target`; its seconds.

    Raises ModelError when the engine made nothing audible (an empty or silent file).
    """
    proc = ffmpeg.run(["-i", str(source), "-map", "0:a:0", "-ac", "1", "-ar", str(SAMPLE_RATE),
                       "-f", "f32le", "-acodec", "pcm_f32le", "-"], f"converting {what}'s speech")
    samples = trim_silence(np.frombuffer(proc.stdout, dtype="<f4"), what)
    peak = float(np.abs(samples).max())
    ceiling = 10 ** (PEAK_DBFS / 20)
    if peak > ceiling:
        samples = samples * (ceiling / peak)
    write_wav(target, np.round(samples * 32768).astype(np.int16))
    return len(samples) / SAMPLE_RATE


def finish_bytes(data: bytes, target: Path, what: str) -> float:
    """`finish` for audio held in memory (an HTTP answer in any container ffmpeg reads)."""
    with tempfile.TemporaryDirectory(prefix="videodesc-tts-") as tmp:
        source = Path(tmp) / "speech.bin"
        source.write_bytes(data)
        return finish(source, target, what)


def trim_silence(samples: np.ndarray, what: str = "the voice") -> np.ndarray:
    """Float `samples` (full scale 1.0) without the silence before the first and after the last audible sound."""
    if samples.size == 0:
        raise ModelError(f"{what} produced no audio")
    magnitude = np.abs(samples)
    peak = float(magnitude.max())
    if peak < 10 ** (SILENT_PEAK_DBFS / 20):
        raise ModelError(f"{what} produced only silence")
    threshold = peak * 10 ** (-TRIM_BELOW_PEAK_DB / 20)
    loud = np.flatnonzero(magnitude > threshold)
    start = max(0, int(loud[0]) - int(PAD_START_S * SAMPLE_RATE))
    end = min(samples.size, int(loud[-1]) + 1 + int(PAD_END_S * SAMPLE_RATE))
    return samples[start:end]


def write_wav(target: Path, samples: np.ndarray) -> None:
    with wave.open(str(target), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(np.ascontiguousarray(samples, dtype="<i2").tobytes())


def wav_seconds(path: Path) -> float:
    """Length of a PCM WAV file in seconds (from its header)."""
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()
