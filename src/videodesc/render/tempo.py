"""Speeding a spoken cue up a little so that it fits its gap, keeping the voice's pitch."""

from __future__ import annotations

import wave
from pathlib import Path

from videodesc.errors import InputError
from videodesc.media import ffmpeg
from videodesc.workfolder import atomic_path

SAMPLE_RATE = 48000
# Faster than 1.25x, synthetic speech stops being easy to follow (and atempo starts to smear it).
MAX_FACTOR = 1.25


def tempo(source: Path, factor: float, target: Path) -> float:
    """Write `source` sped up by `factor` (1.0 to 1.25) to `target` as 48 kHz mono WAV.

    atempo stretches time without resampling, so the pitch stays the speaker's.

    Returns:
        The new length in seconds.

    Raises:
        InputError: `source` is missing or `factor` is outside 1.0 to 1.25.
    """
    source, target = Path(source), Path(target)
    if not source.is_file():
        raise InputError(f"{source}: voice file missing")
    if not 1.0 - 1e-9 <= factor <= MAX_FACTOR + 1e-9:
        raise InputError(f"speed-up factor {factor:g} is outside 1.0 to {MAX_FACTOR:g}")
    # At 1.0 atempo would still trim a few hundredths of a second: convert only.
    stretch = ["-af", f"atempo={factor:.6f}"] if factor > 1.0 + 1e-6 else []
    with atomic_path(target) as tmp:
        ffmpeg.run(["-v", "error", "-i", str(source), *stretch, "-ar", str(SAMPLE_RATE),
                    "-ac", "1", "-c:a", "pcm_s16le", "-f", "wav", "-y", str(tmp)],
                   what=f"speeding up {source.name}")
        seconds = wav_seconds(tmp)
    return seconds


def wav_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()
