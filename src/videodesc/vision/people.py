"""What a person's body says: posture, facing, arms and hands, clothing and hair colour; and the shot scale.

Every fact is a rule over the BlazePose landmarks (vision/body.py), kept only when the landmarks
it needs are seen and the geometry is clearly on one side of its threshold; its confidence is
the lowest visibility of those landmarks times how far past the threshold the measure lies. A
person cut by the frame edge, or hidden below the waist, gets fewer facts, never guessed ones.

Where the hand model found a hand at the end of an arm (vision/hands.py), the hand gestures
(pointing, hands together, a hand at the mouth or face, holding) are read from its 21 points
instead of BlazePose's three rough hand points, which cannot tell a pointing finger from an open
hand; the pose rules stay for the hands it did not find (hidden, too small, or the sampled
frames between keyframes, where no hand model runs).

Image coordinates: x to the right, y down. "Left" and "right" are the person's own (BlazePose's
left shoulder is the person's left, on the image's right when they face the camera).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from videodesc.vision import body as bp
from videodesc.vision.body import Body
from videodesc.vision.colours import dominant_colour
from videodesc.vision.hands import FINGERS, FINGERTIPS, INDEX, PALM, Hand, reach

# Objects a hand can hold (COCO classes of the object detector).
HOLDABLE = {"cup", "bottle", "wine glass", "cell phone", "book", "umbrella", "handbag", "knife", "fork",
            "spoon", "remote", "scissors", "toothbrush", "tennis racket", "baseball bat", "frisbee",
            "sports ball", "banana", "apple", "sandwich", "donut", "teddy bear", "kite", "laptop",
            "backpack", "suitcase", "mouse", "keyboard", "hair drier", "skateboard", "vase"}
SEEN = 0.7  # landmark visibility for a point a fact rests on
MIN_CONFIDENCE = 0.5  # facts less sure than this are not recorded at all
# hands.reach of a finger: held out at or above EXTENDED, folded at or below CURLED, between them
# neither. On the test photos a pointing index measured 0.98 and the three fingers folded beside
# it 0.27-0.40; clasped hands 0.26-0.53; relaxed open hands 0.67-0.90; spread fingers 0.97-1.0.
EXTENDED, CURLED = 0.85, 0.55
WIDE_PERSON_BOX = 0.6  # object-detector person boxes that count towards a wide shot of small people


@dataclass
class Observation:
    kind: str  # posture, facing, gesture, holding, clothing, hair
    value: str
    confidence: float


def _angle(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> float:
    """The angle at b, in degrees."""
    u, v = a - b, c - b
    cos = float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v) + 1e-6))
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def _from_vertical(vector: np.ndarray) -> float:
    """Degrees between a vector and the vertical, 0-90 (up or down alike)."""
    return float(np.degrees(np.arctan2(abs(vector[0]), abs(vector[1]) + 1e-6)))


def _margin(measure: float, threshold: float, full: float) -> float:
    """0.5 at the threshold, 1.0 at `full` and beyond (works for thresholds from above or below)."""
    return float(np.clip(0.5 + 0.5 * (measure - threshold) / (full - threshold), 0.5, 1.0))


def _sure(kind: str, value: str, *factors: float) -> list[Observation]:
    confidence = round(float(np.prod(factors)), 3)
    return [Observation(kind, value, confidence)] if confidence >= MIN_CONFIDENCE else []


class _Frame:
    """One body's landmarks with the measures most rules share."""

    def __init__(self, body: Body):
        self.body = body
        p = body.points
        self.vis = p[:, 2]
        self.xy = p[:, :2]
        self.shoulders = self.xy[[bp.LEFT_SHOULDER, bp.RIGHT_SHOULDER]].mean(axis=0)
        self.hips = self.xy[[bp.LEFT_HIP, bp.RIGHT_HIP]].mean(axis=0)
        self.shoulder_width = float(np.linalg.norm(self.xy[bp.LEFT_SHOULDER] - self.xy[bp.RIGHT_SHOULDER]))
        self.has_shoulders = body.visible(bp.LEFT_SHOULDER, bp.RIGHT_SHOULDER, floor=SEEN)
        self.has_hips = body.visible(bp.LEFT_HIP, bp.RIGHT_HIP, floor=SEEN)
        self.torso = float(np.linalg.norm(self.shoulders - self.hips)) if self.has_hips else None
        # Rules that read "up", "level" or left-right order from the picture hold only for a body
        # upright in it; without the hips, the head must sit above the shoulders.
        if self.has_hips:
            self.upright = _from_vertical(self.shoulders - self.hips) < 35 and self.shoulders[1] < self.hips[1]
        else:
            self.upright = bool(body.visible(bp.NOSE, floor=SEEN) and self.xy[bp.NOSE, 1] < self.shoulders[1] - 0.2 * self.shoulder_width)

    def seen(self, *indices: int) -> float:
        return float(min(self.vis[i] for i in indices))


