"""What `evaluate` reads: a script with its output folder, and a file of human references.

A script is evaluated in programme time, the time of the references and of timeline.json. A
script rendered with extended description holds output times (the picture paused for long
cues), so its times are mapped back through the pauses recorded in its provenance. Where a
cue is heard is its described span: from its start for its spoken duration once `render` has
measured it, else to its planned end.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from videodesc.errors import InputError
from videodesc.output.qc import QC_FILE, load_qc
from videodesc.records import (DatasetItem, SchemaError, Script, Timeline, load_script, load_timeline)
from videodesc.render.extend import parse_freezes, unshift
from videodesc.rendering import PAUSES

SCRIPT_FILE = "script.json"
TIMELINE_FILE = "timeline.json"


@dataclass
class System:
    """One script under evaluation and what its output folder holds beside it."""

    path: Path  # the script.json
    name: str  # what the table calls it: the name of its output folder
    script: Script  # cues in time order
    spans: list[tuple[float, float]]  # per cue, where it is heard, in programme time
    timeline: Timeline | None  # None when the folder holds no timeline.json
    mix: Path | None  # NAME.ad-mix.m4a when `render` has made it
    notes: list[str] = field(default_factory=list)
    qc: dict | None = None  # render's QC report (qc.json), when there is one


def load_system(path: Path) -> System:
    """The script at `path` (a script.json, or an output folder holding one), or one InputError."""
    path = Path(path)
    if path.is_dir():
        if not (path / SCRIPT_FILE).is_file():
            raise InputError(f"{path} holds no {SCRIPT_FILE}: run `videodesc write {path}` first")
        path = path / SCRIPT_FILE
    elif not path.is_file():
        raise InputError(f"script {path} does not exist")
    script = _read(path, load_script, "script")
    script.cues.sort(key=lambda cue: (cue.start, cue.end))
    freezes = parse_freezes(script.provenance.get(PAUSES))
    spans = []
    for cue in script.cues:
        heard_until = cue.start + cue.spoken_duration if cue.spoken_duration is not None else cue.end
        spans.append((unshift(cue.start, freezes), unshift(heard_until, freezes)))
    notes = []
    folder = path.parent
    timeline = None
    if (folder / TIMELINE_FILE).is_file():
        timeline = _read(folder / TIMELINE_FILE, load_timeline, "timeline")
    else:
        notes.append(f"{folder} holds no {TIMELINE_FILE}: the share of description over speech is not measured")
    mix = folder / f"{Path(script.media.path).stem}.ad-mix.m4a"
    name = folder.resolve().name if path.name == SCRIPT_FILE else path.stem
    qc = None
    if (folder / QC_FILE).is_file():
        try:
            qc = load_qc((folder / QC_FILE).read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            notes.append(f"{folder / QC_FILE} cannot be read ({exc}): its QC verdict is left out")
    return System(path, name or str(path), script, spans, timeline, mix if mix.is_file() else None, notes, qc)


def _read(path: Path, load: Callable[[str], Any], what: str) -> Any:
    """`load` applied to the text of `path`, every way it can fail turned into one InputError."""
    try:
        return load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} {path} is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{what} {path} is not JSON ({exc.msg} at line {exc.lineno})") from None
    except SchemaError as exc:
        raise InputError(f"{what} {path} cannot be read: {exc}") from None
    except OSError as exc:
        raise InputError(f"{what} {path} cannot be read: {exc.strerror}") from None


@dataclass
class References:
    """Human descriptions to compare a script with, in time order."""

    source: str  # the file they came from, for the report
    items: list[DatasetItem]


def load_references(path: Path, descriptions_only: bool = False) -> References:
    """The references in `path`: a dataset (.jsonl), or any file the dataset importers read
    (an SRT or WebVTT file with `{...}` description lines, a CSV of start, end and text).

    Args:
        descriptions_only: read a subtitle file without `{...}` lines as a description track,
            every cue a description (e.g. the descriptions.vtt of another system).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"reference file {path} does not exist")
    if path.suffix.lower() == ".jsonl":
        from videodesc.dataset.jsonl import read_items

        items = read_items(path)
    else:
        # Imported here: it brings the subtitle readers, which a .jsonl dataset does not need.
        from videodesc.dataset.importers import import_file

        items = import_file(path, language=None, descriptions_only=descriptions_only, context_lines=2, video=None)
    return References(str(path), sorted(items, key=lambda item: (item.start, item.end)))


def for_video(references: References, video: str) -> tuple[list[DatasetItem], str | None]:
    """The references for `video` and a note on those left out: a dataset may hold the
    references of many videos, and an item that names no video is taken to be for this one."""
    name = Path(video).name
    kept = [item for item in references.items if item.video is None or Path(item.video).name == name]
    if not kept:
        others = sorted({Path(item.video).name for item in references.items if item.video})
        raise InputError(f"no reference in {references.source} is for {name} (they are for "
                         f"{', '.join(others[:3])}{', ...' if len(others) > 3 else ''})")
    left_out = len(references.items) - len(kept)
    note = f"{left_out} of {len(references.items)} references in {references.source} are for other videos: left out"
    return kept, note if left_out else None


def references_from_timeline(timeline: Timeline, language: str) -> References | None:
    """The `{...}` description lines that `analyze --subtitles` kept, as references; None if there are none."""
    if not timeline.references:
        return None
    items = [DatasetItem(start=r.start, end=r.end, reference=r.text, language=timeline.language or language,
                         source=r.source) for r in timeline.references if r.text.strip() and r.end > r.start]
    if not items:
        return None
    return References(f"{TIMELINE_FILE} ({{...}} lines of the subtitles)",
                      sorted(items, key=lambda item: (item.start, item.end)))


def language_note(references: References, language: str) -> str | None:
    """A warning when most references are in another language than the script."""
    counts = Counter(item.language.split("-")[0].casefold() for item in references.items)  # "ko-KR" is "ko"
    main, count = counts.most_common(1)[0]
    if main != language.split("-")[0].casefold() and count * 2 > len(references.items):
        return (f"the references are in '{main}' and the script in '{language}': "
                "word and character scores compare different languages")
    return None
