"""The described mix: the programme sound ducked under each spoken cue, the voice at dialogue level,
the sum normalised to a loudness target (EBU R128 by default).

Three ffmpeg passes over the programme, whatever the number of cues:

1. measure the programme (whole, and within the speech regions: the dialogue level) and the voice;
2. duck, add the voice at its gain, and measure the sum;
3. the same graph with the normalising gain (and, only when the peaks need it, a true-peak
   limiter), writing the mix and the stem and measuring the result once more.

The duck is one gain curve for the whole programme, built with numpy at 1 kHz and multiplied
into the sound by ffmpeg (`amultiply`), so its cost does not grow with the number of cues; a
`volume` expression with a term per cue would be evaluated for every audio frame.
The voice stem is laid out with numpy too: each cue's WAV is copied to its place in a silent
track, which is exact to the sample.

A mono programme gives a mono mix and a stereo one a stereo mix, the voice in the middle. A 5.1
or 7.1 programme gives a mix in its own layout (what broadcast and streaming delivery ask of a
surround programme), the voice in the centre channel alone, where the dialogue is. There the
duck curve has two channels: the full `duck_db` for the centre, whose dialogue is what the
voice competes with, and a lighter `side_duck_db` for the others, whose music and ambience
need less room and would pump if ducked as deep. Other layouts (and any, when `stereo` is
asked for) are downmixed to stereo.
Both files are written as 16-bit or (`sample_bits=24`, as delivery specs ask) 24-bit PCM.
"""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import tempfile
import wave
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from videodesc.children import dies_with_parent
from videodesc.errors import InputError
from videodesc.media import ffmpeg
from videodesc.render.loudness import (ATSC_A85, DIALOGUE, EBU_R128, MIN_DIALOGUE_S, SILENT, Loudness,
                                       LoudnessTarget, ebur128, measure, merge_regions, run_measured,
                                       select_expression)
from videodesc.render.tempo import tempo
from videodesc.workfolder import atomic_path

__all__ = ["ATSC_A85", "EBU_R128", "Loudness", "LoudnessTarget", "MixReport", "MixSettings", "Placement",
           "build_stem", "duck_windows", "measure", "mix", "tempo"]

SAMPLE_RATE = 48000
ENVELOPE_RATE = 1000  # Hz: the duck curve's resolution; ffmpeg interpolates it to the audio rate
# The limiter works at 4x the sample rate, where its sample peaks are close to the true peaks,
# a little under the ceiling: coming back to 48 kHz can raise a peak by a few hundredths of a dB.
LIMITER_RATE = 192000
RESAMPLING_MARGIN_DB = 0.3
# The result may miss the target by this much before a correcting pass is run.
RETRY_LU = 0.2
_BLOCK = 1 << 20  # samples per block when laying out the stem (22 s at 48 kHz)
# Surround layouts the mix keeps, with their channels in ffmpeg's (and WAV's) order. The voice
# goes to FC; quad, 6.1 or 7.1(wide) are rare enough in delivery to be downmixed to stereo.
SURROUND = {
    "5.1": ("FL", "FR", "FC", "LFE", "BL", "BR"),
    "5.1(side)": ("FL", "FR", "FC", "LFE", "SL", "SR"),
    "7.1": ("FL", "FR", "FC", "LFE", "BL", "BR", "SL", "SR"),
}
# The layout ffmpeg assumes for a WAV with this many channels and no channel mask.
_DEFAULT_LAYOUT = {6: "5.1", 8: "7.1"}
_PCM_CODEC = {16: "pcm_s16le", 24: "pcm_s24le"}