def posture(frame: _Frame) -> list[Observation]:
    """standing, sitting or lying, from the torso's and the legs' angles."""
    if not (frame.has_shoulders and frame.has_hips) or not frame.torso:
        return []
    torso_tilt = _from_vertical(frame.shoulders - frame.hips)
    core = frame.seen(bp.LEFT_SHOULDER, bp.RIGHT_SHOULDER, bp.LEFT_HIP, bp.RIGHT_HIP)
    if torso_tilt > 65:
        return _sure("posture", "lying", core, _margin(torso_tilt, 65, 80))
    if torso_tilt > 35:
        return []  # bending, leaning, falling: not one of the three
    all_legs = []
    for hip, knee, ankle in ((bp.LEFT_HIP, bp.LEFT_KNEE, bp.LEFT_ANKLE), (bp.RIGHT_HIP, bp.RIGHT_KNEE, bp.RIGHT_ANKLE)):
        thigh = frame.xy[knee] - frame.xy[hip]
        all_legs.append({
            "seen": min(frame.vis[hip], frame.vis[knee]),
            "ankle": frame.vis[ankle] >= SEEN,
            "ankle_seen": frame.vis[ankle],
            "thigh_tilt": _from_vertical(thigh),
            "thigh_down": thigh[1] > 0,
            "thigh_ratio": float(np.linalg.norm(thigh)) / frame.torso,
            "knee": _angle(frame.xy[hip], frame.xy[knee], frame.xy[ankle]),
        })
    legs = [leg for leg in all_legs if leg["seen"] >= SEEN]
    if not legs:
        return []
    seen = min(leg["seen"] for leg in legs)
    # Standing: one leg seen whole and straight under the hip, the other (often behind a coat or
    # the first leg) at least roughly so.
    upright = [leg for leg in legs if leg["ankle"] and leg["thigh_down"] and leg["knee"] > 150 and
               leg["thigh_tilt"] < 30 and leg["thigh_ratio"] > 0.6]
    other = [leg for leg in all_legs if leg not in upright]
    standing = upright and all(leg["seen"] >= 0.4 and leg["knee"] > 140 and leg["thigh_tilt"] < 35 and
                               leg["thigh_down"] for leg in other)
    if standing:
        straight = min(leg["knee"] for leg in upright)
        return _sure("posture", "standing", core, max(leg["seen"] for leg in upright),
                     max(leg["ankle_seen"] for leg in upright), _margin(straight, 150, 170))
    if len(legs) < len(all_legs):
        return []  # one knee unseen: not enough for sitting
    # Seated: the thighs run forward, so they are near horizontal in the picture, or, seen from
    # the front, foreshortened to a fraction of their length.
    flat = [leg for leg in legs if leg["thigh_tilt"] > 55]
    foreshortened = [leg for leg in legs if leg["thigh_ratio"] < 0.5 and leg not in flat]
    if flat and len(flat) + len(foreshortened) == len(legs):
        measure = min(leg["thigh_tilt"] for leg in legs) if len(flat) == len(legs) else 90
        return _sure("posture", "sitting", core, seen, _margin(measure, 55, 75))
    return []


