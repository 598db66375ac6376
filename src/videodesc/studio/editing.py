"""Changes a describer makes to a project's script.json, and the warnings of a cue as they type.

Every change is saved atomically, after the version it replaces is copied to `history/`: undo
puts the last copy back. The page sends the revision it saw (a hash of script.json) with each
change; a change made against another revision (another tab, a render that rewrote the script)
is refused rather than silently overwriting what it did not see.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from videodesc.errors import InputError, ModelError
from videodesc.output.subtitle_files import to_srt, to_vtt
from videodesc.records import Candidate, Cue, Script, SkippedSlot, Timeline, dumps, load_script, load_timeline
from videodesc.rendering import MIN_GAP, time_available
from videodesc.speak import VoiceSpec, resolve_voice
from videodesc.speech.models import cache_root
from videodesc.workfolder import note_script_written, write_text_atomic
from videodesc.write.speaking import SpeakingRate, spoken_seconds, voice_rate
from videodesc.write.style import problems

BY_HAND = "person"  # Candidate.backend of a text a person typed


class Conflict(InputError):
    """A change made against an older revision of the script."""


class ScriptEditor:
    """The script of one project's output folder."""

    def __init__(self, out: Path, history: Path, voice: VoiceSpec | None = None):
        self.out, self.history, self.voice = Path(out), Path(history), voice
        self._rates: dict[str, SpeakingRate] = {}

    # --- reading -------------------------------------------------------------------------------

    @property
    def revision(self) -> str:
        path = self.out / "script.json"
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.is_file() else ""

    def script(self) -> Script:
        path = self.out / "script.json"
        if not path.is_file():
            raise InputError("there is no script yet: describe the video first")
        return load_script(path.read_text(encoding="utf-8"))

    @functools.cached_property
    def timeline(self) -> Timeline:
        return load_timeline((self.out / "timeline.json").read_text(encoding="utf-8"))

    def rate(self, language: str) -> SpeakingRate:
        """The speaking rate `write` fitted the cues to: the voice's, measured once per machine
        (so read from the cache here), or a describer's pace when the voice cannot speak."""
        if language not in self._rates:
            try:
                self._rates[language] = voice_rate(resolve_voice(self.voice, language), language,
                                                   cache_root() / "voice-rates")
            except (ModelError, InputError):
                self._rates[language] = SpeakingRate()
        return self._rates[language]

    def warnings(self, script: Script, index: int | None, text: str, start: float, slot: int) -> list[str]:
        """What is wrong with saying `text` at `start` in `slot` (cue `index` of `script`, or a new
        one): the style rules, the time it needs against the time there is, dialogue under it."""
        found = []
        if not text.strip():
            return ["the text is empty: a cue must say something (delete the cue to leave the gap silent)"]
        found += problems(text, script.language)
        timeline = self.timeline
        needed = spoken_seconds(text, script.language, self.rate(script.language))
        others = [c for n, c in enumerate(script.cues) if n != index]
        following = min((c.start for c in others if c.start > start), default=None)
        # The time render will give it, so that what is said here is what render then does.
        available, what = time_available(start, slot, following, timeline, script.media.duration)
        if needed > available:
            found.append(f"too long: about {needed:.1f} s to say, {available:.1f} s before {what}")
        if any(s.start <= start < s.end for s in timeline.speech_regions):
            found.append("starts over dialogue")
        earlier = [c for c in others if c.start <= start]
        if earlier and max(c.end for c in earlier) + MIN_GAP > start:
            found.append("starts before the description before it has ended")
        return found

    # --- changing ------------------------------------------------------------------------------

    def edit(self, revision: str, index: int, text: str | None = None, chosen: int | None = None,
             start: float | None = None) -> Script:
        """Cue `index` with a new text, another of its alternatives, or another start."""
        script = self._current(revision)
        cue = self._cue(script, index)
        if chosen is not None:
            if not 0 <= chosen < len(cue.candidates):
                raise InputError(f"cue {index} has no alternative {chosen}")
            cue.chosen, cue.text = chosen, cue.candidates[chosen].text
        if text is not None:
            text = _clean(text)
            if not text:
                raise InputError("the text is empty: delete the cue to leave the gap silent")
            cue.text = text
            same = [n for n, c in enumerate(cue.candidates) if c.text == text]
            if same:
                cue.chosen = same[0]
        if start is not None:
            if not 0 <= start < script.media.duration:
                raise InputError(f"a cue starts between 0 and {script.media.duration:.2f} s, not at {start:.2f} s")
            cue.start = round(start, 3)
        cue.end = self._end(script, cue)
        cue.audio, cue.spoken_duration = None, None  # what render made of it no longer holds
        script.cues.sort(key=lambda c: c.start)
        return self._save(script)

    def delete(self, revision: str, index: int) -> Script:
        """Cue `index` removed; its gap is kept as a silent slot with its alternatives."""
        script = self._current(revision)
        cue = script.cues.pop(self._index(script, index))
        script.skipped.append(SkippedSlot(cue.slot, cue.start, cue.end, "deleted in the studio", cue.candidates))
        script.skipped.sort(key=lambda s: s.start)
        return self._save(script)

    def add(self, revision: str, slot: int, text: str, start: float | None = None) -> Script:
        """A new cue in `slot` (at its start, or at `start` inside it)."""
        script = self._current(revision)
        timeline = self.timeline
        if not 0 <= slot < len(timeline.slots):
            raise InputError(f"there is no gap {slot}")
        gap = timeline.slots[slot]
        start = gap.start if start is None else start
        if not gap.start - 1e-3 <= start < gap.end:
            raise InputError(f"gap {slot} runs from {gap.start:.2f} to {gap.end:.2f} s; {start:.2f} s is outside it")
        text = _clean(text)
        if not text:
            raise InputError("the text is empty")
        silent = [s for s in script.skipped if s.slot == slot]
        candidates = [Candidate(text, BY_HAND)] + [c for s in silent for c in s.candidates if c.text != text]
        cue = Cue(round(start, 3), round(start, 3), text, script.language, slot, list(gap.shots), candidates, 0)
        cue.end = self._end(script, cue)
        script.cues = sorted([*script.cues, cue], key=lambda c: c.start)
        script.skipped = [s for s in script.skipped if s.slot != slot]
        return self._save(script)

    def undo(self, revision: str) -> Script:
        """The script as it was before the last change."""
        self._current(revision)
        versions = sorted(self.history.glob("*.json")) if self.history.is_dir() else []
        if not versions:
            raise InputError("nothing to undo")
        last = versions[-1]
        script = load_script(last.read_text(encoding="utf-8"))
        self._publish(script)
        last.unlink()
        return script

    # --- helpers -------------------------------------------------------------------------------

    def _current(self, revision: str) -> Script:
        if revision != self.revision:
            raise Conflict("the script was changed elsewhere (another page or a render): reload to see it")
        return self.script()

    def _index(self, script: Script, index: int) -> int:
        if not 0 <= index < len(script.cues):
            raise InputError(f"there is no cue {index}")
        return index

    def _cue(self, script: Script, index: int) -> Cue:
        return script.cues[self._index(script, index)]

    def _end(self, script: Script, cue: Cue) -> float:
        """Where the cue's speech is expected to end; render measures the real length."""
        needed = spoken_seconds(cue.text, script.language, self.rate(script.language))
        return round(min(script.media.duration, cue.start + needed), 3)

    def _save(self, script: Script) -> Script:
        self.history.mkdir(parents=True, exist_ok=True)
        current = self.out / "script.json"
        number = len(list(self.history.glob("*.json"))) + 1
        write_text_atomic(self.history / f"{number:05d}.json", current.read_text(encoding="utf-8"))
        self._publish(script)
        return script

    def _publish(self, script: Script) -> None:
        # The text tracks follow the script at once, so that the page's player shows the edit;
        # the rest (the audio, the MP4) waits for render. The edit is recorded as written by
        # videodesc: history/ keeps the versions, so a `write --slots` from the page need not.
        text = dumps(script)
        write_text_atomic(self.out / "script.json", text)
        note_script_written(self.out, text)
        write_text_atomic(self.out / "descriptions.vtt", to_vtt(script.cues))
        write_text_atomic(self.out / "descriptions.srt", to_srt(script.cues))


def _clean(text: str) -> str:
    """One line of text: control characters and line breaks become spaces, lone surrogates go."""
    text = "".join(" " if (ord(ch) < 32 or ord(ch) == 127) else ch for ch in text)
    return " ".join(text.encode("utf-8", "ignore").decode("utf-8").split())
