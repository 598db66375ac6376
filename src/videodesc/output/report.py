"""The visual report of `analyze`: one self-contained HTML page to check the analysis of a video.

The page is opened from the output folder (often straight from disk, often offline), so it uses
no scripts and no network resources: the time line is absolutely positioned divs at a fixed
pixel-per-second scale, and images are the relative keyframe paths next to `report.html`.
What the vision stage saw is drawn over the thumbnails the same way: divs placed in percent of
the keyframe, so they scale with the thumbnail.
Every piece of text from the input (dialogue, file names, warnings, text read on screen) is escaped.
"""

from __future__ import annotations

from bisect import bisect_left
from html import escape
from itertools import accumulate
from pathlib import PurePath
from typing import Protocol, Sequence

from videodesc.records import (Character, Event, Face, Facts, Keyframe, Media, ObjectHint, Person, SceneTag, Shot,
                               ShotFacts, TextLine, Timeline)
from videodesc.shots.detect import keyframe_size
from videodesc.vision.body import SKELETON
from videodesc.vision.reliable import ConfidenceFloors

_PERSON_FLOOR = ConfidenceFloors().person  # labels on the pictures show only what a writer may say

# Candidate time line scales, finest first. The finest one that keeps the time line within
# _TARGET_WIDTH is used; long videos get the coarsest, at which a 1.2 s slot is still ~5 px wide.
_SCALES = (200.0, 100.0, 50.0, 20.0, 10.0, 5.0, 4.0)
_TARGET_WIDTH = 4000.0
# Ruler ticks: the first of these intervals (seconds) whose ticks are at least _MIN_TICK_GAP px apart.
_TICK_INTERVALS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)
_MIN_TICK_GAP = 70.0
_THUMB_WIDTH = 160  # px; the card shows several keyframes side by side
_THUMB_WIDTH_FACTS = 320  # px; with boxes and labels drawn on them, 160 px is too small to read

