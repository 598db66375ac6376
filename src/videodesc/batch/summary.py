"""What a batch did, per video: `OUTDIR/batch.json` (schema videodesc.batch/1) and a table.

batch.json is rewritten (atomically) after every step, so it always says how far the batch got,
and a rerun reads it: a video it lists as done, whose source and options are unchanged and
whose outputs are still there, is not described again.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from videodesc import __version__
from videodesc.workfolder import write_text_atomic

SCHEMA = "videodesc.batch/1"
BATCH_FILE = "batch.json"
DONE, FAILED, NOT_RUN, INTERRUPTED = "done", "failed", "not run", "interrupted"


@dataclass
class VideoOutcome:
    """One video of the batch and how it went.

    status: DONE, FAILED (error and failed_step say why), NOT_RUN (the batch stopped first) or
        INTERRUPTED (stopped while a step ran).
    skipped: done by an earlier run of the batch and unchanged since, so not run again.
    seconds: wall time of its steps in this run (0 when skipped); real_time_factor is that over
        the video's duration.
    """

    video: str
    name: str
    output: str
    status: str = NOT_RUN
    skipped: bool = False
    error: str = ""
    failed_step: str = ""
    content_hash: str = ""
    options: str = ""  # a fingerprint of the steps' arguments: other options mean other outputs
    duration: float | None = None
    seconds: float = 0.0
    real_time_factor: float | None = None
    cues: int | None = None
    described_seconds: float | None = None
    loudness: float | None = None  # LUFS of the described programme as delivered
    qc_passed: bool | None = None
    steps: dict[str, dict] = field(default_factory=dict)
    warnings: int = 0

    def read_outputs(self) -> None:
        """Fill in what the finished video's own files say: its duration, cues and loudness."""
        out = Path(self.output)
        try:
            timeline = json.loads((out / "timeline.json").read_text(encoding="utf-8"))
            self.duration = float(timeline["media"]["duration"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
        try:
            qc = json.loads((out / "qc.json").read_text(encoding="utf-8"))
            self.cues = int(qc["descriptions"])
            self.described_seconds = float(qc["described_seconds"])
            self.loudness = float(qc["outputs"][0]["integrated"])
            self.qc_passed = bool(qc["passed"])
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            pass
        if self.duration and self.seconds:
            self.real_time_factor = round(self.seconds / self.duration, 3)


@dataclass
class BatchSummary:
    runner: str  # what it ran on: "this machine, 2 jobs", "a local Ray instance (...)"
    videos: list[VideoOutcome]
    seconds: float = 0.0
    schema: str = SCHEMA
    version: str = __version__

    @property
    def failed(self) -> list[VideoOutcome]:
        return [v for v in self.videos if v.status != DONE]

    def to_json(self) -> str:
        counts = {status: sum(v.status == status for v in self.videos) for status in (DONE, FAILED, NOT_RUN,
                                                                                          INTERRUPTED)}
        return json.dumps({**asdict(self), "counts": counts}, ensure_ascii=False, indent=2) + "\n"

    def save(self, outdir: Path) -> None:
        write_text_atomic(Path(outdir) / BATCH_FILE, self.to_json())


def earlier_outcomes(outdir: Path) -> dict[str, VideoOutcome]:
    """The videos an earlier run of the batch into `outdir` recorded, by video path ({} if none
    or unreadable: then every video is looked at anew)."""
    try:
        data = json.loads((Path(outdir) / BATCH_FILE).read_text(encoding="utf-8"))
        if data.get("schema") != SCHEMA:
            return {}
        known = {f for f in VideoOutcome.__dataclass_fields__}
        return {v["video"]: VideoOutcome(**{k: value for k, value in v.items() if k in known})
                for v in data["videos"]}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def table(summary: BatchSummary) -> str:
    """The per-video table people read at the end of a batch."""
    rows = [("video", "status", "duration", "RTF", "cues", "described", "loudness", "error")]
    for v in summary.videos:
        status = "done (earlier)" if v.skipped else v.status
        rows.append((v.name, status, _number(v.duration, "{:.1f} s"), _number(v.real_time_factor, "{:.3f}"),
                     _number(v.cues, "{}"), _number(v.described_seconds, "{:.1f} s"),
                     _number(v.loudness, "{:.1f} LUFS"),
                     (f"{v.failed_step}: " if v.failed_step else "") + _short(v.error)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    done = sum(v.status == DONE for v in summary.videos)
    lines.append(f"{done} of {len(summary.videos)} videos described in {summary.seconds:.1f} s on {summary.runner}")
    return "\n".join(lines)


def _number(value: float | int | None, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)


def _short(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
