"""Turn files of human audio description into dataset items.

Three kinds of file, told apart by their content (a file named `.srt` or `.vtt` is always read
as subtitles, so that a broken one gets the subtitle reader's error rather than a CSV one):

- AD subtitle files, SRT or WebVTT, in which the describer's lines are in braces between the
  dialogue lines (`{민수가 문을 열고 들어온다.}`, the Korean AD convention). Read with
  `read_subtitles`; the dialogue around each description is kept as its context.
- Description tracks: subtitle files in which every cue is a description, without braces.
  Nothing in such a file tells it from a dialogue subtitle file, so it is read as one only when
  the caller says so (`descriptions_only`, the `--descriptions` option).
- CSV annotations with start, end and text columns, and optionally a column naming the video
  (the form public English AD annotations take, e.g. MAD and AudioVault). They hold no dialogue.

Whatever the kind, descriptions must have text, end after they start and not overlap one
another (per video); anything else is an InputError naming the file and the line.
"""

from __future__ import annotations

import bisect
import csv
import io
import re
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from videodesc.errors import InputError
from videodesc.records import DatasetItem, Utterance
from videodesc.speech.subtitles import read_subtitles, read_text_file

# A subtitle cue's timings line, `00:01:02,345 --> ...` (SRT) or `01:02.345 --> ...` (WebVTT).
_CUE_TIMINGS = re.compile(r"^\s*(?:\d+:)?\d+:\d+[,.]\d+\s*-->", re.MULTILINE)
_SUBTITLE_SUFFIXES = (".srt", ".vtt")
# Timings in a cue's text: the SRT reader takes a cue whose timings it cannot read as more text
# of the cue before, so this is how an unreadable time shows.
_TIMINGS_IN_TEXT = re.compile(r"\S*\d\S*\s*-->\s*\S*\d\S*")

# CSV header names, compared without case, spaces, underscores, hyphens or dots, so that
# "Start Time", "start_time" and "startTime" are one name. When a file has several columns of one
# kind (AudioVault-style files name the movie twice), the first name in this order wins.
_COLUMN_NAMES = {
    "start": ("start", "starttime", "begin", "startsec", "startseconds"),
    "end": ("end", "endtime", "stop", "endsec", "endseconds"),
    "text": ("text", "description", "caption", "sentence", "adtext"),
    "video": ("video", "videopath", "videoid", "videoname", "movie", "moviename", "movieid", "film",
              "imdbid", "vid"),
}
_REQUIRED_COLUMNS = ("start", "end", "text")
_CSV_DELIMITERS = ",\t;"
_SECONDS = re.compile(r"\d+(?:\.\d*)?|\.\d+")
_CLOCK = re.compile(r"(?:(\d+):)?(\d+):(\d+(?:[.,]\d*)?)")  # HH:MM:SS(.mmm) or MM:SS(.mmm)
_TIME_FORMS = "seconds, MM:SS(.mmm) or HH:MM:SS(.mmm)"

_HANGUL_SYLLABLE = re.compile(r"[\uac00-\ud7a3]")
# The rule `analyze` uses for subtitles: a Hangul syllable is a whole syllable while Latin counts
# letter by letter, so Korean with English names stays far above this and English quoting a
# Korean word far below.
_KOREAN_SHARE = 0.3


class _Description(NamedTuple):
    start: float
    end: float
    text: str
    line: int  # where it starts in its file, 1-based
    video: str | None = None  # the video a CSV row names