def facing(frame: _Frame, has_face: bool) -> list[Observation]:
    """Towards the camera, in profile, or turned away, from the shoulders' order and width."""
    if not frame.has_shoulders or not frame.upright:
        return []
    scale = frame.torso if frame.torso else None
    if scale is None or scale < 10:
        return []
    # The person's left shoulder on the image's right (positive) means the chest faces the camera.
    spread = float(frame.xy[bp.LEFT_SHOULDER, 0] - frame.xy[bp.RIGHT_SHOULDER, 0]) / scale
    seen = frame.seen(bp.LEFT_SHOULDER, bp.RIGHT_SHOULDER)
    nose = frame.vis[bp.NOSE]
    if spread > 0.45 and (has_face or nose > 0.9):
        return _sure("facing", "camera", seen, _margin(spread, 0.45, 0.7), 1.0 if has_face else 0.9)
    if spread < -0.45 and not has_face:
        return _sure("facing", "away", seen, _margin(-spread, 0.45, 0.7), 0.9)
    if abs(spread) < 0.2 and nose > 0.8 and frame.seen(bp.LEFT_HIP, bp.RIGHT_HIP) >= SEEN:
        # A narrow pair of shoulders over the hips, the nose seen: side-on.
        return _sure("facing", "profile", seen, _margin(0.2 - abs(spread), 0.0, 0.15))
    return []


def finger_states(hand: Hand) -> dict[str, tuple[str | None, float]]:
    """Per finger but the thumb: "extended", "curled" or None (in between), with how far past the threshold."""
    states: dict[str, tuple[str | None, float]] = {}
    for name, finger in FINGERS.items():
        measure = reach(hand, finger)
        if measure >= EXTENDED:
            states[name] = ("extended", _margin(measure, EXTENDED, 0.95))
        elif measure <= CURLED:
            states[name] = ("curled", _margin(measure, CURLED, 0.4))
        else:
            states[name] = (None, 0.0)
    return states


def pointing(hand: Hand, direction: np.ndarray) -> float:
    """How sure it is that a hand points along `direction` (a unit vector in the picture): the
    index held out that way, the other three fingers folded; 0 when it does not point."""
    states = finger_states(hand)
    if states["index"][0] != "extended" or any(states[f][0] != "curled" for f in ("middle", "ring", "pinky")):
        return 0.0
    finger = hand.points[INDEX[3]] - hand.points[INDEX[0]]
    length = float(np.linalg.norm(finger))
    if length == 0 or float(np.dot(finger, direction)) < 0.5 * length:
        return 0.0  # held out, but not away from the body along the arm
    return min(margin for _, margin in states.values())


def _hands_together(frame: _Frame, hands: dict[str, Hand]) -> list[Observation] | None:
    """Hands together from the hand model; None when it saw too little to tell.

    Two hands found: together when their nearest points are under 0.3 palm lengths apart. One
    found: together when the other arm's wrist lies on it (clasped hands hide each other, and
    both arms' crops then find the one hand in front).
    """
    if len(hands) == 2:
        left, right = hands["left"], hands["right"]
        gap = float(np.linalg.norm(left.points[:, None] - right.points[None], axis=2).min()) / ((left.palm + right.palm) / 2)
        return _sure("gesture", "hands_together", min(left.presence, right.presence), _margin(0.3 - gap, 0.0, 0.2)) \
            if gap < 0.3 else []
    if len(hands) == 1:
        ((arm, hand),) = hands.items()
        other = bp.RIGHT_WRIST if arm == "left" else bp.LEFT_WRIST
        if frame.vis[other] < SEEN:
            return None
        gap = float(np.linalg.norm(hand.points - frame.xy[other], axis=1).min()) / hand.palm
        return _sure("gesture", "hands_together", hand.presence, frame.vis[other], _margin(0.5 - gap, 0.0, 0.3)) \
            if gap < 0.5 else []
    return None


