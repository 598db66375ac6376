"""The job queue: `videodesc describe`, `write --slots` and `render` run as child processes, one at
a time by default (each is CPU-heavy on two cores), with their JSON progress lines as events.

A child process rather than a thread: cancelling is stopping it (its outputs are written
atomically, so nothing half-written is left), a crash or a model's memory stays in it, and the
studio runs exactly what a user runs in a terminal.

Each job is a JSON file in its project's `jobs/` folder, rewritten at every change of state. A
server that stops while a job runs finds it at the next start and runs it again: the work
folder's cache makes the steps already done cost nothing.
"""

from __future__ import annotations

import ctypes
import json
import os
import queue
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from videodesc.workfolder import write_text_atomic

KINDS = ("describe", "write", "render")
FINISHED = ("done", "failed", "cancelled")
MAX_EVENTS = 2000  # a long video's progress lines, kept per job for late listeners


@dataclass
class Job:
    id: str
    project: str
    kind: str  # describe | write | render
    args: list[str]  # the videodesc command line after the program name
    created: float
    status: str = "queued"  # queued | running | done | failed | cancelled
    started: float | None = None
    finished: float | None = None
    error: str | None = None  # the one-line error of a failed job
    stage: str | None = None  # the stage running now
    progress: float | None = None  # 0-1 within that stage, when it knows its total
    note: str | None = None  # e.g. "resumed after the server restarted"
    events: list[dict] = field(default_factory=list)

    def public(self) -> dict:
        record = asdict(self)
        record.pop("args")
        record.pop("events")
        return record


