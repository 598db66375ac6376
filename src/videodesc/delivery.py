"""Delivery presets: what a broadcaster or a streaming platform asks of an audio-described programme.

A preset fixes the loudness target and how it is measured (the whole programme, or dialogue-gated),
the true-peak ceiling, the loudness range it accepts, the format of the WAV deliverables (48 kHz,
24-bit) and which of them it takes (the premixed described programme, the description stem), with
the file names they get. `render --deliver KEY` mixes to the preset's numbers, writes the files
into OUT/deliver/KEY/, and the QC report (output/qc.py) checks every output against the preset.

Each preset's numbers come from the document named in `source`; docs/delivery.md quotes them.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from videodesc.errors import InputError
from videodesc.render.loudness import DIALOGUE, LoudnessTarget

SAMPLE_RATE = 48000  # every preset here asks for 48 kHz


@dataclass(frozen=True)
class Preset:
    """One platform's delivery rules.

    Attributes:
        key: what `--deliver` takes.
        target: integrated loudness, its tolerance, how it is gated, and the true-peak ceiling.
        sparse_dialogue: (share, target): a programme with no more than this share of dialogue is
            measured against the second target instead (Netflix: 15% or less dialogue, -24 LKFS
            over the whole programme), since a dialogue gate on little dialogue measures little.
        sample_bits: bit depth of the WAV deliverables.
        lra: (lowest, highest) loudness range in LU the platform accepts, or None when it sets none.
        stereo: the described programme is delivered in stereo whatever the programme's layout
            (Apple: "Audio Description files must be in stereo and pre-mixed"); else the
            programme's layout is kept (a 5.1 programme gets a 5.1 premix).
        also_stereo: a programme of more than two channels gets a 2.0 premix (and stem) too
            (Netflix asks for a 5.1 and a 2.0 AD mix).
        premix, stem: file-name patterns of the WAV deliverables: the described programme (the
            full mix with the descriptions) and the description stem (the voice alone, as it sits
            in the mix); None when the platform takes no such file. `{name}` is the video's file
            name without its extension, `{layout}` the channel layout ("2.0", "5.1"), `{lang}` the
            descriptions' ISO 639-2 code. The platforms' own naming formulas need fields only the
            distributor knows (title codes, territories, dates): these names are the files' start.
        source: the documents that state the numbers (docs/delivery.md quotes them).
    """

    key: str
    target: LoudnessTarget
    source: str
    sparse_dialogue: tuple[float, LoudnessTarget] | None = None
    sample_bits: int = 24
    lra: tuple[float, float] | None = None
    stereo: bool = False
    also_stereo: bool = False
    premix: str | None = "{name}_AD_{lang}_{layout}.wav"
    stem: str | None = "{name}_AD_{lang}_stem.wav"

    @property
    def name(self) -> str:
        return self.target.name

    def target_for(self, dialogue_share: float) -> LoudnessTarget:
        """The target a programme with `dialogue_share` (0-1) of its time in dialogue is measured against."""
        if self.sparse_dialogue is not None and dialogue_share <= self.sparse_dialogue[0]:
            return self.sparse_dialogue[1]
        return self.target


PRESETS: dict[str, Preset] = {preset.key: preset for preset in [
    Preset("ebu", LoudnessTarget("EBU R128", -23.0, -1.0, 1.0),
           "EBU R 128 v4.0 (2020): -23 LUFS, +/-1 LU in production, -1 dBTP"),
    Preset("atsc", LoudnessTarget("ATSC A/85", -24.0, -2.0, 2.0),
           "ATSC A/85:2013 (BS.1770-3): -24 LKFS +/-2, -2 dBTP"),
    Preset("netflix", LoudnessTarget("Netflix", -27.0, -2.0, 2.0, DIALOGUE),
           "Netflix Sound Mix Specifications: -27 LKFS +/-2 LU dialogue-gated (-24 LKFS programme-gated with "
           "15% dialogue or less), -2 dBTP, 48 kHz 24-bit WAV, separate 5.1 and 2.0 AD mixes",
           sparse_dialogue=(0.15, LoudnessTarget("Netflix (15% dialogue or less)", -24.0, -2.0, 2.0)),
           lra=(4.0, 18.0), also_stereo=True, premix="{name}_AD_{lang}_{layout}_printmaster.wav",
           stem="{name}_AD_{lang}_{layout}_stem.wav"),
    Preset("amazon", LoudnessTarget("Amazon", -27.0, -2.0, 2.0, DIALOGUE),
           "Amazon Studios audio delivery specs: -27 LKFS +/-2 LU (BS.1770-1 with dialogue gating), -2 dBTP, "
           "48 kHz 24-bit; descriptive audio as a discrete, fully mixed file"),
    Preset("apple", LoudnessTarget("Apple", -24.0, -2.0, 2.0),
           "Apple iTunes Store / Apple TV: AD files stereo and pre-mixed (role audio.visually_impaired); "
           "Apple states no loudness number in the documents found, so ATSC A/85's are used", stereo=True,
           premix="{name}_AD_{lang}_2.0.wav", stem=None),
    Preset("youtube", LoudnessTarget("YouTube", -14.0, -1.0, 1.0),
           "YouTube upload settings: AAC-LC 48 kHz, stereo or stereo + 5.1; YouTube publishes no loudness "
           "target and turns louder uploads down to about -14 LUFS (measured by others)",
           premix=None, stem=None),
    Preset("kbs", LoudnessTarget("Korea (KCC)", -24.0, -2.0, 2.0),
           "KCC loudness notice (2014, in force 2016) and TTA standard: -24 LKFS, +/-2 dB; it sets no true-peak "
           "ceiling, so ATSC A/85's -2 dBTP is used"),
]}


def preset(key: str) -> Preset:
    """The preset called `key`.

    Raises:
        InputError: no such preset.
    """
    try:
        return PRESETS[key]
    except KeyError:
        raise InputError(f"no delivery preset {key!r}: choose one of {', '.join(PRESETS)}") from None


def layout_name(channels: int) -> str:
    """How delivery specs name a channel layout: 1.0, 2.0, 5.1, 7.1."""
    return {1: "1.0", 2: "2.0", 6: "5.1", 8: "7.1"}.get(channels, f"{channels}ch")


def file_name(pattern: str, name: str, channels: int, language_code: str) -> str:
    """A deliverable's file name from its pattern; characters file systems or platforms refuse become '_'."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "programme"
    return pattern.format(name=safe, layout=layout_name(channels), lang=language_code)


@dataclass
class Deliverable:
    """A file the QC report checks (a WAV the preset asks for, or one of render's own outputs): what
    it is, where render wrote it, and its published name."""

    role: str  # "premix" or "stem"
    path: Path  # where it is written (a temporary name until the render's outputs are published)
    name: str  # its name as the QC report shows it (relative to the output folder)
    channels: int  # what it should have
    delivered: bool = True  # a file the preset asks for, whose WAV format (rate, depth) is checked too


def hand_over(source: Path, target: Path) -> None:
    """Put `source` at `target` without copying when the file system allows (a hard link): a
    two-hour 5.1 24-bit premix is 5 GB, and render's own copy of it is not changed afterwards."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