def gestures(frame: _Frame, objects: list[tuple[str, float, tuple[int, int, int, int]]],
             hands: list[Hand]) -> list[Observation]:
    """Arms raised, arms crossed, hands together, an arm outstretched or pointing, a hand at the face, holding."""
    if not frame.has_shoulders or frame.shoulder_width < 20:
        return []  # too small for the hands to be placed reliably (bus.jpg shrunk to a sixth)
    width = frame.shoulder_width
    found: list[Observation] = []
    upright = frame.upright
    hand_of = {hand.arm: hand for hand in hands}
    arms = (("left", bp.LEFT_SHOULDER, bp.LEFT_ELBOW, bp.LEFT_WRIST, bp.LEFT_INDEX),
            ("right", bp.RIGHT_SHOULDER, bp.RIGHT_ELBOW, bp.RIGHT_WRIST, bp.RIGHT_INDEX))
    arm_seen = [frame.seen(s, e, w) for _, s, e, w, _ in arms]
    # Raised: the wrist above the top of the head's line (the nose lifted by a shoulder width /2).
    top = min(frame.xy[bp.NOSE, 1], frame.shoulders[1] - 0.6 * width)
    raised = []
    for (_, shoulder, elbow, wrist, _), seen in zip(arms, arm_seen):
        height = (top - frame.xy[wrist, 1]) / width
        if upright and seen >= SEEN and height > 0 and frame.xy[elbow, 1] < frame.xy[shoulder, 1]:
            raised.append((seen, _margin(height, 0.0, 0.4)))
    if len(raised) == 2:
        found += _sure("gesture", "arms_raised", min(r[0] for r in raised), min(r[1] for r in raised))
    elif len(raised) == 1:
        found += _sure("gesture", "arm_raised", *raised[0])

    # A wrist under the other arm is half hidden, so 0.5 is enough for wrists here; elbows must be seen.
    wrists_seen = min(frame.seen(bp.LEFT_ELBOW, bp.RIGHT_ELBOW), 2 * frame.seen(bp.LEFT_WRIST, bp.RIGHT_WRIST) - 0.2, 1.0)
    left_wrist, right_wrist = frame.xy[bp.LEFT_WRIST], frame.xy[bp.RIGHT_WRIST]
    below_shoulders = min(left_wrist[1], right_wrist[1]) > frame.shoulders[1]
    above_hips = frame.has_hips and max(left_wrist[1], right_wrist[1]) < frame.hips[1] + 0.1 * (frame.torso or 0)
    elbows_out = abs(frame.xy[bp.LEFT_ELBOW, 0] - frame.xy[bp.RIGHT_ELBOW, 0]) / width > 0.9
    crossed: list[Observation] = []
    together: list[Observation] = []
    if upright and wrists_seen >= 0.6 and below_shoulders and above_hips and elbows_out:
        # How far each wrist has gone past the body's midline to the other side, in shoulder
        # widths: crossed arms carry one forearm well across (the other hand hides under it).
        side = np.sign(frame.xy[bp.LEFT_SHOULDER, 0] - frame.xy[bp.RIGHT_SHOULDER, 0])
        left_across = -(left_wrist[0] - frame.shoulders[0]) * side / width
        right_across = (right_wrist[0] - frame.shoulders[0]) * side / width
        apart = float(np.linalg.norm(left_wrist - right_wrist)) / width
        # Folded arms: both forearms run inwards across the body, level, from elbows held out.
        inward = []
        for elbow, wrist, sign in ((bp.LEFT_ELBOW, bp.LEFT_WRIST, -side), (bp.RIGHT_ELBOW, bp.RIGHT_WRIST, side)):
            forearm = frame.xy[wrist] - frame.xy[elbow]
            inward.append(forearm[0] * sign / width if _from_vertical(forearm) > 55 else 0.0)
        if apart >= 0.25 and min(inward) > 0.45 and left_across + right_across > 0.25:
            crossed = _sure("gesture", "arms_crossed", wrists_seen, _margin(min(inward), 0.45, 0.7))
        elif apart < 0.3:
            together = _sure("gesture", "hands_together", wrists_seen, _margin(0.3 - apart, 0.0, 0.15))
    by_hands = None if crossed else _hands_together(frame, hand_of)
    found += crossed or (together if by_hands is None else by_hands)

    for (arm, shoulder, elbow, wrist, _), seen in zip(arms, arm_seen):
        if seen < SEEN or not upright:
            continue
        arm_reach = float(np.linalg.norm(frame.xy[wrist] - frame.xy[shoulder]))
        length = float(np.linalg.norm(frame.xy[elbow] - frame.xy[shoulder]) + np.linalg.norm(frame.xy[wrist] - frame.xy[elbow]))
        straight = _angle(frame.xy[shoulder], frame.xy[elbow], frame.xy[wrist])
        lifted = _from_vertical(frame.xy[wrist] - frame.xy[shoulder])  # 0 hanging down, 90 level
        if straight > 150 and arm_reach > 0.9 * length and arm_reach > 1.1 * width and 60 < lifted and \
                frame.xy[wrist, 1] > top:
            # Only the hand model tells a pointing finger from an open hand: BlazePose's index
            # point lies beyond the wrist for both.
            hand = hand_of.get(arm)
            sure = pointing(hand, (frame.xy[wrist] - frame.xy[shoulder]) / arm_reach) if hand is not None else 0.0
            if sure:
                found += _sure("gesture", "pointing", seen, hand.presence, _margin(straight, 150, 170), sure)
            else:
                found += _sure("gesture", "arm_outstretched", seen, _margin(straight, 150, 170))
            break

    found += _at_face(frame, arms, hand_of)
    found += _holding(frame, arms, hand_of, objects)
    return found


