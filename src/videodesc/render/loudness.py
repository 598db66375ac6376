"""Loudness as broadcasters measure it (ITU-R BS.1770 / EBU R128), read from ffmpeg's ebur128 filter.

One ffmpeg run can measure several signals at once: each measured branch of a filter graph ends
in an `ebur128@NAME` filter, and `run_measured` reads each instance's summary back by its name.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from videodesc.errors import InputError
from videodesc.media import ffmpeg

# ebur128 reports -70 LUFS (its absolute gate) for digital silence and anything as quiet.
SILENCE_LUFS = -70.0


@dataclass(frozen=True)
class LoudnessTarget:
    """Where the described mix must land: EBU R128 by default."""

    name: str = "EBU R128"
    integrated: float = -23.0  # LUFS
    true_peak: float = -1.0    # dBTP, a ceiling
    tolerance: float = 0.5     # LU either side of `integrated`


EBU_R128 = LoudnessTarget()
ATSC_A85 = LoudnessTarget("ATSC A/85", -24.0, -2.0, 2.0)


@dataclass(frozen=True)
class Loudness:
    """Integrated loudness (LUFS), true peak (dBTP; -inf for silence) and loudness range (LU)."""

    integrated: float
    true_peak: float
    lra: float

    @property
    def silent(self) -> bool:
        return self.integrated <= SILENCE_LUFS + 0.05


SILENT = Loudness(SILENCE_LUFS, -math.inf, 0.0)


def ebur128(source: str, name: str, peak: str = "true", output: str | None = None) -> str:
    """Graph text measuring the pad `source` into the pad `output` (default `[mNAME]`);
    `run_measured` finds its summary again by `name`.

    ebur128 slows down up to tenfold in digital silence that follows sound (its K-weighting
    filters decay into denormal numbers), so long silent stretches are best left out of what
    is measured: the voice is measured as its cues laid end to end, not as the stem.
    """
    # framelog=verbose: otherwise the filter logs a line per 100 ms at the info level we read.
    return f"{source}ebur128@{name}=peak={peak}:framelog=verbose{output or f'[m{name}]'}"


def run_measured(args: Sequence[str], names: Sequence[str], what: str) -> dict[str, Loudness]:
    """Run ffmpeg with a graph holding `ebur128@NAME` filters; the loudness each one measured.

    ffmpeg may configure a graph more than once, and each configuration logs a summary when
    it is torn down, so the last summary of each name is the one of the whole signal.
    """
    proc = ffmpeg.run(["-v", "info", "-nostats", *args], what=what)
    log = proc.stderr.decode("utf-8", "replace")
    results = {}
    for name in names:
        summaries = re.findall(rf"\[ebur128@{re.escape(name)} @ [^\]]*\] Summary:(.*?)(?=\n\[|\Z)", log, re.S)
        if not summaries:
            raise InputError(f"{what}: ffmpeg measured no loudness for the {name}")
        results[name] = _parse_summary(summaries[-1])
    return results


def _parse_summary(text: str) -> Loudness:
    def value(label: str, unit: str) -> float | None:
        match = re.search(rf"{label}:\s+(-?inf|-?[\d.]+)\s+{unit}", text)
        return float(match.group(1)) if match else None

    integrated = value("I", "LUFS")
    if integrated is None:
        raise InputError(f"unreadable loudness summary from ffmpeg: {' '.join(text.split())[:120]}")
    peak = value("Peak", "dBFS")
    return Loudness(integrated=integrated, true_peak=-math.inf if peak is None else peak,
                    lra=value("LRA", "LU") or 0.0)


def measure(path: Path) -> Loudness:
    """Integrated loudness, true peak and loudness range of the first audio stream of `path`.

    Raises:
        InputError: the file is missing or holds no audio.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    return run_measured(
        ["-i", str(path), "-filter_complex", f"[0:a:0]aresample=48000[s];{ebur128('[s]', 'signal')}",
         "-map", "[msignal]", "-f", "null", "-"],
        ["signal"], what=f"measuring the loudness of {path.name}",
    )["signal"]
