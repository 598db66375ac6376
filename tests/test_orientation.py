"""Rotated (phone) and non-square-pixel video is analysed as a viewer sees it, not as it is stored.

PyAV decodes frames as stored; the ffmpeg program turns them by the display matrix (its
autorotation, as players do), so a frame it decodes, stretched to square pixels, is what a
viewer sees and what the keyframes must look like.
"""

from __future__ import annotations

import json
import subprocess
import sys
import wave

import av
import cv2
import numpy as np
import pytest

from conftest import ffmpeg
from videodesc.media.probe import probe
from videodesc.records import dumps, load_timeline
from videodesc.render.extend import Freeze, extend_video
from videodesc.render.mux import write_ad_mp4
from videodesc.shots.camera import camera_moves
from videodesc.shots.detect import JPEG_QUALITY, ShotOptions, detect_shots, keyframe_size, scan
from videodesc.vision.faces import FaceDetector

SAME = 0.95  # pixel correlation of one picture through different decoders and JPEG; a turned or squeezed one is far off


def still_video(image: np.ndarray, target, seconds: float, vf: str = "null") -> None:
    """`seconds` of the picture `image` (BGR) as H.264 at 25 fps, through the filters `vf`."""
    picture = target.with_suffix(".png")
    cv2.imwrite(str(picture), image)
    ffmpeg("-loop", "1", "-t", str(seconds), "-i", str(picture), "-vf", f"{vf},fps=25", "-c:v", "libx264",
           "-preset", "veryfast", "-pix_fmt", "yuv420p", str(target))


def display_rotation(video) -> float | None:
    """The rotation ffprobe reads from the first video stream's display matrix; None without one."""
    proc = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_streams", "-of", "json",
                           str(video)], capture_output=True, check=True)
    (stream,) = json.loads(proc.stdout)["streams"]
    matrices = [s for s in stream.get("side_data_list", []) if s.get("side_data_type") == "Display Matrix"]
    return float(matrices[0]["rotation"]) if matrices else None


def phone_video(upright: np.ndarray, degrees: int, target, seconds: float = 5.0) -> None:
    """A video whose frames are stored turned, with a display matrix that turns them back to `upright`.

    ffmpeg 5.1's mp4 muxer turns a "rotate" tag into a display matrix that turns the picture
    `degrees` counterclockwise, so the frames are stored turned as far clockwise.
    """
    stored = target.with_name(f"stored-{target.name}")
    still_video(np.ascontiguousarray(np.rot90(upright, -degrees // 90)), stored, seconds)
    ffmpeg("-i", str(stored), "-c", "copy", "-metadata:s:v:0", f"rotate={degrees}", str(target))
    assert display_rotation(target) is not None  # the test needs a real display matrix


def shown(video, time: float = 1.0) -> np.ndarray:
    """The frame at `time` as a viewer sees it: ffmpeg's autorotation, then square pixels."""
    picture = video.with_name(f"shown-{video.stem}-{time:.3f}.png")
    ffmpeg("-ss", f"{time:.3f}", "-i", str(video), "-frames:v", "1", "-vf", "scale=iw*sar:ih,setsar=1", str(picture))
    return cv2.imread(str(picture))


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.corrcoef(a.ravel().astype(np.float32), b.ravel().astype(np.float32))[0, 1])


def keyframes_of(video, tmp_path):
    media = probe(video)
    out = tmp_path / "out"
    (out / "kf").mkdir(parents=True)
    shots = detect_shots(video, media, out, "kf", ShotOptions())
    return media, out, shots


@pytest.fixture(scope="module")
def portrait(samples) -> np.ndarray:
    """A real portrait photo (400x600) with one face, upright."""
    return cv2.imread(str(samples / "anne_helene.jpg"))


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_a_phone_video_gives_upright_keyframes_and_samples(portrait, tmp_path, degrees):
    video = tmp_path / "phone.mp4"
    phone_video(portrait, degrees, video)
    assert correlation(shown(video), portrait) > SAME  # the test video shows the portrait upright
    media, out, shots = keyframes_of(video, tmp_path)
    assert media.rotation == degrees and (media.width, media.height) == (400, 600)
    (shot,) = shots
    assert shot.keyframes and shot.samples  # five seconds: a long shot, sampled
    faces = FaceDetector()
    for frame in shot.keyframes + shot.samples:
        image = cv2.imread(str(out / frame.path))
        assert image.shape == portrait.shape  # portrait, not the stored landscape
        assert correlation(image, shown(video, frame.time)) > SAME, frame.path  # and not upside down
    for keyframe in shot.keyframes:
        assert len(faces.detect(cv2.imread(str(out / keyframe.path)))) == 1  # none is found in a turned face


@pytest.mark.parametrize("aspect, stored, display", [
    ("2", (320, 426), (640, 426)),  # pixels twice as wide as high: the stored frame is squeezed
    ("1/2", (1280, 426), (640, 426)),  # half as wide: the stored frame is stretched
])
def test_non_square_pixels_are_made_square(samples, tmp_path, aspect, stored, display):
    reference = cv2.resize(cv2.imread(str(samples / "jesper.jpg")), display, interpolation=cv2.INTER_AREA)
    video = tmp_path / "anamorphic.mp4"
    still_video(reference, video, 2.0, f"scale={stored[0]}:{stored[1]},setsar={aspect}")
    media, out, (shot,) = keyframes_of(video, tmp_path)
    assert (media.width, media.height, media.rotation) == (*display, 0)
    (keyframe,) = shot.keyframes
    image = cv2.imread(str(out / keyframe.path))
    assert (image.shape[1], image.shape[0]) == display
    assert correlation(image, shown(video, keyframe.time)) > SAME
    assert correlation(image, reference) > SAME
    assert len(FaceDetector().detect(image)) == 1  # squeezed or stretched, the face is not found


def test_camera_motion_is_measured_in_the_picture_as_shown(samples, tmp_path):
    """A pan across the stored frames of a phone video held upright is a tilt to the viewer, and
    the analysis says so just as it does for ffmpeg's upright copy of the same video."""
    stored = tmp_path / "stored.mp4"
    ffmpeg("-loop", "1", "-t", "7", "-i", str(samples / "bus.jpg"), "-vf",
           "scale=1200:-2,crop=480:270:'if(lt(t,2),0,if(lt(t,5),(t-2)*150,450))':150,fps=25",
           "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", str(stored))
    phone = tmp_path / "phone.mp4"
    ffmpeg("-i", str(stored), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(phone))
    upright = tmp_path / "upright.mp4"
    ffmpeg("-i", str(phone), "-c:v", "libx264", "-preset", "veryfast", str(upright))  # autorotated by ffmpeg
    assert display_rotation(upright) is None

    def moves(video):
        result = scan(video, probe(video), ShotOptions())
        return [(m.kind, m.direction) for m in camera_moves(result.motion, 0.0, result.end)]

    assert moves(stored) == [("pan", "right")]
    assert moves(phone) == moves(upright) == [("tilt", "up")]


def test_an_ordinary_video_is_analysed_as_decoded(samples, tmp_path):
    """Square pixels and no display matrix: every keyframe is the decoded frame (scaled down to
    KEYFRAME_MAX_WIDTH when wider), byte for byte the JPEG the shot pass always wrote."""
    video = tmp_path / "wide.mp4"
    still_video(cv2.imread(str(samples / "zidane.jpg")), video, 2.0, "scale=1920:1080")
    media, out, (shot,) = keyframes_of(video, tmp_path)
    assert (media.width, media.height, media.rotation) == (1920, 1080, 0)
    wanted = {keyframe.time: keyframe for keyframe in shot.keyframes}
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            keyframe = wanted.pop(round(float(frame.pts * frame.time_base), 3), None)
            if keyframe is None:
                continue
            image = cv2.resize(frame.to_ndarray(format="bgr24"), keyframe_size(1920, 1080),
                               interpolation=cv2.INTER_AREA)
            encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])[1].tobytes()
            assert (out / keyframe.path).read_bytes() == encoded
    assert not wanted


