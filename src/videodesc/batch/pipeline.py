"""The `batch` step: describe many videos, on this machine or on Ray, one output folder each.

Every video goes through `analyze`, `write` and `render` into OUTDIR/NAME, exactly as
`videodesc describe VIDEO -o OUTDIR/NAME` would, with the batch's options and its own (from a
CSV list). A video that fails is reported with its one-line reason and the others go on.
batch.json records each video as it goes; a rerun describes only what is not done yet.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from videodesc.batch.inputs import BatchVideo, collect
from videodesc.batch.local import default_jobs, run_local
from videodesc.batch.steps import STEPS, StepResult, StepRunner
from videodesc.batch.summary import (DONE, FAILED, INTERRUPTED, BatchSummary, VideoOutcome, earlier_outcomes)
from videodesc.errors import InputError
from videodesc.media.probe import content_hash
from videodesc.progress import Reporter
from videodesc.workfolder import stage_key

PER_VIDEO = {"lang": "--lang", "subtitles": "--subtitles", "cast": "--cast"}  # options a CSV list may set
RESERVED_NAMES = ("work",)  # OUTDIR/work holds the batch's own lock


@dataclass
class BatchOptions:
    """The arguments every video's steps get (as the command line spells them), and how to run.

    Attributes:
        analyze, write, render: each step's arguments but the video and the output folder, and
            but the per-video ones.
        per_video: the batch's values of the options a list may set per video (PER_VIDEO keys).
        jobs: videos at a time on this machine (None: one per core, as memory allows).
        ray: None for this machine; "local" for a local Ray instance, or a cluster's address.
        force: describe again videos an earlier run finished, recomputing every stage.
    """

    analyze: list[str] = field(default_factory=list)
    write: list[str] = field(default_factory=list)
    render: list[str] = field(default_factory=list)
    per_video: dict[str, str] = field(default_factory=dict)
    jobs: int | None = None
    ray: str | None = None
    force: bool = False


def step_plan(item: BatchVideo, out: Path, options: BatchOptions) -> dict[str, list[str]]:
    """The arguments of the video's three steps."""
    per_video = []
    for key, value in {**options.per_video, **item.overrides}.items():
        per_video += [PER_VIDEO[key], value]
    force = ["--force"] if options.force else []
    return {"analyze": [str(item.video), "-o", str(out), *options.analyze, *per_video, *force],
            "write": [str(out), *options.write, *force],
            "render": [str(out), *options.render, *force]}


def run_batch(inputs: list[Path], outdir: Path, options: BatchOptions, reporter: Reporter) -> BatchSummary:
    """Describe the videos `inputs` name into `outdir`; the summary is also OUTDIR/batch.json.

    Raises:
        InputError: no video found, an input or list that cannot be read, or Ray unreachable.
        KeyboardInterrupt, Terminated: stopped; the running steps are stopped too, and batch.json
            says what was done.
    """
    outdir = Path(outdir)
    earlier = earlier_outcomes(outdir)
    videos = collect(inputs, {video: outcome.name for video, outcome in earlier.items()}, RESERVED_NAMES)
    outcomes, plans, outs, to_run = [], [], [], []
    for item in videos:
        out = outdir / item.name
        plan = step_plan(item, out, options)
        outcome = VideoOutcome(video=str(item.video), name=item.name, output=str(out), options=stage_key(plan))
        try:
            outcome.content_hash = content_hash(item.video)
        except OSError:
            pass  # its analysis says what is wrong with it
        before = earlier.get(outcome.video)
        if not options.force and before is not None and _still_done(before, outcome):
            before.skipped = True
            outcomes.append(before)
            continue
        outcomes.append(outcome)
        plans.append(plan)
        outs.append(out)
        to_run.append(len(outcomes) - 1)

    runner = StepRunner()
    if options.ray is not None:
        from videodesc.batch.cluster import connect, run_on_ray

        ray, where = connect(options.ray)
    else:
        jobs = options.jobs or default_jobs()
        where = f"this machine, {jobs} job{'s' if jobs > 1 else ''} at a time"
    summary = BatchSummary(runner=where, videos=outcomes)
    if len(to_run) < len(outcomes):
        reporter.info(f"{len(outcomes) - len(to_run)} of {len(outcomes)} videos were described by an earlier run "
                      "and are unchanged (--force describes them again)")
    started = time.monotonic()
    guard = threading.Lock()
    finished = 0

    with reporter.stage("batch", total=len(to_run), unit="videos") as progress:
        def on_step(position: int, result: StepResult) -> None:
            nonlocal finished
            with guard:
                outcome = outcomes[to_run[position]]
                outcome.steps[result.step] = result.to_dict()
                outcome.seconds = round(outcome.seconds + result.seconds, 2)
                outcome.warnings += len(result.warnings)
                if result.ok and result.step == STEPS[-1]:
                    outcome.status, outcome.error = DONE, ""
                    outcome.read_outputs()
                elif not result.ok:
                    outcome.status = INTERRUPTED if runner.stopping else FAILED
                    outcome.error, outcome.failed_step = result.error, result.step
                if outcome.status in (DONE, FAILED):
                    finished += 1
                    progress.update(finished)
                    reporter.info(_line(outcome, finished, len(to_run)))
                summary.seconds = round(time.monotonic() - started, 2)
                summary.save(outdir)

        summary.save(outdir)
        try:
            if options.ray is not None:
                try:
                    run_on_ray(ray, plans, outs, on_step)
                finally:
                    ray.shutdown()
            else:
                run_local(plans, outs, jobs, runner, on_step)
        finally:
            summary.seconds = round(time.monotonic() - started, 2)
            summary.save(outdir)
    return summary


def _still_done(before: VideoOutcome, now: VideoOutcome) -> bool:
    """Whether an earlier run's finished video needs nothing more: same source, same options, its
    outputs still there."""
    out = Path(now.output)
    return (before.status == DONE and before.options == now.options and bool(now.content_hash)
            and before.content_hash == now.content_hash and (out / "script.json").is_file()
            and (any(out.glob("*.ad.mp4")) or any(out.glob("*.ad.mkv"))))


def _line(outcome: VideoOutcome, finished: int, total: int) -> str:
    if outcome.status == DONE:
        rtf = f", RTF {outcome.real_time_factor:.3f}" if outcome.real_time_factor is not None else ""
        return (f"[{finished}/{total}] {outcome.name}: done in {outcome.seconds:.1f} s{rtf}, "
                f"{outcome.cues if outcome.cues is not None else '?'} descriptions")
    return f"[{finished}/{total}] {outcome.name}: failed in {outcome.failed_step}: {outcome.error}"


def check_outdir(outdir: Path, inputs: list[Path]) -> None:
    """Refuse an OUTDIR that is one of the inputs' folders searched for videos: the batch's own
    outputs (NAME.ad.mp4) would be taken for videos on the next run."""
    target = Path(outdir).absolute()
    for given in inputs:
        folder = Path(given).expanduser().absolute()
        if folder.is_dir() and (target == folder or folder in target.parents):
            raise InputError(f"the output folder {outdir} is inside {given}, which is searched for videos: "
                             "give an output folder outside it")
