"""The work folder: each stage's results, keyed by its inputs and config, written atomically.

`OUT/work/<stage>-<key>.<ext>` holds what a stage made. The key is a hash of everything the
result depends on (the input's content hash, the stage's options, the stage's code version),
so a second run with the same inputs finds the file and skips the stage, and a run with other
options computes anew beside it. Files appear only complete: written to a temporary name in
the same folder and renamed, so an interrupted run never leaves a file that looks finished.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from videodesc.errors import InputError


def stage_key(*parts: Any) -> str:
    """A short stable hash of JSON-serialisable parts."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it onto `target` only on success.

    Works for files and folders: whatever the body creates at the temporary path replaces
    `target` when the body returns, and is removed when it raises.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # the body decides whether it makes a file or a folder
    try:
        yield tmp
        _replace(tmp, target)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


def _replace(tmp: Path, target: Path) -> None:
    """Put `tmp` in the place of `target`. A folder replaces an earlier folder (a re-rendered
    `speech/`), but a file never replaces a folder: `-o some_folder` must not wipe it."""
    if target.is_dir() and not target.is_symlink():
        if not tmp.is_dir():
            raise InputError(f"{target} is a folder: give the path of the file to write")
        shutil.rmtree(target)
    os.replace(tmp, target)


class OutputGroup:
    """Files and folders that appear together or not at all (the media of one render).

    `path(target)` gives a temporary path beside `target` for the body to write; when the `with`
    block ends without an error they are renamed onto their targets in the order asked for,
    which takes milliseconds; when it raises they are removed and the old outputs stay as they were.
    """

    def __init__(self) -> None:
        self._staged: list[tuple[Path, Path]] = []

    def path(self, target: Path) -> Path:
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        tmp.unlink()
        self._staged.append((tmp, target))
        return tmp

    def __enter__(self) -> OutputGroup:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        try:
            if kind is None:
                for tmp, target in self._staged:
                    _replace(tmp, target)
        finally:
            for tmp, _ in self._staged:
                if tmp.is_dir():
                    shutil.rmtree(tmp, ignore_errors=True)
                elif tmp.exists():
                    tmp.unlink()


def write_text_atomic(target: Path, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


class WorkFolder:
    """The `work/` folder inside an output folder."""

    def __init__(self, out: Path):
        self.out = Path(out)
        self.root = self.out / "work"

    def path(self, stage: str, key: str, suffix: str = ".json") -> Path:
        return self.root / f"{stage}-{key}{suffix}"

    def load_json(self, stage: str, key: str) -> Any | None:
        """The stage's cached JSON result, or None when it has not been computed (or is unreadable)."""
        path = self.path(stage, key)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def save_json(self, stage: str, key: str, data: Any) -> Path:
        path = self.path(stage, key)
        write_text_atomic(path, json.dumps(data, ensure_ascii=False, indent=1))
        return path