def import_file(path: Path | str, language: str | None = None, descriptions_only: bool = False,
                context_lines: int = 2, video: Path | str | None = None) -> list[DatasetItem]:
    """The human descriptions in one AD subtitle file, description track or CSV annotation file.

    Args:
        path: the file to read.
        language: the language of the descriptions; None detects it from their text ("ko" when
            Hangul makes up a fair share of the letters, else "en").
        descriptions_only: read a subtitle file without any `{...}` line as a description track
            (every cue a description) instead of refusing it. Files with `{...}` lines are AD
            subtitle files either way.
        context_lines: how many lines of dialogue before and after each description to keep.
        video: the video the file describes, recorded in every item. A CSV file with a video
            column names its videos itself and cannot take one.

    Returns:
        One item per description, sorted by start (a CSV file's grouped per video, in the
        order the videos first appear). Sources are "name:line".

    Raises:
        InputError: the file is missing, unreadable, not UTF-8/CP949/UTF-16 text, empty, holds
            no descriptions, or holds a malformed one; one line naming the file and the line.
    """
    if context_lines < 0:
        raise ValueError(f"context_lines must not be negative, got {context_lines}")
    path = Path(path)
    text = read_text_file(path, str(path))
    if path.suffix.lower() in _SUBTITLE_SUFFIXES or text.startswith("WEBVTT") or _CUE_TIMINGS.search(text):
        descriptions, dialogue = _from_subtitles(path, descriptions_only)
    else:
        descriptions, dialogue = _from_csv(path, text), []
        if video is not None and any(d.video is not None for d in descriptions):
            raise InputError(f"{path} names its videos in a column; a video cannot be given for it as well")
    if not descriptions:
        raise InputError(f"{path} holds no descriptions")
    _check(path, descriptions)

    language = language or _detect_language(d.text for d in descriptions)
    given_video = None if video is None else str(video)
    by_end = sorted(dialogue, key=lambda u: (u.end, u.start))
    end_times = [u.end for u in by_end]
    start_times = [u.start for u in dialogue]  # read_subtitles sorts dialogue by start
    items = []
    for d in _in_order(descriptions):
        ended = bisect.bisect_right(end_times, d.start)  # lines ending at or before the start
        before = by_end[max(0, ended - context_lines):ended]
        starting = bisect.bisect_left(start_times, d.end)  # the first line starting at or after the end
        after = dialogue[starting:starting + context_lines]
        items.append(DatasetItem(
            start=d.start, end=d.end, reference=d.text, language=language, source=f"{path.name}:{d.line}",
            dialogue_before=[u.text for u in before], dialogue_after=[u.text for u in after],
            video=d.video or given_video))
    return items


def _from_subtitles(path: Path, descriptions_only: bool) -> tuple[list[_Description], list[Utterance]]:
    """The descriptions of a subtitle file and the dialogue around them."""
    utterances, references = read_subtitles(path)
    for cue in [*utterances, *references]:
        timings = _TIMINGS_IN_TEXT.search(cue.text)
        if timings:
            raise InputError(f"{path}:{cue.line}: bad cue timings {timings.group(0)!r} in the text of this cue")
    if not references:
        if not descriptions_only:
            raise InputError(f"{path} holds no description lines ({{...}}); if every cue is a description "
                             "(a description track), use --descriptions")
        return [_Description(u.start, u.end, u.text, u.line) for u in utterances], []
    # Two `{...}` groups in one cue describe one moment: they become one description.
    by_cue: dict[int, _Description] = {}
    for r in references:
        earlier = by_cue.get(r.line)
        by_cue[r.line] = (_Description(r.start, r.end, r.text, r.line) if earlier is None
                          else earlier._replace(text=f"{earlier.text} {r.text}"))
    return list(by_cue.values()), utterances


def _from_csv(path: Path, text: str) -> list[_Description]:
    """The rows of a CSV annotation file, in file order."""
    header_line = next(line for line in text.split("\n") if line.strip())
    delimiter = max(_CSV_DELIMITERS, key=header_line.count)  # the one the header uses most
    # Strict, so that an unclosed quote is an error rather than a cell swallowing every later row.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    descriptions: list[_Description] = []
    columns: dict[str, int] | None = None
    consumed = 0  # lines the reader has used up: a quoted cell may span several
    try:
        for row in reader:
            line, consumed = consumed + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if columns is None:
                columns = _columns(path, line, row)
                continue
            descriptions.append(_csv_row(path, line, row, columns))
    except csv.Error as exc:
        raise InputError(f"{path}:{consumed + 1}: not valid CSV ({exc})") from None
    return descriptions


