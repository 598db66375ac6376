"""Writer backends: slot context in, candidate sentences out.

`template` is the offline default (a grammar over the facts); `openai` talks to any
OpenAI-compatible chat endpoint; `transformers` runs a vision-language model from a local folder.
"""

from __future__ import annotations

from typing import Protocol

from videodesc.errors import ModelError
from videodesc.records import Claim
from videodesc.write.context import SlotContext


class EmptyAnswer(ModelError):
    """The model answered one request with no text at all (content null or blank).

    That slot is left silent with a warning and the run goes on: one empty answer can be the
    model's (a content filter, a reasoning model out of tokens). A writer raises a plain
    ModelError instead once the answers keep coming back empty, so that a broken server stops
    the run rather than leaving every slot silent.
    """


class Writer(Protocol):
    """Writes descriptions for one slot at a time."""

    name: str  # as recorded in Candidate.backend and the script's provenance

    def candidates(self, context: SlotContext, count: int) -> list[str]:
        """Up to `count` different descriptions of the slot, of different lengths; [] when nothing can be said."""
        ...

    def shorten(self, context: SlotContext, text: str, seconds: float) -> list[str]:
        """Shorter versions of `text` that should fit `seconds` of speech; [] when it cannot be shortened."""
        ...

    def claims(self, context: SlotContext, text: str) -> list[Claim]:
        """The facts `text` (one of this writer's candidates) states; [] when the writer cannot say."""
        ...
