"""Find shot boundaries and keyframes in one decoding pass.

Frames are decoded with PyAV and scored with PySceneDetect's ContentDetector (HSV and edge
change between consecutive frames, on a frame scaled to 256 px wide as scenedetect itself
does). Times come from each frame's presentation timestamp, not from frame counts, so
variable-frame-rate video (phone recordings, screen captures) gets correct times.

Keyframes are chosen in the same pass: decoding the video a second time, or seeking back to
each chosen time, would cost as much again. The video is cut into short buckets (closed early
at every likely cut, so a bucket never spans two shots); the best frame of each bucket -- sharp,
not dark, not in the middle of a change -- is kept as JPEG bytes, and once the cuts are known
each shot picks its keyframes from the buckets inside it.

PyAV decodes frames as stored; keyframes and samples are made the shape a viewer sees
(Media.width x height): a phone video's frames turned by the display matrix, frames with
non-square pixels resized to square ones, since faces and people are looked for in them. The
camera's motion, compared with theirs, is measured on frames turned upright too; only the cut
detector scores frames the way they are stored, as a frame changes as much either way up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import av
import cv2
import numpy as np
from scenedetect.common import FrameTimecode, Timecode
from scenedetect.detectors import ContentDetector

from videodesc.errors import InputError
from videodesc.records import Keyframe, Media, Shot
from videodesc.shots.camera import MotionStep, MotionTracker, camera_moves, camera_offsets

ANALYSIS_WIDTH = 256  # PySceneDetect's own downscale target for its detectors
KEYFRAME_MAX_WIDTH = 1280  # bigger frames cost disk and vision time without helping
JPEG_QUALITY = 90
SAMPLE_SECONDS = 0.5  # spacing of a long shot's samples: people walk about half their height in that time
SAMPLE_JPEG_QUALITY = 85  # samples are for the models, never shown large
# Samples are scaled to this width: the object detector sees 416 px anyway, and smaller JPEGs cost
# less to write and read. With them the shot pass of Big Buck Bunny took no measurably longer.
SAMPLE_MAX_WIDTH = 640


@dataclass
class ShotOptions:
    threshold: float = 27.0  # ContentDetector's default
    min_shot_length: float = 0.6  # seconds; faster flicker is a flash, not a cut
    bucket_seconds: float = 1.0  # one keyframe candidate per bucket
    max_keyframes: int = 3
    sampled_shot: float = 4.0  # seconds; longer shots keep a frame every SAMPLE_SECONDS for following people

    def as_key(self) -> dict:
        return dict(vars(self))


@dataclass
class _Candidate:
    time: float
    quality: float
    sharpness: float
    jpeg: bytes


@dataclass
class _Bucket:
    start: float
    best_quality: float = -1.0
    best_frame: av.VideoFrame | None = None
    best_time: float = 0.0
    best_sharpness: float = 0.0


@dataclass
class _Sample:
    time: float
    sharpness: float
    file: Path


@dataclass
class ScanResult:
    cuts: list[float]
    end: float
    candidates: list[_Candidate] = field(default_factory=list)
    motion: list[MotionStep] = field(default_factory=list)
    samples: list[_Sample] = field(default_factory=list)  # of the stretches that went on long enough


def keyframe_size(width: int, height: int) -> tuple[int, int]:
    """The pixel size of the keyframes written for a `width` x `height` video.

    Face, object and text boxes are in keyframe pixels, so whoever draws them (the report) needs
    this size; it lives here, beside the resize it describes, so the two cannot drift apart.
    Frames wider than KEYFRAME_MAX_WIDTH are scaled down to it, the height kept even (as video
    encoders want it); narrower frames are written as decoded.
    """
    if width <= KEYFRAME_MAX_WIDTH:
        return width, height
    return KEYFRAME_MAX_WIDTH, round(height * KEYFRAME_MAX_WIDTH / width / 2) * 2


def _frame_quality(grey: np.ndarray, score: float, threshold: float) -> tuple[float, float]:
    """Sharpness (variance of the Laplacian) damped for dark frames and frames in motion."""
    sharpness = float(cv2.Laplacian(grey, cv2.CV_32F).var())
    quality = sharpness
    if float(grey.mean()) < 20:  # fade to black, night before the lights come up
        quality *= 0.1
    if score > threshold / 3:  # part of a dissolve or fast motion
        quality *= 0.25
    return quality, sharpness


def _stored(size: tuple[int, int], rotation: int) -> tuple[int, int]:
    """The size to scale a stored frame to so that, turned by `rotation`, it is `size`."""
    return (size[1], size[0]) if rotation in (90, 270) else size


# cv2.rotate writes a contiguous image at once; copying numpy's rot90 view into one, as OpenCV needs,
# takes 13 times as long (5.8 ms against 0.45 ms for a 1280x720 frame).
_TURNS = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}


def _upright(image: np.ndarray, rotation: int) -> np.ndarray:
    """`image` turned `rotation` degrees counterclockwise, as the display matrix says."""
    return cv2.rotate(image, _TURNS[rotation]) if rotation else image


def _keyframe_jpeg(frame: av.VideoFrame, media: Media) -> bytes | None:
    image = frame.to_ndarray(format="bgr24")
    size = _stored(keyframe_size(media.width or frame.width, media.height or frame.height), media.rotation)
    if size != (image.shape[1], image.shape[0]):
        # Area averaging where the frame shrinks; where non-square pixels widen it, it would
        # repeat columns, so those are interpolated.
        shrinks = size[0] <= image.shape[1] and size[1] <= image.shape[0]
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA if shrinks else cv2.INTER_LINEAR)
    ok, encoded = cv2.imencode(".jpg", _upright(image, media.rotation), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    return encoded.tobytes() if ok else None


def _sample_size(width: int, height: int) -> tuple[int, int]:
    """The pixel size of the samples of a `width` x `height` video (keyframes may be bigger)."""
    if width <= SAMPLE_MAX_WIDTH:
        return width, height
    return SAMPLE_MAX_WIDTH, max(2, round(height * SAMPLE_MAX_WIDTH / width / 2) * 2)


def scan(path: Path, media: Media, options: ShotOptions,
         on_progress: Callable[[float], None] | None = None, sample_dir: Path | None = None) -> ScanResult:
    """Decode the whole video once, returning cut times and keyframe candidates.

    With `sample_dir`, a frame every SAMPLE_SECONDS of each stretch without a likely cut that
    lasts `options.sampled_shot` or longer is written there as a JPEG (ScanResult.samples).
    Until a stretch is that long its frames are only held, so short shots cost no encoding.
    """
    try:
        container = av.open(str(path))
    except av.FFmpegError as exc:
        raise InputError(f"{path}: cannot decode video ({exc})") from exc
    with container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame threads: decoding is most of this stage's time
        # The frame the cut detector scores, in square pixels but not turned: ANALYSIS_WIDTH wide as
        # stored, a phone video costs what a landscape one does (turned first, it would be 256 x 456
        # px and the pass twice as slow).
        shown_width, shown_height = _stored((media.width, media.height), media.rotation)
        width = ANALYSIS_WIDTH
        height = max(2, round(shown_height * width / max(shown_width, 1) / 2) * 2)
        fps = media.fps or 25.0
        detector = ContentDetector(threshold=options.threshold, min_scene_len=options.min_shot_length)
        result = ScanResult(cuts=[], end=0.0)
        motion = MotionTracker()
        bucket: _Bucket | None = None
        last_time = -1.0
        last_duration = 1.0 / fps

        def close(b: _Bucket | None) -> None:
            if b is None or b.best_frame is None:
                return
            encoded = _keyframe_jpeg(b.best_frame, media)
            if encoded is not None:
                result.candidates.append(_Candidate(b.best_time, b.best_quality, b.best_sharpness, encoded))

        stretch_start, next_sample = 0.0, 0.0
        held: list[tuple[float, float, np.ndarray]] = []  # samples of a stretch not yet long enough
        sample_width, sample_height = _stored(_sample_size(media.width or width, media.height or height),
                                              media.rotation)

        def keep_sample(time: float, sharpness: float, frame: av.VideoFrame) -> None:
            image = frame.to_ndarray(format="bgr24", width=sample_width, height=sample_height, interpolation="AREA")
            held.append((time, sharpness, _upright(image, media.rotation)))
            if time - stretch_start < options.sampled_shot:
                return
            for held_time, held_sharpness, image in held:
                ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, SAMPLE_JPEG_QUALITY])
                if ok:
                    file = sample_dir / f"sample_{round(held_time * 1000):09d}.jpg"
                    file.write_bytes(encoded.tobytes())
                    result.samples.append(_Sample(held_time, held_sharpness, file))
            held.clear()

        try:
            for frame in container.decode(stream):
                if frame.pts is None:
                    continue
                time = float(frame.pts * frame.time_base) - media.start_time
                if time <= last_time:  # a repeated or out-of-order timestamp: keep times monotonic
                    continue
                if last_time >= 0:
                    last_duration = time - last_time
                last_time = time
                small = frame.to_ndarray(format="bgr24", width=width, height=height)
                timecode = FrameTimecode(Timecode(frame.pts, frame.time_base), fps=fps)
                for cut in detector.process_frame(timecode, small):
                    result.cuts.append(cut.seconds - media.start_time)
                # The detector keeps this frame's change score only privately (scenedetect 0.7.2,
                # pinned); computing it again would double the cost of the pass.
                score = detector._frame_score or 0.0
                # Upright for the camera's motion, which is compared with people's in the samples.
                grey = _upright(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), media.rotation)
                motion.feed(grey, time, cut=score >= options.threshold)
                quality, sharpness = _frame_quality(grey, score, options.threshold)
                if sample_dir is not None:
                    if score >= options.threshold:
                        stretch_start, next_sample = time, time
                        held.clear()
                    if time >= next_sample:
                        next_sample += SAMPLE_SECONDS * (1 + int((time - next_sample) // SAMPLE_SECONDS))
                        keep_sample(time, sharpness, frame)
                if bucket is None or score >= options.threshold or time - bucket.start >= options.bucket_seconds:
                    close(bucket)
                    bucket = _Bucket(start=time)
                if quality > bucket.best_quality:
                    bucket.best_quality, bucket.best_frame = quality, frame
                    bucket.best_time, bucket.best_sharpness = time, sharpness
                if on_progress is not None:
                    on_progress(time)
        except av.FFmpegError as exc:
            raise InputError(f"{path}: video stream is damaged at {last_time:.1f} s ({exc})") from exc
        close(bucket)
        for cut in detector.post_process(FrameTimecode(last_time, fps=fps)) or []:
            result.cuts.append(cut.seconds - media.start_time)
    if last_time < 0:
        raise InputError(f"{path}: no decodable video frames")
    result.motion = motion.steps
    result.end = min(media.duration, last_time + last_duration)
    result.cuts = sorted(c for c in set(result.cuts) if 0 < c < result.end)
    return result


def shots_from_cuts(cuts: list[float], end: float) -> list[Shot]:
    bounds = [0.0, *cuts, end]
    return [Shot(index=i, start=bounds[i], end=bounds[i + 1]) for i in range(len(bounds) - 1)]


def choose_keyframes(shot: Shot, candidates: list[_Candidate], max_keyframes: int) -> list[_Candidate]:
    """Up to `max_keyframes` candidates spread over the shot, avoiding its edges.

    Short shots get one keyframe, longer ones two or three (one per ~4 s), each the best
    candidate of its part of the shot. The first and last moments of a shot are where
    dissolves and motion blur live, so they are used only when nothing else is there.
    """
    inside = [c for c in candidates if shot.start <= c.time < shot.end]
    if not inside:
        return []
    wanted = max(1, min(max_keyframes, int(shot.duration // 4) + 1))
    margin = min(0.5, shot.duration * 0.15)
    interior = [c for c in inside if shot.start + margin <= c.time <= shot.end - margin] or inside
    part = shot.duration / wanted
    chosen = []
    for i in range(wanted):
        lo, hi = shot.start + i * part, shot.start + (i + 1) * part
        in_part = [c for c in interior if lo <= c.time < hi]
        if in_part:
            chosen.append(max(in_part, key=lambda c: c.quality))
    return chosen or [max(interior, key=lambda c: c.quality)]


def detect_shots(path: Path, media: Media, out: Path, keyframe_dir: str, options: ShotOptions,
                 on_progress: Callable[[float], None] | None = None) -> list[Shot]:
    """Shots with keyframes (and, for long shots, samples); JPEGs are written into `out / keyframe_dir`.

    Args:
        path: the video file.
        media: its probe record (for duration, frame rate, start time and size).
        out: the output folder; Keyframe.path values are relative to it.
        keyframe_dir: folder for the JPEGs, relative to `out` (it must exist).
        options: detection thresholds.
        on_progress: called with the time in seconds of each decoded frame.
    """
    result = scan(path, media, options, on_progress, sample_dir=out / keyframe_dir)
    shots = shots_from_cuts(result.cuts, result.end)
    kept: set[Path] = set()
    for shot in shots:
        shot.camera = camera_moves(result.motion, shot.start, shot.end)
        for n, candidate in enumerate(choose_keyframes(shot, result.candidates, options.max_keyframes), 1):
            rel = f"{keyframe_dir}/shot{shot.index:04d}_{n}.jpg"
            (out / rel).write_bytes(candidate.jpeg)
            shot.keyframes.append(Keyframe(time=round(candidate.time, 3), path=rel,
                                           sharpness=round(candidate.sharpness, 1)))
        if shot.duration < options.sampled_shot:
            continue
        # A sample at a keyframe's moment would be the same picture twice.
        apart = [s for s in result.samples if shot.start <= s.time < shot.end
                 and all(abs(s.time - k.time) >= SAMPLE_SECONDS / 2 for k in shot.keyframes)]
        for n, sample in enumerate(apart, 1):
            rel = f"{keyframe_dir}/shot{shot.index:04d}_s{n:03d}.jpg"
            sample.file.rename(out / rel)
            kept.add(sample.file)
            shot.samples.append(Keyframe(time=round(sample.time, 3), path=rel, sharpness=round(sample.sharpness, 1)))
        frames = sorted(shot.keyframes + shot.samples, key=lambda k: k.time)
        for frame, offset in zip(frames, camera_offsets(result.motion, shot.start, [f.time for f in frames])):
            frame.camera = offset
    for sample in result.samples:  # a likely cut the detector did not confirm, or a shot's tail past a cut
        if sample.file not in kept:
            sample.file.unlink(missing_ok=True)
    return shots
