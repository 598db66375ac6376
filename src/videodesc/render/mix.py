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

from videodesc.errors import InputError
from videodesc.media import ffmpeg
from videodesc.render.loudness import (ATSC_A85, EBU_R128, SILENT, Loudness, LoudnessTarget, ebur128, measure,
                                       run_measured)
from videodesc.render.tempo import tempo
from videodesc.workfolder import atomic_path

__all__ = ["ATSC_A85", "EBU_R128", "Loudness", "LoudnessTarget", "MixReport", "MixSettings", "Placement",
           "build_stem", "duck_windows", "measure", "mix", "tempo"]

SAMPLE_RATE = 48000
ENVELOPE_RATE = 1000  # Hz: the duck curve's resolution; ffmpeg interpolates it to the audio rate
# The limiter works at 4x the sample rate (where its sample peaks are close to the true peaks),
# a little under the ceiling: coming back to 48 kHz can raise a peak by a few hundredths of a dB.
LIMITER_RATE = 192000
LIMIT_MARGIN_DB = 0.3
# The result may miss the target by this much before a correcting pass is run.
RETRY_LU = 0.2
# Speech regions shorter than this together are too little to measure a dialogue level on
# (BS.1770 gates 400 ms blocks).
MIN_DIALOGUE_S = 2.0
_BLOCK = 1 << 20  # samples per block when laying out the stem (22 s at 48 kHz)