def _at_face(frame: _Frame, arms: tuple, hand_of: dict[str, Hand]) -> list[Observation]:
    """A hand at the mouth (a fingertip at it) or at the face (any part of the hand by the nose or mouth)."""
    if frame.vis[bp.NOSE] < SEEN:
        return []
    width = frame.shoulder_width
    head = [frame.xy[bp.NOSE], frame.xy[bp.MOUTH_LEFT], frame.xy[bp.MOUTH_RIGHT]]
    mouth = (frame.xy[bp.MOUTH_LEFT] + frame.xy[bp.MOUTH_RIGHT]) / 2
    for arm, _, _, wrist, index in arms:
        hand = hand_of.get(arm)
        if hand is not None:
            tips, whole, seen = hand.points[list(FINGERTIPS)], hand.points, hand.presence
        elif frame.seen(wrist, index) >= SEEN:
            tips, whole, seen = frame.xy[[index]], frame.xy[[wrist, index]], frame.seen(wrist, index)
        else:
            continue
        to_mouth = float(np.linalg.norm(tips - mouth, axis=1).min()) / width
        to_face = min(float(np.linalg.norm(whole - point, axis=1).min()) for point in head) / width
        if to_mouth < 0.2:
            return _sure("gesture", "hand_at_mouth", seen, _margin(0.2 - to_mouth, 0.0, 0.1))
        if to_face < 0.35:
            return _sure("gesture", "hand_at_face", seen, _margin(0.35 - to_face, 0.0, 0.2))
    return []


