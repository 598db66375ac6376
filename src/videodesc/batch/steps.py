"""One step of one video (`videodesc analyze`, `write` or `render`) run as a child process.

A child process per step, not a call into the library: a crash, a leak or a stuck model in one
video cannot take the batch down, the memory of a step's models goes back to the system when
it ends, and a worker on another machine runs exactly what a user would type. The step reports
through its `--json` lines; the batch keeps its one-line error, warnings, time and peak memory.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from videodesc.children import dies_with_parent
from videodesc.workfolder import LOCK_FILE

STEPS = ("analyze", "write", "render")
GIB = 1024 ** 3


@dataclass(frozen=True)
class StepNeeds:
    """What one step takes while it runs: the scheduler's (and Ray's) resource request.

    memory: bytes at its peak, measured on the 3-min narrated clip and Big Buck Bunny
    (docs/benchmarks.md: analyze 1.4 GiB with every vision model, write 2.1-2.5 GiB with the
    fluency model and the embedder, render under 0.1 GiB of Python plus ffmpeg's buffers).
    """

    cpus: float
    memory: int


NEEDS = {"analyze": StepNeeds(1, int(1.5 * GIB)), "write": StepNeeds(1, int(2.5 * GIB)),
         "render": StepNeeds(1, int(0.5 * GIB))}
LOCK_WAIT_S = 60.0  # for the process of an earlier attempt of the step to end (its worker was lost)


@dataclass
class StepResult:
    """How a step ended.

    exit_code: the child's exit code (negative: killed by that signal).
    error: its one-line reason when it failed ("" when it succeeded).
    transient: it died of a signal nobody meant for it (the kernel's OOM killer, a lost
        node): trying again may succeed. A bad input (exit 2) is never retried.
    """

    step: str
    exit_code: int
    seconds: float
    peak_memory: int = 0  # bytes, the child's largest resident set
    error: str = ""
    warnings: list[str] = field(default_factory=list)
    info: str = ""  # the step's last summary line

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def transient(self) -> bool:
        return self.exit_code < 0 and self.exit_code != -signal.SIGTERM and self.exit_code != -signal.SIGINT

    def to_dict(self) -> dict:
        return {"exit_code": self.exit_code, "seconds": round(self.seconds, 2),
                "peak_memory_mib": round(self.peak_memory / 2 ** 20), "error": self.error, "warnings": self.warnings}


class StepRunner:
    """Runs steps as child processes and can stop those that are running (on Ctrl-C or SIGTERM)."""

    def __init__(self) -> None:
        self._running: set[subprocess.Popen] = set()
        self._lock = threading.Lock()
        self.stopping = False

    def run(self, step: str, argv: list[str], out: Path) -> StepResult:
        """Run `videodesc STEP ARGV --json` writing into the output folder `out`.

        The child dies with the process that runs it (a lost Ray worker takes its step with it),
        and an earlier attempt's child still ending is waited for before this one starts.
        """
        wait_for_folder(out)
        command = [sys.executable, "-m", "videodesc", step, *argv, "--json"]
        started = time.monotonic()
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True, encoding="utf-8", errors="replace",
                                   preexec_fn=dies_with_parent)
        with self._lock:
            self._running.add(process)
        result = StepResult(step, 0, 0.0)
        other: list[str] = []
        try:
            for line in process.stderr:
                _read_event(line, result, other)
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
        except BaseException:
            process.kill()
            process.wait()
            raise
        finally:
            with self._lock:
                self._running.discard(process)
        result.exit_code = process.returncode
        result.seconds = time.monotonic() - started
        result.peak_memory = usage.ru_maxrss * 1024  # kilobytes on Linux
        if not result.ok and not result.error:
            result.error = (f"stopped by signal {signal.Signals(-result.exit_code).name}" if result.exit_code < 0
                            else (other[-1] if other else f"exit code {result.exit_code}"))
        return result

    def stop(self) -> None:
        """Ask every running step to end (SIGTERM: each removes its temporary files and exits 143)."""
        self.stopping = True
        with self._lock:
            running = list(self._running)
        for process in running:
            try:
                process.terminate()
            except ProcessLookupError:
                pass


def _read_event(line: str, result: StepResult, other: list[str]) -> None:
    try:
        event = json.loads(line)
    except ValueError:
        if line.strip():
            other.append(line.strip())  # a library's own print: kept only to explain a crash
        return
    if not isinstance(event, dict):
        return
    if event.get("event") == "error":
        result.error = event.get("message") or event.get("kind", "")
    elif event.get("event") == "warning":
        result.warnings.append(str(event.get("message", "")))
    elif event.get("event") == "info":
        result.info = str(event.get("message", ""))


def wait_for_folder(out: Path, timeout: float = LOCK_WAIT_S) -> None:
    """Wait until no process holds the output folder `out` (up to `timeout`); the step itself
    refuses clearly if one still does."""
    lock = Path(out) / "work" / LOCK_FILE
    if not lock.is_file():
        return
    deadline = time.monotonic() + timeout
    try:
        with open(lock, "a", encoding="utf-8") as handle:
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return  # closing the file releases it at once
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        return
                    time.sleep(0.2)
    except OSError:
        return