@dataclass
class MixSettings:
    """How the described mix is made.

    Attributes:
        duck_db: gain of the programme sound while a description is spoken.
        ramp: seconds of fade into the duck (before the cue) and out of it (after the cue).
        voice_to_dialogue_db: the voice sits at the programme's dialogue loudness plus this.
        target: the loudness the mix is normalised to.
        merge_gap: cues closer than this (end to start, in seconds) share one duck, so the
            programme does not swell up for a moment between them.
    """

    duck_db: float = -10.0
    ramp: float = 0.25
    voice_to_dialogue_db: float = 0.0
    target: LoudnessTarget = field(default_factory=LoudnessTarget)
    merge_gap: float = 1.0

    def as_key(self) -> dict:
        """Everything the mix depends on, for a work-folder key."""
        return dataclasses.asdict(self)


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
    duck_windows: list[tuple[float, float]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class _Placed:
    start: int    # sample
    samples: int
    path: Path


def build_stem(placements: Sequence[Placement], duration: float, target: Path, gain_db: float = 0.0) -> list[str]:
    """Write the voice alone, each cue at its time and silence elsewhere: `duration` s of 48 kHz mono 16-bit WAV.

    Returns:
        Warnings (a cue running past the end, overlapping cues, clipped samples).

    Raises:
        InputError: a voice file is missing or unreadable, or a cue starts outside the programme.
    """
    total = _total_samples(duration)
    placed, warnings = _place(placements, duration)
    warnings += _write_stem(placed, total, Path(target), gain_db)
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
            without sound (then the mix is the voice alone, at the target). 5.1 and other
            layouts with more than two channels are downmixed to stereo.
        placements: the spoken cues.
        duration: seconds of the programme; both outputs last exactly this long.
        settings: duck depth and ramps, voice level, loudness target.
        stem_out: where the voice alone (48 kHz mono 16-bit WAV, at the gain it has in the mix) goes.
        mix_out: where the described mix (48 kHz 16-bit WAV, mono or stereo) goes.
        speech_regions: (start, end) seconds of dialogue; the voice is matched to the loudness
            of the programme within them, else to the whole programme's.

    Returns:
        The measured loudness of the programme and of the result, the gains, and warnings.

    Raises:
        InputError: a voice file or the programme is missing, or a cue starts outside the programme.
    """
    if not (math.isfinite(duration) and duration > 0):
        raise InputError(f"programme duration {duration} s: must be a positive number of seconds")
    target = settings.target
    total = _total_samples(duration)
    placed, warnings = _place(placements, duration)
    spans = [(p.start / SAMPLE_RATE, (p.start + p.samples) / SAMPLE_RATE) for p in placed]
    windows = duck_windows(spans, settings)

    channels = 1
    if programme is not None:
        programme = Path(programme)
        source_channels = _audio_channels(programme)
        if source_channels == 0:
            warnings.append(f"{programme.name} has no sound: the mix is the voice alone")
            programme = None
        else:
            channels = 1 if source_channels == 1 else 2
            if source_channels > 2:
                warnings.append(f"the programme's {source_channels} channels were downmixed to stereo "
                                "for the described mix")
    layout = "mono" if channels == 1 else "stereo"
    fit = f"aresample={SAMPLE_RATE},aformat=sample_fmts=fltp:channel_layouts={layout}"
    spread = "" if channels == 1 else ",pan=stereo|c0=c0|c1=c0"  # mono voice in the middle

    Path(mix_out).parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".mix-", dir=Path(mix_out).parent) as scratch:
        scratch = Path(scratch)
        voice_wav = scratch / "voice.wav"
        warnings += _write_stem(placed, total, voice_wav, 0.0)
        envelope = None
        if programme is not None and windows and settings.duck_db != 0:
            envelope = scratch / "duck.f32"
            _duck_envelope(windows, settings, duration).tofile(envelope)

        # Inputs: the programme, the duck curve, the voice (those present, in that order).
        inputs: list[str] = []
        if programme is not None:
            inputs += ["-i", str(programme)]
        if envelope is not None:
            inputs += ["-f", "f32le", "-ar", str(ENVELOPE_RATE), "-ac", "1", "-i", str(envelope)]
        voice_in = (programme is not None) + (envelope is not None)
        inputs += ["-i", str(voice_wav)]

        # Pass 1: the programme, the dialogue in it, and the voice (its cues end to end, half a
        # second apart: the stem's long silences would only slow the meter down).
        first_inputs = ["-i", str(programme)] if programme is not None else []
        graph, names = [], []
        regions = _merge_regions(speech_regions or [], duration)
        spoken = sum(end - start for start, end in regions)
        if programme is not None:
            names.append("programme")
            if regions and spoken >= MIN_DIALOGUE_S:
                names.append("dialogue")
                graph += [f"[0:a:0]{fit},asplit=2[p1][p2]", ebur128("[p1]", "programme"),
                          f"[p2]aselect='{_select_expr(regions)}',asetpts=N/SR/TB[p3]",
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
        # The mono voice is heard on every channel of the mix: +3 dB in stereo by BS.1770's sum.
        voice_in_mix = voice.integrated + 10 * math.log10(channels)
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
            parts = [f"{voice_branch}volume={voice_gain:.4f}dB{spread}[v]"]
            if programme is None:
                parts.append("[v]anull[mix]")
                return ";".join(parts)
            if envelope is not None:
                parts.append(f"[0:a:0]{fit}[p];[1:a]aresample={SAMPLE_RATE}{spread}[e];[p][e]amultiply[d]")
            else:
                parts.append(f"[0:a:0]{fit}[d]")
            parts.append("[d][v]amix=inputs=2:normalize=0:duration=longest[mix]")
            return ";".join(parts)

        exact = f"apad=whole_len={total},atrim=end_sample={total}"

        # Pass 2: the sum before normalisation.
        before = run_measured(
            [*inputs, *_graph_args(f"{mix_graph(f'[{voice_in}:a]')};[mix]{exact}[sum];{ebur128('[sum]', 'sum')}",
                                   scratch),
             "-map", "[msum]", "-f", "null", "-"],
            ["sum"], what="mixing the voice into the programme")["sum"]

        # Pass 3: normalise (and limit when the peaks would pass the ceiling), write both files.
        if before.silent:
            gain = 0.0
            warnings.append("the mix is silent: there is nothing to normalise")
        else:
            gain = target.integrated - before.integrated
        ceiling = target.true_peak - LIMIT_MARGIN_DB
        limit = ceiling if before.true_peak + gain > ceiling else None
        for attempt in range(3):
            limiter = "" if limit is None else (
                f"aresample={LIMITER_RATE},alimiter=limit={10 ** (limit / 20):.6f}:attack=5:release=50:"
                f"level=0:latency=1,aresample={SAMPLE_RATE},")
            graph = (f"[{voice_in}:a]asplit=2[va][vb];{mix_graph('[va]')};"
                     f"[mix]volume={gain:.4f}dB,{limiter}{exact},asplit=2[out][mr];{ebur128('[mr]', 'result')};"
                     f"[vb]volume={voice_gain + gain:.4f}dB[stem]")
            with atomic_path(Path(mix_out)) as mix_tmp, atomic_path(Path(stem_out)) as stem_tmp:
                result = run_measured(
                    [*inputs, *_graph_args(graph, scratch),
                     "-map", "[out]", "-c:a", "pcm_s16le", "-f", "wav", "-y", str(mix_tmp),
                     "-map", "[stem]", "-c:a", "pcm_s16le", "-f", "wav", "-y", str(stem_tmp),
                     "-map", "[mresult]", "-f", "null", "-"],
                    ["result"], what="normalising the described mix")["result"]
            if result.silent or attempt == 2:
                break
            miss = target.integrated - result.integrated
            over = result.true_peak - target.true_peak
            if abs(miss) <= min(RETRY_LU, target.tolerance / 2) and over <= 0:
                break
            # The limiter took loudness away (or let a peak through): correct and run the pass again.
            gain += miss
            if over > 0:
                limit = (ceiling if limit is None else limit) - over - 0.1
            elif limit is None and before.true_peak + gain > ceiling:
                limit = ceiling

    if not result.silent:
        if abs(result.integrated - target.integrated) > target.tolerance:
            warnings.append(f"the mix measures {result.integrated:.1f} LUFS, outside {target.name}'s "
                            f"{target.integrated:g} ± {target.tolerance:g}")
        if result.true_peak > target.true_peak:
            warnings.append(f"the mix's true peak is {result.true_peak:.1f} dBTP, above {target.name}'s "
                            f"{target.true_peak:g} dBTP")
    if not voice.silent and voice.true_peak + voice_gain + gain > 0:
        warnings.append(f"the voice stem clips: its peaks would reach {voice.true_peak + voice_gain + gain:+.1f} dBFS")
    return MixReport(programme=programme_loudness, dialogue_level=dialogue_level, voice_gain_db=voice_gain,
                     result=result, target=target, warnings=warnings, voice=voice, normalisation_gain_db=gain,
                     limited=limit is not None, channels=channels, duck_windows=windows)


def _total_samples(duration: float) -> int:
    return round(duration * SAMPLE_RATE)


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
                           "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "f32le", "-"], capture_output=True)
    if proc.returncode != 0:
        raise InputError(f"{path}: not a readable voice file ({ffmpeg.last_line(proc.stderr)})")
    return np.frombuffer(proc.stdout, dtype="<f4")


def _write_stem(placed: list[_Placed], total: int, target: Path, gain_db: float) -> list[str]:
    """Lay the cues out block by block, so a two-hour stem never sits whole in memory."""
    gain = 10 ** (gain_db / 20)
    clipped = 0
    with atomic_path(target) as tmp:
        with wave.open(str(tmp), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            following = 0  # `placed` is sorted by start
            active: list[tuple[int, np.ndarray]] = []
            for position in range(0, total, _BLOCK):
                end = min(total, position + _BLOCK)
                while following < len(placed) and placed[following].start < end:
                    cue = placed[following]
                    active.append((cue.start, _read_voice(cue.path)[:cue.samples]))
                    following += 1
                block = np.zeros(end - position, dtype=np.float32)
                for start, audio in active:
                    lo, hi = max(start, position), min(start + len(audio), end)
                    if lo < hi:
                        block[lo - position:hi - position] += audio[lo - start:hi - start]
                active = [(start, audio) for start, audio in active if start + len(audio) > end]
                block *= gain
                clipped += int(np.count_nonzero(np.abs(block) > 32767 / 32768))
                out.writeframes((np.clip(block, -1.0, 32767 / 32768) * 32768).astype("<i2").tobytes())
    return [f"{clipped} samples of the voice stem clipped"] if clipped else []


def _write_voices(placed: list[_Placed], target: Path, gap: float = 0.5) -> None:
    """The cues' audio one after the other, `gap` seconds apart: what the voice's loudness is measured on."""
    silence = np.zeros(round(gap * SAMPLE_RATE), dtype="<i2").tobytes()
    with wave.open(str(target), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        for cue in placed:
            audio = _read_voice(cue.path)[:cue.samples]
            out.writeframes((np.clip(audio, -1.0, 32767 / 32768) * 32768).astype("<i2").tobytes())
            out.writeframes(silence)


def _duck_envelope(windows: list[tuple[float, float]], settings: MixSettings, duration: float) -> np.ndarray:
    """Programme gain (linear) at ENVELOPE_RATE: 1, falling linearly in dB to `duck_db` over `ramp`
    seconds before each window, `duck_db` inside it, and rising back over `ramp` seconds after."""
    count = math.ceil(duration * ENVELOPE_RATE) + 2
    db = np.zeros(count, dtype=np.float64)
    ramp = max(settings.ramp, 1.0 / ENVELOPE_RATE)
    for start, end in windows:
        lo = max(0, math.floor((start - ramp) * ENVELOPE_RATE))
        hi = min(count, math.ceil((end + ramp) * ENVELOPE_RATE) + 1)
        t = np.arange(lo, hi) / ENVELOPE_RATE
        depth = np.clip(np.minimum((t - (start - ramp)) / ramp, ((end + ramp) - t) / ramp), 0.0, 1.0)
        db[lo:hi] = np.minimum(db[lo:hi], settings.duck_db * depth)
    return (10 ** (db / 20)).astype("<f4")


def _merge_regions(regions: Sequence[tuple[float, float]], duration: float) -> list[tuple[float, float]]:
    merged: list[list[float]] = []
    for start, end in sorted((max(0.0, float(s)), min(duration, float(e))) for s, e in regions):
        if end <= start:
            continue
        if merged and start <= merged[-1][1] + 0.05:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def _select_expr(regions: list[tuple[float, float]]) -> str:
    return "+".join(f"between(t,{start:.3f},{end:.3f})" for start, end in regions)


def _graph_args(graph: str, scratch: Path) -> list[str]:
    """`-filter_complex GRAPH`, or a script file when the graph (hundreds of speech regions) is long."""
    if len(graph) < 60_000:
        return ["-filter_complex", graph]
    script = scratch / f"graph-{abs(hash(graph))}.txt"
    script.write_text(graph, encoding="utf-8")
    return ["-filter_complex_script", str(script)]


def _audio_channels(path: Path) -> int:
    """Channels of the first audio stream of `path`; 0 when it has none."""
    if not path.is_file():
        raise InputError(f"{path}: programme sound missing")
    proc = subprocess.run([ffmpeg.binary("ffprobe"), "-v", "error", "-select_streams", "a:0",
                           "-show_entries", "stream=channels", "-of", "json", str(path)], capture_output=True)
    if proc.returncode != 0:
        raise InputError(f"{path}: not a readable sound file ({ffmpeg.last_line(proc.stderr)})")
    streams = json.loads(proc.stdout or b"{}").get("streams", [])
    return int(streams[0].get("channels") or 0) if streams else 0
