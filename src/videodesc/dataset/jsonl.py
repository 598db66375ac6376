"""The dataset file: JSON Lines, one DatasetItem per line, UTF-8.

JSON Lines keeps a dataset of thousands of moments appendable and diff-able line by line, and
every error can name the file and line a person has to fix.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from videodesc.errors import InputError
from videodesc.records import SCHEMA_VERSION, DatasetItem, SchemaError, from_dict, to_dict
from videodesc.workfolder import atomic_path


def write_items(path: Path, items: Iterable[DatasetItem]) -> int:
    """Write `items` to `path` atomically; the number written."""
    count = 0
    with atomic_path(Path(path)) as tmp, open(tmp, "w", encoding="utf-8") as out:
        for item in items:
            out.write(json.dumps(to_dict(item), ensure_ascii=False) + "\n")
            count += 1
    return count


def read_json_lines(path: Path, what: str) -> list[tuple[int, object]]:
    """(line number, parsed value) of each non-blank line of a UTF-8 JSON Lines file.

    Raises InputError naming `what` (missing, unreadable, not UTF-8), or the file and line (not JSON).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{what} {path} does not exist") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 JSON Lines ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise InputError(f"{what} {path} cannot be read: {exc.strerror}") from None
    values = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            values.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{number}: not JSON ({exc.msg})") from None
    return values


def read_items(path: Path) -> list[DatasetItem]:
    """The items of a dataset file; one InputError naming the file and line for anything malformed."""
    path = Path(path)
    items = []
    for number, data in read_json_lines(path, "dataset"):
        where = f"{path}:{number}"
        if not isinstance(data, dict) or data.get("schema_version", SCHEMA_VERSION) != SCHEMA_VERSION:
            raise InputError(f"{where}: not a dataset item of schema version {SCHEMA_VERSION}")
        try:
            item = from_dict(DatasetItem, data)
        except SchemaError as exc:
            raise InputError(f"{where}: {exc}") from None
        if not (0 <= item.start < item.end):
            raise InputError(f"{where}: bad times {item.start}-{item.end}")
        if not item.reference.strip():
            raise InputError(f"{where}: empty reference text")
        items.append(item)
    if not items:
        raise InputError(f"dataset {path} holds no items")
    return items