_CSS = """
* { box-sizing: border-box; }
body { margin: 0 1.5em 2em; color: #1d1d1f; background: #fafafa;
  font-family: "NanumGothic", "Nanum Gothic", "Noto Sans KR", "Malgun Gothic", "Apple SD Gothic Neo", sans-serif; }
h1 { font-size: 1.4em; word-break: break-all; }
h2 { font-size: 1.15em; margin-top: 1.6em; }
table.facts { border-collapse: collapse; margin: .5em 0; }
table.facts th, table.facts td { text-align: left; padding: .15em .8em .15em 0; vertical-align: top; }
table.facts th { font-weight: normal; color: #666; }
table.provenance { font-size: .85em; }
ul.warnings li { color: #9a4a00; }
.timeline { display: flex; border: 1px solid #ccc; background: #fff; }
.labels { flex: none; width: 7em; border-right: 1px solid #ccc; font-size: .8em; }
.labels div { height: 24px; line-height: 24px; padding-left: .4em; color: #555; }
.scroll { overflow-x: auto; flex: auto; }
.track { position: relative; }
.lane { position: relative; height: 24px; border-bottom: 1px solid #eee; }
.lane > * { position: absolute; top: 3px; height: 18px; min-width: 1px; }
.ruler > div { top: 0; height: 24px; border-left: 1px solid #999; padding-left: 2px;
  font-size: 10px; line-height: 14px; color: #555; white-space: nowrap; }
.tl-shot { display: block; background: #c9d6e3; }
.tl-shot.alt { background: #e3eaf1; }
.tl-shot.cut { border-left: 2px solid #2b3a4a; }
.tl-shot:hover { background: #9fb6cc; }
.tl-speech { background: #b7b7b7; }
.tl-utt { background: rgba(70, 110, 200, .55); }
.tl-slot { background: #f2b300; outline: 1px solid #b58500; }
.tl-ref { background: rgba(40, 160, 90, .6); }
.tl-camera { background: rgba(130, 60, 200, .7); }
.tl-event { background: rgba(200, 70, 40, .75); min-width: 3px; }
.sheet { display: flex; flex-direction: column; gap: .8em; }
.card { background: #fff; border: 1px solid #ddd; border-radius: 4px; padding: .6em .8em; }
.card:target { outline: 3px solid #f2b300; }
.card h3 { margin: 0 0 .4em; font-size: 1em; }
.thumbs { display: flex; flex-wrap: wrap; gap: 4px; }
.thumbs img { max-width: 100%; height: auto; background: #ddd; }  /* width: the img attribute */
.frame { position: relative; display: inline-block; line-height: 0; overflow: hidden; max-width: 100%; }
.frame img { display: block; }
.frame .box { position: absolute; border: 2px solid; line-height: 1.2; }
.frame .box span { position: absolute; left: -2px; top: -2px; padding: 0 2px; font-size: 10px;
  color: #fff; white-space: nowrap; }
.box.face { border-color: #e0338a; } .box.face span { background: #e0338a; }
.box.object { border-color: #1f8fd6; } .box.object span { background: #1f8fd6; }
.box.text { border-color: #22a34a; } .box.text span { background: #22a34a; }
.box.person { border-color: #e07b00; border-style: dashed; } .box.person span { background: #e07b00; top: auto; bottom: -2px; }
.frame svg.skeleton { position: absolute; left: 0; top: 0; width: 100%; height: 100%; pointer-events: none; }
.skeleton line { stroke: #ffb000; stroke-width: 3; vector-effect: non-scaling-stroke; }
.seen { display: grid; grid-template-columns: max-content auto; gap: .1em .8em; margin: .4em 0; }
.seen dt { color: #666; } .seen dd { margin: 0; }
.seen ul { margin: 0; padding-left: 1.2em; }
.kind { font-size: .8em; padding: 0 .3em; border-radius: 3px; color: #fff; }
.kind.scene { background: #22a34a; } .kind.subtitle { background: #777; }
.gallery { display: flex; flex-wrap: wrap; gap: .8em; }
.character { margin: 0; width: 140px; background: #fff; border: 1px solid #ddd; border-radius: 4px; padding: .4em; }
.character:target { outline: 3px solid #f2b300; }
.character img { width: 100%; height: auto; background: #ddd; }
.character figcaption { font-size: .85em; }
.character .label { color: #666; }
.card ul { margin: .4em 0; padding-left: 1.2em; }
.card .none { color: #888; }
.time { color: #666; font-variant-numeric: tabular-nums; white-space: nowrap; }
.slot-item { background: #fff3cc; }
"""


class _Timed(Protocol):
    start: float
    end: float


def format_time(seconds: float, decimals: int = 1) -> str:
    """`h:mm:ss` with `decimals` fractional digits, e.g. format_time(3725.3) == '1:02:05.3'."""
    # Round once in the smallest unit shown, so that 59.96 s becomes 0:01:00.0, not 0:00:60.0.
    scale = 10**decimals
    units = round(max(seconds, 0.0) * scale)
    whole, fraction = divmod(units, scale)
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    text = f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{text}.{fraction:0{decimals}d}" if decimals else text


def _span_text(item: _Timed) -> str:
    return f"{format_time(item.start)}–{format_time(item.end)}"


def choose_scale(duration: float) -> float:
    """Pixels per second for the time line: fine for short clips, coarse but usable up to 2 h."""
    for scale in _SCALES:
        if duration * scale <= _TARGET_WIDTH:
            return scale
    return _SCALES[-1]


class _Overlaps:
    """Finds the items overlapping a time range without scanning every item for every shot."""

    def __init__(self, items: Sequence[_Timed]):
        self.items = sorted(items, key=lambda item: item.start)
        self.starts = [item.start for item in self.items]
        # Running maximum of the ends: non-decreasing, so bisectable even when items overlap.
        self.max_ends = list(accumulate((item.end for item in self.items), max))

    def within(self, start: float, end: float) -> list:
        first = bisect_left(self.max_ends, start)
        last = bisect_left(self.starts, end)
        # `>=` keeps a zero-length item that sits exactly at `start`.
        return [item for item in self.items[first:last] if item.end > start or item.start >= start]


