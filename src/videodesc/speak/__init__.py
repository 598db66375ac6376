"""Speaking the descriptions: text-to-speech backends behind one protocol, and a speech cache.

Backends (chosen per language by a VoiceSpec):
- `piper`: Piper's neural voice, run as a separate process (GPL-3.0); English by default with the
  bundled `en_US-joe-medium` voice (CC0).
- `espeak`: Debian's espeak-ng, run as a program (GPL-3.0): Korean and any other language.
  Robotic, but always there.
- `http`: an OpenAI-compatible `/v1/audio/speech` endpoint -- where a local Korean neural voice
  (MeloTTS, Supertonic, XTTS) served by the user plugs in.

Every voice writes 48 kHz mono 16-bit WAV with the engine's edge silence trimmed and returns its
length; `SpeechCache` keeps one file per text, voice and settings under `OUT/work/speech/`.
"""

from __future__ import annotations

import dataclasses

from videodesc.speak.base import Voice, VoiceSpec, check_spec, wav_seconds
from videodesc.speak.cache import SpeechCache
from videodesc.speak.text import speakable

__all__ = ["SpeechCache", "Voice", "VoiceSpec", "default_voice", "make_voice", "resolve_voice", "speakable",
           "wav_seconds"]


def default_voice(language: str) -> VoiceSpec:
    """The voice that works with nothing configured: Piper's joe for English, espeak-ng otherwise."""
    if language.split("-")[0].lower() == "en":
        return VoiceSpec(backend="piper", language=language)
    from videodesc.speak.espeak import voice_for

    return VoiceSpec(backend="espeak", language=language, voice=voice_for(language))


def resolve_voice(voice: VoiceSpec | None, language: str, rate: float = 1.0) -> VoiceSpec:
    """The voice that speaks `language`: the one configured (its language set), else the default at `rate`."""
    if voice is not None:
        return dataclasses.replace(voice, language=language)
    return dataclasses.replace(default_voice(language), rate=rate)


def make_voice(spec: VoiceSpec) -> Voice:
    """A ready voice for `spec`.

    Raises:
        InputError: settings no backend can use (unknown backend, rate or pitch out of range,
            no endpoint for http).
        ModelError: the engine or its voice is missing (espeak-ng not installed, no espeak voice
            for the language, the Piper model file missing).
    """
    check_spec(spec)
    if spec.backend == "espeak":
        from videodesc.speak.espeak import EspeakVoice

        return EspeakVoice(spec)
    if spec.backend == "piper":
        from videodesc.speak.piper import PiperVoice

        return PiperVoice(spec)
    from videodesc.speak.http import HTTPVoice

    return HTTPVoice(spec)
