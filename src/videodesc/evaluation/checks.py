"""Checks of a script that need no reference: what a describer's editor would look at first.

- Speech overlap: how much of the described audio falls on dialogue (timeline.json's speech
  regions), as seconds and as a share of all described time. Description belongs in the gaps;
  anything above zero talks over someone.
- Density: descriptions per minute of programme.
- Pace: Korean syllables or English words per second (as `write.speaking` counts them), over
  the spoken duration once `render` has measured it, else over the cue's planned span.
- Repetition: pairs of cues that say the same thing, by the write module's own near-duplicate
  test (multilingual-e5-small similarity over its calibrated threshold, one-word contrasts
  excepted), anywhere in the script.
- Style: how many cues break each of the describers' rules in `write.style`.
- Loudness: integrated loudness and true peak of the described mix (NAME.ad-mix.m4a) as
  ffmpeg's ebur128 measures them, when `render` has made it.
- QC: the verdict of render's QC report (qc.json) against its delivery preset, and the rules
  that failed.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from videodesc.evaluation.inputs import System
from videodesc.overlap import SpeechOverlap, speech_overlap
from videodesc.records import Cue
from videodesc.render.loudness import measure
from videodesc.write.embed import (NEAR_DUPLICATE, NEAR_DUPLICATE_CROSS_LINGUAL, Embedder, language,
                                   one_word_contrast)
from videodesc.write.speaking import syllables, words
from videodesc.write.style import problems

@dataclass
class Pace:
    unit: str  # "syllables/s" (Korean) or "words/s"
    rate: float  # all units over all seconds
    fastest: float  # the fastest cue's rate
    timing: str  # "spoken" (every cue measured by render), "planned" (none), or "mixed"


@dataclass
class RepeatedPair:
    first: int  # cue indices, in time order
    second: int
    similarity: float
    first_text: str
    second_text: str


@dataclass
class MixLoudness:
    file: str
    integrated: float  # LUFS
    true_peak: float | None  # dBTP; None for digital silence
    lra: float  # LU


@dataclass
class QCVerdict:
    """What render's QC report (qc.json) found."""

    standard: str  # the preset's name, e.g. "Netflix"
    passed: bool
    rules: int
    failed: list[str]  # "rule (file: measured, limit ...)"


@dataclass
class Checks:
    descriptions: int
    programme_seconds: float
    per_minute: float
    speech: SpeechOverlap | None  # None without timeline.json
    pace: Pace | None  # None without cues
    repeated: list[RepeatedPair]
    style: dict[str, int]  # rule broken -> cues breaking it
    cues_with_style_problems: int
    loudness: MixLoudness | None  # None before render
    qc: QCVerdict | None = None  # None without qc.json


def check(system: System, embedder: Embedder) -> Checks:
    """Every reference-free check of `system`."""
    script = system.script
    duration = script.media.duration
    style: Counter[str] = Counter()
    with_problems = 0
    for cue in script.cues:
        found = problems(cue.text, script.language)
        style.update(found)
        with_problems += bool(found)
    return Checks(
        descriptions=len(script.cues),
        programme_seconds=duration,
        per_minute=len(script.cues) * 60.0 / duration if duration > 0 else 0.0,
        speech=(speech_overlap(system.spans, [(s.start, s.end) for s in system.timeline.speech_regions])
                if system.timeline is not None else None),
        pace=pace(script.cues, script.language),
        repeated=repetitions(script.cues, embedder),
        style=dict(style.most_common()),
        cues_with_style_problems=with_problems,
        loudness=mix_loudness(system.mix) if system.mix is not None else None,
        qc=qc_verdict(system.qc) if system.qc is not None else None,
    )


def qc_verdict(report: dict) -> QCVerdict:
    """The verdict of a QC report as load_qc read it."""
    rules = report["rules"]
    failed = [f"{r.get('rule')} ({r.get('file') or 'programme'}: {r.get('value')}, limit {r.get('limit')})"
              for r in rules if not r.get("passed")]
    return QCVerdict(str(report.get("standard", report.get("preset", "?"))), not failed, len(rules), failed)


def pace(cues: Sequence[Cue], language: str) -> Pace | None:
    """Speaking rate in the unit `write.speaking` times the language by."""
    count, unit = (syllables, "syllables/s") if language == "ko" else (words, "words/s")
    units = seconds = 0.0
    fastest = 0.0
    measured = 0
    for cue in cues:
        spent = cue.spoken_duration if cue.spoken_duration is not None else cue.end - cue.start
        measured += cue.spoken_duration is not None
        if spent <= 0:
            continue
        units += count(cue.text)
        seconds += spent
        fastest = max(fastest, count(cue.text) / spent)
    if seconds <= 0:
        return None
    timing = "spoken" if measured == len(cues) else "planned" if measured == 0 else "mixed"
    return Pace(unit, units / seconds, fastest, timing)


def repetitions(cues: Sequence[Cue], embedder: Embedder) -> list[RepeatedPair]:
    """Pairs of cues that are near-duplicates by the test of `Embedder.near_duplicate`: similar
    over the threshold of their language pair, and not a one-word contrast."""
    texts = [cue.text for cue in cues]
    if len(texts) < 2:
        return []
    similarity = embedder.similarity(texts, texts)
    # The same test as near_duplicate, on the whole matrix at once: a long script has thousands
    # of pairs over the cross-lingual threshold, and asking pair by pair would take minutes.
    languages = np.array([language(text) for text in texts])
    thresholds = np.where(languages[:, None] == languages[None, :], NEAR_DUPLICATE, NEAR_DUPLICATE_CROSS_LINGUAL)
    first, second = np.nonzero(np.triu(similarity >= thresholds, k=1))
    return [RepeatedPair(int(i), int(j), round(float(similarity[i, j]), 4), texts[i], texts[j])
            for i, j in zip(first, second) if not one_word_contrast(texts[i], texts[j])]


def mix_loudness(path: Path) -> MixLoudness:
    """Loudness of the described mix, measured with ffmpeg's ebur128 (render/loudness.py)."""
    loudness = measure(path)
    return MixLoudness(path.name, loudness.integrated,
                       loudness.true_peak if math.isfinite(loudness.true_peak) else None, loudness.lra)
