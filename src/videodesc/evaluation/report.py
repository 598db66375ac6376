"""The results of `evaluate` for people (a plain-text table) and for machines (a JSON file).

One column per script; with two scripts a third column holds the difference, second minus
first. A value a script does not have (no references, no timeline, not rendered yet) shows as
"-" and has no difference.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from videodesc import __version__
from videodesc.errors import InputError
from videodesc.evaluation.evaluate import Evaluation
from videodesc.evaluation.inputs import References
from videodesc.records import to_dict
from videodesc.workfolder import write_text_atomic

REPEATS_LISTED = 5  # near-duplicate pairs shown under the table per script; the JSON has them all


@dataclass
class Row:
    """One line of the table: a metric and each script's value of it."""

    key: str  # stable name, the key of the JSON "difference"
    label: str
    values: list[float | None]  # one per script
    decimals: int  # 0 for counts


# Groups of rows, in table order; a row keeps its group whichever script brings it.
_REFERENCES, _CHECKS, _STYLE, _LOUDNESS = range(4)


def _metric_rows(evaluation: Evaluation) -> list[tuple[int, str, str, float | None, int]]:
    """(group, key, label, value, decimals) of one evaluation; section headings have keys "section: ..."."""
    rows: list[tuple[int, str, str, float | None, int]] = []
    ref = evaluation.reference
    if ref is not None:
        scores = ref.scores
        rows += [(_REFERENCES, *row) for row in [
            ("section: references", "Against the references", None, 0),
            ("references_matched", "references matched to a cue", ref.matched_references, 0),
            ("references_unmatched", "references with no cue (scored as empty)", ref.unmatched_references, 0),
            ("cues_matched", "cues matched to a reference", ref.matched_cues, 0),
            ("cues_unmatched", "cues with no reference (not scored)", ref.unmatched_cues, 0),
            ("bleu", "BLEU", scores.bleu, 1),
            ("chrf", "chrF", scores.chrf, 1),
            ("rouge_l", "ROUGE-L F (x100)", scores.rouge_l, 1),
            ("cider_d", "CIDEr-D (x100)", scores.cider_d, 1),
            ("embedding", "embedding similarity (cosine)", scores.embedding, 3),
        ]]
    checks, speech = evaluation.checks, evaluation.checks.speech
    checks_rows = [
        ("section: checks", "Without references", None, 0),
        ("descriptions", "descriptions", checks.descriptions, 0),
        ("per_minute", "descriptions per minute", checks.per_minute, 2),
        ("described_seconds", "described seconds", speech.described_seconds if speech else None, 1),
        ("over_speech_seconds", "seconds over speech", speech.over_speech_seconds if speech else None, 1),
        ("over_speech_percent", "described time over speech (%)", 100 * speech.share if speech else None, 1),
        ("cues_over_speech", "cues over speech", speech.cues_over_speech if speech else None, 0),
    ]
    if checks.pace is not None:
        # The unit is in the key: a Korean and an English script have no rate difference.
        unit = checks.pace.unit
        checks_rows += [(f"pace_{unit}", f"speaking rate ({unit}, {checks.pace.timing})", checks.pace.rate, 2),
                        (f"fastest_{unit}", f"fastest cue ({unit})", checks.pace.fastest, 2)]
    checks_rows += [
        ("repeated_pairs", "near-duplicate pairs of cues", len(checks.repeated), 0),
        ("cues_with_style_problems", "cues breaking a style rule", checks.cues_with_style_problems, 0),
    ]
    rows += [(_CHECKS, *row) for row in checks_rows]
    rows += [(_STYLE, f"style: {rule}", f"  {rule}", count, 0) for rule, count in checks.style.items()]
    loudness = checks.loudness
    rows += [(_LOUDNESS, *row) for row in [
        ("mix_integrated_lufs", "described mix, integrated (LUFS)", loudness.integrated if loudness else None, 1),
        ("mix_true_peak_dbtp", "described mix, true peak (dBTP)", loudness.true_peak if loudness else None, 1),
    ]]
    if checks.qc is not None:
        rows.append((_LOUDNESS, "qc_rules_failed", "QC rules failed (qc.json)", len(checks.qc.failed), 0))
    return rows


def rows(evaluations: Sequence[Evaluation]) -> list[Row]:
    """The table's rows: every metric any script has, in order, with each script's value (None: it has none)."""
    table: dict[str, tuple[int, Row]] = {}
    for column, evaluation in enumerate(evaluations):
        for group, key, label, value, decimals in _metric_rows(evaluation):
            _, row = table.setdefault(key, (group, Row(key, label, [None] * len(evaluations), decimals)))
            row.values[column] = value
    # Stable: within a group, the first script's order, then what only the second one has.
    return [row for _, row in sorted(table.values(), key=lambda entry: entry[0])]


