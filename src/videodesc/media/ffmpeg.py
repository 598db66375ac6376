"""Running ffmpeg and ffprobe as programs (argument lists, never shell strings)."""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Sequence

from videodesc.children import dies_with_parent
from videodesc.errors import InputError, VideodescError

# What ffmpeg prints (strerror) when the system refuses a write, and what it means to the user:
# the machine's state, not a bug (exit 2 as for any OSError of the kind).
_SYSTEM_REFUSALS = {
    "No space left on device": "the disk is full",
    "Disk quota exceeded": "the disk quota is used up",
    "Read-only file system": "the file system is read-only",
    "Permission denied": "permission denied",
    "File name too long": "a file name is too long for the file system",
    "Too many open files": "too many open files",
}


@functools.cache
def binary(name: str) -> str:
    """Path of `ffmpeg` or `ffprobe`: the system one (Debian's has every filter we use)."""
    found = shutil.which(name)
    if found is None:
        raise VideodescError(f"{name} not found on PATH: install it (Debian: apt-get install ffmpeg, or run `make setup`)")
    return found


def run(args: Sequence[str], what: str) -> subprocess.CompletedProcess:
    """Run ffmpeg quietly; raise VideodescError with ffmpeg's last error line on failure.

    An exception while it runs (Ctrl-C, SIGTERM) kills it before the exception goes on: that is
    what subprocess.run does.
    """
    proc = subprocess.run([binary("ffmpeg"), "-nostdin", "-hide_banner", *args], capture_output=True,
                          preexec_fn=dies_with_parent)
    if proc.returncode != 0:
        text = proc.stderr.decode("utf-8", "replace")
        for message, meaning in _SYSTEM_REFUSALS.items():
            if message in text:
                where = _written_folder(args)
                raise InputError(f"{what} failed: {meaning}{f' ({where})' if where else ''}")
        raise VideodescError(f"{what} failed: {last_line(proc.stderr)}")
    return proc


def _written_folder(args: Sequence[str]) -> str | None:
    """The folder of the file ffmpeg was writing (its last argument), as the user knows it; None
    when it wrote to a pipe or the null muxer."""
    target = str(args[-1]) if args else "-"
    if target in ("-", "pipe:", "/dev/null") or "/" not in target:
        return None
    return target.rsplit("/", 1)[0] or "/"


def last_line(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    return lines[-1] if lines else "no message from ffmpeg"
