"""Any video in, MP4 out: a picture or sound MP4 cannot hold is encoded once, with a notice, and the
described MP4 is made; what MP4 can hold is copied as it is."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ffmpeg


def streams(path) -> list[dict]:
    return json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(path)],
                                     capture_output=True, check=True).stdout)["streams"]


@pytest.mark.parametrize("suffix, video_args, audio_args, picture, copied", [
    # An old AVI: MS-MPEG4 v3 picture and PCM sound, neither of which MP4 takes.
    (".avi", ["-c:v", "msmpeg4v3", "-q:v", "3"], ["-c:a", "pcm_s16le"], "h264", False),
    # A WebM: VP9 and Opus, which MP4 takes as they are.
    (".webm", ["-c:v", "libvpx-vp9", "-b:v", "300k", "-deadline", "realtime", "-cpu-used", "8"],
     ["-c:a", "libopus"], "vp9", True),
])
def test_a_video_mp4_cannot_hold_is_described_to_mp4(studio_clip, tmp_path, suffix, video_args, audio_args,
                                                     picture, copied):
    source = tmp_path / f"old{suffix}"
    ffmpeg("-i", str(studio_clip), *video_args, *audio_args, str(source))
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "videodesc", "describe", str(source), "-o", str(out), "--lang", "en"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    made = streams(out / "old.ad.mp4")
    kinds = [s["codec_type"] for s in made]
    assert kinds.count("video") == 1 and kinds.count("audio") == 2 and kinds.count("subtitle") == 1, kinds
    (video,) = [s for s in made if s["codec_type"] == "video"]
    assert video["codec_name"] == picture
    notice = "cannot be copied into MP4 and was re-encoded to H.264"
    assert (notice in proc.stderr) != copied, proc.stderr
    original = [s for s in made if s["codec_type"] == "audio"][0]
    assert original["codec_name"] == ("opus" if copied else "aac")
    # The whole picture is there: as many seconds as the source's.
    source_seconds = float(json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_format", "-of", "json",
                                                       str(source)], capture_output=True, check=True).stdout)
                           ["format"]["duration"])
    assert abs(float(video.get("duration") or 0) - source_seconds) < 0.2
