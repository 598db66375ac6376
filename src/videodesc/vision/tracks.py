"""Following people through a shot, and what they do: enters, leaves, walks, stops, sits down, stands up, turns, raises a hand.

A long shot's keyframes and samples (a frame every 0.5 s, from the shot pass) are searched
for people: the object detector's person boxes, with the body landmarks found in them. Each
frame's people are linked to the tracks of the frames before by where those were heading, their
size and the colours of their clothes. A change along a track becomes an event with a time: the
midpoint between the two frames that show it, so at most half the frames' spacing off.

Motion is measured against the background: the shot pass's global motion (Keyframe.camera) is
taken off a person's motion in the picture, so a camera following a walker does not make them
stand still, nor a pan make a bystander walk. Where the camera could not be followed, no walk is
said.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import cv2
import numpy as np

from videodesc.records import Event, Person, PersonTrack
from videodesc.vision import body as bp
from videodesc.vision.body import Body
from videodesc.vision.boxes import iou, outermost
from videodesc.vision.people import SEEN, Observation

EDGE = 0.02  # a box this close to the left or right edge (share of the width) is cut by it
# A person first (or last) found this close to an edge, in their own heights, and heading in
# (or out), came in (or went out) there: the detector misses people only partly in the picture.
NEAR_EDGE = 0.75
MAX_EDGE_SECONDS = 1.0  # how far back (or on) the crossing of the edge is placed from that heading
MAX_EDGE_SIZE_CHANGE = 0.3  # log height change between the last two sightings of someone crossing an edge
STILL_THERE = 0.3  # box overlap (IoU) on the next frame that means the person did not leave
MAX_MISSED = 2  # frames a track survives unseen (detector misses, people passing each other)
MIN_SIGHTINGS = 2  # a person found on one frame only may be a false detection
# Events need a longer track: two sightings can be two people the linking took for one.
MIN_EVENT_SIGHTINGS = 3
# Linking: how far a person may be from where they were heading, in their own heights, plus
# this much per second since last seen (the heading is unknown at first: someone walking covers
# about one body height a second).
REACH = 0.5
REACH_PER_SECOND = 0.6
FIRST_REACH_PER_SECOND = 1.4
MAX_SIZE_CHANGE = 0.5  # log of the height ratio between two sightings linked
# Bhattacharyya distance of the torso colour histograms. On vtest.avi's 40 px figures the same
# walker half a second apart measured 0.6-0.75 (with a finer 12 x 4 histogram than now), so the
# gate is loose: colour mostly ranks the candidates, position and size decide.
MAX_COLOUR_DISTANCE = 0.85
# Two faces on samples this far apart (dlib embeddings) are two people: different people in the
# test photos measured 0.57-0.98, one face shrunk to sample size drifted up to 0.31. Between
# the two, the faces do not decide and position, size and colour do.
DIFFERENT_FACES = 0.75
WALK_SPEED = 0.3  # body heights a second across the picture: slower is standing or shifting
MIN_WALK = 1.0  # body heights travelled before a walk is said
DEPTH_SPEED = 0.12  # log height change a second: walking towards or away from the camera
MIN_DEPTH = 0.3  # log height change (about 35% bigger or smaller) before it is said
MIN_FEET = 0.3  # body heights the feet move down (coming closer) or up the picture meanwhile
MIN_DEPTH_SECONDS = 1.0
STOP_SECONDS = 1.5  # seen this long where a walk ended, with no walk on: the person stopped
FACT_FLOOR = 0.75  # posture, facing and gesture facts an event rests on (as ConfidenceFloors.person)
RAISED = ("arm_raised", "arms_raised")  # the gestures of a raised hand


@dataclass
class Sighting:
    """One person on one frame of the shot."""

    time: float
    box: tuple[int, int, int, int]  # the object detector's person box: x, y, width, height
    confidence: float  # the detector's
    colour: np.ndarray = field(repr=False)  # normalised hue-saturation histogram of the torso
    facts: list[Observation] = field(default_factory=list)  # from the body in the box, if any
    body: Body | None = field(default=None, repr=False)
    person: Person | None = field(default=None, repr=False)  # the keyframe's record, for its character
    embedding: np.ndarray | None = field(default=None, repr=False)  # the face on a sample, when big enough

    @property
    def centre(self) -> np.ndarray:
        x, y, w, h = self.box
        return np.array([x + w / 2, y + h / 2], float)

    def fact(self, kind: str) -> Observation | None:
        sure = [f for f in self.facts if f.kind == kind and f.confidence >= FACT_FLOOR]
        return max(sure, key=lambda f: f.confidence) if sure else None


@dataclass
class Frame:
    """One frame of the shot with the people found on it."""

    time: float
    width: int
    height: int
    camera: list[float] | None  # Keyframe.camera: the content's motion since the shot's start
    sightings: list[Sighting] = field(default_factory=list)


@dataclass
class Track:
    id: str
    sightings: list[Sighting] = field(default_factory=list)
    frames: list[int] = field(default_factory=list)  # index of each sighting's frame

    def to_record(self, identify: Callable[[np.ndarray], str | None] = lambda _: None) -> PersonTrack:
        """The track as facts.json keeps it, with the character most of its faces belong to.

        `identify` names the character a sample's face embedding belongs to (None when it is
        nobody known): someone who walks in after the keyframes is still named.
        """
        characters = [s.person.character for s in self.sightings if s.person is not None and s.person.character]
        characters += [c for c in (identify(s.embedding) for s in self.sightings
                                   if s.person is None and s.embedding is not None) if c]
        return PersonTrack(self.id, self.sightings[0].time, self.sightings[-1].time, len(self.sightings),
                           max(set(characters), key=characters.count) if characters else None)


def torso_colour(image_bgr: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """Hue-saturation histogram of the middle of the upper body: what tells two passers-by apart."""
    x, y, w, h = box
    region = image_bgr[max(0, y + int(0.2 * h)):max(1, y + int(0.55 * h)), max(0, x + int(0.25 * w)):max(1, x + int(0.75 * w))]
    if region.size == 0:
        region = image_bgr[max(0, y):y + max(1, h), max(0, x):x + max(1, w)]
    hsv = cv2.cvtColor(region, cv2.COLOR_BGR2HSV)
    histogram = cv2.calcHist([hsv], [0, 1], None, [8, 3], [0, 180, 0, 256]).astype(np.float32)
    return histogram / max(float(histogram.sum()), 1.0)


def sightings_on(image_bgr: np.ndarray, time: float, person_boxes: list[tuple[tuple[int, int, int, int], float]],
                 bodies: list[tuple[Body, list[Observation], Person | None]], scale: float = 1.0) -> list[Sighting]:
    """The people on one frame: each person box with the body whose shoulders are inside it.

    `scale` turns the image's pixels into the shot's keyframe pixels (samples are smaller), in
    which every sighting's box is given so that a track's positions compare.
    """
    sightings = []
    free = list(bodies)
    for box, confidence in _outermost(person_boxes):
        if box[2] <= 0 or box[3] <= 0:
            continue
        match = next((n for n, candidate in enumerate(free) if candidate[0].shoulders_in(box)), None)
        body, facts, person = free.pop(match) if match is not None else (None, [], None)
        scaled = tuple(round(v * scale) for v in box) if scale != 1.0 else box
        sightings.append(Sighting(time, scaled, confidence, torso_colour(image_bgr, box), facts, body, person))
    return sightings


def head_box(body: Body, min_size: int) -> tuple[int, int, int, int] | None:
    """A square around the head, for the face detector; None when the face would be smaller than
    `min_size` pixels or is not seen from the front.

    BlazePose's face points can sit half a face off the face (the man in zidane.jpg's right
    half, 48 px on a 75 px face), so the square is centred at the nose's height, halfway across
    from the nose to the shoulders' midpoint, and is as wide as the shoulders (five eye distances
    at least).
    """
    if not body.visible(bp.NOSE, bp.LEFT_EYE, bp.RIGHT_EYE, bp.LEFT_SHOULDER, bp.RIGHT_SHOULDER, floor=SEEN):
        return None
    eyes = float(np.linalg.norm(body.xy(bp.LEFT_EYE) - body.xy(bp.RIGHT_EYE)))
    # A face box (dlib's) is about 2.5 eye distances wide.
    if 2.5 * eyes < min_size:
        return None
    shoulders = body.points[[bp.LEFT_SHOULDER, bp.RIGHT_SHOULDER], :2]
    side = int(max(5 * eyes, float(np.linalg.norm(shoulders[0] - shoulders[1]))))
    x = (body.xy(bp.NOSE)[0] + shoulders[:, 0].mean()) / 2
    y = body.xy(bp.NOSE)[1]
    return int(x - side / 2), int(y - side / 2), side, side


def _outermost(person_boxes: list[tuple[tuple[int, int, int, int], float]]) -> list[tuple[tuple[int, int, int, int], float]]:
    """The person boxes not lying (mostly) inside a bigger one.

    YOLOv3-tiny often boxes one person twice, whole and torso, which would make two tracks
    walking side by side.
    """
    return outermost(person_boxes, box=lambda item: item[0])


def link(frames: list[Frame]) -> list[Track]:
    """People followed across the frames, each as a track of at least MIN_SIGHTINGS sightings."""
    tracks: list[Track] = []
    for index, frame in enumerate(frames):
        active = [t for t in tracks if index - t.frames[-1] <= MAX_MISSED + 1]
        pairs = []
        for track in active:
            for n, sighting in enumerate(frame.sightings):
                cost = _link_cost(track, sighting, frame.time)
                if cost is not None:
                    pairs.append((cost, id(track), n, track))
        taken_tracks: set[int] = set()
        taken: set[int] = set()
        for cost, key, n, track in sorted(pairs, key=lambda p: p[0]):
            if key in taken_tracks or n in taken:
                continue
            taken_tracks.add(key)
            taken.add(n)
            track.sightings.append(frame.sightings[n])
            track.frames.append(index)
        for n, sighting in enumerate(frame.sightings):
            if n not in taken:
                tracks.append(Track("", [sighting], [index]))
    kept = [t for t in tracks if len(t.sightings) >= MIN_SIGHTINGS]
    kept.sort(key=lambda t: (t.sightings[0].time, t.sightings[0].box[0]))
    for number, track in enumerate(kept, 1):
        track.id = f"track-{number}"
    return kept


def _link_cost(track: Track, sighting: Sighting, time: float) -> float | None:
    """How unlike the track's last sighting `sighting` is; None when it cannot be the same person.

    The heading is the track's own motion in the picture, not the background's: a person the
    camera follows stays put in the picture while everything behind them slides.
    """
    last = track.sightings[-1]
    seconds = max(time - last.time, 1e-3)
    height = max(last.box[3], sighting.box[3], 1)
    predicted = last.centre
    if len(track.sightings) >= 2:
        before = track.sightings[-2]
        velocity = (last.centre - before.centre) / max(last.time - before.time, 1e-3)
        predicted = predicted + velocity * seconds
        reach = REACH + REACH_PER_SECOND * seconds
    else:
        reach = REACH + FIRST_REACH_PER_SECOND * seconds
    distance = float(np.linalg.norm(sighting.centre - predicted)) / height
    size_change = abs(float(np.log(max(sighting.box[3], 1) / max(last.box[3], 1))))
    colour = float(cv2.compareHist(last.colour, sighting.colour, cv2.HISTCMP_BHATTACHARYYA))
    if distance > reach or size_change > MAX_SIZE_CHANGE or colour > MAX_COLOUR_DISTANCE:
        return None
    known = next((s.embedding for s in reversed(track.sightings) if s.embedding is not None), None)
    if known is not None and sighting.embedding is not None and \
            float(np.linalg.norm(known - sighting.embedding)) > DIFFERENT_FACES:
        return None  # where and how big fit, but the face is someone else's
    return distance / reach + size_change / MAX_SIZE_CHANGE + colour / MAX_COLOUR_DISTANCE


def events(tracks: list[Track], frames: list[Frame]) -> list[Event]:
    """What the tracked people do, in time order."""
    found: list[Event] = []
    for track in tracks:
        if len(track.sightings) < MIN_EVENT_SIGHTINGS:
            continue
        found += _entries_and_exits(track, frames)
        walks = _walks(track, frames)
        found += walks + _stops(track, walks)
        found += _changes(track)
    return sorted(found, key=lambda e: (e.time, e.person))


def _edge_gap(box: tuple[int, int, int, int], width: int) -> tuple[str, float]:
    """The nearer of the left and right edges, and the pixels between it and the box."""
    x, _, w, _ = box
    return ("left", float(x)) if x < width - (x + w) else ("right", float(width - (x + w)))


def _crossing(first: Sighting, second: Sighting, frame_width: int) -> tuple[str, float] | None:
    """Which edge the person crossed, and how many seconds before `first` (after it, going out).

    `first` is the sighting at one end of the track (its first, or its last), `second` the one
    next to it along the track. None when the person is not near an edge or not heading across it.
    """
    side, gap = _edge_gap(first.box, frame_width)
    if gap > NEAR_EDGE * first.box[3] and gap > EDGE * frame_width:
        return None
    seconds = abs(second.time - first.time) or 1e-3
    # Towards the inside from `first` to `second`: the way in for the track's first sighting,
    # and, since `second` is then the earlier one, the way out for its last.
    speed = (second.centre[0] - first.centre[0]) / seconds * (1 if side == "left" else -1)
    if speed < WALK_SPEED * max(first.box[3], second.box[3]):
        return None  # not walking across: a box at the edge changing shape, someone turning
    if gap <= EDGE * frame_width:
        return side, 0.0  # cut by the edge: crossing it now
    travel = gap / speed
    return (side, travel) if travel <= MAX_EDGE_SECONDS else None


def _still_there(sighting: Sighting, frame: Frame) -> bool:
    """Someone on `frame` where `sighting` is: the track broke off (a box changing shape), the person did not go."""
    return any(iou(sighting.box, other.box) >= STILL_THERE for other in frame.sightings)


def _steady_size(a: Sighting, b: Sighting) -> bool:
    """Coming closer fills the picture up to its edges; going out by an edge keeps one's size."""
    return abs(float(np.log(max(a.box[3], 1) / max(b.box[3], 1)))) <= MAX_EDGE_SIZE_CHANGE


