"""The speech cache: each cue's audio, kept in `OUT/work/speech/` and made again only when it changes.

A cue's file is named by a hash of its text, the voice's name (engine, voice and version) and the
VoiceSpec's settings, so re-rendering after one cue's text was edited synthesises that cue alone,
and a new rate, voice or engine version makes new files beside the old ones. Files are written
to a temporary name and renamed, so an interrupted render leaves no half-written WAV behind.
"""

from __future__ import annotations

import wave
from pathlib import Path

from videodesc.speak import text as text_rules
from videodesc.speak.base import Voice, VoiceSpec, wav_seconds
from videodesc.workfolder import atomic_path, stage_key

# Bump when the audio made for the same text and settings changes (format, trimming, peak level).
AUDIO_VERSION = 2


class SpeechCache:
    """Cached speech in `folder` (normally `OUT/work/speech/`).

    Attributes:
        hits, misses: how many `speak` calls found their audio, and how many synthesised it.
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.hits = 0
        self.misses = 0

    def key(self, voice: Voice, spec: VoiceSpec, text: str) -> str:
        return stage_key("speech", AUDIO_VERSION, text_rules.VERSION, text, voice.name, spec.as_key())

    def path(self, voice: Voice, spec: VoiceSpec, text: str) -> Path:
        return self.folder / f"{self.key(voice, spec, text)}.wav"

    def speak(self, voice: Voice, spec: VoiceSpec, text: str) -> tuple[Path, float]:
        """The WAV of `text` spoken by `voice` and its length in seconds; synthesised only on a miss."""
        target = self.path(voice, spec, text)
        if target.is_file():
            try:
                seconds = wav_seconds(target)
            except (OSError, EOFError, wave.Error):
                seconds = 0.0  # unreadable: made again below
            if seconds > 0:
                self.hits += 1
                return target, seconds
        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as tmp:
            seconds = voice.synthesize(text, tmp)
        self.misses += 1
        return target, seconds
