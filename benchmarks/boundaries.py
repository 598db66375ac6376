"""Speech edges against known ones: median and 90th-percentile error of where speech starts and ends.

Two inputs with edges known independently of videodesc:
- the five LibriVox clips of Debian's pocketsphinx-testdata, each trimmed of its own leading and
  trailing silence by ffmpeg's silenceremove (-35 dB RMS over 20 ms, on the clean clip, whose own noise floor is -42 to -47 dBFS), joined with silences of
  1.0-2.0 s, under pink noise about 40 dB below the speech: every clip's start and end is an edge;
- pyannote's sample.wav with its hand-made sample.rttm: the edges of the merged speech turns that
  border a pause of 0.25 s or more.
Each known edge is matched to the nearest found edge of the same kind (a start to a start); an
edge nothing was found within 0.5 s of counts as missed. Three ways of finding them are compared:
VAD alone, VAD united with the recognised words (what slots used before speech/boundaries.py),
and the refined edges. Also: how many of the known silences of 1.2 s or more become slots.

Usage: benchmarks/boundaries.py [--samples DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
CLIPS = ["0870", "0880", "0890", "0920", "0930"]
GAPS = [1.0, 1.5, 2.0, 1.2]  # s of silence between the clips, in order
LEAD = 1.0
MISSED = 0.5


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def librivox_input(tmp: Path) -> tuple[Path, list[tuple[str, float]], list[tuple[float, float]]]:
    """The joined clips under noise, their edges, and the silences between them."""
    from videodesc.speech.audio import SAMPLE_RATE, load_wav

    trim = ("silenceremove=start_periods=1:start_threshold=-35dB:start_silence=0,areverse,"
            "silenceremove=start_periods=1:start_threshold=-35dB:start_silence=0,areverse")
    pieces, edges, silences = [], [], []
    cursor = LEAD
    pieces.append(np.zeros(int(LEAD * SAMPLE_RATE), np.float32))
    for i, clip in enumerate(CLIPS):
        out = tmp / f"{clip}.wav"
        ffmpeg("-i", str(LIBRIVOX / f"sense_and_sensibility_01_austen_64kb-{clip}.wav"), "-af", trim,
               "-ar", str(SAMPLE_RATE), "-ac", "1", "-c:a", "pcm_s16le", str(out))
        speech = load_wav(out)
        pieces.append(speech)
        edges.append(("start", cursor))
        cursor += len(speech) / SAMPLE_RATE
        edges.append(("end", cursor))
        gap = GAPS[i] if i < len(GAPS) else LEAD
        silences.append((cursor, cursor + gap))
        pieces.append(np.zeros(int(gap * SAMPLE_RATE), np.float32))
        cursor += gap
    clean = tmp / "joined.wav"
    _write_wav(clean, np.concatenate(pieces))
    noisy = tmp / "joined_noisy.wav"
    ffmpeg("-i", str(clean), "-f", "lavfi", "-i", f"anoisesrc=color=pink:amplitude=0.01:seed=7:sample_rate={SAMPLE_RATE}",
           "-filter_complex", "[0][1]amix=inputs=2:duration=first:normalize=0", "-ar", str(SAMPLE_RATE),
           "-ac", "1", "-c:a", "pcm_s16le", str(noisy))
    return noisy, edges, silences[:-1]


def pyannote_input(samples: Path, tmp: Path) -> tuple[Path, list[tuple[str, float]], list[tuple[float, float]]]:
    from videodesc.slots import merge_spans
    from videodesc.records import Span
    from videodesc.speech.audio import SAMPLE_RATE

    turns = []
    for line in (samples / "sample.rttm").read_text().splitlines():
        parts = line.split()
        turns.append(Span(float(parts[3]), float(parts[3]) + float(parts[4])))
    merged = merge_spans(turns)
    edges, silences = [], []
    for a, b in zip(merged, merged[1:]):
        if b.start - a.end >= 0.25:
            edges += [("end", a.end), ("start", b.start)]
            silences.append((a.end, b.start))
    edges.append(("start", merged[0].start))  # the file's first words follow 6.7 s of silence
    wav = tmp / "pyannote.wav"
    ffmpeg("-i", str(samples / "sample.wav"), "-ar", str(SAMPLE_RATE), "-ac", "1", "-c:a", "pcm_s16le", str(wav))
    return wav, edges, silences


def _write_wav(path: Path, samples: np.ndarray) -> None:
    import wave

    from videodesc.speech.audio import SAMPLE_RATE

    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype(np.int16).tobytes())


def errors(known: list[tuple[str, float]], spans) -> tuple[list[float], int]:
    found = {"start": [s.start for s in spans], "end": [s.end for s in spans]}
    out, missed = [], 0
    for kind, time in known:
        nearest = min((abs(t - time) for t in found[kind]), default=None)
        if nearest is None or nearest > MISSED:
            missed += 1
        else:
            out.append(nearest)
    return out, missed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=Path(os.environ.get("VIDEODESC_SAMPLES", REPO / ".cache/samples")))
    args = parser.parse_args()

    from videodesc.slots import SlotSettings, find_slots, speech_spans
    from videodesc.speech import asr, models
    from videodesc.speech.audio import SAMPLE_RATE, load_wav
    from videodesc.speech.boundaries import refine
    from videodesc.speech.vad import VadSettings, speech_regions

    print("| input | known edges | edges from | median ms | 90th percentile ms | missed | known silences >= 1.2 s that are slots |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        inputs = {"LibriVox, 5 clips joined, pink noise": librivox_input(tmp),
                  "pyannote sample.wav (rttm turns)": pyannote_input(args.samples, tmp)}
        for name, (wav, known, silences) in inputs.items():
            samples = load_wav(wav)
            duration = len(samples) / SAMPLE_RATE
            vad = speech_regions(samples, VadSettings())
            utterances = asr.transcribe(samples, models.default_whisper_model(), asr.AsrSettings(language="en")).utterances
            refined_vad, refined_utterances = refine(samples, vad, utterances)
            ways = {"VAD": vad, "VAD + words": speech_spans(utterances, vad),
                    "refined VAD + words": speech_spans(refined_utterances, refined_vad)}
            long_silences = [s for s in silences if s[1] - s[0] >= 1.2 - 1e-6]
            for way, spans in ways.items():
                found, missed = errors(known, spans)
                slots = find_slots(spans, duration, [], SlotSettings())
                kept = sum(any(slot.start < b and slot.end > a for slot in slots) for a, b in long_silences)
                median = 1000 * float(np.median(found)) if found else float("nan")
                p90 = 1000 * float(np.percentile(found, 90)) if found else float("nan")
                print(f"| {name} | {len(known)} | {way} | {median:.0f} | {p90:.0f} | {missed} | {kept}/{len(long_silences)} |",
                      flush=True)


if __name__ == "__main__":
    main()