def _entries_and_exits(track: Track, frames: list[Frame]) -> list[Event]:
    out = []
    first, last = track.frames[0], track.frames[-1]
    width = frames[first].width
    # Entering: not on the frame before, at an edge and heading in.
    crossing = None
    if first > 0 and _steady_size(track.sightings[0], track.sightings[1]) \
            and not _still_there(track.sightings[0], frames[first - 1]):
        crossing = _crossing(track.sightings[0], track.sightings[1], width)
    if crossing is not None:
        side, before = crossing
        earliest = frames[first - 1].time
        time = (earliest + frames[first].time) / 2 if before == 0 else max(earliest, track.sightings[0].time - before)
        out.append(Event(round(time, 2), "enters", track.id,
                         round(min(s.confidence for s in track.sightings[:2]), 3), side))
    crossing = None
    if last < len(frames) - 1 and _steady_size(track.sightings[-1], track.sightings[-2]) \
            and not _still_there(track.sightings[-1], frames[last + 1]):
        crossing = _crossing(track.sightings[-1], track.sightings[-2], width)
    if crossing is not None:
        side, after = crossing
        latest = frames[last + 1].time
        time = (frames[last].time + latest) / 2 if after == 0 else min(latest, track.sightings[-1].time + after)
        out.append(Event(round(time, 2), "leaves", track.id,
                         round(min(s.confidence for s in track.sightings[-2:]), 3), side))
    return out


