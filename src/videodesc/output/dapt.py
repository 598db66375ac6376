"""W3C DAPT documents: a Script as an audio description script of TTML2, and DAPT documents read back.

DAPT (Dubbing and Audio description Profiles of TTML2, W3C Candidate Recommendation) is the
exchange format of audio description tools: other tools can read, edit, voice or mix what
videodesc wrote, and videodesc can render what they wrote. How a Script maps onto it:

- the root `tt` names the DAPT content profile (`ttp:contentProfiles`), the script's language
  (`xml:lang`, DAPT's Primary Language), what the script represents (`daptm:scriptRepresents`:
  `visual.nonText`, and `visual.text` when a cue reads out text on screen; `audio.dialogue` is
  what dubbing scripts represent) and the stage of the workflow (`daptm:scriptType`:
  `preRecording` after `write`, `asRecorded` once `render` has spoken the cues);
- each cue is a Script Event, a `div` with a unique `xml:id`, `begin` and `end` and its
  `daptm:represents`, holding its Text, a `p` with `xml:lang`;
- once recorded, the `p` holds an `audio` element naming the cue's spoken WAV (an Audio
  Recording, relative to the document, which sits in the output folder beside `speech/`), and
  the programme's ducking is written as Mixing Instructions of the Script Event: `animate`
  elements varying `tta:gain` on the `div`. DAPT's audio model routes the programme sound
  through the Script Event's gain before the Text mixes its own audio in, so a gain there
  lowers the programme and not the description. The ramp into the duck comes before the cue
  is spoken and the ramp out after it, so the `div` spans the ramps and the `p` is timed
  inside it, as in the specification's own mixing example.

All times are offset times in seconds (DAPT asks for one syntax throughout a document), from
the start of the programme (the media time base) or, inside a `div`, from the `div`'s begin.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape, quoteattr

from videodesc.errors import InputError
from videodesc.records import Cue, Script

TT = "http://www.w3.org/ns/ttml"
TTP = "http://www.w3.org/ns/ttml#parameter"
TTA = "http://www.w3.org/ns/ttml#audio"
TTM = "http://www.w3.org/ns/ttml#metadata"
DAPTM = "http://www.w3.org/ns/ttml/profile/dapt#metadata"
XML = "http://www.w3.org/XML/1998/namespace"
# Where videodesc keeps what DAPT has no word for (foreign metadata, which DAPT permits).
VIDEODESC = "urn:videodesc:dapt"

CONTENT_PROFILE = "http://www.w3.org/ns/ttml/profile/dapt1.0/content"
# Designators that drafts of DAPT used before the Candidate Recommendation: documents of tools
# written against them are still DAPT documents.
_DRAFT_PROFILES = {"http://www.w3.org/ns/ttml/profile/dapt1.0", "http://www.w3.org/ns/dapt/profile/content"}

NON_TEXT = "visual.nonText"
TEXT = "visual.text"
AUDIO_TYPE = "audio/wave"  # the cues' WAV files, as the specification's examples name them
# A ramp is written as straight steps of gain of at most this many dB: render ramps linearly in
# dB, while TTML2 interpolates the values of an animation linearly in gain.
_RAMP_STEP_DB = 2.0

Stage = Literal["preRecording", "asRecorded"]


@dataclass(frozen=True)
class Ducking:
    """How render lowered the programme: what `render/mix.py` did, in the time of the outputs.

    windows: the stretches in which the programme was fully ducked (MixReport.duck_windows);
    duck_db: its gain there; ramp: seconds of fade before each window and after it;
    duration: seconds of the mix (the ramps stop at its ends).
    """

    windows: Sequence[tuple[float, float]]
    duck_db: float
    ramp: float
    duration: float


@dataclass(frozen=True)
class DaptEvent:
    """One Script Event read from a DAPT document: its Text and when it is active.

    begin and end are seconds on the media timeline; end is None when the document leaves it
    open (indefinite). represents is the computed `daptm:represents`, None when nothing says.
    """

    begin: float
    end: float | None
    text: str
    language: str
    represents: str | None
    id: str | None = None


@dataclass(frozen=True)
class DaptDocument:
    language: str  # the Primary Language (xml:lang of tt)
    script_type: str | None
    script_represents: list[str]
    events: list[DaptEvent]
    pauses: str | None = None  # videodesc's extended-description pauses, JSON, when the times include them
    title: str | None = None


# --- writing -----------------------------------------------------------------------------


def to_dapt(script: Script, stage: Stage = "preRecording", ducking: Ducking | None = None,
            pauses: str | None = None) -> str:
    """The script as a DAPT document (UTF-8 XML text).

    Args:
        script: the descriptions; with `asRecorded` every cue has its `audio` (set by render),
            relative to the folder the document is written to.
        stage: `preRecording` (written, not yet spoken) or `asRecorded` (spoken and mixed).
        ducking: how the programme was ducked, for the gain animation (asRecorded only; None
            when render did not duck, e.g. a video without sound or a duck of 0 dB).
        pauses: the extended-description pauses of the rendered script (its provenance JSON),
            recorded so that reading the document back can map its times to programme time.

    Raises:
        ValueError: an asRecorded script with a cue that has no audio.
    """
    if stage not in ("preRecording", "asRecorded"):
        raise ValueError(f"unknown DAPT script type {stage!r}")
    cues = sorted(script.cues, key=lambda c: c.start)
    represents = [_represents(cue) for cue in cues]
    script_represents = [NON_TEXT] + ([TEXT] if TEXT in represents else [])
    root = {"xmlns": TT, "xmlns:ttp": TTP, "xmlns:tta": TTA, "xmlns:ttm": TTM, "xmlns:daptm": DAPTM,
            "ttp:contentProfiles": CONTENT_PROFILE, "xml:lang": script.language,
            "daptm:scriptRepresents": " ".join(script_represents), "daptm:scriptType": stage}
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f"<tt{_attributes(root)}>", "  <head>", "    <metadata>",
             f"      <ttm:title>{escape(_clean(Path(script.media.path).name))}</ttm:title>"]
    if pauses:
        lines.append(f'      <vd:extendedPauses xmlns:vd="{VIDEODESC}">{escape(pauses)}</vd:extendedPauses>')
    lines += ["    </metadata>", "  </head>", "  <body>"]
    duck = ducking if stage == "asRecorded" and ducking is not None and ducking.duck_db != 0 else None
    windows = _windows(cues, duck)
    for number, (cue, kind) in enumerate(zip(cues, represents)):
        if stage == "asRecorded" and not cue.audio:
            raise ValueError(f"the cue at {cue.start:.3f} s has no audio: an asRecorded script needs every cue spoken")
        lines += _event(number, cues, windows, kind, stage, duck)
    lines += ["  </body>", "</tt>", ""]
    return "\n".join(lines)


def _represents(cue: Cue) -> str:
    """visual.text for a cue that reads out text on screen (its chosen candidate claims a line of
    text, as the template writer's `On screen: "..."` does), else visual.nonText."""
    chosen = cue.candidates[cue.chosen] if 0 <= cue.chosen < len(cue.candidates) else None
    return TEXT if chosen is not None and any(claim.kind == "text" for claim in chosen.claims) else NON_TEXT


def _event(number: int, cues: list[Cue], windows: list[tuple[float, float] | None], represents: str,
           stage: Stage, duck: Ducking | None) -> list[str]:
    cue, window = cues[number], windows[number]
    start, end = _ms(cue.start), _ms(cue.end)
    text = escape(_clean(cue.text))
    if window is None or duck is None:
        # Nothing ducked (or not yet rendered): the Script Event is the cue's own time.
        begin, finish, gains = start, end, []
    else:
        begin, finish = _event_span(number, cues, windows, duck)
        gains = _gain_steps(begin, finish, window, duck)
    attributes = {"xml:id": f"cue{number + 1}", "begin": _offset(begin), "end": _offset(finish),
                  "daptm:represents": represents}
    lines = [f"    <div{_attributes(attributes)}>"]
    for index, (at, until, values) in enumerate(gains):
        # Each step but the last keeps its final value (fill="freeze") until the next one begins;
        # after the last the event ends, and with it its hold on the programme's gain.
        animate = {"begin": _offset(_ms(at - begin)), "end": _offset(_ms(until - begin)),
                   "tta:gain": ";".join(_gain(v) for v in values)}
        if index < len(gains) - 1:
            animate["fill"] = "freeze"
        lines.append(f"      <animate{_attributes(animate)}/>")
    if stage == "asRecorded":
        timing = {} if (begin, finish) == (start, end) else {"begin": _offset(_ms(start - begin)),
                                                              "end": _offset(_ms(end - begin))}
        audio = quote(cue.audio.replace("\\", "/"), safe="/")
        lines.append(f"      <p{_attributes({'xml:lang': cue.lang, **timing})}>"
                     f"<audio{_attributes({'src': audio, 'type': AUDIO_TYPE})}/>{text}</p>")
    else:
        lines.append(f"      <p{_attributes({'xml:lang': cue.lang})}>{text}</p>")
    lines.append("    </div>")
    return lines


def _windows(cues: list[Cue], duck: Ducking | None) -> list[tuple[float, float] | None]:
    """The duck window each cue (sorted by start) is spoken in: render merges cues close together
    into one window. To the millisecond, as every time written, so the ramps end exactly at unity."""
    if duck is None:
        return [None] * len(cues)
    windows = sorted(duck.windows)
    found: list[tuple[float, float] | None] = []
    index = 0
    for cue in cues:
        while index < len(windows) and windows[index][1] + 1e-3 < cue.start:
            index += 1
        inside = index < len(windows) and windows[index][0] - 1e-3 <= cue.start
        found.append((_ms(windows[index][0]), _ms(windows[index][1])) if inside else None)
    return found


def _event_span(number: int, cues: list[Cue], windows: list[tuple[float, float] | None],
                duck: Ducking) -> tuple[float, float]:
    """The Script Event's time: from the ramp down when the cue opens its duck window (else from the
    cue's start), to the ramp up when it closes the window (else to the next cue's start, so the
    programme stays down between cues that share a window, as render kept it)."""
    cue, window = cues[number], windows[number]
    opens = number == 0 or windows[number - 1] != window
    closes = number == len(cues) - 1 or windows[number + 1] != window
    begin = _ms(max(0.0, window[0] - duck.ramp)) if opens else _ms(cue.start)
    if not closes:
        return begin, _ms(cues[number + 1].start)
    return begin, max(_ms(cue.end), _ms(min(duck.duration, window[1] + duck.ramp)))


def _gain_steps(begin: float, end: float, window: tuple[float, float],
                duck: Ducking) -> list[tuple[float, float, list[float]]]:
    """The programme's gain over [begin, end] as animations: (from, to, values evenly spaced)."""
    down, up = window[0] - duck.ramp, window[1] + duck.ramp
    pieces = [(down, window[0]), (window[0], window[1]), (window[1], up)]
    steps = []
    for lo, hi in pieces:
        lo, hi = max(lo, begin), min(hi, end)
        if hi - lo < 5e-4:
            continue
        count = 1 if lo >= window[0] and hi <= window[1] else max(1, math.ceil(abs(duck.duck_db) / _RAMP_STEP_DB))
        times = [lo + (hi - lo) * i / count for i in range(count + 1)]
        steps.append((lo, hi, [_duck_gain(t, window, duck) for t in times]))
    return steps


def _duck_gain(time: float, window: tuple[float, float], duck: Ducking) -> float:
    """The programme's linear gain at `time`, as render's envelope (linear in dB over the ramps)."""
    ramp = max(duck.ramp, 1e-6)
    depth = min(1.0, max(0.0, min((time - (window[0] - ramp)) / ramp, ((window[1] + ramp) - time) / ramp)))
    return 10 ** (duck.duck_db * depth / 20)


def _clean(text: str) -> str:
    """One line of text XML 1.0 can carry: control characters other than white space are not allowed."""
    return " ".join(_CONTROL.sub("", text).split())


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _gain(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") if value != 1 else "1"


def _ms(seconds: float) -> float:
    return round(seconds, 3)


def _offset(seconds: float) -> str:
    """An offset time: `12.345s` (TTML2 offset-time, seconds metric)."""
    text = f"{max(0.0, seconds):.3f}".rstrip("0").rstrip(".")
    return f"{text}s"


def _attributes(attributes: dict[str, str]) -> str:
    return "".join(f" {name}={quoteattr(str(value))}" for name, value in attributes.items())


# --- reading -----------------------------------------------------------------------------


def from_dapt(text: str | bytes, name: str = "the document") -> list[DaptEvent]:
    """The Script Events of a DAPT document, in document order. See `read_dapt`."""
    return read_dapt(text, name).events


def read_dapt(text: str | bytes, name: str = "the document") -> DaptDocument:
    """Parse a DAPT document, from videodesc or another DAPT tool.

    Times may be clock times (`00:00:01.500`, and `00:00:01:12` with `ttp:frameRate`) or offset
    times (`1.5s`, `1500ms`, `0.1m`, `36f` with `ttp:frameRate`, `t` with `ttp:tickRate`),
    nested as TTML2's parallel time containers nest them. A Script Event is a `div` holding no
    `div`; its text is that of its `p` elements in the document's Primary Language (or of all of
    them when none is), spans and line breaks included, metadata left out; its time is that of
    its text when the text is timed inside the event, else the event's own.

    Raises:
        InputError: not well-formed XML, XML with entity declarations, not TTML, TTML that is not
            DAPT, or time expressions that cannot be read; the message is one line naming `name`.
    """
    import defusedxml
    from defusedxml.ElementTree import fromstring

    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        root = fromstring(data)
    except ParseError as exc:
        raise InputError(f"{name} is not well-formed XML ({exc})") from None
    except defusedxml.DefusedXmlException as exc:
        # Entity declarations are how XML bombs work, and DAPT forbids them anyway.
        raise InputError(f"{name} declares XML entities ({type(exc).__name__}), which DAPT forbids") from None
    if root.tag != f"{{{TT}}}tt":
        found = root.tag.rsplit("}", 1)[-1]
        raise InputError(f"{name} is not a TTML document: its root element is <{found}>, not <tt> "
                         f"in the namespace {TT}")
    profiles = set(root.get(f"{{{TTP}}}contentProfiles", "").split())
    if not (profiles & ({CONTENT_PROFILE} | _DRAFT_PROFILES) or root.get(f"{{{DAPTM}}}scriptType")):
        raise InputError(f"{name} is TTML but not DAPT: its ttp:contentProfiles does not name {CONTENT_PROFILE}")
    time_base = root.get(f"{{{TTP}}}timeBase", "media")
    if time_base != "media":
        raise InputError(f"{name} uses ttp:timeBase=\"{time_base}\": DAPT times are media times only")
    clock = _Clock.of(root, name)
    language = root.get(f"{{{XML}}}lang", "").strip()
    events: list[DaptEvent] = []
    body = root.find(f"{{{TT}}}body")
    if body is not None:
        _walk(body, _Context(0.0, None, language, root.get(f"{{{DAPTM}}}represents")), clock, language, events)
    metadata = root.find(f"{{{TT}}}head/{{{TT}}}metadata")
    pauses = title = None
    if metadata is not None:
        pauses = metadata.findtext(f"{{{VIDEODESC}}}extendedPauses")
        title = metadata.findtext(f"{{{TTM}}}title")
    return DaptDocument(language=language, script_type=root.get(f"{{{DAPTM}}}scriptType"),
                        script_represents=root.get(f"{{{DAPTM}}}scriptRepresents", "").split(),
                        events=events, pauses=pauses.strip() if pauses else None, title=title)


@dataclass(frozen=True)
class _Context:
    """What an element inherits: its parent's active interval, language and represents."""

    begin: float
    end: float | None  # None: indefinite
    language: str
    represents: str | None


_CLOCK = re.compile(r"(\d{2,}):(\d{2}):(\d{2}(?:\.\d+)?)(?::(\d{2,})(?:\.(\d+))?)?")
_OFFSET = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s|f|t)")


@dataclass(frozen=True)
class _Clock:
    """The document's time parameters, and time expressions read with them."""

    name: str
    frame_rate: float | None  # frames a second, multiplier applied
    sub_frame_rate: int
    tick_rate: float | None

    @classmethod
    def of(cls, root: Element, name: str) -> _Clock:
        def number(attribute: str) -> float | None:
            value = root.get(f"{{{TTP}}}{attribute}")
            if value is None:
                return None
            try:
                parsed = float(value)
            except ValueError:
                raise InputError(f"{name}: ttp:{attribute}=\"{value}\" is not a number") from None
            if not parsed > 0:
                raise InputError(f"{name}: ttp:{attribute} must be positive, not {value}")
            return parsed

        frame_rate = number("frameRate")
        multiplier = root.get(f"{{{TTP}}}frameRateMultiplier")
        if frame_rate is not None and multiplier:
            try:
                numerator, denominator = (int(part) for part in multiplier.split())
                frame_rate *= numerator / denominator
            except (ValueError, ZeroDivisionError):
                raise InputError(f"{name}: ttp:frameRateMultiplier=\"{multiplier}\" is not two whole numbers") from None
        sub_frames = int(number("subFrameRate") or 1)
        return cls(name, frame_rate, sub_frames, number("tickRate"))

    def seconds(self, expression: str, where: str) -> float:
        value = expression.strip()
        match = _CLOCK.fullmatch(value)
        if match:
            hours, minutes, seconds, frames, sub_frames = match.groups()
            total = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
            if frames is not None:
                total += (int(frames) + int(sub_frames or 0) / self.sub_frame_rate) / self._frames(value, where)
            return total
        match = _OFFSET.fullmatch(value)
        if match:
            count, metric = float(match.group(1)), match.group(2)
            if metric == "f":
                return count / self._frames(value, where)
            if metric == "t":
                # TTML2's default tick rate: sub-frames of frames when a frame rate is set, else 1 Hz.
                rate = self.tick_rate or (self.frame_rate * self.sub_frame_rate if self.frame_rate else 1.0)
                return count / rate
            return count * {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}[metric]
        raise InputError(f"{self.name}: {where} has the time \"{expression}\", which is not a TTML clock "
                         "time (00:00:01.500) or offset time (1.5s, 1500ms)")

    def _frames(self, value: str, where: str) -> float:
        if self.frame_rate is None:
            raise InputError(f"{self.name}: {where} counts frames (\"{value}\") but the document sets no ttp:frameRate")
        return self.frame_rate


def _local(element: Element) -> tuple[str, str]:
    namespace, _, local = element.tag[1:].partition("}") if element.tag.startswith("{") else ("", "", element.tag)
    return namespace, local


def _describe(element: Element) -> str:
    identifier = element.get(f"{{{XML}}}id")
    return f"<{_local(element)[1]}{' xml:id=' + chr(34) + identifier + chr(34) if identifier else ''}>"


def _timed(element: Element, parent: _Context, clock: _Clock) -> _Context:
    """The element's active interval in a parallel time container, and what it inherits.

    begin and end are offsets from the parent's begin; dur from the element's own; the element
    ends no later than its parent; an element that says nothing ends with its parent."""
    if element.get("timeContainer", "par") != "par":
        raise InputError(f"{clock.name}: {_describe(element)} has timeContainer=\"{element.get('timeContainer')}\"; "
                         "DAPT allows only the default, par")
    where = _describe(element)
    begin_attr, end_attr, dur_attr = element.get("begin"), element.get("end"), element.get("dur")
    begin = parent.begin + (clock.seconds(begin_attr, f"{where} begin") if begin_attr is not None else 0.0)
    ends = [parent.end] if parent.end is not None else []
    if end_attr is not None:
        ends.append(parent.begin + clock.seconds(end_attr, f"{where} end"))
    if dur_attr is not None:
        ends.append(begin + clock.seconds(dur_attr, f"{where} dur"))
    language = element.get(f"{{{XML}}}lang", parent.language).strip() or parent.language
    represents = element.get(f"{{{DAPTM}}}represents", parent.represents)
    return _Context(begin, min(ends) if ends else None, language, represents)


def _walk(element: Element, context: _Context, clock: _Clock, primary: str, events: list[DaptEvent]) -> None:
    """Find the Script Events below `element` (body or a div), in document order."""
    context = _timed(element, context, clock)
    divs = [child for child in element if child.tag == f"{{{TT}}}div"]
    if element.tag == f"{{{TT}}}div" and not divs:
        events.append(_event_of(element, context, clock, primary))
        return
    for child in divs:
        _walk(child, context, clock, primary, events)


def _event_of(div: Element, context: _Context, clock: _Clock, primary: str) -> DaptEvent:
    texts = []
    for p in div.findall(f"{{{TT}}}p"):
        timed = _timed(p, context, clock)
        pieces: list[tuple[str, _Context]] = []
        _text_of(p, timed, clock, pieces)
        words = " ".join("".join(piece for piece, _ in pieces).split())
        if words:
            texts.append((words, timed.language, [c for piece, c in pieces if piece.strip()]))
    wanted = [t for t in texts if _primary(t[1]) == _primary(primary)] or texts
    if not wanted:
        return DaptEvent(context.begin, context.end, "", context.language, context.represents,
                         div.get(f"{{{XML}}}id"))
    spans = [c for _, _, contexts in wanted for c in contexts]
    ends = [c.end for c in spans if c.end is not None]
    return DaptEvent(begin=min(c.begin for c in spans), end=max(ends) if ends else None,
                     text=" ".join(words for words, _, _ in wanted), language=wanted[0][1],
                     represents=context.represents, id=div.get(f"{{{XML}}}id"))


def _text_of(element: Element, context: _Context, clock: _Clock, pieces: list[tuple[str, _Context]]) -> None:
    """The text of a p or span, piece by piece with the interval each piece is shown in."""
    if element.text:
        pieces.append((element.text, context))
    for child in element:
        namespace, local = _local(child)
        if namespace == TT and local == "span":
            _text_of(child, _timed(child, context, clock), clock, pieces)
        elif namespace == TT and local == "br":
            pieces.append((" ", context))
        # Anything else (metadata, ttm:desc, animate, audio, foreign elements) says nothing aloud.
        if child.tail:
            pieces.append((child.tail, context))


def _primary(language: str) -> str:
    return language.split("-")[0].lower()


__all__ = ["CONTENT_PROFILE", "DaptDocument", "DaptEvent", "Ducking", "NON_TEXT", "TEXT", "from_dapt", "read_dapt",
           "to_dapt"]
