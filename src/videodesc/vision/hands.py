"""Hands: MediaPipe's 21-point hand landmark model on the hands of each body BlazePose found, run with LiteRT.

The models ship inside the `mediapipe==0.10.21` wheel (Apache-2.0):
`holistic_landmark/hand_recrop.tflite` and `hand_landmark/hand_landmark_full.tflite`. They run
with LiteRT like the body models (vision/body.py).

The steps follow MediaPipe Holistic's hand graph (hand_landmarks_from_pose_cpu): no palm detector
looks for hands; each hand is placed from one arm of a body, so it is known whose hand it is and
which arm it ends.
1. From the pose's wrist, index and pinky points: the middle finger's knuckle is estimated at
   (2 index + pinky) / 3; a square of twice the wrist-to-knuckle distance, centred there and
   turned so that wrist-to-knuckle points up (HandDetectionsFromPoseToRectsCalculator), moved a
   tenth of its side towards the fingers and enlarged 2.7 times
   (hand_landmarks_from_pose_to_recrop_roi).
2. The re-crop model sees that square at 256x256 in [0, 1] and returns two points: the hand's
   centre and a point towards the wrist, half the side of a square around the hand away
   (hand_recrop_by_roi: that square, turned so the second point is below the first, moved a
   tenth of its side towards the fingers).
3. The landmark model sees the hand's square at 224x224 in [0, 1] and returns 21 points (x, y in
   crop pixels, depth), a hand presence probability, the handedness, and the same 21 points in
   metres about the hand's centre ("world" points: finger bends measured on them do not depend
   on how the hand is turned to the camera). The handedness checks the arm: a hand the model is
   sure is of the other side is not this arm's (_OWN_SIDE).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from videodesc.vision import body as bp
from videodesc.vision.body import Body, crop_to_image, interpreter, model_folder, run_on_crop, square_to_crop

_RECROP = "holistic_landmark/hand_recrop.tflite"
_LANDMARKS = "hand_landmark/hand_landmark_full.tflite"
_RECROP_SIZE = 256
_LANDMARK_SIZE = 224
_POSE_ROI_SCALE = 2.7  # RectTransformationCalculator in hand_landmarks_from_pose_to_recrop_roi
_TOWARDS_FINGERS = 0.1  # both rects' shift_y of -0.1: a tenth of the side towards the fingertips
_ATTACHED = 1.0  # the farthest, in palm lengths, a hand's wrist may lie from the pose's wrist (find)
# The least probability the handedness output may give the arm's own side. On the test photos
# (and mirrored) the hands at the end of arms the pose had right scored 0.81-0.99 for their side,
# but for Messi's, 30 px and seen edge-on: 0.33 and 0.82 for his left, 0.06 and 0.10 for his right,
# which is lost. The hand the pose had wrong scored 0.03 and 0.04: Zidane's pointing hand, which
# BlazePose put at the end of Ancelotti's right forearm (mirrored, his left). Where a hand is
# dropped, the pose's own hand rules stand in for it.
_OWN_SIDE = 0.25

# Landmark numbers of the 21-point hand topology: the wrist, then four joints per finger from
# the knuckle (MCP) to the tip; the thumb's first is its CMC joint.
WRIST = 0
THUMB = (1, 2, 3, 4)
INDEX = (5, 6, 7, 8)
MIDDLE = (9, 10, 11, 12)
RING = (13, 14, 15, 16)
PINKY = (17, 18, 19, 20)
FINGERS = {"index": INDEX, "middle": MIDDLE, "ring": RING, "pinky": PINKY}
FINGERTIPS = (4, 8, 12, 16, 20)
PALM = (0, 5, 9, 13, 17)
# The BlazePose points an arm's hand is placed from: wrist, pinky, index.
ARMS = {"left": (bp.LEFT_WRIST, bp.LEFT_PINKY, bp.LEFT_INDEX), "right": (bp.RIGHT_WRIST, bp.RIGHT_PINKY, bp.RIGHT_INDEX)}


@dataclass
class HandSettings:
    # The pose's wrist visibility for a hand to be looked for. MediaPipe's own gate is 0.1; a hand
    # behind a back or under folded arms is not there to be measured.
    min_wrist: float = 0.5
    # The landmark model's hand presence; MediaPipe's own threshold is 0.5.
    min_presence: float = 0.8
    min_crop: int = 24  # px: a smaller hand gives no fingers to read

    def as_key(self) -> dict:
        return dict(vars(self))


@dataclass
class Hand:
    """One hand of one body on one image."""

    arm: str  # "left" or "right": the person's own arm whose wrist placed it
    points: np.ndarray = field(repr=False)  # (21, 2): x, y in image pixels
    world: np.ndarray = field(repr=False)  # (21, 3): metres about the hand's centre
    presence: float  # the landmark model's hand presence probability
    own_side: float  # the handedness output's probability that it is a hand of the arm's side
    size: float  # side of the square the landmark model saw, in image pixels

    @property
    def box(self) -> tuple[int, int, int, int]:
        """x, y, width, height around the 21 points."""
        x0, y0 = self.points.min(axis=0)
        x1, y1 = self.points.max(axis=0)
        return int(x0), int(y0), int(np.ceil(x1 - x0)), int(np.ceil(y1 - y0))

    @property
    def palm(self) -> float:
        """The wrist-to-middle-knuckle length in image pixels: the hand's own scale."""
        return float(np.linalg.norm(self.points[MIDDLE[0]] - self.points[WRIST]))