@dataclass
class MixSettings:
    """How the described mix is made.

    Attributes:
        duck_db: gain of the programme sound while a description is spoken; in a surround mix,
            of its centre channel (the dialogue).
        ramp: seconds of fade into the duck (before the cue) and out of it (after the cue).
        voice_to_dialogue_db: the voice sits at the programme's dialogue loudness plus this.
        target: the loudness the mix is normalised to.
        merge_gap: cues closer than this (end to start, in seconds) share one duck, so the
            programme does not swell up for a moment between them.
        side_duck_db: in a surround mix, the gain of the other channels (left, right, the
            surrounds and the LFE) while a description is spoken; None: half of `duck_db` in dB.
            They hold music and effects more than dialogue, and a voice in the centre stands
            apart from them, so a lighter duck clears it while the bed keeps its space and does
            not pump with every cue. The LFE moves with them: it belongs to the same effects,
            which would turn boomy under each cue if it alone stayed up (and its rumble masks
            the voice's low end), while BS.1770 leaves it out of the loudness either way.
        sample_bits: 16 or 24, the PCM of the mix and the stem.
        stereo: downmix a surround programme to stereo even when its layout could be kept (for a
            platform that takes only stereo described mixes); mono stays mono.
        peak_margin_db: the limiter (when one is needed) holds the true peaks this far under the
            target's ceiling. Going back to 48 kHz raises a peak by hundredths of a dB; a lossy
            encoding of the mix (the AAC track) can raise it by decibels, and render widens the
            margin by what its encoding measured.
    """

    duck_db: float = -10.0
    ramp: float = 0.25
    voice_to_dialogue_db: float = 0.0
    target: LoudnessTarget = field(default_factory=LoudnessTarget)
    merge_gap: float = 1.0
    side_duck_db: float | None = None
    sample_bits: int = 16
    stereo: bool = False
    peak_margin_db: float = RESAMPLING_MARGIN_DB

    def as_key(self) -> dict:
        """Everything the mix depends on, for a work-folder key."""
        return dataclasses.asdict(self)

    def side_duck(self) -> float:
        """The duck of a surround mix's channels other than the centre, in dB."""
        return self.duck_db / 2 if self.side_duck_db is None else self.side_duck_db


@dataclass
class Placement:
    """One spoken cue: its audio (a 48 kHz mono WAV from the TTS) starts `start` seconds into the programme."""

    start: float
    path: Path
    seconds: float


