"""Extended description: the picture and the programme sound paused while a long description is spoken.

A `Freeze` holds the picture at a programme time for some seconds (and puts silence into every
programme sound track for the same seconds); everything after it comes later in the output by
that much. `shift` maps programme time to output time, `unshift` maps it back (a rendered
script keeps output times, and is rendered again from programme times).

The video must be re-encoded for this (libx264, CRF 18), once, in a single ffmpeg pass: the
stream is cut at each freeze point (`trim`), the last frame before the cut is repeated for the
freeze's length (`tpad=stop_mode=clone`, counted in frames, so the result is frame-exact), and
the pieces are joined again (`concat`). Sound is extended sample-exactly by copying the WAV in
blocks with the silence written in between, so memory does not grow with the length of the film.
"""

from __future__ import annotations

import json
import math
import subprocess
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from videodesc.errors import InputError
from videodesc.media import ffmpeg

__all__ = ["Freeze", "shift", "unshift", "merge", "total", "extend_video", "extend_audio", "describe_freezes",
           "freezes_json", "parse_freezes"]

_BLOCK = 1 << 18  # frames of sound copied at a time


@dataclass(frozen=True)
class Freeze:
    """The picture held at programme time `at` (seconds) for `seconds`; the sound silent meanwhile."""

    at: float
    seconds: float


def merge(freezes: Sequence[Freeze]) -> list[Freeze]:
    """The freezes in time order, those at the same time (within a microsecond) added together, empty ones out."""
    merged: list[Freeze] = []
    for freeze in sorted(freezes, key=lambda f: f.at):
        if freeze.seconds <= 0:
            continue
        if merged and abs(merged[-1].at - freeze.at) < 1e-6:
            merged[-1] = Freeze(merged[-1].at, merged[-1].seconds + freeze.seconds)
        else:
            merged.append(freeze)
    return merged


def total(freezes: Sequence[Freeze]) -> float:
    """Seconds the freezes add to the programme."""
    return sum(f.seconds for f in freezes if f.seconds > 0)


def shift(time: float, freezes: Sequence[Freeze]) -> float:
    """Programme time -> output time: `time` plus every freeze at or before it.

    A freeze at exactly `time` counts: what starts at the freeze point starts after the pause.
    """
    return time + sum(f.seconds for f in freezes if f.seconds > 0 and f.at <= time + 1e-9)


def unshift(time: float, freezes: Sequence[Freeze]) -> float:
    """Output time -> programme time (the inverse of `shift`); a time inside a freeze maps to its point."""
    offset = 0.0
    for freeze in merge(freezes):
        begins = freeze.at + offset  # where the held picture starts in the output
        if time < begins - 1e-9:
            break
        if time < begins + freeze.seconds - 1e-9:
            return freeze.at
        offset += freeze.seconds
    return time - offset


def describe_freezes(freezes: Sequence[Freeze]) -> str:
    """A line for people (the review page): '2 pauses, 3.20 s: 4.000 s +1.600 s; 9.000 s +1.600 s'."""
    freezes = merge(freezes)
    return (f"{len(freezes)} pause{'s' if len(freezes) != 1 else ''}, {total(freezes):.2f} s in all "
            "(programme time + pause; cue times are in the extended video): "
            + "; ".join(f"{f.at:.3f} s +{f.seconds:.3f} s" for f in freezes))


def freezes_json(freezes: Sequence[Freeze]) -> str:
    """The freezes as JSON ([[at, seconds], ...]), for the script's provenance."""
    return json.dumps([[round(f.at, 6), round(f.seconds, 6)] for f in merge(freezes)])


def parse_freezes(text: str | None) -> list[Freeze]:
    """The freezes that `freezes_json` wrote; [] for None or anything unreadable."""
    if not text:
        return []
    try:
        return merge([Freeze(float(at), float(seconds)) for at, seconds in json.loads(text)])
    except (ValueError, TypeError):
        return []


def video_rate(video: Path) -> Fraction:
    """The frame rate of the first video stream (r_frame_rate)."""
    info = _probe(video, "v:0", "stream=r_frame_rate,avg_frame_rate,pix_fmt")
    for key in ("r_frame_rate", "avg_frame_rate"):
        try:
            rate = Fraction(info.get(key, "0/0"))
        except (ValueError, ZeroDivisionError):
            continue
        if rate > 0:
            return rate
    raise InputError(f"{video}: the video's frame rate cannot be read")


