"""Import a user's subtitle file (SRT or WebVTT) as dialogue, and the descriptions it already holds.

The format is decided by the content: a file whose first line is `WEBVTT` is WebVTT, anything
else is read as SRT. Text is decoded as UTF-16 when it starts with a UTF-16 byte order mark,
otherwise as UTF-8 (with or without a BOM) and then as CP949, the superset of EUC-KR in which
most Korean SRT files are written. SRT is parsed with the `srt` package; WebVTT is parsed here,
because webvtt-py either drops a malformed cue without a word or, in strict mode, refuses
harmless cue settings, and neither tells the user which line is wrong.

Cue text is reduced to what is spoken: HTML-like tags (`<i>`, `<font ...>`, `<c.yellow>`,
`<v Speaker>`, ...), the reading text of `<ruby>` annotations, ASS override tags such as
`{\\an8}` and HTML entities are removed, lines are joined with a space and whitespace is
collapsed. Leading dialogue dashes ("- Hi") are kept as written: they mark a change of speaker
and dropping them would run two speakers' lines together.

Text in braces that does not start with a backslash, e.g. `{민수가 문을 열고 들어온다.}`, is an
audio description written by a person (the convention of Korean AD subtitle files). Each such
group becomes a ReferenceDescription with its cue's times and never becomes dialogue; whatever
else the cue says is still dialogue. Utterances and references know the line their cue starts on.
"""

from __future__ import annotations

import codecs
import html
import re
from collections.abc import Iterator
from pathlib import Path

import srt

from videodesc.errors import InputError
from videodesc.records import ReferenceDescription, Utterance

# Without a byte order mark UTF-8 goes first: it rejects nearly all text in other encodings,
# while CP949 accepts most byte pairs and would garble UTF-8 text without complaint.
_ENCODINGS = ("utf-8-sig", "cp949")
# Control characters never found in subtitle text; a decode that yields them is binary data
# (or UTF-16 without a BOM) that happened to be valid in that encoding.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")

_ASS_OVERRIDE = re.compile(r"\{\\[^{}]*\}")
_DESCRIPTION = re.compile(r"\{([^{}]*)\}")  # applied after ASS overrides are gone
_RUBY_TEXT = re.compile(r"<rt\b[^>]*>.*?</rt\s*>", re.IGNORECASE | re.DOTALL)
# A tag starts with a letter (or is a WebVTT timestamp tag) so that text like "I <3 you" survives.
_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<\d[\d:.]*>")

_VTT_HEADER = re.compile(r"WEBVTT(?=[ \t\n]|\Z)")
_VTT_TIME = r"(?:(\d+):)?([0-5]\d):([0-5]\d)\.(\d{3})"
# Anything after the end time is cue settings (`align:start line:0`), which do not matter here.
_VTT_TIMINGS = re.compile(rf"\s*{_VTT_TIME}\s*-->\s*{_VTT_TIME}(?:\s.*)?")
# Blocks that hold no cue: comments, style sheets and region definitions.
_VTT_SKIPPED_BLOCK = re.compile(r"(?:NOTE|STYLE|REGION)(?:\s|$)")


def read_text_file(path: Path, what: str) -> str:
    """A user's text file (subtitles, annotations) decoded by `decode_text`, with "\n" line ends.

    Raises InputError naming `what` when it is missing, a folder, unreadable, not text or empty.
    """
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(f"{what} does not exist") from None
    except IsADirectoryError:
        raise InputError(f"{what} is a folder, not a file") from None
    except OSError as exc:
        raise InputError(f"cannot read {what} ({exc.strerror or exc})") from None
    # Parsers split lines on "\n" only; old Mac files end lines with a bare "\r".
    text = re.sub(r"\r\n?", "\n", decode_text(data, what))
    if not text.strip():
        raise InputError(f"{what} is empty")
    return text


def read_subtitles(path: Path) -> tuple[list[Utterance], list[ReferenceDescription]]:
    """Read an SRT or WebVTT file into dialogue and reference descriptions, both sorted by start.

    Utterances have source "subtitle" and no word timings; cues left empty by markup removal are
    skipped. References carry the file's name as their source. Both know the line their cue
    starts on.

    Raises:
        InputError: the file is missing, unreadable, not text, empty, not SRT or WebVTT, or has a
            cue with bad timings. The message is one line naming the file.
    """
    path = Path(path)
    text = read_text_file(path, f"subtitle file {path}")
    if _VTT_HEADER.match(text):
        cues = _parse_vtt(text, path)
    elif path.suffix.lower() == ".vtt":
        # Parsed as SRT, WebVTT's short `mm:ss.ttt` times would be misread as hours and minutes.
        raise InputError(f"subtitle file {path}: a WebVTT file must start with a 'WEBVTT' line")
    else:
        cues = _parse_srt(text, path)
    if not cues:
        raise InputError(f"subtitle file {path} has no subtitle cues")

    utterances: list[Utterance] = []
    references: list[ReferenceDescription] = []
    for start, end, raw, line in cues:
        dialogue, descriptions = _split_cue(raw)
        references.extend(ReferenceDescription(start, end, d, source=path.name, line=line) for d in descriptions)
        if dialogue:
            utterances.append(Utterance(start, end, dialogue, "subtitle", line=line))
    utterances.sort(key=lambda u: (u.start, u.end))
    references.sort(key=lambda r: (r.start, r.end))
    return utterances, references