@dataclass
class MixReport:
    """What the mix measured and did.

    `voice_gain_db` is the gain that brings the voice from the TTS's level to the dialogue level;
    `normalisation_gain_db` then moves the whole sum to the target, so the stem (the voice as it
    sounds in the mix) carries both.
    """

    programme: Loudness            # the programme sound as mixed (after any downmix); SILENT without one
    dialogue_level: float          # LUFS the voice was matched to (-70, the silence floor, without a programme)
    voice_gain_db: float
    result: Loudness
    target: LoudnessTarget
    warnings: list[str] = field(default_factory=list)
    voice: Loudness = SILENT       # the voice stem at the TTS's level
    normalisation_gain_db: float = 0.0
    limited: bool = False          # a true-peak limiter was needed
    channels: int = 2              # of the mix
    layout: str = "stereo"         # of the mix: mono, stereo, or a SURROUND layout such as 5.1
    # With a dialogue-gated target, `result.integrated` is the loudness over the dialogue (what the
    # target is about) and `programme_result` the whole mix's; else the two are the same.
    dialogue_gated: bool = False
    programme_result: Loudness = SILENT
    duck_windows: list[tuple[float, float]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class _Placed:
    start: int    # sample
    samples: int
    path: Path


def build_stem(placements: Sequence[Placement], duration: float, target: Path, gain_db: float = 0.0,
               sample_bits: int = 16) -> list[str]:
    """Write the voice alone, each cue at its time and silence elsewhere: `duration` s of 48 kHz mono
    WAV, 16- or 24-bit (`sample_bits`).

    Returns:
        Warnings (a cue running past the end, overlapping cues, clipped samples).

    Raises:
        InputError: a voice file is missing or unreadable, a cue starts outside the programme, or
            `sample_bits` is neither 16 nor 24.
    """
    _check_bits(sample_bits)
    total = _total_samples(duration)
    placed, warnings = _place(placements, duration)
    warnings += _write_stem(placed, total, Path(target), gain_db, sample_bits)
    return warnings


def duck_windows(spans: Sequence[tuple[float, float]], settings: MixSettings) -> list[tuple[float, float]]:
    """The stretches (start, end) in which the programme is fully ducked: the cues' spans, merged
    when they overlap or are closer than `settings.merge_gap`. The ramps lie outside them."""
    windows: list[list[float]] = []
    for start, end in sorted(spans):
        if windows and start - windows[-1][1] < settings.merge_gap:
            windows[-1][1] = max(windows[-1][1], end)
        else:
            windows.append([start, end])
    return [(start, end) for start, end in windows]


def mix(programme: Path | None, placements: Sequence[Placement], duration: float, settings: MixSettings,
        stem_out: Path, mix_out: Path, speech_regions: Sequence[tuple[float, float]] | None = None) -> MixReport:
    """Duck the programme under the cues, add the voice at dialogue level, normalise to the target.

    Args:
        programme: the original sound as a WAV (48 kHz, its own channels), or None for a video
            without sound (then the mix is the voice alone, at the target). 5.1 and 7.1 keep
            their layout (a WAV with six or eight channels and no channel mask is taken for
            5.1 or 7.1, as ffmpeg takes it); other layouts with more than two channels are
            downmixed to stereo.
        placements: the spoken cues.
        duration: seconds of the programme; both outputs last exactly this long.
        settings: duck depths and ramps, voice level, loudness target, bit depth.
        stem_out: where the voice alone (48 kHz mono WAV, at the gain it has in the mix) goes.
        mix_out: where the described mix (48 kHz WAV: mono, stereo, or the programme's
            surround layout) goes.
        speech_regions: (start, end) seconds of dialogue; the voice is matched to the loudness
            of the programme within them, else to the whole programme's.

    Returns:
        The measured loudness of the programme and of the result, the gains, and warnings.

    Raises:
        InputError: a voice file or the programme is missing, a cue starts outside the programme,
            or `settings.sample_bits` is neither 16 nor 24.
    """
    if not (math.isfinite(duration) and duration > 0):
        raise InputError(f"programme duration {duration} s: must be a positive number of seconds")
    _check_bits(settings.sample_bits)
    codec = _PCM_CODEC[settings.sample_bits]
    target = settings.target
    total = _total_samples(duration)
    placed, warnings = _place(placements, duration)
    spans = [(p.start / SAMPLE_RATE, (p.start + p.samples) / SAMPLE_RATE) for p in placed]
    windows = duck_windows(spans, settings)

    layout, more = mix_layout(programme, settings.stereo)
    warnings += more
    if programme is not None and layout == "":
        programme = None
        layout = "mono"
    surround = SURROUND.get(layout)
    channels = layout_channels(layout)
    fit = f"aresample={SAMPLE_RATE},aformat=sample_fmts=fltp:channel_layouts={layout}"
    # The mono voice: in the middle of a stereo mix, in the centre channel alone of a surround one.
    # `pan` leaves the channels it is not given silent.
    voice_spread = {"mono": "", "stereo": ",pan=stereo|c0=c0|c1=c0"}.get(layout, f",pan={layout}|FC=c0")
    # The duck curve: one channel, on every channel of the programme; in surround two, the
    # centre's (c0) and the other channels' (c1).
    depths = [settings.duck_db] if surround is None else [settings.duck_db, settings.side_duck()]
    duck_spread = voice_spread if surround is None else (
        f",pan={layout}|" + "|".join(f"{name}={'c0' if name == 'FC' else 'c1'}" for name in surround))

    Path(mix_out).parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".mix-", dir=Path(mix_out).parent) as scratch:
        scratch = Path(scratch)
        voice_wav = scratch / "voice.wav"
        # At the output's depth: a voice from a TTS that writes more than 16 bits keeps them.
        warnings += _write_stem(placed, total, voice_wav, 0.0, settings.sample_bits)
        envelope = None
        if programme is not None and windows and any(depth != 0 for depth in depths):
            envelope = scratch / "duck.f32"
            _duck_envelope(windows, settings.ramp, depths, duration).tofile(envelope)

        # Inputs: the programme, the duck curve, the voice (those present, in that order).
        inputs: list[str] = []
        if programme is not None:
            inputs += ["-i", str(programme)]
        if envelope is not None:
            inputs += ["-f", "f32le", "-ar", str(ENVELOPE_RATE), "-ac", str(len(depths)), "-i", str(envelope)]
        voice_in = (programme is not None) + (envelope is not None)
        inputs += ["-i", str(voice_wav)]

        # Pass 1: the programme, the dialogue in it, and the voice (its cues end to end, half a
        # second apart: the stem's long silences would only slow the meter down).
        first_inputs = ["-i", str(programme)] if programme is not None else []
        graph, names = [], []
        regions = merge_regions(speech_regions or [], duration)
        spoken = sum(end - start for start, end in regions)
        if programme is not None:
            names.append("programme")
            if regions and spoken >= MIN_DIALOGUE_S:
                names.append("dialogue")
                graph += [f"[0:a:0]{fit},asplit=2[p1][p2]", ebur128("[p1]", "programme"),
                          f"[p2]aselect='{select_expression(regions)}',asetpts=N/SR/TB[p3]",
                          ebur128("[p3]", "dialogue", "none")]
            else:
                graph += [f"[0:a:0]{fit}[p1]", ebur128("[p1]", "programme")]
        if placed:
            voices = scratch / "voices.wav"
            _write_voices(placed, voices)
            names.append("voice")
            graph.append(ebur128(f"[{len(first_inputs) // 2}:a]", "voice", "sample"))
            first_inputs += ["-i", str(voices)]
        measured = {}
        if names:
            outputs = [arg for name in names for arg in ("-map", f"[m{name}]")]
            measured = run_measured([*first_inputs, *_graph_args(";".join(graph), scratch), *outputs,
                                     "-f", "null", "-"], names, what="measuring the programme and the voice")
        voice = measured.get("voice", SILENT)
        programme_loudness = measured.get("programme", SILENT)

        dialogue_level = programme_loudness.integrated
        if "dialogue" in measured and not measured["dialogue"].silent:
            dialogue_level = measured["dialogue"].integrated
        elif speech_regions and programme is not None:
            warnings.append(f"the speech regions hold {spoken:.1f} s of sound, too little to measure the dialogue "
                            "level: the voice is matched to the whole programme's loudness")
        # BS.1770 sums the channels' weighted powers. The mono voice is on both channels of a
        # stereo mix: +3 dB. In surround it is in the centre alone, whose weight is 1 (only the
        # surrounds get +1.5 dB), so there it measures as it does on its own.
        voice_in_mix = voice.integrated + (10 * math.log10(2) if layout == "stereo" else 0.0)
        if voice.silent:
            voice_gain = 0.0
            if placed:
                warnings.append("the cues' audio is silent")
        elif programme_loudness.silent:
            voice_gain = target.integrated - voice_in_mix
            if programme is not None:
                warnings.append("the programme is silent: the voice alone is normalised to the target")
        else:
            voice_gain = dialogue_level + settings.voice_to_dialogue_db - voice_in_mix

        def mix_graph(voice_branch: str) -> str:
            """The graph up to the pad `[mix]`: programme x duck curve + voice (from `voice_branch`)."""
            parts = [f"{voice_branch}volume={voice_gain:.4f}dB{voice_spread}[v]"]
            if programme is None:
                parts.append("[v]anull[mix]")
                return ";".join(parts)
            if envelope is not None:
                parts.append(f"[0:a:0]{fit}[p];[1:a]aresample={SAMPLE_RATE}{duck_spread}[e];[p][e]amultiply[d]")
            else:
                parts.append(f"[0:a:0]{fit}[d]")
            parts.append("[d][v]amix=inputs=2:normalize=0:duration=longest[mix]")
            return ";".join(parts)

        exact = f"apad=whole_len={total},atrim=end_sample={total}"

        # A dialogue-gated target is measured over the dialogue of the mix: the programme's speech
        # and the spoken descriptions, which a speech-gated meter hears as dialogue too.
        gate = None
        if target.gating == DIALOGUE:
            dialogue = merge_regions([*regions, *spans], duration)
            if sum(end - start for start, end in dialogue) >= MIN_DIALOGUE_S:
                gate = select_expression(dialogue)
            else:
                warnings.append(f"{target.name} measures dialogue-gated loudness, but the mix holds too little "
                                "dialogue: it is normalised over the whole programme")

        def measured(pad: str, name: str) -> str:
            """Graph text measuring `pad` as `name`, and with a gate also over the dialogue as `name`-dialogue."""
            if gate is None:
                return ebur128(pad, name)
            return (f"{pad}asplit=2[{name}w][{name}g];{ebur128(f'[{name}w]', name)};"
                    f"[{name}g]aselect='{gate}',asetpts=N/SR/TB[{name}d];{ebur128(f'[{name}d]', f'{name}-dialogue', 'none')}")

        def names(name: str) -> list[str]:
            return [name] if gate is None else [name, f"{name}-dialogue"]

        def outputs(name: str) -> list[str]:
            return [arg for each in names(name) for arg in ("-map", f"[m{each}]")]

        def level(found: dict[str, Loudness], name: str) -> Loudness:
            """What the target is about: the whole, or the dialogue (with the whole's peaks and range)."""
            if gate is None:
                return found[name]
            return dataclasses.replace(found[name], integrated=found[f"{name}-dialogue"].integrated)

        # Pass 2: the sum before normalisation.
        before_found = run_measured(
            [*inputs, *_graph_args(f"{mix_graph(f'[{voice_in}:a]')};[mix]{exact}[sum];{measured('[sum]', 'sum')}",
                                   scratch),
             *outputs("sum"), "-f", "null", "-"],
            names("sum"), what="mixing the voice into the programme")
        before = level(before_found, "sum")

        # Pass 3: normalise (and limit when the peaks would pass the ceiling), write both files.
        if before.silent:
            gain = 0.0
            warnings.append("the mix is silent: there is nothing to normalise")
        else:
            gain = target.integrated - before.integrated
        ceiling = target.true_peak - settings.peak_margin_db
        # The peak the mix must not pass: the target's, lowered by the margin render asked for
        # beyond the resampling's own.
        peak_limit = target.true_peak - max(0.0, settings.peak_margin_db - RESAMPLING_MARGIN_DB)
        limit = ceiling if before.true_peak + gain > ceiling else None
        for attempt in range(3):
            limiter = "" if limit is None else _limiter(limit)
            # The stem is delivered on its own too: its peaks obey the ceiling as the mix's do
            # (the limiter holds them in the mix, where the voice is summed with the programme).
            stem_limit = ceiling if voice.true_peak + voice_gain + gain > ceiling else None
            stem_limiter = "" if stem_limit is None else "," + _limiter(min(stem_limit, limit or stem_limit)).rstrip(",")
            graph = (f"[{voice_in}:a]asplit=2[va][vb];{mix_graph('[va]')};"
                     f"[mix]volume={gain:.4f}dB,{limiter}{exact},asplit=2[out][mr];{measured('[mr]', 'result')};"
                     f"[vb]volume={voice_gain + gain:.4f}dB{stem_limiter}[stem]")
            with atomic_path(Path(mix_out)) as mix_tmp, atomic_path(Path(stem_out)) as stem_tmp:
                result_found = run_measured(
                    [*inputs, *_graph_args(graph, scratch),
                     "-map", "[out]", "-c:a", codec, "-f", "wav", "-y", str(mix_tmp),
                     "-map", "[stem]", "-c:a", codec, "-f", "wav", "-y", str(stem_tmp),
                     *outputs("result"), "-f", "null", "-"],
                    names("result"), what="normalising the described mix")
            result = level(result_found, "result")
            if result.silent or attempt == 2:
                break
            miss = target.integrated - result.integrated
            over = result.true_peak - peak_limit
            if abs(miss) <= min(RETRY_LU, target.tolerance / 2) and over <= 0:
                break
            # The limiter took loudness away (or let a peak through): correct and run the pass again.
            gain += miss
            if over > 0:
                limit = (ceiling if limit is None else limit) - over - 0.1
            elif limit is None and before.true_peak + gain > ceiling:
                limit = ceiling

    gated = " dialogue-gated" if gate is not None else ""
    if not result.silent:
        if abs(result.integrated - target.integrated) > target.tolerance:
            warnings.append(f"the mix measures {result.integrated:.1f} LUFS{gated}, outside {target.name}'s "
                            f"{target.integrated:g} ± {target.tolerance:g}")
        if result.true_peak > target.true_peak:
            warnings.append(f"the mix's true peak is {result.true_peak:.1f} dBTP, above {target.name}'s "
                            f"{target.true_peak:g} dBTP")
    stem_peak = voice.true_peak + voice_gain + gain
    if not voice.silent and stem_peak > ceiling + 3.0:  # a few dB is what a limiter is for; more is heard
        warnings.append(f"the voice stem's peaks were limited by {stem_peak - ceiling:.1f} dB to stay under "
                        f"{target.true_peak:g} dBTP: the voice sits loud against this programme")
    return MixReport(programme=programme_loudness, dialogue_level=dialogue_level, voice_gain_db=voice_gain,
                     result=result, target=target, warnings=warnings, voice=voice, normalisation_gain_db=gain,
                     limited=limit is not None, channels=channels, layout=layout, duck_windows=windows,
                     dialogue_gated=gate is not None,
                     programme_result=result_found["result"] if gate is not None else result)


