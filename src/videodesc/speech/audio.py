"""Extract the programme sound once, as 16 kHz mono PCM: what VAD and Whisper both read."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from videodesc.media import ffmpeg

SAMPLE_RATE = 16000


def extract_audio(video: Path, stream_index: int, target: Path) -> None:
    """Write the audio stream `stream_index` of `video` to `target` as 16 kHz mono 16-bit WAV."""
    ffmpeg.run(
        ["-v", "error", "-i", str(video), "-map", f"0:{stream_index}", "-vn", "-ac", "1",
         "-ar", str(SAMPLE_RATE), "-c:a", "pcm_s16le", "-f", "wav", "-y", str(target)],
        what=f"extracting audio from {video.name}",
    )


def load_wav(path: Path) -> np.ndarray:
    """Samples of a 16 kHz mono 16-bit WAV as float32 in [-1, 1]."""
    with wave.open(str(path), "rb") as wav:
        if wav.getframerate() != SAMPLE_RATE or wav.getnchannels() != 1 or wav.getsampwidth() != 2:
            raise ValueError(f"{path}: expected 16 kHz mono 16-bit PCM")
        pcm = wav.readframes(wav.getnframes())
    return np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768.0
