"""`evaluate`: one or more scripts against the same references, plus the checks that need none.

References come from the file the user names, or else from the `{...}` description lines that
`analyze --subtitles` kept in the first script's timeline.json; without either, only the
reference-free checks run. Every script and the reference file are read before any scoring
starts, so a bad input fails at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from videodesc.evaluation.checks import Checks, check
from videodesc.evaluation.inputs import (References, System, for_video, language_note, load_references, load_system,
                                         references_from_timeline)
from videodesc.evaluation.match import match
from videodesc.evaluation.text_metrics import TextScores, score
from videodesc.progress import Reporter
from videodesc.write.embed import Embedder


@dataclass
class PairResult:
    """One reference, the cue matched to it, and how alike they are."""

    reference_start: float
    reference_end: float
    reference: str
    cue: int | None  # index of the cue in time order (None: no cue overlaps the reference)
    cue_start: float | None
    hypothesis: str  # the cue's text; "" when unmatched
    overlap: float  # seconds
    rouge_l: float
    cider_d: float
    embedding: float


@dataclass
class ReferenceResult:
    """A script measured against the references."""

    references: int
    matched_references: int
    unmatched_references: int
    matched_cues: int
    unmatched_cues: int
    scores: TextScores
    pairs: list[PairResult]


@dataclass
class Evaluation:
    """Everything `evaluate` found about one script."""

    script: str  # path of the script.json
    name: str  # its column in the table
    language: str
    reference: ReferenceResult | None  # None when there were no references
    checks: Checks
    notes: list[str] = field(default_factory=list)


def evaluate(system: System, references: References | None, embedder: Embedder) -> Evaluation:
    """Evaluate one loaded script against `references` (None: the reference-free checks only)."""
    notes = list(system.notes)
    result = None
    if references is not None:
        items, note = for_video(references, system.script.media.path)
        if note:
            notes.append(note)
        matching = match([(item.start, item.end) for item in items], system.spans)
        cues = system.script.cues
        hypotheses = [cues[pair.cue].text if pair.cue is not None else "" for pair in matching.pairs]
        scores, per_pair = score(hypotheses, [item.reference for item in items], embedder)
        pairs = [PairResult(item.start, item.end, item.reference, pair.cue,
                            cues[pair.cue].start if pair.cue is not None else None, text, pair.overlap,
                            s.rouge_l, s.cider_d, s.embedding)
                 for item, pair, text, s in zip(items, matching.pairs, hypotheses, per_pair)]
        result = ReferenceResult(len(items), matching.matched_references, matching.unmatched_references,
                                 matching.matched_cues, len(matching.unmatched_cues), scores, pairs)
        if cues and not matching.matched_references:
            notes.append(f"no reference in {references.source} overlaps any cue: are they for this video?")
        note = language_note(references, system.script.language)
        if note:
            notes.append(note)
    return Evaluation(str(system.path), system.name, system.script.language, result,
                      check(system, embedder), notes)


def evaluate_all(scripts: Sequence[Path], reference: Path | None = None, descriptions_only: bool = False,
                 reporter: Reporter | None = None) -> tuple[References | None, list[Evaluation]]:
    """Evaluate each script against the same references: those in `reference` (see
    `load_references` for `descriptions_only`), else the first script's timeline references, else none.

    Raises:
        InputError: a script or the reference file is missing or cannot be read.
    """
    reporter = reporter or Reporter()
    systems = [load_system(path) for path in scripts]
    if reference is not None:
        references = load_references(reference, descriptions_only)
    else:
        first = systems[0]
        references = (references_from_timeline(first.timeline, first.script.language)
                      if first.timeline is not None else None)
    if references is not None:
        for system in systems:  # a script with no reference of its video fails now, not after the first is scored
            for_video(references, system.script.media.path)
    embedder = Embedder()
    evaluations = []
    for system in systems:
        with reporter.stage(f"evaluate {system.name}"):
            evaluations.append(evaluate(system, references, embedder))
    return references, evaluations