def decode_text(data: bytes, what: str) -> str:
    """Decode a user's text file: UTF-16 with a byte order mark, else UTF-8 (BOM or not), else CP949.

    Args:
        data: the file's bytes.
        what: the file as the error message should name it, e.g. "subtitle file a.srt".

    Raises:
        InputError: no encoding tried yields text.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings: tuple[str, ...] = ("utf-16",)  # the codec reads the BOM and drops it
    else:
        encodings = _ENCODINGS
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if not _CONTROL.search(text):
            return text
    raise InputError(f"{what} is not text in any encoding tried ({', '.join(encodings)})")


def _parse_srt(text: str, path: Path) -> list[tuple[float, float, str, int]]:
    try:
        subtitles = list(srt.parse(text))
    except srt.SRTParseError as exc:
        if "-->" not in text:
            raise InputError(f"subtitle file {path} is not an SRT or WebVTT file "
                             "(no 'start --> end' cue timings found)") from None
        unmatched = exc.unmatched_content
        offset = exc.expected_start + len(unmatched) - len(unmatched.lstrip())
        line_number = text.count("\n", 0, offset) + 1
        first_line = unmatched.strip().split("\n")[0][:60]
        raise InputError(f"subtitle file {path}, line {line_number}: "
                         f"not a valid SRT cue: {first_line!r}") from None
    # srt.TimestampParseError is a ValueError; absurdly large hours overflow timedelta.
    except (ValueError, OverflowError) as exc:
        raise InputError(f"subtitle file {path}: bad SRT timestamp ({exc})") from None
    cues = []
    for position, (subtitle, line) in enumerate(zip(subtitles, _srt_cue_lines(text), strict=True), start=1):
        # The number written above the cue, when there is one, is what the user can find.
        number = subtitle.index if subtitle.index is not None else position
        start, end = subtitle.start.total_seconds(), subtitle.end.total_seconds()
        if end < start:
            raise InputError(f"subtitle file {path}, line {line} (cue {number}): ends before it starts "
                             f"({srt.timedelta_to_srt_timestamp(subtitle.start)} --> "
                             f"{srt.timedelta_to_srt_timestamp(subtitle.end)})")
        cues.append((start, end, subtitle.content, line))
    return cues


def _srt_cue_lines(text: str) -> list[int]:
    """The line each SRT cue starts on (its number, or its timings when it has no number).

    `srt.parse` walks the text with `srt.SRT_REGEX`, one match per subtitle, but its Subtitle
    objects do not keep where they were found; the same matches give that position.
    """
    lines, line, position = [], 1, 0
    for match in srt.SRT_REGEX.finditer(text):
        cue = match.group(0)
        start = match.start() + len(cue) - len(cue.lstrip())  # the pattern starts by eating blank lines
        line += text.count("\n", position, start)
        position = start
        lines.append(line)
    return lines


def _parse_vtt(text: str, path: Path) -> list[tuple[float, float, str, int]]:
    cues = []
    blocks = _vtt_blocks(text.split("\n"))
    next(blocks)  # the WEBVTT line and its metadata lines (Kind:, Language:, ...)
    for line_number, lines in blocks:
        if _VTT_SKIPPED_BLOCK.match(lines[0]):
            continue
        # A cue is an optional identifier line, the timings line, then the text.
        if "-->" in lines[0]:
            timing_index = 0
        elif len(lines) > 1 and "-->" in lines[1]:
            timing_index = 1
        else:
            raise InputError(f"subtitle file {path}, line {line_number}: expected a cue "
                             f"('start --> end' timings), found {lines[0][:60]!r}")
        timings = lines[timing_index]
        where = f"subtitle file {path}, line {line_number + timing_index}"
        match = _VTT_TIMINGS.fullmatch(timings)
        if match is None:
            raise InputError(f"{where}: bad cue timings {timings[:60]!r} "
                             "(times are [hh:]mm:ss.ttt and cannot be negative)")
        start, end = _vtt_seconds(*match.groups()[:4]), _vtt_seconds(*match.groups()[4:])
        if end < start:
            raise InputError(f"{where}: the cue ends before it starts ({timings.strip()!r})")
        cues.append((start, end, "\n".join(lines[timing_index + 1:]), line_number))
    return cues


def _vtt_blocks(lines: list[str]) -> Iterator[tuple[int, list[str]]]:
    """Yield (first line number, lines) for each block of non-blank lines, the header first.

    As in the WebVTT parsing rules, a timings line that cannot belong to the current block (it
    already has its timings, or is the header) starts a new block even without a blank line.
    """
    block: list[str] = []
    first = 1
    in_header = True
    for number, line in enumerate(lines, start=1):
        starts_block = bool(block) and "-->" in line and (
            in_header or len(block) > 1 or "-->" in block[0])
        if not line.strip() or starts_block:
            if block:
                yield first, block
                block, in_header = [], False
        if line.strip():
            if not block:
                first = number
            block.append(line)
    if block:
        yield first, block


def _vtt_seconds(hours: str | None, minutes: str, seconds: str, millis: str) -> float:
    return (int(hours or 0) * 3_600_000 + int(minutes) * 60_000 + int(seconds) * 1000 + int(millis)) / 1000


def _split_cue(raw: str) -> tuple[str, list[str]]:
    """The dialogue of a cue and the descriptions (`{...}` groups) in it, all markup removed."""
    raw = _ASS_OVERRIDE.sub("", raw)
    descriptions = [_clean(group) for group in _DESCRIPTION.findall(raw)]
    dialogue = _clean(_DESCRIPTION.sub(" ", raw))
    return dialogue, [d for d in descriptions if d]


def _clean(text: str) -> str:
    text = _TAG.sub("", _RUBY_TEXT.sub("", text))
    # Entities are decoded after tags are removed, so an escaped "&lt;i&gt;" stays as text.
    return " ".join(html.unescape(text).split())
