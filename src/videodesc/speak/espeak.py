"""espeak-ng: the voice for Korean and every language without a neural voice. Robotic.

espeak-ng is a formant synthesiser: clear and fast, but plainly a machine, with flat prosody and
Korean that a native listener finds foreign. It is the fallback that always works (Debian's
`espeak-ng` package, no model files); for Korean the README points to the `http` backend and a
local neural voice. espeak-ng is GPL-3.0: it runs as a separate program, the text goes to it on
standard input (no shell, no argument parsing of the text), and it is never linked.

Pace: espeak-ng's `-s` is nominal words per minute and its real pace differs per language. The
defaults below were measured on eight description sentences per language (benchmarks/speak.py,
edge silence trimmed) so that rate 1.0 matches what the writer assumes (videodesc.write.speaking):
Korean at 200 wpm speaks 5.94 syllables per second (6.0 assumed; espeak-ng's default 175 gives
5.3), English at 145 wpm 2.68 words per second (2.7 assumed; the default 175 gives 3.3). The
pace follows `-s` linearly (rate 1.25 gave speech 1.24 times shorter), so `rate` multiplies
the wpm.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from pathlib import Path

from videodesc.children import dies_with_parent, scratch_folder
from videodesc.errors import InputError, ModelError
from videodesc.speak.base import VoiceSpec, finish
from videodesc.speak.text import speakable

# Words per minute at rate 1.0, by language; other languages get DEFAULT_WPM.
DESCRIBER_WPM = {"ko": 200, "en": 145}
DEFAULT_WPM = 160
MIN_WPM, MAX_WPM = 80, 450  # espeak-ng's own limits
# espeak voice per language where the bare language code is not the best choice.
VOICE_FOR_LANGUAGE = {"en": "en-us"}
TIMEOUT_S = 60


@functools.cache
def program() -> str:
    found = shutil.which("espeak-ng")
    if found is None:
        raise ModelError("espeak-ng not found on PATH: install it (Debian: apt-get install espeak-ng, "
                         "or run `make setup`)")
    return found


@functools.cache
def version() -> str:
    proc = subprocess.run([program(), "--version"], capture_output=True, text=True, timeout=TIMEOUT_S)
    found = re.search(r"text-to-speech:\s*(\S+)", proc.stdout)
    return found.group(1) if found else "unknown"


def voice_for(language: str) -> str:
    base = language.split("-")[0].lower()
    return VOICE_FOR_LANGUAGE.get(language.lower(), VOICE_FOR_LANGUAGE.get(base, language.lower()))


def describer_wpm(language: str) -> int:
    return DESCRIBER_WPM.get(language.split("-")[0].lower(), DEFAULT_WPM)


class EspeakVoice:
    """espeak-ng run as a program, one process per cue (about 70 ms a cue on two cores, ffmpeg included).

    Args:
        spec: backend "espeak"; `voice` defaults to the language's voice ("ko", "en-us", or the
            language code); `rate` multiplies the describer pace of the language; `pitch` 0-99.

    Raises:
        ModelError: espeak-ng is missing or has no such voice.
    """

    def __init__(self, spec: VoiceSpec):
        self.spec = spec
        self.voice = spec.voice or voice_for(spec.language)
        if not re.fullmatch(r"[A-Za-z0-9_+\-/]+", self.voice):
            raise InputError(f"espeak voice {self.voice!r} is not a voice name (e.g. ko, en-us, en-us+f3)")
        self.wpm = max(MIN_WPM, min(MAX_WPM, round(describer_wpm(spec.language) * spec.rate)))
        self._check_voice()
        self.name = f"espeak-ng {version()} {self.voice} {self.wpm} wpm" + (
            f" pitch {spec.pitch}" if spec.pitch is not None else "")

    def _args(self, output: Path) -> list[str]:
        args = [program(), "-b", "1", "-v", self.voice, "-s", str(self.wpm)]
        if self.spec.pitch is not None:
            args += ["-p", str(self.spec.pitch)]
        return args + ["-w", str(output)]

    def _check_voice(self) -> None:
        proc = subprocess.run([program(), "-q", "-b", "1", "-v", self.voice], input="a".encode(),
                              capture_output=True, timeout=TIMEOUT_S)
        if proc.returncode != 0:
            raise ModelError(f"espeak-ng has no voice {self.voice!r} for language {self.spec.language!r}: "
                             "`espeak-ng --voices` lists them; set the voice name")

    def synthesize(self, text: str, target: Path) -> float:
        spoken = speakable(text, self.spec.language)
        if not spoken:
            raise InputError(f"nothing to say in {text!r}")
        scratch = scratch_folder("espeak")
        try:
            raw = scratch / "espeak.wav"
            proc = subprocess.run(self._args(raw), input=spoken.encode("utf-8"), capture_output=True,
                                  timeout=TIMEOUT_S, preexec_fn=dies_with_parent)
            if proc.returncode != 0 or not raw.is_file():
                message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
                raise ModelError(f"espeak-ng failed on {text[:60]!r}: {message[-1] if message else 'no message'}")
            return finish(raw, target, "espeak-ng")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