def difference(values: Sequence[float | None]) -> float | None:
    """Second script's value minus the first's, when there are two and both have it."""
    if len(values) != 2 or None in values:
        return None
    return values[1] - values[0]


def _format(value: float | None, decimals: int, signed: bool = False) -> str:
    if value is None:
        return "-"
    text = f"{value:+.{decimals}f}" if signed else f"{value:.{decimals}f}"
    return "0" if signed and float(text) == 0 else text


def column_names(evaluations: Sequence[Evaluation]) -> list[str]:
    """The folder names, or the script paths when two folders have the same name."""
    names = [evaluation.name for evaluation in evaluations]
    return names if len(set(names)) == len(names) else [evaluation.script for evaluation in evaluations]


def table(references: References | None, evaluations: Sequence[Evaluation]) -> str:
    """The evaluation as aligned plain text, for a terminal."""
    names = column_names(evaluations)
    lines = []
    for name, evaluation in zip(names, evaluations):
        checks = evaluation.checks
        minutes, seconds = divmod(round(checks.programme_seconds), 60)
        where = evaluation.script if name == evaluation.script else f"{name}: {evaluation.script}"
        lines.append(f"{where} ({evaluation.language}, {checks.descriptions} descriptions, "
                     f"{minutes}:{seconds:02d} of programme)")
    lines.append(f"references: {references.source} ({len(references.items)} descriptions)" if references
                 else "references: none (give --reference FILE for the text metrics)")
    lines.append("")

    header = ["metric", *names] + (["difference"] if len(evaluations) == 2 else [])
    body: list[list[str]] = []
    for row in rows(evaluations):
        if row.key.startswith("section: "):
            body += [[""], [row.label]] if body else [[row.label]]
            continue
        cells = [row.label] + [_format(value, row.decimals) for value in row.values]
        if len(evaluations) == 2:
            # Of the rounded values, so that the column adds up as a reader checks it (the JSON's is exact).
            rounded = [None if value is None else round(value, row.decimals) for value in row.values]
            cells.append(_format(difference(rounded), row.decimals, signed=True))
        body.append(cells)
    widths = [max(len(cells[i]) for cells in [header, *body] if len(cells) > i) for i in range(len(header))]

    def render(cells: list[str]) -> str:  # labels to the left, numbers to the right
        return "  ".join([cells[0].ljust(widths[0])]
                         + [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:])]).rstrip()

    lines.append(render(header))
    lines.append("  ".join("-" * width for width in widths))
    for cells in body:
        lines.append(cells[0] if len(cells) == 1 else render(cells))

    for name, evaluation in zip(names, evaluations):
        extra = []
        for pair in evaluation.checks.repeated[:REPEATS_LISTED]:
            extra.append(f"  near-duplicates (similarity {pair.similarity:.3f}): cue {pair.first + 1} "
                         f"\"{pair.first_text}\" / cue {pair.second + 1} \"{pair.second_text}\"")
        if len(evaluation.checks.repeated) > REPEATS_LISTED:
            extra.append(f"  ... and {len(evaluation.checks.repeated) - REPEATS_LISTED} more pairs in the JSON")
        qc = evaluation.checks.qc
        if qc is not None:
            extra.append(f"  QC ({qc.standard}): {'PASS' if qc.passed else 'FAIL'}, "
                         f"{qc.rules - len(qc.failed)} of {qc.rules} rules passed")
            extra += [f"    failed: {rule}" for rule in qc.failed]
        extra += [f"  note: {note}" for note in evaluation.notes]
        if extra:
            lines += ["", f"{name}:", *extra]
    return "\n".join(lines) + "\n"


def to_json(references: References | None, evaluations: Sequence[Evaluation]) -> dict:
    """Everything, for machines: the references used, each script's full evaluation (with every
    pair and its scores), and with two scripts the differences of the table's rows."""
    data = {
        "videodesc": __version__,
        "references": {"source": references.source, "count": len(references.items)} if references else None,
        "systems": [to_dict(evaluation) for evaluation in evaluations],
    }
    if len(evaluations) == 2:
        data["difference"] = {row.key: difference(row.values) for row in rows(evaluations)
                              if difference(row.values) is not None}
    return data


def write_json(path: Path, references: References | None, evaluations: Sequence[Evaluation]) -> None:
    """Write `to_json` to `path` atomically."""
    path = Path(path)
    if path.is_dir():  # the atomic rename would replace the folder
        raise InputError(f"--json {path} is a folder: give a file name")
    # allow_nan=False: every value is finite by construction, and JSON has no NaN or infinity.
    write_text_atomic(path, json.dumps(to_json(references, evaluations), ensure_ascii=False, indent=1,
                                       allow_nan=False) + "\n")
