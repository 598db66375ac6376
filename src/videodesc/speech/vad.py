"""Voice activity: where someone is speaking, from the silero VAD model inside faster-whisper.

Silero marked almost no music as speech in our trials (webrtcvad marked most of it), which
matters for drama, where score and effects fill the gaps we want to find.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from faster_whisper.vad import VadOptions, get_speech_timestamps

from videodesc.records import Span
from videodesc.speech.audio import SAMPLE_RATE


@dataclass
class VadSettings:
    threshold: float = 0.5
    # Short pauses between words are not gaps; faster-whisper's own 2 s default (made for
    # chunking ASR input) would hide the 1-2 s pauses in which descriptions go.
    min_silence_ms: int = 300
    min_speech_ms: int = 150
    pad_ms: int = 30

    def as_key(self) -> dict:
        return dict(vars(self))


def speech_regions(samples: np.ndarray, settings: VadSettings) -> list[Span]:
    """Regions of speech in 16 kHz mono samples, in seconds."""
    if samples.size == 0:
        return []
    stamps = get_speech_timestamps(
        samples,
        VadOptions(threshold=settings.threshold, min_silence_duration_ms=settings.min_silence_ms,
                   min_speech_duration_ms=settings.min_speech_ms, speech_pad_ms=settings.pad_ms),
        sampling_rate=SAMPLE_RATE,
    )
    return [Span(round(s["start"] / SAMPLE_RATE, 3), round(s["end"] / SAMPLE_RATE, 3)) for s in stamps]
