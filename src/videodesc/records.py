"""The records that flow between stages: plain dataclasses with a JSON round trip.

Times are seconds as floats, measured from the start of the programme (the first
presentation time of the video is zero). Paths inside records are relative to the
output folder so that a folder can be moved or shared as a whole.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

# Bump when a field is renamed, removed or changes meaning; readers refuse other versions.
SCHEMA_VERSION = 1


@dataclass
class AudioStream:
    index: int
    codec: str
    channels: int
    sample_rate: int
    language: str | None = None


@dataclass
class Media:
    """A probed video.

    width and height are the picture's size as a viewer sees it: turned upright by `rotation`
    and stretched to square pixels (a 1920x1080 phone video held upright is 1080x1920, a
    320x180 one with 2:1 pixels 640x180). Keyframes are written in that shape, and every box
    and motion measured on them is in its pixels. Records written before rotation was probed
    lack it (0) and hold the stored size, which is what their keyframes have.
    """

    path: str
    duration: float
    fps: float
    width: int
    height: int
    video_codec: str
    audio_streams: list[AudioStream]
    size_bytes: int
    content_hash: str
    start_time: float = 0.0  # container start, subtracted from every presentation time
    rotation: int = 0  # degrees counterclockwise the stored picture is turned for display: 0, 90, 180, 270

    @property
    def has_audio(self) -> bool:
        return bool(self.audio_streams)


@dataclass
class Keyframe:
    """A frame of a shot kept as a JPEG: a keyframe the report shows, or a sample of a long shot.

    camera: how far the picture's content has moved since the shot's start -- dx and dy in frame
    widths (content moving right or down is positive) and the log of its scale change -- from the
    same global motion as the camera moves. None when the motion could not be followed at some
    step since the frame before (a flat or blurred picture): across that frame, a person's
    motion in the picture cannot be told from the camera's.
    """

    time: float
    path: str  # relative to the output folder
    sharpness: float
    camera: list[float] | None = None


@dataclass
class CameraMove:
    """The camera panning, tilting or zooming for a stretch of a shot (global motion of the picture)."""

    start: float
    end: float
    kind: Literal["pan", "tilt", "zoom"]
    direction: Literal["left", "right", "up", "down", "in", "out"]  # the camera's, not the picture's
    amount: float  # pan and tilt: frame widths travelled; zoom: relative change of size (0.3: 30% closer)
    confidence: float  # share of tracked points the motion explains


@dataclass
class Shot:
    index: int
    start: float
    end: float
    keyframes: list[Keyframe] = field(default_factory=list)
    camera: list[CameraMove] = field(default_factory=list)
    # Long shots only: a frame every 0.5 s besides the keyframes (shots/detect.py), for following people.
    samples: list[Keyframe] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass
class Word:
    start: float
    end: float
    text: str
    probability: float | None = None


@dataclass
class Utterance:
    start: float
    end: float
    text: str
    source: Literal["asr", "subtitle"]
    words: list[Word] = field(default_factory=list)
    # Where the cue starts in its subtitle file (1-based), for messages and dataset sources; None
    # for speech recognition. Not part of what was said, so equality ignores it.
    line: int | None = field(default=None, compare=False)


@dataclass
class Span:
    """A stretch of time, e.g. a region in which voice activity was detected."""

    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass
class ReferenceDescription:
    """A description written by a person, e.g. a `{...}` line of a Korean AD subtitle file."""

    start: float
    end: float
    text: str
    source: str  # file name it came from
    line: int | None = field(default=None, compare=False)  # where its cue starts in that file, as Utterance.line


@dataclass
class Slot:
    """A dialogue-free gap in which a description may be spoken."""

    start: float
    end: float
    shots: list[int] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass
class Timeline:
    """Everything `analyze` knows about the time line of one video."""

    media: Media
    language: str | None
    shots: list[Shot]
    utterances: list[Utterance]
    speech_regions: list[Span]
    slots: list[Slot]
    references: list[ReferenceDescription] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    provenance: dict[str, str] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION


@dataclass
class PersonFact:
    """One thing a person's body shows, and how sure the rule that found it is (0-1).

    kind and value: posture (standing, sitting, lying); facing (camera, profile, away); gesture
    (arms_raised, arm_raised, arms_crossed, hands_together, pointing, arm_outstretched,
    hand_at_face, hand_at_mouth); holding (a COCO object label); clothing (a colour of the top,
    a key of vision/colours.NAMES); hair (black, brown, blond, grey, white, red). On a face, from
    the face mesh: head (head_tilted, head_turned); eyes (eyes_closed); mouth (mouth_open, smiling).
    """

    kind: str
    value: str
    confidence: float


@dataclass
class Face:
    """One face on one keyframe, with what the models read from it and how sure they were."""

    keyframe: str  # path of the keyframe, relative to the output folder
    box: list[int]  # x, y, width, height in pixels of the keyframe
    score: float  # detector score
    character: str  # Character.id
    expression: str | None = None
    expression_confidence: float | None = None
    age: int | None = None
    age_confidence: float | None = None
    gender: str | None = None
    gender_confidence: float | None = None
    facts: list[PersonFact] = field(default_factory=list)  # what the face mesh shows: head, eyes, mouth


@dataclass
class Character:
    """A person seen across the video: faces grouped by embedding, numbered by first appearance."""

    id: str  # "person-1", ...
    label: dict[str, str]  # what to call them until named: {"ko": "인물 1", "en": "Person 1"}
    appearances: int  # faces seen
    first_seen: float  # seconds
    crop: str  # a representative face, relative to the output folder
    name: str | None = None
    # Apparent gender and age of the person, by a confidence-weighted vote over all their faces:
    # one value for the whole video, where single faces disagree from shot to shot.
    gender: str | None = None
    gender_confidence: float | None = None
    age: int | None = None
    age_confidence: float | None = None
    outfits: list[Outfit] = field(default_factory=list)  # in time order


@dataclass
class Outfit:
    """The colour of a character's top over a stretch of the video, where their keyframes agree.

    People change clothes between scenes, not within one: a run of agreeing sightings is a
    stretch, a single different reading in it is noise, and two in a row start a new stretch.
    """

    start: float  # first and last keyframe time it was seen on
    end: float
    colour: str  # a key of vision/colours.NAMES
    confidence: float  # mean confidence of the agreeing sightings times their share of the stretch
    sightings: int


@dataclass
class ObjectHint:
    """An object a detector saw on a keyframe: a hint, to be trusted only by its confidence."""

    keyframe: str
    label: str  # COCO class name, e.g. "person", "cup"
    confidence: float
    box: list[int]  # x, y, width, height


@dataclass
class TextLine:
    """Text read on screen in a shot (repeats on several keyframes merged into one)."""

    keyframe: str  # the first keyframe it was read on
    text: str
    confidence: float  # 0-1
    box: list[int]  # x, y, width, height
    kind: Literal["subtitle", "scene"]  # a burned-in subtitle repeating the dialogue, or a sign, card, document
    engine: str


@dataclass
class SceneTag:
    """A whole-image class (ImageNet) for a keyframe: what the picture as a whole shows, as a hint."""

    keyframe: str
    label: str  # ImageNet class name, e.g. "espresso", "tabby cat", "suit"
    confidence: float  # softmax probability


@dataclass
class Person:
    """One person's body on one keyframe: landmarks and the facts derived from them."""

    keyframe: str
    box: list[int]  # x, y, width, height around the landmarks seen
    presence: float  # the landmark model's pose presence probability
    points: list[list[float]]  # 33 BlazePose landmarks: x, y in keyframe pixels, visibility 0-1
    facts: list[PersonFact] = field(default_factory=list)
    character: str | None = None  # Character.id when the person's face was seen


