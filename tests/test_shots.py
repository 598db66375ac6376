"""Shots and keyframes on real video, checked against ffmpeg's own scene detector."""

from __future__ import annotations

import re
import subprocess

import cv2

from conftest import ffmpeg
from videodesc.media.probe import probe
from videodesc.shots.detect import ShotOptions, detect_shots


def scdet_cuts(video) -> list[float]:
    proc = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(video), "-an", "-vf",
         "scdet=threshold=10,metadata=print:file=-", "-f", "null", "-"],
        capture_output=True, text=True, check=True)
    return [float(t) for t in re.findall(r"lavfi\.scd\.time=([0-9.]+)", proc.stdout)]


def test_cuts_agree_with_ffmpeg_scdet_within_one_frame(bbb_minute, tmp_path):
    media = probe(bbb_minute)
    (tmp_path / "kf").mkdir()
    shots = detect_shots(bbb_minute, media, tmp_path, "kf", ShotOptions())
    ours = [s.start for s in shots[1:]]
    theirs = scdet_cuts(bbb_minute)
    assert len(theirs) >= 5  # the test needs a clip with real cuts
    frame = 1 / media.fps
    assert len(ours) == len(theirs), (ours, theirs)
    for a, b in zip(ours, theirs):
        assert abs(a - b) <= frame + 1e-3, (a, b)
    # Shots tile the running time.
    assert shots[0].start == 0 and abs(shots[-1].end - media.duration) < 2 * frame
    assert all(a.end == b.start for a, b in zip(shots, shots[1:]))


def test_keyframes_are_sharp_frames_inside_their_shot(bbb_minute, tmp_path):
    media = probe(bbb_minute)
    (tmp_path / "kf").mkdir()
    shots = detect_shots(bbb_minute, media, tmp_path, "kf", ShotOptions())
    for shot in shots:
        assert 1 <= len(shot.keyframes) <= 3
        if shot.duration >= 8:
            assert len(shot.keyframes) >= 2  # long shots are shown more than once
        for keyframe in shot.keyframes:
            assert shot.start <= keyframe.time < shot.end
            image = cv2.imread(str(tmp_path / keyframe.path))
            assert image is not None and image.shape[:2] == (720, 1280)
            assert image.mean() > 20  # not a black transition frame
        times = [k.time for k in shot.keyframes]
        assert times == sorted(times) and len(set(times)) == len(times)


def test_variable_frame_rate_times_come_from_timestamps(tmp_path):
    """2 s at 5 fps, then 2 s of another picture at 30 fps: a frame-count clock would put the
    cut at 10 frames / (avg fps) instead of at 2.0 s."""
    a, b = tmp_path / "a.mp4", tmp_path / "b.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=320x240:r=5", "-t", "2", "-c:v", "libx264", "-pix_fmt", "yuv420p",
           "-video_track_timescale", "15360", str(a))
    ffmpeg("-f", "lavfi", "-i", "smptebars=s=320x240:r=30", "-t", "2", "-c:v", "libx264", "-pix_fmt", "yuv420p",
           "-video_track_timescale", "15360", str(b))
    listing = tmp_path / "list.txt"
    listing.write_text(f"file '{a}'\nfile '{b}'\n")
    vfr = tmp_path / "vfr.mp4"
    ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(vfr))
    media = probe(vfr)
    assert 6 < media.fps < 29  # an average that matches neither part
    (tmp_path / "kf").mkdir()
    shots = detect_shots(vfr, media, tmp_path, "kf", ShotOptions())
    assert len(shots) == 2
    assert abs(shots[1].start - 2.0) <= 1 / 30 + 1e-3
    assert abs(shots[1].end - 4.0) <= 0.1