class JobQueue:
    """Runs jobs in order on `workers` threads, each starting one child process at a time."""

    def __init__(self, projects_root: Path, workers: int = 1, python: str | None = None):
        self.root = Path(projects_root)
        self.python = python or sys.executable
        self._jobs: dict[str, Job] = {}
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._processes: dict[str, subprocess.Popen] = {}
        self._closing = False
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._work, name=f"studio-job-{n}", daemon=True)
                         for n in range(max(1, workers))]
        self._resume()
        for thread in self._threads:
            thread.start()

    # --- what the app asks ---------------------------------------------------------------------

    def submit(self, project: str, kind: str, args: list[str]) -> Job:
        if kind not in KINDS:
            raise ValueError(f"unknown job kind {kind!r}")
        job = Job(secrets.token_hex(8), project, kind, args, time.time())
        with self._lock:
            self._jobs[job.id] = job
            self._save(job)
        self._queue.put(job.id)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def of_project(self, project: str) -> list[Job]:
        with self._lock:
            return sorted((j for j in self._jobs.values() if j.project == project), key=lambda j: j.created)

    def busy(self, project: str) -> bool:
        return any(j.status not in FINISHED for j in self.of_project(project))

    def cancel(self, job_id: str) -> Job | None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.status in FINISHED:
                return job
            process = self._processes.get(job_id)
            if job.status == "queued":  # the worker skips it
                self._finish(job, "cancelled", None)
                return job
            job.note = "cancelling"
            self._save(job)  # a server that dies now must not run it again at its next start
            if process is None:  # running, its process being started: the worker stops it once it is
                return job
        _stop(process)
        return job

    def events_since(self, job_id: str, index: int) -> tuple[list[dict], bool]:
        """The job's events from `index` on, and whether it has finished."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return [], True
            return job.events[index:], job.status in FINISHED

    def forget_project(self, project: str) -> None:
        with self._lock:
            for job_id in [j.id for j in self._jobs.values() if j.project == project]:
                self._jobs.pop(job_id)

    def close(self) -> None:
        """Stop the running children (their jobs resume at the next start) and the workers."""
        with self._lock:
            self._closing = True
            processes = list(self._processes.values())
        for process in processes:
            _stop(process)
        for _ in self._threads:
            self._queue.put(None)

    # --- the workers ---------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id is None:
                return
            with self._lock:
                job = self._jobs.get(job_id)
                if job is None or job.status != "queued" or not (self.root / job.project).is_dir():
                    continue
                job.status, job.started = "running", time.time()
                self._event(job, {"event": "status", "status": "running"})
                self._save(job)
            self._run(job)

    def _run(self, job: Job) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8")
        try:
            process = subprocess.Popen([self.python, "-m", "videodesc", *job.args], stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                                       encoding="utf-8", errors="replace", preexec_fn=_own_group_ending_with_us)
        except OSError as exc:
            with self._lock:
                self._finish(job, "failed", f"cannot start videodesc: {exc}")
            return
        with self._lock:
            self._processes[job.id] = process
            # Cancelled while it was being started: marking it cancelled then would have let it
            # run on unseen, and end as done beside a new job on the same project.
            cancelled = job.note == "cancelling"
        if cancelled:
            _stop(process)
        last_text = None
        # The page names a project's files as the project holds them, not by the server's folders.
        folder = str(self.root / job.project) + os.sep
        for line in process.stderr:
            line = line.rstrip("\n").replace(folder, "")
            if not line:
                continue
            try:
                event = json.loads(line)
            except ValueError:
                event = None
            with self._lock:
                if isinstance(event, dict) and event.get("event") == "error":  # how the run ended
                    last_text = str(event.get("message") or event.get("kind") or "")
                    self._event(job, event)
                elif isinstance(event, dict):
                    self._on_progress(job, event)
                else:  # the CLI's own one-line error, or a library's stray output
                    last_text = line
                    self._event(job, {"event": "text", "message": line})
        code = process.wait()
        with self._lock:
            self._processes.pop(job.id, None)
            if self._closing:  # stopped with the server: left as running, to be resumed at the next start
                return
            if job.note == "cancelling":
                job.note = None
                self._finish(job, "cancelled", None)
            elif code == 0:
                self._finish(job, "done", None)
            else:
                # The CLI's "videodesc: error: WHY" is shown as WHY: the job is already marked failed.
                message = (last_text or f"videodesc exited with code {code}").removeprefix("videodesc: ")
                message = message.removeprefix("error: ")
                self._finish(job, "failed", message)

    def _on_progress(self, job: Job, event: dict) -> None:
        kind = event.get("event")
        if kind == "start":
            job.stage, job.progress = event.get("stage"), 0.0 if event.get("total") else None
        elif kind == "progress" and event.get("total"):
            job.progress = min(1.0, float(event.get("done") or 0) / float(event["total"]))
        elif kind == "done" and event.get("stage") == job.stage:
            job.progress = 1.0
        self._event(job, event)
        if kind in ("start", "done", "failed", "warning", "cached"):
            self._save(job)

    def _finish(self, job: Job, status: str, error: str | None) -> None:
        job.status, job.error, job.finished = status, error, time.time()
        self._event(job, {"event": "status", "status": status, **({"message": error} if error else {})})
        self._save(job)

    def _event(self, job: Job, event: dict) -> None:
        job.events.append({"time": round(time.time(), 3), **event})
        del job.events[:-MAX_EVENTS]

    def _save(self, job: Job) -> None:
        folder = self.root / job.project / "jobs"
        if not folder.parent.is_dir():  # the project was deleted
            return
        folder.mkdir(exist_ok=True)
        write_text_atomic(folder / f"{job.id}.json", json.dumps(asdict(job), ensure_ascii=False))

    def _resume(self) -> None:
        """Jobs found on disk: finished ones are shown, interrupted ones run again (but for those
        being cancelled, which end cancelled)."""
        found = []
        for job_file in self.root.glob("*/jobs/*.json"):
            try:
                job = Job(**json.loads(job_file.read_text(encoding="utf-8")))
            except (ValueError, TypeError):
                continue
            found.append(job)
        for job in sorted(found, key=lambda j: j.created):
            self._jobs[job.id] = job
            if job.status not in FINISHED and job.note == "cancelling":
                job.note = None
                self._finish(job, "cancelled", None)
            elif job.status not in FINISHED:
                job.status, job.stage, job.progress = "queued", None, None
                job.note = "resumed after the server restarted"
                self._event(job, {"event": "status", "status": "queued", "message": job.note})
                self._save(job)
                self._queue.put(job.id)


def _own_group_ending_with_us() -> None:
    """In the child before it runs: its own process group (so that stopping it stops what it
    started, Piper included), and SIGTERM when the server dies, even by SIGKILL: a job must not
    go on writing beside the one a restarted server runs again."""
    os.setsid()
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _stop(process: subprocess.Popen) -> None:
    """Stop a job's process group: SIGTERM, then SIGKILL after 5 s."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