def _box(cls: str, start: float, end: float, scale: float, title: str, href: str | None = None) -> str:
    """One time line element, placed by its times at `scale` px per second."""
    style = f"left:{start * scale:.2f}px;width:{max(end - start, 0.0) * scale:.2f}px"
    tag, link = ("a", f' href="{escape(href)}"') if href else ("div", "")
    return f'<{tag} class="{cls}" style="{style}" title="{escape(title)}"{link}></{tag}>'


def _header(timeline: Timeline, facts: Facts | None) -> str:
    media = timeline.media
    slot_seconds = sum(slot.duration for slot in timeline.slots)
    share = f" ({slot_seconds / media.duration:.0%} of the running time)" if media.duration > 0 else ""
    rows = [
        ("Duration", format_time(media.duration, 0)),
        ("Resolution", f"{media.width}×{media.height}"),
        ("Frame rate", f"{media.fps:.3f}".rstrip("0").rstrip(".") + " fps"),
        ("Language", timeline.language or "unknown"),
        ("Shots", str(len(timeline.shots))),
        ("Utterances", str(len(timeline.utterances))),
        ("Slots", f"{len(timeline.slots)}, {slot_seconds:.1f} s{share}"),
    ]
    if timeline.references:
        rows.append(("Reference descriptions", str(len(timeline.references))))
    if facts is not None:
        rows.append(("Shots analysed", f"{len(facts.shots)} of {len(timeline.shots)} ({facts.analysed})"))
        rows.append(("Characters", str(len(facts.characters))))
    parts = [f"<h1>{escape(PurePath(media.path).name)}</h1>", _table(rows, "facts")]
    if timeline.warnings:
        items = "".join(f"<li>{escape(warning)}</li>" for warning in timeline.warnings)
        parts.append(f'<h2>Warnings</h2><ul class="warnings">{items}</ul>')
    provenance = sorted(timeline.provenance.items())
    if facts is not None:  # vision keys are prefixed: they share the table with the time line's
        provenance += sorted((f"vision {key}", value) for key, value in facts.provenance.items())
    if provenance:
        parts.append("<h2>Provenance</h2>" + _table(provenance, "facts provenance"))
    return "\n".join(parts)


def _table(rows: Sequence[tuple[str, str]], cls: str) -> str:
    body = "".join(f"<tr><th>{escape(key)}</th><td>{escape(value)}</td></tr>" for key, value in rows)
    return f'<table class="{cls}">{body}</table>'


