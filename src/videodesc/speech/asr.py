"""Speech recognition with faster-whisper: utterances with word timings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from videodesc.errors import ModelError
from videodesc.records import Utterance, Word


@dataclass
class AsrSettings:
    language: str | None  # None: detect
    beam_size: int = 5
    threads: int = 2

    def as_key(self) -> dict:
        return {"language": self.language, "beam_size": self.beam_size}


@dataclass
class Transcript:
    utterances: list[Utterance]
    language: str
    language_probability: float


def transcribe(samples: np.ndarray, model_dir: Path, settings: AsrSettings,
               on_progress: Callable[[float], None] | None = None) -> Transcript:
    """Transcribe 16 kHz mono samples.

    Settings that matter (measured on 2 CPU cores): int8 weights; the VAD filter so that music
    and silence are skipped; no conditioning on previous text (5x faster here, and it stops the
    repetition loops Whisper falls into over long music); no hallucination_silence_threshold
    (it dropped all the Korean text of one test clip); no no-speech threshold either (below).
    """
    from faster_whisper import WhisperModel  # heavy import, only when ASR runs

    try:
        model = WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=settings.threads)
    except (RuntimeError, ValueError, OSError) as exc:
        raise ModelError(f"cannot load the speech model in {model_dir}: {exc}") from exc
    segments, info = model.transcribe(
        samples,
        language=settings.language,
        beam_size=settings.beam_size,
        word_timestamps=True,
        vad_filter=True,
        condition_on_previous_text=False,
        # The VAD has already kept only speech; Whisper's own no-speech guess on top of it threw
        # away every window of espeak's Korean test sentence (no-speech 0.67, log-prob -0.99)
        # with the int8 kernels of an AMD EPYC machine, while an Intel one kept them.
        no_speech_threshold=None,
    )
    utterances = []
    for segment in segments:
        words = [Word(round(w.start, 3), round(w.end, 3), w.word.strip(), round(w.probability, 3))
                 for w in (segment.words or []) if w.word.strip()]
        text = segment.text.strip()
        if not text:
            continue
        start = words[0].start if words else segment.start
        end = words[-1].end if words else segment.end
        utterances.append(Utterance(round(start, 3), round(end, 3), text, "asr", words))
        if on_progress is not None:
            on_progress(segment.end)
    return Transcript(utterances, info.language, round(info.language_probability, 3))
