"""Camera moves: pans, tilts and zooms, from the global motion between frames of the shot pass.

The shot pass already turns every frame into a small grey image; every few frames, corners
tracked from the previous sampled frame (OpenCV's Lucas-Kanade optical flow) give a similarity
transform fitted with RANSAC, so that people walking through the picture, a minority of the
corners, do not move the camera. The centre's displacement is the pan and tilt, the scale the
zoom. Steps are then summed over one-second windows, and a run of windows moving the same way
far enough becomes one timed move.

Directions are the camera's: the picture's content sliding left means the camera pans right.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from videodesc.records import CameraMove

STEP_SECONDS = 0.25  # between the frames compared: short enough for optical flow at 128 px
WINDOW = 1.0  # seconds summed before deciding whether the camera moves
PAN_SPEED = 0.04  # of the frame width per second: slower drift is handheld wobble
ZOOM_SPEED = 0.03  # log scale per second (3% bigger each second)
MIN_PAN = 0.15  # a pan or tilt must carry the view this far (of the width) to be said
MIN_ZOOM = 0.12  # log scale: about 13% closer or further
MIN_INLIERS = 0.6  # share of tracked corners the transform must explain


@dataclass
class MotionStep:
    time: float  # of the later frame
    dx: float  # the picture centre's displacement, in frame widths (content moving right is positive)
    dy: float  # in frame widths, down positive
    zoom: float  # log of the scale change (positive: content grows, the camera zooms in)
    inliers: float  # share of the tracked corners the transform explains
    since: float  # seconds since the earlier frame


class MotionTracker:
    """Fed the shot pass's small grey frames in order; keeps one step per STEP_SECONDS."""

    def __init__(self) -> None:
        self.steps: list[MotionStep] = []
        self._previous: np.ndarray | None = None
        self._previous_time = -1.0

    def feed(self, grey: np.ndarray, time: float, cut: bool) -> None:
        if cut:  # no motion across a cut
            self._previous = None
        if self._previous is not None and time - self._previous_time < STEP_SECONDS:
            return
        # Half the shot pass's 256 px: the global motion needs few pixels, and this costs about
        # 1 ms a step (2.3-4.4 ms at 256 px), some 4 ms per second of video.
        small = cv2.pyrDown(grey)
        if self._previous is not None:
            step = self._measure(self._previous, small, time, round(time - self._previous_time, 3))
            if step is not None:
                self.steps.append(step)
        self._previous, self._previous_time = small, time

    @staticmethod
    def _measure(before: np.ndarray, after: np.ndarray, time: float, since: float) -> MotionStep | None:
        corners = cv2.goodFeaturesToTrack(before, maxCorners=60, qualityLevel=0.01, minDistance=4)
        if corners is None or len(corners) < 12:
            return None  # a flat picture (black, sky) says nothing about the camera
        moved, status, _ = cv2.calcOpticalFlowPyrLK(before, after, corners, None, winSize=(15, 15), maxLevel=2)
        good = status.reshape(-1) == 1
        if good.sum() < 12:
            return None
        matrix, inliers = cv2.estimateAffinePartial2D(corners[good], moved[good], method=cv2.RANSAC,
                                                      ransacReprojThreshold=1.0)
        if matrix is None:
            return None
        height, width = before.shape[:2]
        centre = np.array([width / 2, height / 2, 1.0])
        shift = matrix @ centre - centre[:2]
        scale = float(np.hypot(matrix[0, 0], matrix[1, 0]))
        return MotionStep(round(time, 3), float(shift[0] / width), float(shift[1] / width),
                          float(np.log(max(scale, 1e-3))), float(inliers.mean()), since)


def camera_moves(steps: list[MotionStep], start: float, end: float) -> list[CameraMove]:
    """The moves within one shot, in time order."""
    inside = [s for s in steps if start < s.time <= end and s.inliers >= MIN_INLIERS]
    moves: list[CameraMove] = []
    for kind, value, speed, least in (("pan", lambda s: -s.dx, PAN_SPEED, MIN_PAN),
                                      ("tilt", lambda s: -s.dy, PAN_SPEED, MIN_PAN),
                                      ("zoom", lambda s: s.zoom, ZOOM_SPEED, MIN_ZOOM)):
        # The sign of each one-second window's summed motion, 0 when slower than `speed`.
        windows = []
        t = start
        while t < end:
            chunk = [s for s in inside if t < s.time <= t + WINDOW]
            total = sum(value(s) for s in chunk)
            seconds = min(WINDOW, end - t)
            windows.append((t, t + seconds, total, np.sign(total) if chunk and abs(total) / seconds >= speed else 0.0,
                            np.mean([s.inliers for s in chunk]) if chunk else 0.0))
            t += WINDOW
        run: list = []
        for window in windows + [(end, end, 0.0, 0.0, 0.0)]:
            if run and window[3] == run[0][3]:
                run.append(window)
                continue
            if run and run[0][3] != 0:
                amount = abs(sum(w[2] for w in run))
                if amount >= least:
                    direction = {("pan", 1): "right", ("pan", -1): "left", ("tilt", 1): "down", ("tilt", -1): "up",
                                 ("zoom", 1): "in", ("zoom", -1): "out"}[(kind, int(run[0][3]))]
                    # The move's ends are its first and last moving steps, not the windows' edges.
                    sign = run[0][3]
                    moving = [st for st in inside if run[0][0] < st.time <= run[-1][1]
                              and value(st) * sign / STEP_SECONDS >= speed]
                    first = moving[0].time - STEP_SECONDS if moving else run[0][0]
                    last = moving[-1].time if moving else run[-1][1]
                    moves.append(CameraMove(round(max(start, first), 2), round(last, 2), kind, direction,
                                            round(float(np.exp(amount) - 1) if kind == "zoom" else amount, 3),
                                            round(float(np.mean([w[4] for w in run])), 3)))
            run = [window]
    return sorted(moves, key=lambda m: m.start)


def camera_offsets(steps: list[MotionStep], start: float, times: list[float]) -> list[list[float] | None]:
    """For each of a shot's frame times (in order): the content's motion since the shot's start.

    Each value is [dx, dy, log zoom] summed over the steps up to that time, or None when, since
    the time before, a step could not be measured or the transform explained too few of the
    tracked points (someone filling the frame, a flat or blurred picture).
    """
    inside = [s for s in steps if s.time > start]
    offsets: list[list[float] | None] = []
    total = np.zeros(3)
    previous, j = start, 0
    for time in times:
        covered, lost = 0.0, False
        while j < len(inside) and inside[j].time <= time:
            step = inside[j]
            j += 1
            if step.inliers < MIN_INLIERS:
                lost = True
                continue
            total += (step.dx, step.dy, step.zoom)
            covered += step.since
        if time - previous - covered > 2 * STEP_SECONDS:
            lost = True
        offsets.append(None if lost else [round(float(v), 4) for v in total])
        previous = time
    return offsets
