"""Benchmark the vision models: milliseconds per keyframe for each part.

Usage: python benchmarks/vision.py [--samples DIR] [--seconds N]

Takes the keyframes that `videodesc analyze --vision off` picks in the first N seconds
(default 120) of Big Buck Bunny (1280x720) and of the narrated openboard clip (480x352), then
times each vision part on every keyframe in this process, after one warm-up image. The
whole-`analyze` real-time factor with vision on is measured by benchmarks/analyze.py.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parents[1]
CLIPS = {
    "Big Buck Bunny 1280x720": lambda samples: samples / "bbb.mp4",
    "wannaworktogether 480x352": lambda samples: Path("/usr/share/openboard/library/videos/wannaworktogether.mp4"),
}


def keyframes(video: Path, seconds: float, tmp: Path) -> list[Path]:
    clip = tmp / f"{video.stem}-clip.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(video), "-t", str(seconds), "-c", "copy",
                    str(clip)], check=True)
    out = tmp / f"{video.stem}-out"
    subprocess.run([sys.executable, "-m", "videodesc", "analyze", str(clip), "-o", str(out), "--vision", "off",
                    "--quiet", "--lang", "en"], check=True)
    return sorted((out / "keyframes").glob("*.jpg"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=Path(os.environ.get("VIDEODESC_SAMPLES", REPO / ".cache/samples")))
    parser.add_argument("--seconds", type=float, default=120)
    args = parser.parse_args()

    from videodesc.vision.age_gender import AgeGenderEstimator
    from videodesc.vision.body import PoseEstimator
    from videodesc.vision.emotion import ExpressionReader
    from videodesc.vision.faces import FaceDetector
    from videodesc.vision.hands import HandLandmarker
    from videodesc.vision.objects import ObjectDetector
    from videodesc.vision.scene import SceneTagger
    from videodesc.vision.text import TextReader

    faces, expressions, ages, objects = FaceDetector(), ExpressionReader(), AgeGenderEstimator(), ObjectDetector()
    text, scene, poses, hands = TextReader(), SceneTagger(), PoseEstimator(), HandLandmarker()
    # Hands are looked for on every body BlazePose returns; the vision stage looks only on bodies a
    # face or a person box confirms, so this is the most they can cost.
    print("| keyframes | count | faces found | face detect + embed ms | expression ms/face | age+gender ms/face "
          "| objects ms | bodies found | bodies ms | hands found | hands ms | text lines | text ms | scene tags ms "
          "| total ms/keyframe |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, where in CLIPS.items():
            images = [cv2.imread(str(p)) for p in keyframes(where(args.samples), args.seconds, Path(tmp))]
            faces.detect(images[0]), objects.detect(images[0]), text.read(images[0]), scene.tag(images[0])  # warm-up
            poses.estimate(images[0])
            spent = {"faces": 0.0, "expression": 0.0, "age": 0.0, "objects": 0.0, "bodies": 0.0, "hands": 0.0,
                     "text": 0.0, "scene": 0.0}
            face_count = line_count = body_count = hand_count = 0
            for image in images:
                t = time.perf_counter()
                found = faces.detect(image)
                spent["faces"] += time.perf_counter() - t
                for face in found:
                    t = time.perf_counter()
                    expressions.read(image, face.box)
                    spent["expression"] += time.perf_counter() - t
                    t = time.perf_counter()
                    ages.estimate(image, face.box, face.landmarks)
                    spent["age"] += time.perf_counter() - t
                face_count += len(found)
                t = time.perf_counter()
                found_objects = objects.detect(image)
                spent["objects"] += time.perf_counter() - t
                t = time.perf_counter()
                bodies = poses.estimate(image, [o.box for o in found_objects if o.label == "person"
                                                and o.confidence >= poses.settings.min_person_box])
                body_count += len(bodies)
                spent["bodies"] += time.perf_counter() - t
                t = time.perf_counter()
                rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
                hand_count += sum(len(hands.find(rgb, body)) for body in bodies)
                spent["hands"] += time.perf_counter() - t
                t = time.perf_counter()
                line_count += len(text.read(image))
                spent["text"] += time.perf_counter() - t
                t = time.perf_counter()
                scene.tag(image)
                spent["scene"] += time.perf_counter() - t
            n = len(images)
            per_face = lambda key: 1000 * spent[key] / face_count if face_count else 0.0
            print(f"| {name} | {n} | {face_count} | {1000 * spent['faces'] / n:.0f} | {per_face('expression'):.1f} "
                  f"| {per_face('age'):.1f} | {1000 * spent['objects'] / n:.0f} | {body_count} | {1000 * spent['bodies'] / n:.0f} | {hand_count} | {1000 * spent['hands'] / n:.0f} | {line_count} | {1000 * spent['text'] / n:.0f} "
                  f"| {1000 * spent['scene'] / n:.0f} "
                  f"| {1000 * sum(spent.values()) / n:.0f} |",
                  flush=True)


if __name__ == "__main__":
    main()