def _background_positions(track: Track, frames: list[Frame]) -> list[list[tuple[Sighting, np.ndarray, float]]]:
    """The track cut where the camera was lost; each part's sightings with centre and log height against the background."""
    parts: list[list[tuple[Sighting, np.ndarray, float]]] = []
    current: list[tuple[Sighting, np.ndarray, float]] = []
    previous = None
    for sighting, index in zip(track.sightings, track.frames):
        frame = frames[index]
        lost = frame.camera is None or (previous is not None and any(frames[i].camera is None for i in range(previous + 1, index + 1)))
        if lost and current:
            parts.append(current)
            current = []
        if frame.camera is not None:
            dx, dy, zoom = frame.camera
            centre = sighting.centre - np.array([dx, dy]) * frame.width
            current.append((sighting, centre, float(np.log(max(sighting.box[3], 1))) - zoom))
        previous = index
    if current:
        parts.append(current)
    return parts


class _Step(NamedTuple):
    """The motion between two sightings of a part of a track, against the background."""

    before: Sighting
    after: Sighting
    across: float  # body heights to the right (negative: left)
    depth: float  # log height change (positive: closer)
    across_sign: int  # -1, 0 or +1: moving across faster than WALK_SPEED, or not
    depth_sign: int  # the same in depth, against DEPTH_SPEED