def _ruler(duration: float, scale: float) -> str:
    interval = next((i for i in _TICK_INTERVALS if i * scale >= _MIN_TICK_GAP), _TICK_INTERVALS[-1])
    ticks = []
    for n in range(int(duration // interval) + 1):
        seconds = n * interval
        ticks.append(f'<div style="left:{seconds * scale:.2f}px">{format_time(seconds, 0)}</div>')
    return f'<div class="lane ruler">{"".join(ticks)}</div>'


def event_text(event: Event, names: dict[str, str]) -> str:
    """One event in words for a person reading the report: "track-2 (Person 1) walks left 0:12.0-0:15.5"."""
    who = event.person + (f" ({names.get(event.character) or event.character})" if event.character else "")
    what = event.kind.replace("_", " ") + (f" {event.direction.replace('_', ' ')}" if event.direction else "")
    if event.kind in ("enters", "leaves") and event.direction:
        what = f"{event.kind} {'from' if event.kind == 'enters' else 'by'} the {event.direction}"
    when = format_time(event.time) + (f"-{format_time(event.end)}" if event.end is not None else "")
    return f"{who} {what} {when}"


def _timeline_lanes(timeline: Timeline, scale: float, facts: Facts | None = None) -> list[tuple[str, str]]:
    """(label, lane HTML) for each lane, top to bottom."""
    shots = []
    for position, shot in enumerate(timeline.shots):
        cls = "tl-shot" + (" alt" if position % 2 else "") + (" cut" if position else "")
        title = f"Shot {shot.index}: {_span_text(shot)} ({shot.duration:.1f} s)"
        shots.append(_box(cls, shot.start, shot.end, scale, title, href=f"#{_shot_anchor(shot)}"))
    speech = [_box("tl-speech", span.start, span.end, scale, f"Speech {_span_text(span)}")
              for span in timeline.speech_regions]
    utterances = [_box("tl-utt", u.start, u.end, scale, f"{_span_text(u)} [{u.source}]\n{u.text}")
                  for u in timeline.utterances]
    slots = [_box("tl-slot", slot.start, slot.end, scale, f"Slot {_span_text(slot)} ({slot.duration:.1f} s)")
             for slot in timeline.slots]
    lanes = [("Shots", shots), ("Speech", speech), ("Dialogue", utterances), ("Slots", slots)]
    moves = [move for shot in timeline.shots for move in shot.camera]
    if moves:
        lanes.append(("Camera", [_box("tl-camera", m.start, m.end, scale,
                                      f"{m.kind} {m.direction} {_span_text(m)} ({m.amount:.2f})") for m in moves]))
    happenings = [event for shot in (facts.shots if facts is not None else []) for event in shot.events]
    if happenings:
        names = _names(facts)
        lanes.append(("Events", [
            _box("tl-event", e.time, e.end if e.end is not None else e.time, scale,
                 f"{event_text(e, names)} ({e.confidence:.2f})") for e in happenings]))
    if timeline.references:
        lanes.append(("References", [
            _box("tl-ref", ref.start, ref.end, scale, f"{_span_text(ref)} [{ref.source}]\n{ref.text}")
            for ref in timeline.references]))
    return [(label, f'<div class="lane">{"".join(boxes)}</div>') for label, boxes in lanes]


def _timeline(timeline: Timeline, facts: Facts | None) -> str:
    duration = timeline.media.duration
    scale = choose_scale(duration)
    lanes = _timeline_lanes(timeline, scale, facts)
    labels = "".join(f"<div>{label}</div>" for label in ["Time", *(label for label, _ in lanes)])
    track = _ruler(duration, scale) + "".join(lane for _, lane in lanes)
    return (f'<h2>Time line <span class="time">({scale:g} px per second)</span></h2>\n'
            f'<div class="timeline"><div class="labels">{labels}</div>'
            f'<div class="scroll"><div class="track" style="width:{duration * scale:.2f}px">{track}</div></div></div>')


def _shot_anchor(shot: Shot) -> str:
    # Shots are named by Shot.index everywhere in the page, as in the keyframe file names and
    # timeline.json (and Slot.shots), so a person can cross-check them.
    return f"shot-{shot.index}"


def _card(shot: Shot, utterances: list, slots: list, thumbs: str, seen: str) -> str:
    """The contact sheet card of one shot: keyframes, the dialogue spoken and the slots within it."""
    dialogue = _list([f'<span class="time">{_span_text(u)}</span> {escape(u.text)}' for u in utterances],
                     "No dialogue.")
    free = _list([f'<span class="time">{_span_text(slot)}</span> slot of {slot.duration:.1f} s' for slot in slots],
                 "No slot.", item_class="slot-item")
    return (f'<section class="card" id="{_shot_anchor(shot)}">'
            f'<h3>Shot {shot.index} <span class="time">{_span_text(shot)} ({shot.duration:.1f} s)</span></h3>'
            f'<div class="thumbs">{thumbs}</div>{seen}{dialogue}{free}</section>')


def _list(items: list[str], empty: str, item_class: str | None = None) -> str:
    """A <ul> of already escaped items, or a muted note when there are none."""
    if not items:
        return f'<p class="none">{empty}</p>'
    attr = f' class="{item_class}"' if item_class else ""
    return "<ul>" + "".join(f"<li{attr}>{item}</li>" for item in items) + "</ul>"


def _percent(value: float) -> str:
    return f"{value:.2f}%"


def _confidence(value: float | None) -> str:
    """' (82%)' after a model's answer; nothing when the model gave no confidence."""
    return "" if value is None else f" ({value:.0%})"


def _names(facts: Facts | None) -> dict[str, str]:
    return {character.id: _display_name(character) for character in facts.characters} if facts else {}


def _display_name(character: Character) -> str:
    """The name given in the cast file, else the automatic label ("Person 1")."""
    return character.name or character.label.get("en") or character.id


def _keyframe_pixels(media: Media) -> tuple[int, int]:
    # Vision boxes are in the pixels of the keyframe JPEG, not of the video: wide videos are
    # scaled down when keyframes are written, so use the very rule the writer used.
    return keyframe_size(media.width, media.height)


def _overlay(cls: str, box: Sequence[int], frame: tuple[int, int], label: str) -> str:
    """A box over a thumbnail, in percent of the keyframe so that it scales with the image."""
    frame_width, frame_height = frame
    if frame_width <= 0 or frame_height <= 0 or len(box) != 4:
        return ""
    x, y, width, height = box
    # Detectors may report boxes partly outside the picture (a face cut by the frame edge);
    # clipped, the box shows what is actually on screen and its label stays inside the image.
    left, top = max(x, 0), max(y, 0)
    right, bottom = min(x + width, frame_width), min(y + height, frame_height)
    if right <= left or bottom <= top:
        return ""
    style = (f"left:{_percent(left / frame_width * 100)};top:{_percent(top / frame_height * 100)};"
             f"width:{_percent((right - left) / frame_width * 100)};"
             f"height:{_percent((bottom - top) / frame_height * 100)}")
    return f'<div class="box {cls}" style="{style}" title="{escape(label)}"><span>{escape(label)}</span></div>'


def _face_name(face: Face, names: dict[str, str]) -> str:
    return names.get(face.character) or face.character or "unknown face"


def _face_label(face: Face, names: dict[str, str]) -> str:
    name = _face_name(face, names)
    return f"{name} · {face.expression}" if face.expression else name


def _overlays(keyframe: Keyframe, shot_facts: ShotFacts | None, names: dict[str, str],
              frame: tuple[int, int]) -> str:
    """The boxes of everything seen on one keyframe: faces, objects, scene text."""
    if shot_facts is None:
        return ""
    # Subtitles are left out: they repeat the dialogue listed below and would hide the picture.
    boxes = [_overlay("face", face.box, frame, _face_label(face, names))
             for face in shot_facts.faces if face.keyframe == keyframe.path]
    boxes += [_overlay("object", obj.box, frame, f"{obj.label} {obj.confidence:.0%}")
              for obj in shot_facts.objects if obj.keyframe == keyframe.path]
    boxes += [_overlay("text", line.box, frame, line.text)
              for line in shot_facts.text if line.keyframe == keyframe.path and line.kind == "scene"]
    people = [person for person in shot_facts.people if person.keyframe == keyframe.path]
    boxes += [_overlay("person", person.box, frame, _person_label(person, names)) for person in people]
    if people:
        boxes.append(_skeletons(people, frame))
    return "".join(boxes)


def _person_label(person: Person, names: dict[str, str]) -> str:
    name = names.get(person.character or "") or person.character or "person"
    sure = [fact.value.replace("_", " ") for fact in person.facts if fact.confidence >= _PERSON_FLOOR]
    return " · ".join([name, *sure])


def _skeletons(people: list[Person], frame: tuple[int, int]) -> str:
    """The bones of each body, drawn in keyframe pixels over the thumbnail (seen landmarks only)."""
    width, height = frame
    lines = []
    for person in people:
        for a, b in SKELETON:
            (xa, ya, va), (xb, yb, vb) = person.points[a], person.points[b]
            if va >= 0.5 and vb >= 0.5:
                lines.append(f'<line x1="{xa:.0f}" y1="{ya:.0f}" x2="{xb:.0f}" y2="{yb:.0f}"/>')
    return (f'<svg class="skeleton" viewBox="0 0 {width} {height}" preserveAspectRatio="none" aria-hidden="true">'
            f'{"".join(lines)}</svg>')


def _person_item(person: Person, names: dict[str, str], times: dict[str, float]) -> str:
    name = escape(names.get(person.character or "") or person.character or "a person whose face was not seen")
    details = ", ".join(f"{fact.kind} {fact.value.replace('_', ' ')}{_confidence(fact.confidence)}" for fact in person.facts)
    time = times.get(person.keyframe)
    at = f'<span class="time">{format_time(time)}</span> ' if time is not None else ""
    return f"{at}{name}" + (": " + escape(details) if details else ": no sure facts")


def _thumb(shot: Shot, keyframe: Keyframe, width: int, height: int, overlays: str) -> str:
    image = (f'<img src="{escape(keyframe.path)}" loading="lazy" width="{width}" height="{height}" '
             f'alt="Shot {shot.index} at {format_time(keyframe.time)}" title="{format_time(keyframe.time)}">')
    # The wrapper is exactly the image's size, so percent boxes inside it land on the picture.
    return f'<div class="frame">{image}{overlays}</div>'


def _text_item(line: TextLine) -> str:
    return (f'<span class="kind {escape(line.kind)}">{escape(line.kind)}</span> {escape(line.text)}'
            f'<span class="time">{_confidence(line.confidence)}</span>')


def _face_item(face: Face, names: dict[str, str], times: dict[str, float]) -> str:
    link = escape(_face_name(face, names))
    if face.character:  # to the character's crop in the gallery
        link = f'<a href="#{escape(_character_anchor(face.character))}">{link}</a>'
    details = []
    if face.expression:
        details.append(f"{face.expression}{_confidence(face.expression_confidence)}")
    if face.age is not None:
        details.append(f"age {face.age}{_confidence(face.age_confidence)}")
    if face.gender:
        details.append(f"{face.gender}{_confidence(face.gender_confidence)}")
    details += [f"{fact.value.replace('_', ' ')}{_confidence(fact.confidence)}" for fact in face.facts]
    time = times.get(face.keyframe)
    at = f'<span class="time">{format_time(time)}</span> ' if time is not None else ""
    return f"{at}{link}" + (": " + escape(", ".join(details)) if details else "")


def _object_items(objects: list[ObjectHint]) -> list[str]:
    """One item per class: the same cup on three keyframes is one fact, at its best confidence."""
    best: dict[str, tuple[float, int]] = {}
    for obj in objects:
        confidence, count = best.get(obj.label, (0.0, 0))
        best[obj.label] = (max(confidence, obj.confidence), count + 1)
    ordered = sorted(best.items(), key=lambda item: -item[1][0])
    return [escape(f"{label}{_confidence(confidence)}" + (f" ×{count}" if count > 1 else ""))
            for label, (confidence, count) in ordered]


def _tag_items(tags: list[SceneTag]) -> list[str]:
    return [escape(f"{tag.label}{_confidence(tag.confidence)}") for tag in tags]


def _seen(shot: Shot, shot_facts: ShotFacts | None, names: dict[str, str]) -> str:
    """What the vision stage saw in one shot, as short lists under the thumbnails."""
    if shot_facts is None:
        # Vision may look only at shots near a slot; an empty list would wrongly read as "nothing there".
        return '<p class="none">Not analysed by the vision stage.</p>'
    times = {kf.path: kf.time for kf in shot.keyframes}
    rows = [
        ("On-screen text", [_text_item(line) for line in shot_facts.text], "No text."),
        ("Faces", [_face_item(face, names, times) for face in shot_facts.faces], "No faces."),
        ("People", [_person_item(person, names, times) for person in shot_facts.people], "No bodies."),
        ("Shot scale", [escape(f"{shot_facts.scale}{_confidence(shot_facts.scale_confidence)}")]
         if shot_facts.scale else [], "Not sure."),
        ("Place and light", [escape(f"{fact.kind}: {fact.value}{_confidence(fact.confidence)}") for fact in shot_facts.place],
         "Not sure."),
        ("Events", [escape(f"{event_text(e, names)}{_confidence(e.confidence)}") for e in shot_facts.events],
         "None seen." if shot.samples else "Shot too short to follow people."),
        ("Objects", _object_items(shot_facts.objects), "No objects."),
        ("Scene", _tag_items(shot_facts.tags), "No scene tags."),
    ]
    body = "".join(f"<dt>{title}</dt><dd>{_list(items, empty)}</dd>" for title, items, empty in rows)
    return f'<dl class="seen">{body}</dl>'


def _character_anchor(character_id: str) -> str:
    return f"character-{character_id}"


def _character_card(character: Character) -> str:
    name = escape(_display_name(character))
    # A named character keeps its automatic label visible, to match it with facts.json and the cast file.
    label = f' <span class="label">({escape(character.label.get("en", character.id))})</span>' if character.name else ""
    return (f'<figure class="character" id="{escape(_character_anchor(character.id))}">'
            f'<img src="{escape(character.crop)}" loading="lazy" alt="{name}">'
            f"<figcaption><strong>{name}</strong>{label}<br>"
            f'{character.appearances} appearance{"" if character.appearances == 1 else "s"}, '
            f'first seen <span class="time">{format_time(character.first_seen)}</span>'
            f'{_voted(character)}{_outfits(character)}</figcaption></figure>')


def _outfits(character: Character) -> str:
    """Each stretch of the video in which the character's top was one colour."""
    parts = [f"{o.colour} top {format_time(o.start, 0)}-{format_time(o.end, 0)}{_confidence(o.confidence)}"
             for o in character.outfits]
    return "<br>" + escape("; ".join(parts)) if parts else ""


def _voted(character: Character) -> str:
    """The character's gender and age as voted over all their faces."""
    parts = []
    if character.gender:
        parts.append(f"{character.gender}{_confidence(character.gender_confidence)}")
    if character.age is not None:
        parts.append(f"about {character.age}{_confidence(character.age_confidence)}")
    return "<br>" + escape(", ".join(parts)) if parts else ""


def _characters(facts: Facts) -> str:
    """The gallery of the people the vision stage found, one face crop each."""
    if not facts.characters:
        return '<h2>Characters</h2>\n<p class="none">No faces found.</p>'
    cards = "\n".join(_character_card(character) for character in facts.characters)
    return f'<h2>Characters</h2>\n<div class="gallery">\n{cards}\n</div>'


def _contact_sheet(timeline: Timeline, facts: Facts | None) -> str:
    media = timeline.media
    thumb_width = _THUMB_WIDTH if facts is None else _THUMB_WIDTH_FACTS
    # Width and height attributes reserve the space before a lazy image loads, so the page does not jump.
    thumb_height = round(thumb_width * media.height / media.width) if media.width > 0 else thumb_width
    frame = _keyframe_pixels(media)
    names = _names(facts)
    by_shot = {shot_facts.shot: shot_facts for shot_facts in facts.shots} if facts else {}
    utterances, slots = _Overlaps(timeline.utterances), _Overlaps(timeline.slots)
    cards = []
    for shot in timeline.shots:
        shot_facts = by_shot.get(shot.index)
        thumbs = "".join(_thumb(shot, kf, thumb_width, thumb_height, _overlays(kf, shot_facts, names, frame))
                         for kf in shot.keyframes)
        seen = "" if facts is None else _seen(shot, shot_facts, names)
        cards.append(_card(shot, utterances.within(shot.start, shot.end), slots.within(shot.start, shot.end),
                           thumbs, seen))
    return '<h2>Shots</h2>\n<div class="sheet">\n' + "\n".join(cards) + "\n</div>"


def render_report(timeline: Timeline, facts: Facts | None = None) -> str:
    """The whole report page for `timeline`, as HTML text (UTF-8 when written).

    Args:
        timeline: what `analyze` found on the time line.
        facts: what the vision stage saw, if it ran: adds a character gallery, boxes drawn on
            the keyframes and, per shot, the text, faces, objects and scene tags.
    """
    name = escape(PurePath(timeline.media.path).name)
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>videodesc report – {name}</title>",
        f"<style>{_CSS}</style></head><body>",
        _header(timeline, facts),
        _timeline(timeline, facts),
        *([_characters(facts)] if facts is not None else []),
        _contact_sheet(timeline, facts),
        "</body></html>",
        "",
    ])
