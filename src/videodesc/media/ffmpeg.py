"""Running ffmpeg and ffprobe as programs (argument lists, never shell strings)."""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Sequence

from videodesc.errors import VideodescError


@functools.cache
def binary(name: str) -> str:
    """Path of `ffmpeg` or `ffprobe`: the system one (Debian's has every filter we use)."""
    found = shutil.which(name)
    if found is None:
        raise VideodescError(f"{name} not found on PATH: install it (Debian: apt-get install ffmpeg, or run `make setup`)")
    return found


def run(args: Sequence[str], what: str) -> subprocess.CompletedProcess:
    """Run ffmpeg quietly; raise VideodescError with ffmpeg's last error line on failure."""
    proc = subprocess.run([binary("ffmpeg"), "-nostdin", "-hide_banner", *args], capture_output=True)
    if proc.returncode != 0:
        raise VideodescError(f"{what} failed: {last_line(proc.stderr)}")
    return proc


def last_line(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    return lines[-1] if lines else "no message from ffmpeg"