def _limiter(limit_db: float) -> str:
    """Graph text (ending in a comma) holding true peaks under `limit_db`: alimiter at 4x the rate."""
    return (f"aresample={LIMITER_RATE},alimiter=limit={10 ** (limit_db / 20):.6f}:attack=5:release=50:"
            f"level=0:latency=1,aresample={SAMPLE_RATE},")


def mix_layout(programme: Path | None, stereo: bool = False) -> tuple[str, list[str]]:
    """The layout of the described mix of `programme`: mono or stereo as the programme is, its
    SURROUND layout kept (unless `stereo`), other layouts downmixed to stereo; with warnings.
    "" when the programme has no sound (the mix is then the voice alone, mono); "mono" without one.
    """
    if programme is None:
        return "mono", []
    programme = Path(programme)
    channels, layout = _audio_layout(programme)
    if channels == 0:
        return "", [f"{programme.name} has no sound: the mix is the voice alone"]
    if channels <= 2:
        return ("mono" if channels == 1 else "stereo"), []
    layout = layout or _DEFAULT_LAYOUT.get(channels, "")
    if layout in SURROUND and not stereo:
        return layout, []
    if stereo:  # asked for, a downmix is no news
        return "stereo", []
    return "stereo", [f"the programme's {channels} channels ({layout or 'no known layout'}) were downmixed to "
                      "stereo for the described mix"]