def _walks(track: Track, frames: list[Frame]) -> list[Event]:
    """Runs of steady motion across the picture or in depth, each long enough to be a walk."""
    out = []
    for part in _background_positions(track, frames):
        steps = []
        for (a, ca, ha), (b, cb, hb) in zip(part, part[1:]):
            seconds = max(b.time - a.time, 1e-3)
            across = (cb[0] - ca[0]) / ((a.box[3] + b.box[3]) / 2)
            depth = hb - ha
            steps.append(_Step(a, b, across, depth,
                               int(np.sign(across)) if abs(across) / seconds >= WALK_SPEED else 0,
                               int(np.sign(depth)) if abs(depth) / seconds >= DEPTH_SPEED else 0))
        for axis, least in (("across", MIN_WALK), ("depth", MIN_DEPTH)):
            for run in _runs(steps, axis + "_sign"):
                across = sum(step.across for step in run)
                depth = sum(step.depth for step in run)
                amount = across if axis == "across" else depth
                if abs(amount) < least:
                    continue
                start, stop = run[0].before, run[-1].after
                if axis == "across":
                    direction = "right" if amount > 0 else "left"
                    # Mostly coming closer or going off: that is said as towards or away instead.
                    if abs(depth) / MIN_DEPTH > abs(across) / MIN_WALK:
                        continue
                else:
                    direction = "towards" if amount > 0 else "away"
                    if abs(across) / MIN_WALK >= abs(depth) / MIN_DEPTH:
                        continue
                    # A box's height jitters by a fifth on small figures; the feet must agree
                    # (lower in the picture coming closer, higher going off), for a second or more.
                    feet = (stop.box[1] + stop.box[3] - start.box[1] - start.box[3]) / ((start.box[3] + stop.box[3]) / 2)
                    if feet * amount <= 0 or abs(feet) < MIN_FEET or stop.time - start.time < MIN_DEPTH_SECONDS:
                        continue
                    facing = [s.fact("facing") for s in [start] + [step.after for step in run]]
                    facing = [f.value for f in facing if f is not None]
                    if facing.count("away" if direction == "towards" else "camera") > len(facing) / 2:
                        continue  # the body says otherwise
                sightings = [start] + [step.after for step in run]
                confidence = min(1.0, abs(amount) / least / 2) * float(np.mean([s.confidence for s in sightings]))
                out.append(Event(round(start.time, 2), "walks", track.id, round(confidence, 3), direction,
                                 end=round(stop.time, 2)))
    return out