def _holding(frame: _Frame, arms: tuple, hand_of: dict[str, Hand],
             objects: list[tuple[str, float, tuple[int, int, int, int]]]) -> list[Observation]:
    """The objects in a hand: a holdable object's box (with a tenth of room) around the palm's
    middle or most of the hand; an open hand on or before it is less sure than fingers wrapped."""
    held: dict[str, float] = {}
    for label, confidence, (x, y, w, h) in objects:
        if label not in HOLDABLE:
            continue
        x0, y0, x1, y1 = x - 0.1 * w, y - 0.1 * h, x + 1.1 * w, y + 1.1 * h
        for arm, _, _, wrist, index in arms:
            hand = hand_of.get(arm)
            if hand is not None:
                inside = (hand.points[:, 0] >= x0) & (hand.points[:, 0] <= x1) & (hand.points[:, 1] >= y0) & (hand.points[:, 1] <= y1)
                palm_x, palm_y = hand.points[list(PALM)].mean(axis=0)
                if not (x0 <= palm_x <= x1 and y0 <= palm_y <= y1) and inside.mean() < 0.5:
                    continue
                wrapped = sum(state != "extended" for state, _ in finger_states(hand).values()) >= 2
                sure = confidence * hand.presence * (1.0 if wrapped else 0.8)
            elif frame.seen(wrist, index) >= SEEN:
                if not any(x0 <= frame.xy[i, 0] <= x1 and y0 <= frame.xy[i, 1] <= y1 for i in (wrist, index)):
                    continue
                sure = confidence * frame.seen(wrist, index)
            else:
                continue
            held[label] = max(held.get(label, 0.0), sure)
    found: list[Observation] = []
    for label, confidence in sorted(held.items(), key=lambda item: -item[1])[:2]:
        found += _sure("holding", label, confidence)
    return found


def clothing(frame: _Frame, image_bgr: np.ndarray, face_boxes: list[tuple[int, int, int, int]],
             hands: list[Hand]) -> list[Observation]:
    """The colour of the top: the pixels inside the torso, between the shoulders and the hips."""
    if not frame.has_shoulders or frame.shoulder_width < 16:
        return []
    left, right = frame.xy[bp.LEFT_SHOULDER], frame.xy[bp.RIGHT_SHOULDER]
    if frame.has_hips:
        low_left, low_right = frame.xy[bp.LEFT_HIP], frame.xy[bp.RIGHT_HIP]
        seen = frame.seen(bp.LEFT_SHOULDER, bp.RIGHT_SHOULDER, bp.LEFT_HIP, bp.RIGHT_HIP)
    else:  # hips out of the picture: the chest, down to about a shoulder width below the shoulders
        drop = np.array([0.0, frame.shoulder_width * 0.8])
        low_left, low_right = left + drop, right + drop
        seen = frame.seen(bp.LEFT_SHOULDER, bp.RIGHT_SHOULDER) * 0.9
    # The inner part of the torso quadrilateral: away from the arms, the neck and the belt.
    top_mid, low_mid = (left + right) / 2, (low_left + low_right) / 2
    corners = []
    for upper, lower in ((left, low_left), (right, low_right)):
        a = top_mid + 0.6 * (upper - top_mid)
        b = low_mid + 0.6 * (lower - low_mid)
        corners += [a + 0.15 * (b - a), a + 0.8 * (b - a)]
    quad = np.array([corners[0], corners[2], corners[3], corners[1]], np.int32)
    mask = np.zeros(image_bgr.shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, quad, 1)
    for x, y, w, h in [*face_boxes, *(hand.box for hand in hands)]:  # a face or a hand at the chest is not the shirt
        mask[max(0, y):y + h, max(0, x):x + w] = 0
    pixels = image_bgr[mask.astype(bool)]
    colour = dominant_colour(pixels)
    if colour is None or colour.share < 0.5:
        return []
    return _sure("clothing", colour.name, seen, _margin(colour.share, 0.5, 0.8))


_HAIR = {"black": "black", "brown": "brown", "grey": "grey", "white": "white", "beige": "blond",
         "yellow": "blond", "orange": "red"}