@dataclass
class PlaceFact:
    """Where a shot is, read from the whole picture (vision/place.py): one kind of fact, when sure.

    kind: place (a place word's key: "restaurant", "shore", "road", ...), setting (indoor,
    outdoor) or light (day, night).
    """

    kind: str
    value: str
    confidence: float


@dataclass
class PersonTrack:
    """One person followed through a shot's keyframes and samples (vision/tracks.py)."""

    id: str  # "track-N", numbered within the shot
    start: float  # first and last time seen
    end: float
    sightings: int  # frames the person was found on
    character: str | None = None  # Character.id when the person's face was seen on a keyframe


@dataclass
class Event:
    """Something a tracked person does, at a time: what a long silent shot can be described by.

    kind and direction: enters and leaves (direction: the frame edge, left or right); walks (left,
    right, towards or away from the camera; `end` is when the walk stops); stops (a walk ended
    and the person stayed there); sits_down; stands_up; turns (to_camera, away); raises_hand.
    """

    time: float
    kind: str
    person: str  # PersonTrack.id
    confidence: float
    direction: str | None = None
    end: float | None = None
    character: str | None = None


@dataclass
class ShotFacts:
    shot: int
    faces: list[Face] = field(default_factory=list)
    objects: list[ObjectHint] = field(default_factory=list)
    text: list[TextLine] = field(default_factory=list)
    tags: list[SceneTag] = field(default_factory=list)  # best first, merged over the shot's keyframes
    people: list[Person] = field(default_factory=list)
    scale: str | None = None  # close-up, medium or wide, from the main person's size
    scale_confidence: float | None = None
    place: list[PlaceFact] = field(default_factory=list)  # at most one per kind, agreed over the keyframes
    tracks: list[PersonTrack] = field(default_factory=list)  # long shots where someone was seen
    events: list[Event] = field(default_factory=list)  # in time order


