"""Loudness as broadcasters measure it (ITU-R BS.1770 / EBU R128), read from ffmpeg's ebur128 filter.

One ffmpeg run can measure several signals at once: each measured branch of a filter graph ends
in an `ebur128@NAME` filter, and `run_measured` reads each instance's summary back by its name.
"""

from __future__ import annotations

import math
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from videodesc.errors import InputError
from videodesc.media import ffmpeg

# ebur128 reports -70 LUFS (its absolute gate) for digital silence and anything as quiet.
SILENCE_LUFS = -70.0


# How a target's integrated loudness is measured.
PROGRAMME = "programme"  # BS.1770 over the whole programme (with its relative gate)
DIALOGUE = "dialogue"    # BS.1770 over the dialogue only: the speech regions and the spoken descriptions
# Less dialogue than this (seconds) cannot be measured on its own: BS.1770 gates 400 ms blocks.
MIN_DIALOGUE_S = 2.0


@dataclass(frozen=True)
class LoudnessTarget:
    """Where the described mix must land: EBU R128 by default.

    `gating` says what `integrated` is measured over: the whole programme, or (as Netflix's
    dialogue-gated loudness asks) only where someone speaks.
    """

    name: str = "EBU R128"
    integrated: float = -23.0  # LUFS
    true_peak: float = -1.0    # dBTP, a ceiling
    tolerance: float = 1.0     # LU either side of `integrated` (R128 v4.0: +/-1 LU in production)
    gating: str = PROGRAMME

    @property
    def unit(self) -> str:
        """LUFS and LKFS are the same unit; American specs say LKFS."""
        return "LUFS" if self.name.startswith("EBU") else "LKFS"


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


def select_expression(regions: Sequence[tuple[float, float]]) -> str:
    """An `aselect` expression keeping the audio inside `regions` (seconds)."""
    return "+".join(f"between(t,{start:.3f},{end:.3f})" for start, end in regions)


def merge_regions(regions: Sequence[tuple[float, float]], duration: float) -> list[tuple[float, float]]:
    """`regions` clipped to 0..duration, sorted, and joined where they touch (within 50 ms)."""
    merged: list[list[float]] = []
    for start, end in sorted((max(0.0, float(s)), min(duration, float(e))) for s, e in regions):
        if end <= start:
            continue
        if merged and start <= merged[-1][1] + 0.05:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def measure_gated(path: Path, regions: Sequence[tuple[float, float]], duration: float
                  ) -> tuple[Loudness, Loudness | None]:
    """The loudness of the first audio stream of `path` over the whole file and over `regions` only
    (the dialogue), in one pass; the second is None when the regions hold less than MIN_DIALOGUE_S.

    Raises:
        InputError: the file is missing or holds no audio.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    regions = merge_regions(regions, duration)
    if sum(end - start for start, end in regions) < MIN_DIALOGUE_S:
        return measure(path), None
    graph = (f"[0:a:0]aresample=48000,asplit=2[s][d];{ebur128('[s]', 'signal')};"
             f"[d]aselect='{select_expression(regions)}',asetpts=N/SR/TB[g];{ebur128('[g]', 'dialogue')}")
    args = ["-i", str(path)]
    with tempfile.TemporaryDirectory(prefix=".loudness-") as scratch:
        if len(graph) < 60_000:
            args += ["-filter_complex", graph]
        else:  # hundreds of speech regions
            script = Path(scratch) / "graph.txt"
            script.write_text(graph, encoding="utf-8")
            args += ["-filter_complex_script", str(script)]
        found = run_measured([*args, "-map", "[msignal]", "-map", "[mdialogue]", "-f", "null", "-"],
                             ["signal", "dialogue"], what=f"measuring the loudness of {path.name}")
    return found["signal"], found["dialogue"]


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
