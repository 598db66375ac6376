"""Running one command in a child process and measuring it, for the benchmarks.

`timed` runs a `videodesc` command; `measure` any command that, like `videodesc --json`, writes its
stage events as JSON lines on stderr. Run as a script (`python benchmarks/child.py floor VIDEO WAV
[--lang L]`), this module is the floor of `describe` benchmarks/describe.py compares against: the
work no implementation of `analyze` can skip, done with the same tools and model analyze uses.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path


def measure(command: list[str]) -> tuple[float, float, list[dict]]:
    """Seconds, peak resident MiB (VmHWM, polled) and the JSON stderr lines of one command."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    status, peak_kib = Path(f"/proc/{child.pid}/status"), 0
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(child.stderr), daemon=True)
    reader.start()
    while child.poll() is None:
        try:
            hwm = next(l for l in status.read_text().splitlines() if l.startswith("VmHWM:"))
            peak_kib = max(peak_kib, int(hwm.split()[1]))
        except (OSError, StopIteration):
            pass
        time.sleep(0.05)
    reader.join()
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{''.join(lines)[-2000:]}")
    return seconds, peak_kib / 1024, [json.loads(l) for l in lines if l.startswith("{")]


def timed(args: list[str]) -> tuple[float, float, list[dict]]:
    """Seconds, peak resident MiB and the JSON progress events of one videodesc command."""
    return measure([sys.executable, "-m", "videodesc", *args, "--json"])


def floor(video: Path, wav: Path, language: str | None) -> None:
    """Decode the video once, then recognise its speech the way `analyze` does; events on stderr.

    decode: one ffmpeg pass that decodes every frame of the video stream and the first audio
    stream (what `ffmpeg -i VIDEO -f null -` decodes), writing from the same decoded audio the
    16 kHz mono WAV that speech recognition reads (analyze's `audio` stage decodes it again).
    asr: importing faster-whisper, loading the bundled whisper-base (int8) and transcribing with
    analyze's settings (videodesc.speech.asr.transcribe: VAD filter, word timestamps, beam 5,
    two threads), as in a cold run. The model folder is assembled beforehand, untimed: describe
    finds it in the cache too.
    """
    from videodesc.speech import models

    model_dir = models.default_whisper_model()

    def done(stage: str, seconds: float, **extra) -> None:
        print(json.dumps({"stage": stage, "event": "done", "seconds": seconds, **extra}), file=sys.stderr, flush=True)

    has_audio = bool(subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a", "-show_entries",
                                     "stream=index", "-of", "csv=p=0", str(video)],
                                    capture_output=True, text=True, check=True).stdout.strip())
    audio_out = ["-map", "0:a:0", "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le", "-f", "wav", "-y", str(wav)]
    started = time.perf_counter()
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(video), "-map", "0:v:0", "-f", "null", "-",
                    *(audio_out if has_audio else [])], check=True)
    done("decode", time.perf_counter() - started)
    if not has_audio:  # analyze skips speech recognition too
        done("asr", 0.0, utterances=0, words=0)
        return

    started = time.perf_counter()
    from videodesc.speech import asr  # faster-whisper itself is imported inside transcribe
    from videodesc.speech.audio import load_wav

    transcript = asr.transcribe(load_wav(wav), model_dir, asr.AsrSettings(language=language))
    done("asr", time.perf_counter() - started, utterances=len(transcript.utterances),
         words=sum(len(u.words) for u in transcript.utterances))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="the floor of describe: decode + speech recognition")
    parser.add_argument("what", choices=["floor"])
    parser.add_argument("video", type=Path)
    parser.add_argument("wav", type=Path, help="where to write the 16 kHz audio")
    parser.add_argument("--lang")
    parsed = parser.parse_args()
    floor(parsed.video, parsed.wav, parsed.lang)
