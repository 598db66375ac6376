"""Dialogue as SRT and WebVTT text, for checking the dialogue timing in a player.

Pure string functions: the caller writes the files (atomically). Cues are numbered from 1 in the
order given, and times are rounded to the millisecond, so `read_subtitles` reads the text back
to the same texts and times.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

from videodesc.records import Utterance


def to_srt(utterances: Iterable[Utterance]) -> str:
    """SRT text: `1`, `00:01:02,345 --> 00:01:04,000`, the text, a blank line between cues."""
    return "\n".join(f"{number}\n{_timestamp(u.start, ',')} --> {_timestamp(u.end, ',')}\n{_one_line(u.text)}\n"
                     for number, u in enumerate(utterances, start=1))


def to_vtt(utterances: Iterable[Utterance]) -> str:
    """WebVTT text: the `WEBVTT` line, then cues like the SRT ones with `00:01:02.345` times."""
    # WebVTT reads "&" and "<" as markup, so they are written as entities.
    cues = "\n".join(f"{number}\n{_timestamp(u.start, '.')} --> {_timestamp(u.end, '.')}\n"
                     f"{html.escape(_one_line(u.text), quote=False)}\n"
                     for number, u in enumerate(utterances, start=1))
    return f"WEBVTT\n\n{cues}"


def _one_line(text: str) -> str:
    # A blank line inside a cue's text would end the cue and break the file.
    return " ".join(text.split())


def _timestamp(seconds: float, decimal_mark: str) -> str:
    if seconds < 0:
        raise ValueError(f"negative subtitle time {seconds}")
    milliseconds = round(seconds * 1000)
    hours, rest = divmod(milliseconds, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    whole_seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{whole_seconds:02d}{decimal_mark}{millis:03d}"
