"""Running a batch on Ray: a local instance (`--ray`) or a cluster (`--ray ADDRESS`).

Each step of each video is one Ray task that asks for the cores and memory the step takes
(batch/steps.py NEEDS), so Ray puts the analysis of one video and the rendering of another on
different workers, and a video's next step waits for its last by depending on its result.
A task whose worker is lost (the process killed, the node gone) is run again by Ray elsewhere;
the step's work folder holds what the lost attempt finished, so the retry does only the rest.

Ray core tasks rather than Ray Data: the unit is a whole video's step of seconds to minutes,
with files on a shared path in and out, not a stream of rows, so a Dataset would add nothing
but a dependency on pyarrow. Every node needs the same videodesc install (the same Python
environment) and the inputs and OUTDIR at the same paths.
"""

from __future__ import annotations

import logging
import os
import re
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from videodesc.batch.steps import NEEDS, STEPS, StepResult, StepRunner
from videodesc.errors import InputError, ModelError

CONNECT_TIMEOUT_S = 5.0  # to see whether anything listens at a cluster's address
TRANSIENT_RETRIES = 2  # further attempts of a task whose child process or worker died
RAY_VERSION = "2.60.0"


class TransientStepFailure(Exception):
    """A step's process died of a signal nobody sent it on purpose: Ray tries the task again."""

    def __init__(self, result: StepResult):
        super().__init__(result.error)
        self.result = result


def _remote_step(step: str, argv: list[str], out: str, previous: StepResult | None) -> StepResult | None:
    """On a worker: run the step, unless the video's previous step failed (then None)."""
    if previous is not None and not previous.ok:
        return None
    result = StepRunner().run(step, argv, Path(out))
    if result.transient:
        raise TransientStepFailure(result)
    return result


def _import_ray() -> Any:
    # Ray's C++ core logs every reconnection attempt to stderr; its errors reach us as exceptions.
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "error")
    try:
        import ray
    except ImportError:
        raise ModelError(f"--ray needs the Python package ray: run `make setup`, or pip install "
                         f"'ray=={RAY_VERSION}'") from None
    return ray


def connect(address: str) -> tuple[Any, str]:
    """Start a local Ray instance (`address` "local") or join the cluster at `address`; returns
    the ray module and a description of what the batch runs on.

    Raises:
        InputError: the cluster cannot be reached.
    """
    local = address == "local"
    if not local:
        _check_reachable(address)
    ray = _import_ray()
    try:
        # A local instance listens on loopback only: nothing outside this machine can reach it.
        ray.init(address="local" if local else address, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.ERROR, configure_logging=True,
                 **({"_node_ip_address": "127.0.0.1"} if local else {}))
    except (ConnectionError, ValueError, RuntimeError, TimeoutError) as exc:
        raise InputError(f"cannot reach the Ray cluster at {address}: {str(exc).splitlines()[0]}") from None
    resources = ray.cluster_resources()
    where = "a local Ray instance" if local else f"the Ray cluster at {address}"
    return ray, (f"{where} (Ray {ray.__version__}, {len(ray.nodes())} node(s), {resources.get('CPU', 0):g} CPUs, "
                 f"{resources.get('memory', 0) / 2 ** 30:.1f} GiB for tasks)")


def _check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Refuse at once a HOST:PORT (or ray://HOST:PORT) where nothing listens: Ray itself keeps
    trying to reach a cluster's GCS for minutes. "auto" and other forms are left to Ray."""
    match = re.fullmatch(r"(?:ray://)?\[?([^\]/]+?)\]?:(\d+)/?", address.strip())
    if match is None:
        return
    host, port = match.group(1), int(match.group(2))
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = "no answer" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise InputError(f"cannot reach the Ray cluster at {address} ({reason}): start it with "
                         f"`ray start --head`, or give its address (HOST:6379 or ray://HOST:10001)") from None


def run_on_ray(ray: Any, plans: list[dict[str, list[str]]], outs: list[Path],
               on_step: Callable[[int, StepResult], None]) -> None:
    """Run every video's steps as Ray tasks, calling `on_step` with each step's result as it comes.

    A step lost more often than Ray retries it is reported failed with Ray's reason.
    """
    largest_node = max((node.get("Resources", {}).get("memory", 0) for node in ray.nodes() if node.get("Alive")),
                       default=0)
    remote_step = ray.remote(_remote_step)
    pending: dict[Any, tuple[int, str]] = {}
    for index, plan in enumerate(plans):
        previous = None
        for step in STEPS:
            if step not in plan:
                continue
            needs = NEEDS[step]
            # A request larger than every node would wait forever: it asks for the largest node then.
            memory = min(needs.memory, int(largest_node)) if largest_node else needs.memory
            ref = remote_step.options(num_cpus=needs.cpus, memory=memory, max_retries=TRANSIENT_RETRIES,
                                      retry_exceptions=[TransientStepFailure], name=f"videodesc {step}"
                                      ).remote(step, plan[step], str(outs[index]), previous)
            pending[ref] = (index, step)
            previous = ref
    failed: set[int] = set()
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
            for ref in ready:
                index, step = pending.pop(ref)
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    result = _failure(step, exc)
                if result is None or index in failed:
                    continue  # after an earlier step of the video failed
                if not result.ok:
                    failed.add(index)
                on_step(index, result)
    except BaseException:
        for ref in pending:
            ray.cancel(ref)
        raise


def _failure(step: str, exc: Exception) -> StepResult:
    """A step Ray could not finish: its child's own failure after the retries, or Ray's reason."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, TransientStepFailure):
        result = cause.result
        result.error += f" (tried {TRANSIENT_RETRIES + 1} times)"
        return result
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return StepResult(step, -1, 0.0, error=f"Ray: {type(exc).__name__}: {reason}")
