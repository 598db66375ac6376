"""The machine's processes as /proc lists them, for tests that check what a run leaves running."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class Process:
    pid: int
    parent: int
    state: str  # "R", "S", ..., "Z" for a zombie (finished, not yet reaped)
    command: str  # the command line, arguments joined by spaces ("" for a zombie)


def processes() -> list[Process]:
    """Every process that can be read (those that end while being read are left out)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The command name in the stat line is in parentheses and may hold spaces.
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except (OSError, IndexError):
            continue
        found.append(Process(int(entry.name), int(fields[1]), fields[0], command.strip()))
    return found
