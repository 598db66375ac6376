"""What a batch is made of: the videos named by files, folders and list files, each with its own
output folder name and the options it differs in.

A list file is a `.txt` (one path a line; blank lines and `#` comments skipped) or a `.csv` with
a header row: `path` and, per video, any of `lang`, `subtitles`, `cast` and `name` (the output
folder's name). Paths in a list are relative to the list's folder.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from videodesc.errors import InputError
from videodesc.media import MEDIA_SUFFIXES
from videodesc.speech.subtitles import read_text_file

LIST_SUFFIXES = (".txt", ".csv", ".lst", ".list")
COLUMNS = ("path", "lang", "subtitles", "cast", "name")  # of a CSV list
LANGUAGES = ("ko", "en", "auto")


@dataclass
class BatchVideo:
    """One video of a batch.

    Attributes:
        video: the file, absolute.
        name: the name of its output folder under the batch's OUTDIR.
        overrides: the options this video differs in from the batch's (lang, subtitles, cast).
    """

    video: Path
    name: str = ""
    overrides: dict[str, str] = field(default_factory=dict)


def collect(inputs: list[Path], earlier_names: dict[str, str] | None = None,
            reserved: tuple[str, ...] = ()) -> list[BatchVideo]:
    """The videos that `inputs` name, in the order given (a folder's in sorted order), each once,
    with unique output folder names.

    Args:
        inputs: video files, folders (searched, subfolders too, for media files) and list files.
        earlier_names: output folder names an earlier run of this batch gave, by video path: kept,
            so that a rerun finds its work even when new videos have joined.
        reserved: names no video may take (the batch's own folders).

    Raises:
        InputError: an input that does not exist, a list that cannot be read, or no video at all.
    """
    found: list[BatchVideo] = []
    for given in inputs:
        path = Path(given).expanduser()
        if path.is_dir():
            found += [BatchVideo(p.absolute()) for p in sorted(path.rglob("*"))
                      if p.is_file() and p.suffix.lower() in MEDIA_SUFFIXES and not _hidden(p, path)]
        elif path.is_file() and path.suffix.lower() in LIST_SUFFIXES:
            found += read_list(path)
        elif path.is_file():
            found.append(BatchVideo(path.absolute()))
        else:
            raise InputError(f"{path}: no such file or folder")
    unique: dict[Path, BatchVideo] = {}
    for item in found:
        unique.setdefault(item.video.resolve(), item)
    videos = list(unique.values())
    if not videos:
        raise InputError(f"no video found in {', '.join(str(p) for p in inputs)} "
                         f"(looked for {', '.join(sorted(MEDIA_SUFFIXES))})")
    name_videos(videos, earlier_names or {}, reserved)
    return videos


def _hidden(path: Path, root: Path) -> bool:
    """Inside a hidden folder, or hidden itself (a `.part` or an editor's backup)."""
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def read_list(path: Path) -> list[BatchVideo]:
    """The videos of a list file (see the module docstring)."""
    text = read_text_file(path, f"list file {path}")  # UTF-8, UTF-16 or cp949, like subtitles
    base = path.parent.absolute()
    if path.suffix.lower() != ".csv":
        return [BatchVideo(_resolve(base, line.strip(), path, number))
                for number, line in enumerate(text.splitlines(), start=1)
                if line.strip() and not line.lstrip().startswith("#")]
    reader = csv.DictReader(io.StringIO(text))
    header = [column.strip().lower() for column in reader.fieldnames or []]
    if "path" not in header:
        raise InputError(f"{path}: a CSV list needs a header row with a 'path' column (and any of "
                         f"{', '.join(COLUMNS[1:])})")
    unknown = [column for column in header if column not in COLUMNS]
    if unknown:
        raise InputError(f"{path}: unknown column {unknown[0]!r}; the columns are {', '.join(COLUMNS)}")
    reader.fieldnames = header
    videos = []
    for number, row in enumerate(reader, start=2):
        values = {key: (value or "").strip() for key, value in row.items() if key is not None}
        if not values.get("path"):
            if any(values.values()):
                raise InputError(f"{path}, line {number}: no path")
            continue
        overrides = {}
        if values.get("lang"):
            if values["lang"] not in LANGUAGES:
                raise InputError(f"{path}, line {number}: lang must be one of {', '.join(LANGUAGES)}, "
                                 f"not {values['lang']!r}")
            overrides["lang"] = values["lang"]
        for key in ("subtitles", "cast"):
            if values.get(key):
                overrides[key] = str(_resolve(base, values[key], path, number))
        item = BatchVideo(_resolve(base, values["path"], path, number), overrides=overrides)
        if values.get("name"):
            item.name = _folder_name(values["name"])
        videos.append(item)
    return videos


def _resolve(base: Path, text: str, listed_in: Path, number: int) -> Path:
    target = (base / Path(text).expanduser()).absolute()
    if not target.is_file():
        raise InputError(f"{listed_in}, line {number}: {text}: no such file")
    return target


def name_videos(videos: list[BatchVideo], earlier: dict[str, str], reserved: tuple[str, ...] = ()) -> None:
    """Give each video a unique output folder name: the one it had before, the one its list row
    gives, its file name's stem, or -- when stems clash -- the stem after its folders' names
    (`season1-ep01`), numbered as a last resort."""
    taken: set[str] = set(reserved)
    for item in videos:
        name = item.name or earlier.get(str(item.video), "")
        if name and name not in taken:
            item.name = name
            taken.add(name)
        else:
            item.name = ""
    stems: dict[str, int] = {}
    for item in videos:
        stem = _folder_name(item.video.stem)
        stems[stem] = stems.get(stem, 0) + 1
    for item in videos:
        if item.name:
            continue
        stem = _folder_name(item.video.stem)
        candidates = [stem] if stems[stem] == 1 else []
        parents = [p.name for p in item.video.parents if p.name]
        for depth in range(1, len(parents) + 1):
            candidates.append(_folder_name("-".join([*reversed(parents[:depth]), item.video.stem])))
        candidates += [f"{stem}-{number}" for number in range(2, len(videos) + 2)]
        item.name = next(c for c in candidates if c not in taken)
        taken.add(item.name)


def _folder_name(text: str) -> str:
    """A folder name from any text: letters (any script), digits and `._-` kept, at most 100 characters."""
    cleaned = re.sub(r"[^\w.\-]+", "_", text, flags=re.UNICODE).strip("._")
    return cleaned[:100] or "video"