def reach(hand: Hand, finger: tuple[int, int, int, int]) -> float:
    """How far a fingertip is from the wrist, as a share of palm and finger laid end to end.

    Measured on the world points, so a finger pointing at the camera is not shortened: about 1
    for a finger held straight out, 0.7-0.9 for a relaxed hand, 0.3-0.5 folded into a fist.
    """
    w = hand.world
    knuckle, middle, end, tip = finger
    length = (np.linalg.norm(w[knuckle] - w[WRIST]) + np.linalg.norm(w[middle] - w[knuckle]) +
              np.linalg.norm(w[end] - w[middle]) + np.linalg.norm(w[tip] - w[end]))
    return float(np.linalg.norm(w[tip] - w[WRIST]) / length) if length > 0 else 0.0


def _same_hand(a: Hand, b: Hand) -> bool:
    """Two results that put the 21 points in the same places (two real hands, even clasped, are
    mirror images: their fingertips do not fall on each other's)."""
    return bool(np.linalg.norm(a.points - b.points, axis=1).mean() < 0.3 * min(a.palm, b.palm))


class HandLandmarker:
    """Finds the 21 landmarks of a body's hands; load once, call per image."""

    def __init__(self, settings: HandSettings | None = None):
        self.settings = settings or HandSettings()
        folder = model_folder()
        self._recrop = interpreter(folder / _RECROP)
        self._landmarker = interpreter(folder / _LANDMARKS)
        # Identity: 21 points in crop pixels; Identity_1: hand presence (a probability already);
        # Identity_2: handedness; Identity_3: world points (hand_landmark_cpu's split order).
        by_name = {d["name"]: d["index"] for d in self._landmarker.get_output_details()}
        self._points_out, self._presence_out = by_name["Identity"], by_name["Identity_1"]
        self._right_out = by_name["Identity_2"]  # the probability that it is a right hand
        self._world_out = by_name["Identity_3"]

    def find(self, image_rgb: np.ndarray, body: Body) -> list[Hand]:
        """The body's hands that the model is sure of, left arm first.

        Args:
            image_rgb: the frame, RGB.
            body: the body whose wrists place the hands.
        """
        hands = []
        for arm, (wrist, pinky, index) in ARMS.items():
            if body.points[wrist, 2] < self.settings.min_wrist:
                continue  # the pose did not see this wrist: no hand to place
            hand = self.hand_at(image_rgb, arm, body.xy(wrist), body.xy(pinky), body.xy(index))
            if hand is None or hand.presence < self.settings.min_presence or hand.own_side < _OWN_SIDE:
                continue
            # A hand whose wrist is far from the arm's is someone else's, or the other hand of the
            # same person that the crop slid onto: bar55.jpg's man's hand on a shoulder was found
            # from a neighbour's arm 1.9 palms from her wrist, clasped hands (anne_helene.jpg)
            # from the other arm 1.1 palms off, while the hands that were the arm's own lay 0.1
            # to 0.8 palms from the pose's wrist.
            if np.linalg.norm(hand.points[WRIST] - body.xy(wrist)) > _ATTACHED * hand.palm:
                continue
            hands.append(hand)
        if len(hands) == 2 and _same_hand(*hands):
            # Both crops found one hand: it is the arm's whose wrist lies nearer.
            hands = [min(hands, key=lambda h: np.linalg.norm(h.points[WRIST] - body.xy(ARMS[h.arm][0])) / h.palm)]
        return hands

    def hand_at(self, rgb: np.ndarray, arm: str, wrist: np.ndarray, pinky: np.ndarray,
                index: np.ndarray) -> Hand | None:
        """The hand placed from an arm's three pose points (x, y), without find's checks; None when it is too small."""
        knuckle = (2 * index + pinky) / 3
        length = float(np.linalg.norm(knuckle - wrist))
        if 2 * length < self.settings.min_crop:
            return None
        up = (knuckle - wrist) / length
        side = 2 * length
        to_crop = square_to_crop(knuckle + _TOWARDS_FINGERS * side * up, up, side * _POSE_ROI_SCALE, _RECROP_SIZE)
        run_on_crop(self._recrop, rgb, to_crop, _RECROP_SIZE)
        centre, towards_wrist = crop_to_image(
            to_crop, self._recrop.get_tensor(self._recrop.get_output_details()[0]["index"]).reshape(2, 2))
        half = float(np.linalg.norm(towards_wrist - centre))
        side = 2 * half
        if side < self.settings.min_crop:
            return None
        up = (centre - towards_wrist) / half
        to_crop = square_to_crop(centre + _TOWARDS_FINGERS * side * up, up, side, _LANDMARK_SIZE)
        net = self._landmarker
        run_on_crop(net, rgb, to_crop, _LANDMARK_SIZE)
        presence = float(net.get_tensor(self._presence_out).reshape(-1)[0])
        points = crop_to_image(to_crop, net.get_tensor(self._points_out).reshape(21, 3)[:, :2])
        world = net.get_tensor(self._world_out).reshape(21, 3).copy()
        right = float(net.get_tensor(self._right_out).reshape(-1)[0])
        return Hand(arm, points.astype(np.float32), world, round(presence, 3),
                    round(right if arm == "right" else 1.0 - right, 3), round(side, 1))