def layout_channels(layout: str) -> int:
    """Channels of a layout `mix_layout` gives."""
    return len(SURROUND[layout]) if layout in SURROUND else 2 if layout == "stereo" else 1


def _total_samples(duration: float) -> int:
    return round(duration * SAMPLE_RATE)


def _check_bits(sample_bits: int) -> None:
    if sample_bits not in _PCM_CODEC:
        raise InputError(f"sample_bits {sample_bits}: the mix and the stem are 16- or 24-bit")


def _place(placements: Sequence[Placement], duration: float) -> tuple[list[_Placed], list[str]]:
    """Check each cue (its file exists, it starts inside the programme) and find its length in samples."""
    total = _total_samples(duration)
    placed, warnings = [], []
    for placement in placements:
        path = Path(placement.path)
        if not path.is_file():
            raise InputError(f"{path}: voice file missing (the cue at {placement.start:.2f} s)")
        if not (math.isfinite(placement.start) and 0 <= placement.start < duration):
            raise InputError(f"the cue at {placement.start:.2f} s is outside the programme (0 to {duration:.2f} s)")
        start = round(placement.start * SAMPLE_RATE)
        samples = _voice_samples(path)
        if start + samples > total:
            warnings.append(f"the cue at {placement.start:.2f} s runs {(start + samples - total) / SAMPLE_RATE:.2f} s "
                            "past the end of the programme: its end is cut")
            samples = total - start
        placed.append(_Placed(start, samples, path))
    placed.sort(key=lambda p: p.start)
    for a, b in zip(placed, placed[1:]):
        if b.start < a.start + a.samples:
            warnings.append(f"the cues at {a.start / SAMPLE_RATE:.2f} s and {b.start / SAMPLE_RATE:.2f} s overlap: "
                            "their voices are heard together")
    return placed, warnings


