"""The work folder: each stage's results, keyed by its inputs and config, written atomically.

`OUT/work/<stage>-<key>.<ext>` holds what a stage made. The key is a hash of everything the
result depends on (the input's content hash, the stage's options, the stage's code version),
so a second run with the same inputs finds the file and skips the stage, and a run with other
options computes anew beside it. Files appear only complete: written to a temporary name in
the same folder and renamed, so an interrupted run never leaves a file that looks finished.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from videodesc.errors import InputError


def stage_key(*parts: Any) -> str:
    """A short stable hash of JSON-serialisable parts."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def staging_path(target: Path) -> Path:
    """A free temporary path beside `target`, ".NAME.XXXXXXXX.part", that nothing exists at yet:
    the caller decides whether it makes a file or a folder there.

    Only a name is chosen, no file made: a signal between making a placeholder and removing it
    would leave one behind, before the caller's clean-up is in place. Within one output folder
    (held by one run) nobody else takes the name.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
        if not tmp.exists() and not tmp.is_symlink():
            return tmp


def staged_name(name: str) -> str:
    """The name `staging_path` gives a file called `name` (eight hex characters added): the
    longest name any output is written under."""
    return f".{name}.XXXXXXXX.part"


def published_path(path: Path | str) -> Path:
    """The output a staging path stands for (".NAME.XXXXXXXX.part" -> NAME); any other path as it is."""
    path = Path(str(path))
    match = re.fullmatch(r"\.(.+)\.[^.]+\.part", path.name)
    return path.with_name(match.group(1)) if match else path


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it onto `target` only on success.

    Works for files and folders: whatever the body creates at the temporary path replaces
    `target` when the body returns, and is removed when it raises.
    """
    target = Path(target)
    tmp = staging_path(target)
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
        tmp = staging_path(target)
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


SCRIPT_HASH = "script.sha256"  # in work/: the hash of the script.json videodesc wrote last


def note_script_written(out: Path, text: str) -> None:
    """Remember what videodesc wrote as OUT/script.json, so that a later change to it is known
    for a person's edit (see `keep_edited_script`)."""
    write_text_atomic(Path(out) / "work" / SCRIPT_HASH, hashlib.sha256(text.encode("utf-8")).hexdigest() + "\n")


def keep_edited_script(out: Path) -> Path | None:
    """Before OUT/script.json is written anew: when it is not what videodesc wrote last (a person
    edited it), copy it to OUT/script.edited-YYYYMMDD-HHMMSS.json and return that path; else None.

    A script.json with no record of what was written (from a videodesc before the record) counts
    as edited: a copy too many costs less than lost edits.
    """
    script = Path(out) / "script.json"
    if not script.is_file():
        return None
    data = script.read_bytes()
    recorded = Path(out) / "work" / SCRIPT_HASH
    if recorded.is_file() and recorded.read_text(encoding="utf-8").strip() == hashlib.sha256(data).hexdigest():
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup = Path(out) / f"script.edited-{stamp}.json"
    number = 1
    while backup.exists():
        number += 1
        backup = Path(out) / f"script.edited-{stamp}-{number}.json"
    with atomic_path(backup) as tmp:
        tmp.write_bytes(data)
    return backup


def check_output_folder(out: Path) -> None:
    """Refuse an output folder we cannot create or write into, before any work is done."""
    existing = out
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise InputError(f"output folder {out}: {existing} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise InputError(f"output folder {out} is not writable ({exc.strerror or exc})") from exc


LOCK_FILE = ".videodesc.lock"  # in OUT/work/, held by the run that writes into OUT
# What an interrupted run leaves: atomic_path's and OutputGroup's ".NAME.XXXX.part" files and
# folders, and the scratch folders of the mix and the mux.
_LEFTOVER_PATTERNS = (".*.part", ".mix-*", ".mux-*")


@contextlib.contextmanager
def exclusive(out: Path) -> Iterator[int]:
    """Hold the output folder `out` for this run (creating it), and first remove what earlier,
    interrupted runs left in it; yields the bytes removed. When the run fails in a folder it
    created before it finished any work there, the folder goes with it.

    The lock is an advisory `flock` on OUT/work/.videodesc.lock, which the kernel releases when the
    process ends however it ends (kill -9 included), so a stale lock never blocks a rerun.

    Raises:
        InputError: `out` is a file, or another run holds the folder.
    """
    out = Path(out)
    check_output_folder(out)
    created = not out.exists()
    try:
        (out / "work").mkdir(parents=True, exist_ok=True)
        handle = open(out / "work" / LOCK_FILE, "a+", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"output folder {out} is not writable ({exc.strerror or exc})") from exc
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip()
            raise InputError(f"another videodesc run{f' (process {holder})' if holder else ''} is writing into "
                             f"{out}: wait for it to finish, or give another output folder") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield remove_leftovers(out)
    except BaseException:
        # A failed or stopped run into a new folder leaves no empty folder behind; what it finished
        # (every file is whole: written under a temporary name) stays for the rerun to take up.
        empty = created and not _finished_work(out)  # decided while the lock is still held
        handle.close()
        if empty:
            shutil.rmtree(out, ignore_errors=True)
        raise
    finally:
        handle.close()  # closing releases the lock


def _finished_work(out: Path) -> bool:
    """Whether `out` holds a file that is neither the lock nor an interrupted write's leftover."""
    remove_leftovers(out)
    return any(path.is_file() and path.name != LOCK_FILE for path in out.rglob("*"))


def remove_leftovers(out: Path) -> int:
    """Remove the temporary files and folders interrupted runs left anywhere in `out`; the bytes freed.
    Only safe while holding `exclusive(out)`: a running write's temporary files look the same."""
    freed = 0
    found = {path for pattern in _LEFTOVER_PATTERNS for path in Path(out).rglob(pattern)}
    for path in sorted(found, key=lambda p: len(p.parts)):
        if not path.exists() and not path.is_symlink():
            continue  # inside a leftover folder already removed
        if path.is_dir() and not path.is_symlink():
            freed += sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())
            shutil.rmtree(path, ignore_errors=True)
        else:
            freed += path.lstat().st_size
            path.unlink(missing_ok=True)
    return freed
