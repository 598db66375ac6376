"""Fetch the real media the tests and benchmarks use, from packages on PyPI.

Usage: python scripts/fetch_samples.py DEST

- pyannote.audio 4.0.7 wheel: `sample.wav` + `sample.rttm` (two speakers, reference speech turns).
- moviepy 2.2.1 sdist: `bbb.mp4` (Big Buck Bunny, 10 min, 720p, CC-BY, from its docs zip).
- scikit-image 0.26.0 wheel: real photos `astronaut.png`, `coffee.png`, `chelsea.png`, `camera.png`.
- yolov5 7.0.14 wheel: `bus.jpg`, `zidane.jpg`.
- face_recognition 1.3.0 sdist: `biden.jpg`, `obama3.jpg` (standing, arms folded).
- Debian packages, unpacked without installing: `darknet` (`person.jpg`: a man in profile in a
  field), `kphotoalbum` (its demo album: `cold_water.jpg`, a man on a beach, arms out;
  `anne_helene.jpg`, a woman sitting on the sand; `jesper.jpg` and `jesper_2.jpg`, one man's face
  close, the second with raised eyebrows and an open mouth; `bar55.jpg`, `bar55_2.jpg`, a couple at
  a bar, glasses in hand; `qt-logo.jpg`, three men flexing an arm; `pool.jpg`, a man bent over a
  pool table; `new_wave_2.jpg`, a young man smiling; `grand_canyon_2.jpg`, a man in a woolly hat),
  `opencv-doc` (`basketball1.png`, `messi5.jpg`, and `vtest.avi`: people
  walking in and out of a fixed view).

Only these files are kept; the downloaded archives are deleted. Re-running is a no-op once
`DEST/.done` exists.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

PYANNOTE = "pyannote.audio==4.0.7"
MOVIEPY = "moviepy==2.2.1"
PHOTOS = {
    "scikit-image==0.26.0": [f"skimage/data/{n}.png" for n in ("astronaut", "coffee", "chelsea", "camera")],
    "yolov5==7.0.14": ["yolov5/data/images/bus.jpg", "yolov5/data/images/zidane.jpg"],
}
SDIST_FILES = {"face-recognition==1.3.0": ["tests/test_images/biden.jpg", "tests/test_images/obama3.jpg"]}
DEBIAN_FILES = {
    "darknet": ["usr/share/darknet/data/person.jpg"],
    "kphotoalbum": [f"usr/share/kphotoalbum/demo/{n}.jpg" for n in (
        "cold_water", "anne_helene", "jesper", "jesper_2", "bar55", "bar55_2", "qt-logo", "pool", "new_wave_2",
        "grand_canyon_2")],
    "opencv-doc": [f"usr/share/doc/opencv-doc/examples/data/{n}" for n in ("basketball1.png", "messi5.jpg", "vtest.avi")],
}
MOVIEPY_ZIP = "docs/_static/medias/getting_started/moviepy_10_minutes/moviepy_10_minutes.zip"


def pip_download(spec: str, dest: Path, sdist: bool) -> Path:
    args = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(dest), spec]
    args += ["--no-binary", ":all:"] if sdist else ["--only-binary", ":all:"]
    subprocess.run(args, check=True)
    (found,) = [p for p in dest.iterdir() if p.is_file()]
    return found


def debian_download(package: str, dest: Path) -> Path:
    """The package's .deb (apt-get download needs no root; the lists are refreshed once if it fails)."""
    dest.mkdir(parents=True, exist_ok=True)
    run = lambda: subprocess.run(["apt-get", "download", "-q", package], cwd=dest, capture_output=True, text=True)
    if run().returncode != 0:
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        subprocess.run([*sudo, "apt-get", "update", "-q"], check=True, capture_output=True)
        proc = run()
        if proc.returncode != 0:
            sys.exit(f"apt-get download {package} failed: {proc.stderr.strip()}")
    (found,) = dest.glob("*.deb")
    return found


def main(dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = pip_download(PYANNOTE, Path(tmp) / "pyannote", sdist=False)
        with zipfile.ZipFile(wheel) as zf:
            for name in ("sample.wav", "sample.rttm"):
                (dest / name).write_bytes(zf.read(f"pyannote/audio/sample/{name}"))

        for spec, members in PHOTOS.items():
            wheel = pip_download(spec, Path(tmp) / spec.split("==")[0], sdist=False)
            with zipfile.ZipFile(wheel) as zf:
                for member in members:
                    (dest / Path(member).name).write_bytes(zf.read(member))

        for spec, members in SDIST_FILES.items():
            archive = pip_download(spec, Path(tmp) / spec.split("==")[0], sdist=True)
            with tarfile.open(archive) as tf:
                for member in members:
                    found = next(m for m in tf.getmembers() if m.name.endswith("/" + member))
                    (dest / Path(member).name).write_bytes(tf.extractfile(found).read())

        for package, members in DEBIAN_FILES.items():
            deb = debian_download(package, Path(tmp) / package)
            unpacked = Path(tmp) / f"{package}-files"
            subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked)], check=True)
            for member in members:
                (dest / Path(member).name).write_bytes((unpacked / member).read_bytes())

        sdist = pip_download(MOVIEPY, Path(tmp) / "moviepy", sdist=True)
        with tarfile.open(sdist) as tf:
            member = next(m for m in tf.getmembers() if m.name.endswith(MOVIEPY_ZIP))
            zip_bytes = tf.extractfile(member).read()
        zip_path = Path(tmp) / "moviepy.zip"
        zip_path.write_bytes(zip_bytes)
        with zipfile.ZipFile(zip_path) as zf:
            (dest / "bbb.mp4").write_bytes(zf.read("moviepy_10_minutes/resources/bbb.mp4"))
    (dest / ".done").write_text("ok\n")
    print(f"samples in {dest}: {', '.join(sorted(p.name for p in dest.iterdir() if p.name != '.done'))}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
