"""Progress reporting, kept apart from the work: stages call a Reporter, the CLI picks one.

Three reporters: bars on stderr for people (one per stage, with ETA), JSON lines for
machines (`--json`), and silence (`--quiet`). Warnings are shown by all but the silent one,
which still collects them so the caller can store them.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class StageProgress:
    """Handle given to a running stage; `update(done)` reports absolute progress."""

    def __init__(self, reporter: "Reporter", name: str, total: float | None):
        self.reporter = reporter
        self.name = name
        self.total = total
        self.done = 0.0

    def update(self, done: float) -> None:
        self.done = done
        self.reporter._on_update(self)


class Reporter:
    """Base reporter: records events and warnings, shows nothing."""

    def __init__(self) -> None:
        self.warnings: list[str] = []
        self.events: list[dict] = []

    @contextmanager
    def stage(self, name: str, total: float | None = None, unit: str = "s") -> Iterator[StageProgress]:
        progress = StageProgress(self, name, total)
        started = time.monotonic()
        self._on_start(progress, unit)
        ok = False
        try:
            yield progress
            ok = True
        finally:
            seconds = time.monotonic() - started
            self.events.append({"stage": name, "event": "done" if ok else "failed", "seconds": seconds})
            self._on_finish(progress, ok, seconds)

    def cached(self, name: str) -> None:
        """A stage found its result in the work folder and did nothing."""
        self.events.append({"stage": name, "event": "cached"})
        self._emit({"stage": name, "event": "cached"}, f"{name}: up to date")

    def warning(self, message: str) -> None:
        self.warnings.append(message)
        self._emit({"event": "warning", "message": message}, f"warning: {message}")

    def info(self, message: str) -> None:
        self._emit({"event": "info", "message": message}, message)

    def error(self, kind: str, message: str, exit_code: int) -> None:
        """How the run ended when it failed: "videodesc: KIND: MESSAGE" on stderr, shown by every
        reporter, --quiet included (JsonReporter writes it as its last JSON line instead).
        `kind` is "error" (the user's to fix), "internal error" or "interrupted"."""
        print(f"videodesc: {kind}: {message}" if message else f"videodesc: {kind}", file=sys.stderr, flush=True)

    # Hooks for subclasses.
    def _on_start(self, progress: StageProgress, unit: str) -> None:
        pass

    def _on_update(self, progress: StageProgress) -> None:
        pass

    def _on_finish(self, progress: StageProgress, ok: bool, seconds: float) -> None:
        pass

    def _emit(self, event: dict, text: str) -> None:
        pass


class BarReporter(Reporter):
    """tqdm bars on a terminal, one per stage; one line per finished stage when not a terminal."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        super().__init__()
        self.stream = stream
        self.interactive = stream.isatty()
        self._bars: dict[int, object] = {}

    def _on_start(self, progress: StageProgress, unit: str) -> None:
        if not self.interactive:
            return
        from tqdm import tqdm

        self._bars[id(progress)] = tqdm(
            total=progress.total, desc=progress.name, unit=unit, file=self.stream, delay=0.3,
            bar_format="{desc:>10}: {percentage:3.0f}%|{bar:30}| {n:.0f}/{total:.0f} {unit} [{elapsed}<{remaining}]"
            if progress.total else "{desc:>10}: {elapsed}",
        )

    def _on_update(self, progress: StageProgress) -> None:
        bar = self._bars.get(id(progress))
        if bar is not None:
            bar.n = min(progress.done, progress.total) if progress.total else progress.done
            bar.refresh()

    def _on_finish(self, progress: StageProgress, ok: bool, seconds: float) -> None:
        bar = self._bars.pop(id(progress), None)
        if bar is not None:
            if ok and progress.total:
                bar.n = progress.total
            bar.leave = ok  # a failed stage's bar gives way to the error message
            bar.close()
        elif ok and not self.interactive:
            print(f"{progress.name}: done in {seconds:.1f} s", file=self.stream, flush=True)

    def _emit(self, event: dict, text: str) -> None:
        print(text, file=self.stream, flush=True)


class JsonReporter(Reporter):
    """One JSON object per line on stderr, for machines."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        super().__init__()
        self.stream = stream
        self._last_update: dict[int, float] = {}

    def _on_start(self, progress: StageProgress, unit: str) -> None:
        self._emit({"stage": progress.name, "event": "start", "total": progress.total, "unit": unit}, "")

    def _on_update(self, progress: StageProgress) -> None:
        now = time.monotonic()
        if now - self._last_update.get(id(progress), 0.0) >= 1.0:  # at most one line a second
            self._last_update[id(progress)] = now
            self._emit({"stage": progress.name, "event": "progress", "done": progress.done,
                        "total": progress.total}, "")

    def _on_finish(self, progress: StageProgress, ok: bool, seconds: float) -> None:
        self._emit({"stage": progress.name, "event": "done" if ok else "failed",
                    "seconds": round(seconds, 3)}, "")

    def error(self, kind: str, message: str, exit_code: int) -> None:
        self._emit({"event": "error", "kind": kind, "message": message, "exit_code": exit_code}, "")

    def _emit(self, event: dict, text: str) -> None:
        # One write with its newline: print() writes the line and its end separately, and a signal
        # between the two (SIGTERM's exception) would glue the error event onto this line.
        self.stream.write(json.dumps(event, ensure_ascii=False) + "\n")
        self.stream.flush()