def extend_video(video: Path, freezes: Sequence[Freeze], target: Path, duration: float) -> None:
    """Write the first video stream of `video`, re-encoded, with the picture held at each freeze.

    Args:
        video: the source.
        freezes: where (programme seconds) and how long to hold the picture. A freeze is made at
            the frame boundary nearest its time and lasts the nearest whole number of frames:
            the last frame shown before that boundary is repeated.
        target: the file to write: Matroska, video only (libx264, CRF 18, veryfast, the source's
            size, frame rate and pixel format).
        duration: seconds of the programme; freezes past it hold the last frame.

    Raises:
        InputError: the video cannot be read.
        VideodescError: ffmpeg failed.
    """
    video, target = Path(video), Path(target)
    rate = video_rate(video)
    pix_fmt = _probe(video, "v:0", "stream=pix_fmt").get("pix_fmt") or "yuv420p"
    last = max(0, math.ceil(duration * rate - 1e-6))  # frames in the programme
    # Freeze points as frame numbers: the first frame shown after the pause, and the frames repeated.
    points: dict[int, int] = {}
    for freeze in merge(freezes):
        frame = min(last, max(0, round(freeze.at * rate)))
        frames = round(freeze.seconds * rate)
        if frames > 0:
            points[frame] = points.get(frame, 0) + frames
    cuts = sorted(points)
    # Pieces [start frame, end frame) of the source, each followed by its pause.
    bounds = [0, *[c for c in cuts if 0 < c < last], None]
    lead = points.get(0, 0)  # a pause before the first frame holds the first frame
    tail = points.get(last, 0) if last > 0 else 0  # a pause at the end holds the last frame
    pieces = []
    for number in range(len(bounds) - 1):
        start, end = bounds[number], bounds[number + 1]
        trim = f"trim=start_frame={start}" + (f":end_frame={end}" if end is not None else "")
        pads = []
        if number == 0 and lead:
            pads.append(f"start_mode=clone:start={lead}")
        stop = points[end] if end is not None else tail
        if stop:
            pads.append(f"stop_mode=clone:stop={stop}")
        pad = f",tpad={':'.join(pads)}" if pads else ""
        pieces.append(f"{trim},setpts=PTS-STARTPTS{pad}")
    n = len(pieces)
    graph = f"[0:v:0]setpts=PTS-STARTPTS,split={n}" + "".join(f"[s{i}]" for i in range(n)) + ";"
    graph += ";".join(f"[s{i}]{piece}[p{i}]" for i, piece in enumerate(pieces))
    graph += ";" + "".join(f"[p{i}]" for i in range(n)) + f"concat=n={n}:v=1:a=0,fps={rate}[v]"
    target.parent.mkdir(parents=True, exist_ok=True)
    ffmpeg.run(["-v", "error", "-i", str(video), "-filter_complex", graph, "-map", "[v]", "-an", "-sn", "-dn",
                "-c:v", "libx264", "-crf", "18", "-preset", "veryfast", "-pix_fmt", pix_fmt,
                "-f", "matroska", "-y", str(target)],
               what=f"re-encoding {video.name} with the picture paused for extended description")


def extend_audio(wav: Path, freezes: Sequence[Freeze], target: Path) -> None:
    """Copy the WAV `wav` to `target` with silence of each freeze's length inserted at its time.

    Sample-exact: each freeze starts at the sample nearest its time and lasts the nearest whole
    number of samples. The rate, channels and sample width stay as they are.
    """
    wav, target = Path(wav), Path(target)
    try:
        source = wave.open(str(wav), "rb")
    except (OSError, wave.Error, EOFError) as exc:
        raise InputError(f"{wav}: not a readable WAV file ({exc})") from exc
    with source:
        rate, channels, width = source.getframerate(), source.getnchannels(), source.getsampwidth()
        frames = source.getnframes()
        silence = b"\x80" if width == 1 else b"\x00"
        target.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(target), "wb") as out:
            out.setnchannels(channels)
            out.setsampwidth(width)
            out.setframerate(rate)
            done = 0
            for freeze in merge(freezes):
                at = min(frames, max(0, round(freeze.at * rate)))
                _copy(source, out, at - done)
                done = max(done, at)
                pause = round(freeze.seconds * rate)
                while pause > 0:
                    step = min(pause, _BLOCK)
                    out.writeframes(silence * (step * channels * width))
                    pause -= step
            _copy(source, out, frames - done)


def _copy(source: wave.Wave_read, out: wave.Wave_write, frames: int) -> None:
    while frames > 0:
        data = source.readframes(min(frames, _BLOCK))
        if not data:
            break
        out.writeframes(data)
        frames -= len(data) // (source.getnchannels() * source.getsampwidth())


def _probe(path: Path, select: str, entries: str) -> dict:
    proc = subprocess.run([ffmpeg.binary("ffprobe"), "-v", "error", "-select_streams", select,
                           "-show_entries", entries, "-of", "json", str(path)], capture_output=True)
    if proc.returncode != 0:
        raise InputError(f"{path}: not a readable media file ({ffmpeg.last_line(proc.stderr)})")
    streams = json.loads(proc.stdout or b"{}").get("streams", [])
    if not streams:
        raise InputError(f"{path}: no video stream")
    return streams[0]