def test_the_extended_and_the_described_video_are_turned_once(portrait, tmp_path):
    """The extended video is re-encoded by ffmpeg, which turns the picture upright and drops the
    display matrix; the described MP4 copies the stream, display matrix and all."""
    video = tmp_path / "phone.mp4"
    phone_video(portrait, 90, video, seconds=2.0)
    extended = tmp_path / "extended.mkv"
    extend_video(video, [Freeze(1.0, 0.5)], extended, 2.0)
    assert display_rotation(extended) is None
    assert correlation(shown(extended, 0.5), portrait) > SAME
    mix = tmp_path / "mix.wav"
    with wave.open(str(mix), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(48000)
        out.writeframes(b"\0" * 4 * 48000 * 2)
    described = tmp_path / "described.mp4"
    write_ad_mp4(video, mix, [], "en", described)
    assert display_rotation(described) == display_rotation(video)
    assert correlation(shown(described), portrait) > SAME


def test_a_timeline_written_before_rotation_was_probed_still_loads():
    from test_records import sample_timeline

    data = json.loads(dumps(sample_timeline()))
    assert data["media"].pop("rotation") == 0
    media = load_timeline(json.dumps(data)).media
    assert (media.width, media.height, media.rotation) == (1280, 720, 0)


def test_analyze_finds_the_face_in_a_phone_video(portrait, tmp_path):
    video = tmp_path / "phone.mp4"
    phone_video(portrait, 270, video)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "videodesc", "analyze", str(video), "-o", str(out), "--quiet"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    media = load_timeline((out / "timeline.json").read_text()).media
    assert (media.width, media.height, media.rotation) == (400, 600, 270)
    facts = json.loads((out / "facts.json").read_text())
    faces = [face for shot in facts["shots"] for face in shot["faces"]]
    assert faces and all(face["gender"] == "female" for face in faces)
    (character,) = facts["characters"]
    crop = cv2.imread(str(out / character["crop"]))
    assert len(FaceDetector().detect(crop)) == 1  # the gallery shows the face upright
