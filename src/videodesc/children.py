"""What every program videodesc starts shares: it dies with the run, and its scratch files go too.

ffmpeg, Piper and espeak-ng run as separate processes. When videodesc is killed -- even by
SIGKILL, which runs no clean-up -- the kernel kills them with it (PR_SET_PDEATHSIG), so none goes
on writing a file nobody will publish. Their scratch folders in the system's temporary folder
carry the run's process id; a later run removes those of runs that are gone.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

_PR_SET_PDEATHSIG = 1
_PREFIX = "videodesc-"
# A folder of a process this system does not know may belong to a run in another PID namespace
# sharing /tmp (containers): only folders untouched this long are taken for leftovers.
STALE_AFTER_S = 600.0


def dies_with_parent() -> None:
    """In a child before it runs its program (subprocess's preexec_fn): SIGKILL when the videodesc
    that started it dies, however it dies. SIGKILL, not SIGTERM: on SIGTERM ffmpeg would still
    finish its file; the next run removes the half-written one."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def scratch_folder(kind: str) -> Path:
    """A new private folder in the system's temporary folder for a child's files (the caller
    removes it), after removing the `kind` folders that runs which no longer exist left behind.

    Args:
        kind: names the user ("piper", "espeak"): videodesc-KIND-PID-XXXXXXXX.
    """
    root = Path(tempfile.gettempdir())
    for folder in root.glob(f"{_PREFIX}{kind}-*-*"):
        pid = folder.name[len(_PREFIX) + len(kind) + 1:].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)) and _untouched(folder):
            shutil.rmtree(folder, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{kind}-{os.getpid()}-", dir=root))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _untouched(folder: Path) -> bool:
    try:
        return time.time() - folder.stat().st_mtime > STALE_AFTER_S
    except OSError:
        return False