def _columns(path: Path, line: int, header: list[str]) -> dict[str, int]:
    """Which column holds what: start, end, text and, when there is one, video."""
    index_of: dict[str, int] = {}
    for index, name in enumerate(header):
        index_of.setdefault(re.sub(r"[\s_.-]", "", name.casefold()), index)
    columns = {}
    for kind, names in _COLUMN_NAMES.items():
        found = next((index_of[name] for name in names if name in index_of), None)
        if found is not None:
            columns[kind] = found
    missing = [kind for kind in _REQUIRED_COLUMNS if kind not in columns]
    if len(missing) == len(_REQUIRED_COLUMNS):
        raise InputError(f"{path}:{line}: neither subtitles ('start --> end' cue timings) nor a CSV header "
                         f"with start, end and text columns (found {', '.join(header)[:80]!r})")
    if missing:
        expected = "; ".join(f"{kind}: {', '.join(_COLUMN_NAMES[kind])}" for kind in missing)
        raise InputError(f"{path}:{line}: the CSV header has no {' or '.join(missing)} column "
                         f"(names taken, in any case: {expected})")
    return columns


def _csv_row(path: Path, line: int, row: list[str], columns: dict[str, int]) -> _Description:
    where = f"{path}:{line}"

    def cell(kind: str) -> str:
        index = columns[kind]
        return row[index].strip() if index < len(row) else ""

    start, end = _csv_time(where, "start", cell("start")), _csv_time(where, "end", cell("end"))
    text = " ".join(cell("text").split())  # a quoted cell may hold line breaks
    if not text:
        raise InputError(f"{where}: empty description text")
    video = None
    if "video" in columns:
        video = cell("video")
        if not video:
            raise InputError(f"{where}: the video column is empty")
    return _Description(start, end, text, line, video)


def _csv_time(where: str, what: str, value: str) -> float:
    if not value:
        raise InputError(f"{where}: no {what} time")
    if value.startswith("-") and _parse_time(value[1:]) is not None:
        raise InputError(f"{where}: negative {what} time {value!r}")
    seconds = _parse_time(value)
    if seconds is None:
        raise InputError(f"{where}: bad {what} time {value!r} ({_TIME_FORMS})")
    return seconds


def _parse_time(value: str) -> float | None:
    """Seconds from `12.5`, `01:02.5` or `1:01:02.500`; None when it is none of these."""
    if _SECONDS.fullmatch(value):
        return float(value)
    match = _CLOCK.fullmatch(value)
    if match is None:
        return None
    hours, minutes, seconds = match.group(1), int(match.group(2)), float(match.group(3).replace(",", "."))
    # Minutes may run past 59 only without hours: a two-hour film timed as 75:30 is MM:SS.
    if seconds >= 60 or (hours is not None and minutes >= 60):
        return None
    # Rounded to the microsecond so that 01:01.1 is 61.1, not 61.100000000000001.
    return round(int(hours or 0) * 3600 + minutes * 60 + seconds, 6)


def _check(path: Path, descriptions: list[_Description]) -> None:
    """Refuse a description that ends before it starts, or overlaps another of the same video."""
    for d in descriptions:
        if d.end <= d.start:
            raise InputError(f"{path}:{d.line}: bad times: the description ends at {_clock(d.end)}, "
                             f"not after its start {_clock(d.start)}")
    latest_end: dict[str | None, _Description] = {}  # per video, the description that ends last so far
    for d in sorted(descriptions, key=lambda d: (d.start, d.end, d.line)):
        previous = latest_end.get(d.video)
        if previous is not None and d.start < previous.end:
            raise InputError(f"{path}:{d.line}: the description overlaps the one at line {previous.line} "
                             f"({_clock(previous.start)}-{_clock(previous.end)} and "
                             f"{_clock(d.start)}-{_clock(d.end)})")
        if previous is None or d.end > previous.end:
            latest_end[d.video] = d


def _in_order(descriptions: list[_Description]) -> list[_Description]:
    """Grouped by video in the order the videos first appear, each group sorted by start."""
    first_seen = {}
    for d in descriptions:
        first_seen.setdefault(d.video, len(first_seen))
    return sorted(descriptions, key=lambda d: (first_seen[d.video], d.start, d.end, d.line))


def _detect_language(texts: Iterable[str]) -> str:
    letters = hangul = 0
    for text in texts:
        letters += sum(ch.isalpha() for ch in text)
        hangul += len(_HANGUL_SYLLABLE.findall(text))
    return "ko" if letters and hangul / letters > _KOREAN_SHARE else "en"


def _clock(seconds: float) -> str:
    whole, millis = divmod(round(seconds * 1000), 1000)
    return f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}.{millis:03d}"
