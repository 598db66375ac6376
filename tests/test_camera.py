"""Camera moves from the shot pass: staged pans, tilts and zooms over real photos, and a fixed camera with people walking."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ffmpeg
from videodesc.media.probe import probe
from videodesc.records import load_timeline
from videodesc.shots.camera import camera_moves
from videodesc.shots.detect import ShotOptions, scan


def moves_of(video):
    result = scan(video, probe(video), ShotOptions())
    return [(m.kind, m.direction, m.start, m.end) for m in camera_moves(result.motion, 0.0, result.end)]


@pytest.mark.parametrize("crop, expected", [
    # still for 2 s, the view slides over the street for 3 s, still again
    ("crop=960:540:'if(lt(t,2),0,if(lt(t,5),(t-2)*300,900))':300", ("pan", "right")),
    ("crop=960:540:'if(lt(t,2),900,if(lt(t,5),900-(t-2)*300,0))':300", ("pan", "left")),
    ("crop=960:540:700:'if(lt(t,2),1200,if(lt(t,5),1200-(t-2)*250,450))'", ("tilt", "up")),
])
def test_a_staged_pan_or_tilt_is_found_with_its_times(samples, tmp_path, crop, expected):
    video = tmp_path / "moving.mp4"
    ffmpeg("-loop", "1", "-t", "8", "-i", str(samples / "bus.jpg"), "-vf", f"scale=2400:-2,{crop},fps=25",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", str(video))
    ((kind, direction, start, end),) = moves_of(video)
    assert (kind, direction) == expected
    assert abs(start - 2.0) <= 0.5 and abs(end - 5.0) <= 0.5


def test_a_staged_zoom_in_is_found_and_a_still_picture_has_no_move(samples, tmp_path):
    video = tmp_path / "zoom.mp4"
    ffmpeg("-loop", "1", "-t", "8", "-i", str(samples / "astronaut.png"), "-vf",
           "scale=1024:1024,zoompan=z='if(lt(in,75),1,if(lt(in,150),1+(in-75)*0.008,1.6))':d=1:s=640x640"
           ":x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)':fps=25", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(video))
    ((kind, direction, start, end),) = moves_of(video)
    assert (kind, direction) == ("zoom", "in") and abs(start - 3.0) <= 0.5 and abs(end - 6.0) <= 0.5
    still = tmp_path / "still.mp4"
    ffmpeg("-loop", "1", "-t", "4", "-i", str(samples / "astronaut.png"), "-vf", "fps=25", "-c:v", "libx264",
           "-pix_fmt", "yuv420p", str(still))
    assert moves_of(still) == []


def test_people_walking_past_a_fixed_camera_do_not_move_it(samples):
    """OpenCV's vtest.avi: 80 s of pedestrians crossing a campus path, filmed from a fixed camera."""
    assert moves_of(samples / "vtest.avi") == []


def test_camera_moves_reach_the_timeline_and_the_report(samples, tmp_path):
    video = tmp_path / "pan.mp4"
    ffmpeg("-loop", "1", "-t", "6", "-i", str(samples / "bus.jpg"), "-vf",
           "scale=2400:-2,crop=960:540:'if(lt(t,1),0,if(lt(t,4),(t-1)*300,900))':300,fps=25",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", str(video))
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "videodesc", "analyze", str(video), "-o", str(out), "--quiet",
                           "--vision", "off"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    (shot,) = load_timeline((out / "timeline.json").read_text()).shots
    assert [(m.kind, m.direction) for m in shot.camera] == [("pan", "right")]
    assert 'class="tl-camera"' in (out / "report.html").read_text()
