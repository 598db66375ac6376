"""Benchmark the render step's mixing and muxing: real-time factor and time per ffmpeg pass.

Usage: python benchmarks/mix.py [--video PATH] [--cues N] [--repeat R]

On the 3-minute narrated clip of Debian's openboard-common: extracts the programme sound (as the
render step does), speaks N synthetic cues with espeak-ng (not timed: that is the TTS's cost),
then times `mix` (duck, voice level, loudness normalisation: three ffmpeg passes), `write_m4a`
(the one AAC encoding), `write_ad_mp4` and `write_ad_mkv` from that M4A (AAC copied), and for
comparison `write_ad_mp4` from the WAV. Each ffmpeg run is timed by what it does. Prints a Markdown table;
the target for the whole render step is a real-time factor of at most 0.1 on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from videodesc.media import ffmpeg  # noqa: E402
from videodesc.render import mix as mixing  # noqa: E402
from videodesc.render.mix import MixSettings, Placement, mix  # noqa: E402
from videodesc.render.mux import TextCue, write_ad_mkv, write_ad_mp4, write_m4a  # noqa: E402

CLIP = Path("/usr/share/openboard/library/videos/wannaworktogether.mp4")
SENTENCES = [
    "A woman in a red coat crosses the square.", "He smiles and looks away.",
    "Rain runs down the window of the empty café.", "She opens the letter slowly.",
    "The city at night, seen from a rooftop.", "A phone lights up on the table.",
    "Two children chase a dog along the beach.", "He puts on his glasses and reads.",
    "The train pulls out of the station.", "Snow falls on the parked cars.",
]


def duration_of(video: Path) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                          str(video)], capture_output=True, text=True, check=True).stdout
    return float(out.strip())


class PassTimer:
    """Wraps ffmpeg.run to add up the seconds of each kind of ffmpeg run."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        self._run = ffmpeg.run

    def __enter__(self):
        def timed(args, what):
            started = time.perf_counter()
            try:
                return self._run(args, what)
            finally:
                self.seconds[what.split(" of ")[0].split(" from ")[0]] += time.perf_counter() - started
        ffmpeg.run = timed
        return self

    def __exit__(self, *exc):
        ffmpeg.run = self._run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=CLIP)
    parser.add_argument("--cues", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=1, help="runs to take the best of")
    args = parser.parse_args()
    duration = duration_of(args.video)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        programme = folder / "programme.wav"
        ffmpeg.run(["-v", "error", "-i", str(args.video), "-map", "0:a:0", "-vn", "-ar", "48000",
                    "-c:a", "pcm_s16le", "-f", "wav", "-y", str(programme)], what="extracting the sound")
        extract_s = time.perf_counter() - started

        placements, cues = [], []
        step = duration / (args.cues + 1)
        for number in range(args.cues):
            text = SENTENCES[number % len(SENTENCES)]
            raw, wav = folder / f"cue{number}.espeak.wav", folder / f"cue{number}.wav"
            subprocess.run(["espeak-ng", "-w", str(raw), text], check=True)
            ffmpeg.run(["-v", "error", "-i", str(raw), "-ar", "48000", "-ac", "1", "-y", str(wav)], what="tts")
            seconds = mixing._voice_samples(wav) / 48000
            start = step * (number + 1)
            placements.append(Placement(start, wav, seconds))
            cues.append(TextCue(start, start + seconds, text))
        # Dialogue everywhere but under the cues, in 2-second pieces (many terms in the selection).
        regions, cursor = [], 0.0
        for placement in placements:
            while cursor + 2.0 < placement.start - 0.5:
                regions.append((cursor, cursor + 2.0))
                cursor += 2.5
            cursor = placement.start + placement.seconds + 0.5

        rows = []
        for _ in range(args.repeat):
            timings = {}
            with PassTimer() as passes:
                for name, work in [
                    ("mix", lambda: mix(programme, placements, duration, MixSettings(), folder / "stem.wav",
                                        folder / "mix.wav", regions)),
                    ("m4a", lambda: write_m4a(folder / "mix.wav", folder / "x.m4a", "en")),
                    ("mp4", lambda: write_ad_mp4(args.video, folder / "x.m4a", cues, "en", folder / "x.ad.mp4")),
                    ("mp4-wav", lambda: write_ad_mp4(args.video, folder / "mix.wav", cues, "en", folder / "y.ad.mp4")),
                    ("mkv", lambda: write_ad_mkv(args.video, folder / "x.m4a", cues, "en", folder / "x.ad.mkv")),
                ]:
                    t0 = time.perf_counter()
                    result = work()
                    timings[name] = time.perf_counter() - t0
                    if name == "mix":
                        report = result
            rows.append((timings, dict(passes.seconds)))
        timings, passes = min(rows, key=lambda row: sum(row[0].values()))

    render = extract_s + timings["mix"] + timings["mp4"] + timings["m4a"]
    print(f"# mix + mux on {args.video.name} ({duration:.1f} s, {len(placements)} cues, "
          f"{len(regions)} speech regions), {os.cpu_count()} CPUs\n")
    print("| step | seconds | real-time factor |")
    print("| --- | ---: | ---: |")
    print(f"| extract programme sound | {extract_s:.2f} | {extract_s / duration:.4f} |")
    for name, label in [("mix", "mix (3 passes + stem)"), ("m4a", "write_m4a (the one AAC encoding)"),
                        ("mp4", "write_ad_mp4 from the M4A (AAC copied)"), ("mkv", "write_ad_mkv from the M4A"),
                        ("mp4-wav", "(write_ad_mp4 from the WAV, encoding again)")]:
        print(f"| {label} | {timings[name]:.2f} | {timings[name] / duration:.4f} |")
    print(f"| **render audio + MP4 + M4A** | **{render:.2f}** | **{render / duration:.4f}** |")
    print("\n| ffmpeg run | seconds |")
    print("| --- | ---: |")
    for what, seconds in sorted(passes.items(), key=lambda item: -item[1]):
        print(f"| {what} | {seconds:.2f} |")
    print(f"\nresult: {report.result.integrated:.1f} LUFS, true peak {report.result.true_peak:.1f} dBTP "
          f"(programme {report.programme.integrated:.1f} LUFS, dialogue {report.dialogue_level:.1f} LUFS, "
          f"voice gain {report.voice_gain_db:+.1f} dB, normalisation {report.normalisation_gain_db:+.1f} dB, "
          f"limiter {'on' if report.limited else 'off'})")


if __name__ == "__main__":
    main()