@dataclass
class Facts:
    """What the vision stage saw, per analysed shot."""

    characters: list[Character]
    shots: list[ShotFacts]
    analysed: str  # which shots were looked at: "slots" (near a slot) or "all"
    provenance: dict[str, str] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION


@dataclass(frozen=True)
class Claim:
    """One fact a description states, named as facts.json holds it: what a cue is traced back to.

    kind and value: appears (value: the character id), gender, age (value: "child", "young",
    "older"), expression, posture, gesture, holding, clothing (a colour key or a clothing tag),
    event (value: Event.kind, with ":direction" when it has one), crowd (value: "walks", three
    or more people walking), text (the line read), people (how many), on_screen, scale, place,
    setting, light, object (a COCO label or ImageNet tag).
    """

    shot: int
    kind: str
    value: str
    who: str | None = None  # Character.id, or PersonTrack.id for someone not known by face
    time: float | None = None  # events: when it happens

    @property
    def subject(self) -> tuple[str, str | None, str | None]:
        """What the fact is about, whatever its value: a later fact with the same subject and value
        is unchanged news. Events and lines of text are each their own subject."""
        if self.kind == "event":
            return (self.kind, self.who, f"{self.value}@{self.time}")
        if self.kind in ("text", "object"):
            return (self.kind, None, self.value)
        return (self.kind, self.who, None)


@dataclass
class Candidate:
    """One possible description for a slot, with what the selector thought of it."""

    text: str
    backend: str  # "template", "openai:<model>", "transformers:<folder>"
    spoken_seconds: float | None = None  # estimated at the voice's speaking rate
    scores: dict[str, float] = field(default_factory=dict)  # "style", "fit", "fluency", "novelty", "total"
    problems: list[str] = field(default_factory=list)  # style rules broken, in words a reviewer reads
    claims: list[Claim] = field(default_factory=list)  # the facts it states (the template writer's; [] for models)


@dataclass
class Cue:
    """A description to be spoken: the chosen candidate, placed inside its slot."""

    start: float
    end: float
    text: str
    lang: str  # "ko" or "en"
    slot: int  # index into the time line's slots
    shots: list[int]  # the shots it describes
    candidates: list[Candidate]
    chosen: int  # index into candidates; a person editing `text` may leave it pointing at the original
    extended: bool = False  # no candidate fits the slot: the programme must pause for it (extended AD)
    audio: str | None = None  # the spoken cue, relative to the output folder (set by `render`)
    spoken_duration: float | None = None  # seconds of the spoken audio (set by `render`)


@dataclass
class SkippedSlot:
    """A slot left silent, and why: not every gap should be filled."""

    slot: int
    start: float
    end: float
    reason: str
    candidates: list[Candidate] = field(default_factory=list)


@dataclass
class Script:
    """The descriptions of one video: the hinge between `write` and `render`, and editable by hand."""

    media: Media
    language: str
    characters: list[Character]
    cues: list[Cue]
    skipped: list[SkippedSlot] = field(default_factory=list)
    provenance: dict[str, str] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION


@dataclass
class DatasetItem:
    """One moment described by a person: a line of a dataset (JSON Lines, one item per line).

    What `videodesc dataset import` makes from AD subtitle files, CSV annotations and WebVTT
    description tracks, and what `dataset sft` and `evaluate` read.
    """

    start: float
    end: float
    reference: str  # the human description
    language: str  # "ko", "en", ...
    source: str  # the file it came from, and the line: "drama01.srt:57"
    dialogue_before: list[str] = field(default_factory=list)  # the nearest lines spoken before, oldest first
    dialogue_after: list[str] = field(default_factory=list)  # the nearest lines spoken after
    video: str | None = None  # the matching video, when known
    schema_version: int = SCHEMA_VERSION