def hair(image_bgr: np.ndarray, face_box: tuple[int, int, int, int]) -> list[Observation]:
    """The colour of the hair above a face, when it stands out from what lies beside the head."""
    x, y, w, h = face_box
    if w < 60:
        return []  # too few pixels to tell hair from background
    top = int(y - 0.45 * h)
    if top < 0:
        return []  # the top of the head is cut by the frame
    band = image_bgr[top:int(y - 0.1 * h), int(x + 0.25 * w):int(x + 0.75 * w)]
    beside = np.concatenate([image_bgr[top:int(y - 0.1 * h), max(0, int(x - 0.8 * w)):max(0, int(x - 0.4 * w))].reshape(-1, 3),
                             image_bgr[top:int(y - 0.1 * h), int(x + 1.4 * w):int(x + 1.8 * w)].reshape(-1, 3)])
    colour = dominant_colour(band.reshape(-1, 3), min_pixels=200)
    if colour is None or colour.share < 0.6 or colour.name not in _HAIR:
        return []
    background = dominant_colour(beside, min_pixels=100)
    if background is None or background.name == colour.name:
        return []  # hair the colour of the wall behind it cannot be told apart
    return _sure("hair", _HAIR[colour.name], _margin(colour.share, 0.6, 0.85))


def observe(body: Body, image_bgr: np.ndarray, has_face: bool, face_boxes: list[tuple[int, int, int, int]],
            objects: list[tuple[str, float, tuple[int, int, int, int]]], hands: list[Hand]) -> list[Observation]:
    """Every fact one body's landmarks support, and its hands' (HandLandmarker.find) where found."""
    frame = _Frame(body)
    return (posture(frame) + facing(frame, has_face) + gestures(frame, objects, hands) +
            clothing(frame, image_bgr, face_boxes, hands))


def shot_scale(image_shape: tuple[int, ...], face_heights: list[int], bodies: list[Body],
               person_boxes: list[tuple[float, tuple[int, int, int, int]]] = ()) -> Observation | None:
    """close-up, medium or wide, from the biggest face, else the biggest body, else the person boxes.

    A close-up's face fills a quarter of the frame's height or more; a medium shot shows a
    person from the waist up (face 8-18% of the height); a wide shot a whole small figure, or
    only small people (`person_boxes`: the object detector's, with their confidence).
    Between the bands nothing is said.
    """
    height = image_shape[0]
    if face_heights:
        share = max(face_heights) / height
        if share >= 0.25:
            return Observation("scale", "close-up", round(_margin(share, 0.25, 0.35), 3))
        if 0.08 <= share < 0.18:
            return Observation("scale", "medium", round(_margin(0.18 - share, 0.0, 0.04), 3))
        if share < 0.05 and not bodies:
            return Observation("scale", "wide", 0.6)
    for body in bodies[:1]:
        frame = _Frame(body)
        whole = body.visible(bp.NOSE, bp.LEFT_ANKLE, bp.RIGHT_ANKLE, floor=SEEN)
        if whole:
            tall = (max(frame.xy[bp.LEFT_ANKLE, 1], frame.xy[bp.RIGHT_ANKLE, 1]) - frame.xy[bp.NOSE, 1]) / height
            if tall <= 0.55:
                return Observation("scale", "wide", round(_margin(0.55 - tall, 0.0, 0.2), 3))
    if not face_heights or max(face_heights) / height < 0.05:
        return _small_people(height, person_boxes)
    return None


def _small_people(height: int, person_boxes: list[tuple[float, tuple[int, int, int, int]]]) -> Observation | None:
    """A wide shot when every sure person box is small and none is cut by the top or bottom edge.

    vtest.avi's pedestrians are 6-24% of the frame's height, too small for BlazePose to see their
    ankles. A box cut by the top or bottom may be a near person only partly in the picture.
    """
    sure = [(confidence, box) for confidence, box in person_boxes if confidence >= WIDE_PERSON_BOX]
    if not sure:
        return None
    for _, (_, y, _, h) in sure:
        if y <= 0.02 * height or y + h >= 0.98 * height:
            return None
    tallest = max(h for _, (_, _, _, h) in sure) / height
    if tallest > 0.3:
        return None
    return Observation("scale", "wide", round(max(c for c, _ in sure) * _margin(0.3 - tallest, 0.0, 0.15), 3))
