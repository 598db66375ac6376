"""Probe a video file with ffprobe into a Media record, refusing files we cannot work with."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from fractions import Fraction
from pathlib import Path

from videodesc.errors import InputError
from videodesc.media import ffmpeg
from videodesc.records import AudioStream, Media

# How far short of the announced duration the last readable video packet may end before we
# call the file truncated (a container's duration and its last frame differ by a frame or two).
TRUNCATION_TOLERANCE_S = 2.0
# Short of that, a picture that ends this much before the duration (or three frames, if longer)
# is worth a warning: a file cut short by a little, or a video track shorter than its sound.
SHORT_END_S = 0.5
_SAMPLE_BYTES = 1 << 20
_SAMPLES = 16


def content_hash(path: Path) -> str:
    """A fingerprint of the file's content: its size plus 16 evenly spread 1 MiB samples.

    Hashing every byte of a two-hour film costs seconds of disk reading on each run; the sampled
    hash changes when the file is re-encoded, cut, or replaced, which is what the cache needs.
    """
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as f:
        if size <= _SAMPLE_BYTES * _SAMPLES:
            digest.update(f.read())
        else:
            step = (size - _SAMPLE_BYTES) // (_SAMPLES - 1)
            for i in range(_SAMPLES):
                f.seek(i * step)
                digest.update(f.read(_SAMPLE_BYTES))
    return digest.hexdigest()[:32]


def _rate(text: str | None) -> float:
    try:
        value = Fraction(text or "0")
    except (ValueError, ZeroDivisionError):
        return 0.0
    return float(value) if value > 0 else 0.0


def _float(text: object) -> float | None:
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return value if value == value else None  # NaN -> None


def _rotation(video: dict) -> int:
    """Degrees counterclockwise (0, 90, 180 or 270) the stream's display matrix turns its picture.

    Only the display matrix counts: it is what ffmpeg's own autorotation applies (ffmpeg makes
    the extended video), and ffmpeg 5.1's demuxers export no "rotate" tag beside it any more.
    An angle that is not a quarter turn, which no camera writes, is taken as none (ffmpeg
    would turn the picture inside its frame, cutting off the corners).
    """
    for side in video.get("side_data_list") or []:
        if side.get("side_data_type") != "Display Matrix":
            continue
        angle = _float(side.get("rotation"))
        if angle is not None and abs(angle - 90 * round(angle / 90)) < 1:
            return round(angle / 90) % 4 * 90
    return 0


def _display_size(video: dict, rotation: int) -> tuple[int, int]:
    """The picture's width and height as shown: stretched to square pixels, then turned by `rotation`.

    Non-square pixels widen or narrow the picture and keep its height, as ffmpeg and players do
    (a 720x576 PAL 16:9 frame, 64:45 pixels, shows 1024x576); the width is kept even.
    """
    width, height = int(video.get("width") or 0), int(video.get("height") or 0)
    aspect = _rate(video.get("sample_aspect_ratio", "").replace(":", "/"))  # "0:1" or "N/A" when unknown
    if aspect and aspect != 1 and width:
        width = max(2, round(width * aspect / 2) * 2)
    return (height, width) if rotation in (90, 270) else (width, height)


def probe(path: Path, warnings: list[str] | None = None) -> Media:
    """Read streams and duration of `path`; what is odd but usable about it is added to `warnings`.

    Raises:
        InputError: the path is missing or unreadable, is not a media file, has no video
            stream, has zero duration, or is truncated.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a video file")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: permission denied")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file (0 bytes)")

    proc = subprocess.run(
        [ffmpeg.binary("ffprobe"), "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        capture_output=True,
    )
    info = json.loads(proc.stdout or b"{}") if proc.returncode == 0 else {}
    if proc.returncode != 0 or "format" not in info:
        reason = ffmpeg.last_line(proc.stderr).replace(f"{path}: ", "")
        raise InputError(f"{path}: not a readable media file ({reason})")

    streams = info.get("streams", [])
    # Cover art in an audio file is a 'video' stream with the attached_pic disposition: not a video.
    videos = [s for s in streams if s.get("codec_type") == "video"
              and not s.get("disposition", {}).get("attached_pic")]
    fmt = info["format"]
    duration = _float(fmt.get("duration")) or (_float(videos[0].get("duration")) if videos else None) or 0.0
    if duration <= 0 or not streams:
        raise InputError(f"{path}: zero duration (the file holds no frames or samples)")
    if not videos:
        kinds = ", ".join(sorted({s.get("codec_type", "?") for s in streams}))
        raise InputError(f"{path}: no video stream (videodesc describes pictures; this file has only {kinds})")
    video = videos[0]
    fps = _rate(video.get("avg_frame_rate")) or _rate(video.get("r_frame_rate"))
    rotation = _rotation(video)
    width, height = _display_size(video, rotation)
    start_time = _float(fmt.get("start_time")) or 0.0

    audio = [
        AudioStream(
            index=int(s["index"]),
            codec=s.get("codec_name", "?"),
            channels=int(s.get("channels") or 0),
            sample_rate=int(s.get("sample_rate") or 0),
            language=(s.get("tags") or {}).get("language"),
        )
        for s in streams
        if s.get("codec_type") == "audio"
    ]
    media = Media(
        path=str(path.resolve()),
        duration=duration,
        fps=fps,
        width=width,
        height=height,
        video_codec=video.get("codec_name", "?"),
        audio_streams=audio,
        size_bytes=path.stat().st_size,
        content_hash=content_hash(path),
        start_time=start_time,
        rotation=rotation,
    )
    shortfall = _check_not_truncated(path, media, int(video["index"]))
    if warnings is not None and shortfall > max(SHORT_END_S, 3 / fps if (fps or 0) > 0 else 0.0):
        warnings.append(f"the picture of {path.name} ends {shortfall:.1f} s before its duration "
                        f"({media.duration:.1f} s): the file may be cut short, or its video track is shorter "
                        "than its sound; the outputs last the full duration")
    return media


def _check_not_truncated(path: Path, media: Media, video_index: int) -> float:
    """Read the video packets of the last seconds; a file cut short has none there.

    An MP4 whose index sits at the front still announces its full duration after the end of
    the file was lost, and ffprobe accepts it; only reading the packets shows the loss.
    Returns the seconds by which the picture ends before the duration (0 when it does not).
    """
    start = max(0.0, media.start_time + media.duration - TRUNCATION_TOLERANCE_S - 3.0)
    proc = subprocess.run(
        [ffmpeg.binary("ffprobe"), "-v", "error", "-select_streams", str(video_index),
         "-read_intervals", f"{start:.3f}%", "-show_entries", "packet=pts_time,duration_time",
         "-of", "csv=p=0", str(path)],
        capture_output=True,
    )
    last_end = None
    for line in proc.stdout.decode("ascii", "replace").splitlines():
        pts_text, _, duration_text = line.strip().partition(",")
        pts = _float(pts_text)
        if pts is not None:
            end = pts + (_float(duration_text.rstrip(",")) or 0.0)
            last_end = end if last_end is None else max(last_end, end)
    expected_end = media.start_time + media.duration
    if last_end is None or last_end < expected_end - TRUNCATION_TOLERANCE_S:
        readable = f"video ends at {last_end - media.start_time:.1f} s" if last_end is not None else "no video at the end"
        raise InputError(f"{path}: file is truncated or damaged ({readable}, container says {media.duration:.1f} s)")
    return max(0.0, expected_end - last_end)