def _plain_wav(path: Path) -> wave.Wave_read | None:
    """`path` opened with the wave module if it is 48 kHz mono 16-bit PCM (what the TTS writes), else None."""
    try:
        wav = wave.open(str(path), "rb")
    except (wave.Error, EOFError):
        return None
    if (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (SAMPLE_RATE, 1, 2):
        return wav
    wav.close()
    return None


def _voice_samples(path: Path) -> int:
    wav = _plain_wav(path)
    if wav is not None:
        with wav:
            return wav.getnframes()
    return len(_read_voice(path))


def _read_voice(path: Path) -> np.ndarray:
    """A cue's audio as float32 samples at 48 kHz mono; other formats are converted by ffmpeg."""
    wav = _plain_wav(path)
    if wav is not None:
        with wav:
            return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float32) / 32768
    proc = subprocess.run([ffmpeg.binary("ffmpeg"), "-nostdin", "-v", "error", "-i", str(path), "-map", "0:a:0",
                           "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "f32le", "-"], capture_output=True,
                          preexec_fn=dies_with_parent)
    if proc.returncode != 0:
        raise InputError(f"{path}: not a readable voice file ({ffmpeg.last_line(proc.stderr)})")
    return np.frombuffer(proc.stdout, dtype="<f4")


def _write_stem(placed: list[_Placed], total: int, target: Path, gain_db: float, sample_bits: int) -> list[str]:
    """Lay the cues out block by block, so a two-hour stem never sits whole in memory."""
    gain = 10 ** (gain_db / 20)
    clipped = 0
    with atomic_path(target) as tmp:
        with wave.open(str(tmp), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(sample_bits // 8)
            out.setframerate(SAMPLE_RATE)
            following = 0  # `placed` is sorted by start
            active: list[tuple[int, np.ndarray]] = []
            for position in range(0, total, _BLOCK):
                end = min(total, position + _BLOCK)
                while following < len(placed) and placed[following].start < end:
                    cue = placed[following]
                    active.append((cue.start, _read_voice(cue.path)[:cue.samples]))
                    following += 1
                # float64: float32 products would be off by up to half a 24-bit step already.
                block = np.zeros(end - position, dtype=np.float64)
                for start, audio in active:
                    lo, hi = max(start, position), min(start + len(audio), end)
                    if lo < hi:
                        block[lo - position:hi - position] += audio[lo - start:hi - start]
                active = [(start, audio) for start, audio in active if start + len(audio) > end]
                block *= gain
                frames, block_clipped = _pcm(block, sample_bits)
                clipped += block_clipped
                out.writeframes(frames)
    return [f"{clipped} samples of the voice stem clipped"] if clipped else []


def _pcm(samples: np.ndarray, sample_bits: int) -> tuple[bytes, int]:
    """Float samples as little-endian PCM of `sample_bits` (16 or 24), and how many were clipped.

    The largest positive sample is one step under full scale ((2^(bits-1) - 1) / 2^(bits-1)), so
    what clips depends on the depth. Samples are rounded to the nearest step (not truncated
    towards zero), so the error is at most half a step.
    """
    scale = float(1 << (sample_bits - 1))
    top = (scale - 1) / scale
    clipped = int(np.count_nonzero(np.abs(samples) > top))
    steps = np.round(np.clip(samples, -1.0, top) * scale).astype("<i4")
    if sample_bits == 16:
        return steps.astype("<i2").tobytes(), clipped
    # 24-bit: the low three bytes of each little-endian int32 are its two's complement in 24 bits.
    return steps.view(np.uint8).reshape(-1, 4)[:, :3].tobytes(), clipped


def _write_voices(placed: list[_Placed], target: Path, gap: float = 0.5) -> None:
    """The cues' audio one after the other, `gap` seconds apart: what the voice's loudness is measured on
    (16-bit is plenty for a meter)."""
    silence = np.zeros(round(gap * SAMPLE_RATE), dtype="<i2").tobytes()
    with wave.open(str(target), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        for cue in placed:
            out.writeframes(_pcm(_read_voice(cue.path)[:cue.samples], 16)[0])
            out.writeframes(silence)


def _duck_envelope(windows: list[tuple[float, float]], ramp: float, depths_db: Sequence[float],
                   duration: float) -> np.ndarray:
    """Programme gains (linear) at ENVELOPE_RATE, one column per depth in `depths_db` (interleaved,
    as ffmpeg reads a raw multi-channel file): 1, falling linearly in dB to the depth over `ramp`
    seconds before each window, the depth inside it, and rising back over `ramp` seconds after.
    The depths are at most 0 dB (a duck)."""
    count = math.ceil(duration * ENVELOPE_RATE) + 2
    ducked = np.zeros(count, dtype=np.float64)  # 0 (not ducked) to 1 (fully ducked); the same for every depth
    ramp = max(ramp, 1.0 / ENVELOPE_RATE)
    for start, end in windows:
        lo = max(0, math.floor((start - ramp) * ENVELOPE_RATE))
        hi = min(count, math.ceil((end + ramp) * ENVELOPE_RATE) + 1)
        t = np.arange(lo, hi) / ENVELOPE_RATE
        depth = np.clip(np.minimum((t - (start - ramp)) / ramp, ((end + ramp) - t) / ramp), 0.0, 1.0)
        ducked[lo:hi] = np.maximum(ducked[lo:hi], depth)
    db = ducked[:, None] * np.minimum(np.asarray(depths_db, dtype=np.float64), 0.0)[None, :]
    return (10 ** (db / 20)).astype("<f4")


def _graph_args(graph: str, scratch: Path) -> list[str]:
    """`-filter_complex GRAPH`, or a script file when the graph (hundreds of speech regions) is long."""
    if len(graph) < 60_000:
        return ["-filter_complex", graph]
    script = scratch / f"graph-{abs(hash(graph))}.txt"
    script.write_text(graph, encoding="utf-8")
    return ["-filter_complex_script", str(script)]


def _audio_layout(path: Path) -> tuple[int, str | None]:
    """Channels and channel layout (as ffprobe names it, e.g. '5.1(side)'; None when the file does
    not say) of the first audio stream of `path`; (0, None) when it has none."""
    if not path.is_file():
        raise InputError(f"{path}: programme sound missing")
    proc = subprocess.run([ffmpeg.binary("ffprobe"), "-v", "error", "-select_streams", "a:0",
                           "-show_entries", "stream=channels,channel_layout", "-of", "json", str(path)],
                          capture_output=True)
    if proc.returncode != 0:
        raise InputError(f"{path}: not a readable sound file ({ffmpeg.last_line(proc.stderr)})")
    streams = json.loads(proc.stdout or b"{}").get("streams", [])
    if not streams:
        return 0, None
    return int(streams[0].get("channels") or 0), streams[0].get("channel_layout") or None
