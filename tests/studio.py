"""What the studio's tests share: a real server started on loopback, its API, a real clip, a real browser.

The server is `python -m videodesc serve` in its own process, as a user starts it; the clip is two
photo shots (a man with arms folded, a bus) under a LibriVox sentence, so that the offline writer
has something to say; the browser is Debian's chromium, driven through Debian's chromedriver.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import requests

from conftest import LIBRIVOX, ffmpeg

CHANGE = {"X-Videodesc": "1"}
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
AXE = Path(__file__).parent / "browser" / "node_modules" / "axe-core" / "axe.min.js"


def make_clip(samples: Path, target: Path) -> Path:
    """11 s: obama3.jpg for 6 s then bus.jpg, with 4 s of silence, a LibriVox sentence, silence."""
    folder = target.parent
    frame = "scale=640:480:force_original_aspect_ratio=decrease,pad=640:480:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=25"
    ffmpeg("-loop", "1", "-t", "6", "-i", str(samples / "obama3.jpg"), "-loop", "1", "-t", "6", "-i",
           str(samples / "bus.jpg"), "-f", "lavfi", "-t", "4", "-i", "anullsrc=r=16000:cl=mono",
           "-i", str(LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0880.wav"),
           "-f", "lavfi", "-t", "4", "-i", "anullsrc=r=16000:cl=mono",
           "-filter_complex", f"[0:v]{frame}[a];[1:v]{frame}[b];[a][b]concat=n=2:v=1:a=0[v];"
                              "[2:a][3:a][4:a]concat=n=3:v=0:a=1[s]",
           "-map", "[v]", "-map", "[s]", "-shortest", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
           "-c:a", "aac", "-movflags", "+faststart", str(target))
    assert folder.is_dir()
    return target


def track(video: Path, index: int) -> bytes:
    """Audio stream `index` of a video file, as 16 kHz mono float samples."""
    return subprocess.run(["ffmpeg", "-v", "error", "-i", str(video), "-map", f"0:a:{index}", "-ac", "1", "-ar",
                           "16000", "-f", "f32le", "pipe:1"], capture_output=True, check=True).stdout


def heard(audio: bytes, start: float, end: float) -> str:
    """What Whisper hears in 16 kHz mono float samples between two times, in lower case."""
    from videodesc.speech import asr, models

    samples = np.frombuffer(audio, np.float32)[int(start * 16000):int(end * 16000)]
    transcript = asr.transcribe(samples, models.default_whisper_model(), asr.AsrSettings(language="en"))
    return " ".join(u.text for u in transcript.utterances).lower()


class Studio:
    """A `videodesc serve` process and its API."""

    def __init__(self, data: Path, *args: str, env: dict | None = None):
        self.data, self.args = data, args
        self.env = dict(os.environ, **(env or {}))
        self.process: subprocess.Popen | None = None
        self.url = ""
        self.start()

    def start(self, timeout: float = 60) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "videodesc", "serve", "--data", str(self.data),
                                         "--port", "0", "--quiet", *self.args], stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, env=self.env)
        deadline = time.monotonic() + timeout
        line = ""
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            match = re.search(r"(http://\S+?)/(\?token=\S+)?\s", line)
            if match:
                self.url = match.group(1)
                break
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited: {line}{self.process.stdout.read()}")
        else:
            raise AssertionError(f"serve printed no address: {line}")
        while time.monotonic() < deadline:
            try:
                requests.get(self.url + "/api/settings", timeout=2, headers=self.auth())
                return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise AssertionError("serve does not answer")

    def auth(self) -> dict:
        token = self.env.get("VIDEODESC_TOKEN")
        return {"Authorization": f"Bearer {token}"} if token else {}

    def stop(self, kill: bool = False) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            self.process.wait(timeout=30)

    # --- the API -------------------------------------------------------------------------------

    def get(self, path: str, **kw) -> requests.Response:
        return requests.get(self.url + path, headers={**self.auth(), **kw.pop("headers", {})}, timeout=60, **kw)

    def post(self, path: str, **kw) -> requests.Response:
        return requests.post(self.url + path, headers={**CHANGE, **self.auth(), **kw.pop("headers", {})}, timeout=120, **kw)

    def delete(self, path: str, **kw) -> requests.Response:
        return requests.delete(self.url + path, headers={**CHANGE, **self.auth(), **kw.pop("headers", {})}, timeout=60, **kw)

    def upload(self, video: Path, language: str = "en", name: str | None = None) -> requests.Response:
        params = {"filename": video.name, "language": language, **({"name": name} if name else {})}
        with open(video, "rb") as body:
            return self.post("/api/projects/upload", params=params, data=body)

    def wait(self, job_id: str, timeout: float = 300) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.get(f"/api/jobs/{job_id}").json()
            if job["status"] in ("done", "failed", "cancelled"):
                return job
            time.sleep(0.3)
        raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def browser(width: int = 1280, height: int = 1600):
    """Headless Debian chromium through Debian's chromedriver; nothing downloaded."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not look for a browser on the network
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--window-size={width},{height}",
                 "--autoplay-policy=no-user-gesture-required"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def axe_violations(driver, tags=("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")) -> list[dict]:
    """axe-core's WCAG 2.1 A/AA violations on the page the driver shows."""
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}}).then(r => done(r.violations))"
        ".catch(e => done([{id: 'axe-error', help: String(e), nodes: []}]));", list(tags))
    return [{"id": v["id"], "help": v["help"], "nodes": [n.get("html", "")[:120] for n in v["nodes"]][:3]} for v in result]
