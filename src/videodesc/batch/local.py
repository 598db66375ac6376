"""Running a batch on this machine: a pool of workers, each taking a video through its steps, and
a budget of cores and memory that every step holds while it runs.

With the budget, the analysis of one video and the rendering of another run side by side, but
two 2.5 GiB `write` steps do not start together on a machine that has room for one.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

from videodesc.batch.steps import GIB, NEEDS, STEPS, StepNeeds, StepResult, StepRunner

MEMORY_SHARE = 0.8  # of the memory available when the batch starts: the rest is the system's


class ResourcePool:
    """Cores and bytes that steps hold while they run. A step larger than the whole budget still
    runs, alone, rather than never."""

    def __init__(self, cpus: float, memory: int) -> None:
        self.cpus, self.memory = cpus, memory
        self._used_cpus, self._used_memory, self._holders = 0.0, 0, 0
        self._condition = threading.Condition()

    @contextlib.contextmanager
    def hold(self, needs: StepNeeds) -> Iterator[None]:
        with self._condition:
            self._condition.wait_for(lambda: self._holders == 0 or (
                self._used_cpus + needs.cpus <= self.cpus and self._used_memory + needs.memory <= self.memory))
            self._used_cpus += needs.cpus
            self._used_memory += needs.memory
            self._holders += 1
        try:
            yield
        finally:
            with self._condition:
                self._used_cpus -= needs.cpus
                self._used_memory -= needs.memory
                self._holders -= 1
                self._condition.notify_all()


def available_memory() -> int:
    """Bytes the system can give without swapping (MemAvailable), or all of it when unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def default_jobs(cpus: int | None = None, memory: int | None = None) -> int:
    """Workers for this machine: one per core, no more than the memory holds at the largest step."""
    cpus = cpus or len(os.sched_getaffinity(0))
    memory = memory if memory is not None else available_memory()
    largest = max(n.memory for n in NEEDS.values())
    return max(1, min(cpus, int(memory * MEMORY_SHARE // largest)))


def run_local(plans: list[dict[str, list[str]]], outs: list[Path], jobs: int, runner: StepRunner,
              on_step: Callable[[int, StepResult], None]) -> None:
    """Run every video's steps, `jobs` videos at a time, each step within the cores and memory.

    Args:
        plans: per video, the arguments of each of its steps (a step left out is not run).
        outs: per video, its output folder.
        on_step: called (from a worker thread) with the video's index and each step's result.
    """
    cpus = len(os.sched_getaffinity(0))
    pool = ResourcePool(max(cpus, jobs), max(int(available_memory() * MEMORY_SHARE), GIB))

    def one_video(index: int) -> None:
        for step in STEPS:
            if step not in plans[index] or runner.stopping:
                continue
            with pool.hold(NEEDS[step]):
                if runner.stopping:
                    return
                result = runner.run(step, plans[index][step], outs[index])
                if result.transient and not runner.stopping:  # once: a second death is no accident
                    result = runner.run(step, plans[index][step], outs[index])
            on_step(index, result)
            if not result.ok:
                return

    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="batch") as executor:
        futures: set[Future] = {executor.submit(one_video, index) for index in range(len(plans))}
        try:
            while futures:
                done, futures = wait(futures, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in done:
                    future.result()  # a bug in the batch itself surfaces here
        except BaseException:
            runner.stop()
            for future in futures:
                future.cancel()
            raise