class SchemaError(ValueError):
    """A JSON document does not match the record it should hold."""


def to_dict(record: Any) -> Any:
    """Turn a record (or a list/dict of records) into JSON-ready data."""
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return {f.name: to_dict(getattr(record, f.name)) for f in dataclasses.fields(record)}
    if isinstance(record, (list, tuple)):
        return [to_dict(item) for item in record]
    if isinstance(record, dict):
        return {str(key): to_dict(value) for key, value in record.items()}
    return record


def from_dict(cls: type, data: Any) -> Any:
    """Build a record of type `cls` from JSON data, checking types along the way."""
    return _convert(cls, data, cls.__name__)


def _convert(tp: Any, data: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if tp is Any:
        return data
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(tp)
        if data is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _convert(option, data, where)
            except SchemaError as exc:
                errors.append(str(exc))
        raise SchemaError("; ".join(errors))
    if origin is Literal:
        if data not in typing.get_args(tp):
            raise SchemaError(f"{where}: {data!r} is not one of {typing.get_args(tp)}")
        return data
    if origin is list:
        if not isinstance(data, list):
            raise SchemaError(f"{where}: expected a list, got {type(data).__name__}")
        (item_type,) = typing.get_args(tp)
        return [_convert(item_type, item, f"{where}[{i}]") for i, item in enumerate(data)]
    if origin is dict:
        if not isinstance(data, dict):
            raise SchemaError(f"{where}: expected an object, got {type(data).__name__}")
        _, value_type = typing.get_args(tp)
        return {key: _convert(value_type, value, f"{where}.{key}") for key, value in data.items()}
    if dataclasses.is_dataclass(tp):
        if not isinstance(data, dict):
            raise SchemaError(f"{where}: expected an object, got {type(data).__name__}")
        hints = typing.get_type_hints(tp)
        kwargs = {}
        for f in dataclasses.fields(tp):
            if f.name in data:
                kwargs[f.name] = _convert(hints[f.name], data[f.name], f"{where}.{f.name}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise SchemaError(f"{where}: missing field '{f.name}'")
        return tp(**kwargs)
    if tp is float:
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            raise SchemaError(f"{where}: expected a number, got {data!r}")
        if not math.isfinite(data):  # JSON has no NaN or Infinity, but Python's parser takes them
            raise SchemaError(f"{where}: {data!r} is not a finite number")
        return float(data)
    if tp is str and isinstance(data, str):
        _check_text(data, where)
        return data
    if tp in (int, str, bool):
        if not isinstance(data, tp) or (tp is int and isinstance(data, bool)):
            raise SchemaError(f"{where}: expected {tp.__name__}, got {data!r}")
        return data
    raise TypeError(f"{where}: unsupported type {tp!r}")


# Control characters that have no place in a record's text: all of C0 but tab and the line breaks,
# DEL and C1. A NUL cuts the MP4's text track short, an ESC reaches a terminal from an SRT.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _check_text(text: str, where: str) -> None:
    """Refuse text that cannot be written as UTF-8 (a lone surrogate, valid in JSON's \\u escapes)
    or that holds control characters."""
    bad = _CONTROL.search(text)
    if bad:
        raise SchemaError(f"{where}: holds the control character U+{ord(bad.group()):04X}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise SchemaError(f"{where}: holds U+{ord(text[exc.start]):04X}, half of a surrogate pair, "
                          "which is no character") from None


def dumps(record: Any) -> str:
    return json.dumps(to_dict(record), ensure_ascii=False, indent=1)


def _load_versioned(cls: type, text: str, what: str) -> Any:
    data = json.loads(text)
    version = data.get("schema_version") if isinstance(data, dict) else None
    if version != SCHEMA_VERSION:
        raise SchemaError(f"{what} schema version {version!r}, this videodesc reads {SCHEMA_VERSION}")
    return from_dict(cls, data)


def load_timeline(text: str) -> Timeline:
    """Parse a `timeline.json` document, refusing other schema versions."""
    return _load_versioned(Timeline, text, "timeline")


def load_facts(text: str) -> Facts:
    """Parse a `facts.json` document, refusing other schema versions."""
    return _load_versioned(Facts, text, "facts")


def load_script(text: str) -> Script:
    """Parse a `script.json` document, refusing other schema versions."""
    return _load_versioned(Script, text, "script")