def _stops(track: Track, walks: list[Event]) -> list[Event]:
    """Where a walk ends and the person stays, seen standing there for STOP_SECONDS or more."""
    out = []
    last_seen = track.sightings[-1].time
    for walk in walks:
        if walk.end is None or last_seen - walk.end < STOP_SECONDS:
            continue
        if any(other is not walk and walk.end - 0.01 <= other.time <= walk.end + STOP_SECONDS for other in walks):
            continue  # walking on, or turning towards the camera: no stop
        out.append(Event(walk.end, "stops", track.id, walk.confidence))
    return out


def _runs(steps: list[_Step], sign_of: str) -> list[list[_Step]]:
    """Consecutive steps with the same non-zero sign (the field `sign_of`); one still step between
    two same-signed runs joins them."""
    runs: list[list[_Step]] = []
    current: list[_Step] = []
    pause: list[_Step] = []
    for step in steps:
        sign = getattr(step, sign_of)
        if current and sign == getattr(current[0], sign_of):
            current += pause + [step]
            pause = []
        elif current and sign == 0 and not pause:
            pause = [step]
        else:
            if current:
                runs.append(current)
            current = [step] if sign != 0 else []
            pause = []
    if current:
        runs.append(current)
    return runs


def _changes(track: Track) -> list[Event]:
    """Sitting down, standing up, turning and raising a hand: a sure fact that differs from the one before."""
    out = []
    for kind, before_value, after_value, event, direction in (
            ("posture", "standing", "sitting", "sits_down", None),
            ("posture", "sitting", "standing", "stands_up", None),
            ("facing", "camera", "away", "turns", "away"),
            ("facing", "away", "camera", "turns", "to_camera")):
        previous = None
        for sighting in track.sightings:
            fact = sighting.fact(kind)
            if fact is None:
                continue
            if previous is not None and previous[1].value == before_value and fact.value == after_value:
                out.append(Event(round((previous[0].time + sighting.time) / 2, 2), event, track.id,
                                 round(min(previous[1].confidence, fact.confidence), 3), direction))
            previous = (sighting, fact)
    previous = None
    for sighting in track.sightings:
        raised = next((f for f in sighting.facts if f.kind == "gesture" and f.value in RAISED
                       and f.confidence >= FACT_FLOOR), None)
        if raised is not None and previous is not None and _arms_down(previous):
            out.append(Event(round((previous.time + sighting.time) / 2, 2), "raises_hand", track.id,
                             round(raised.confidence, 3)))
        if raised is not None or _arms_down(sighting):
            previous = sighting
    return out


def _arms_down(sighting: Sighting) -> bool:
    """Both wrists seen, below the shoulders: the arms are not raised."""
    body = sighting.body
    if body is None or any(f.kind == "gesture" and f.value in RAISED for f in sighting.facts):
        return False
    pairs = ((bp.LEFT_WRIST, bp.LEFT_SHOULDER), (bp.RIGHT_WRIST, bp.RIGHT_SHOULDER))
    return all(body.visible(w, s, floor=SEEN) and body.points[w, 1] > body.points[s, 1] for w, s in pairs)
