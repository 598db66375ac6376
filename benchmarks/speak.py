"""Benchmark the voices: milliseconds per cue and the pace they actually speak at.

Usage: python benchmarks/speak.py [--rounds N]

Speaks eight Korean and eight English description sentences with each backend, uncached, and
prints a Markdown table: the first cue (which for Piper includes starting its process and loading
the model), the median of the others, the pace in syllables (Korean) or words (English) per
second of trimmed speech, and the ratio of the spoken length to what the writer assumes
(videodesc.write.speaking). The `http` row speaks through a local fake endpoint that answers with
espeak-ng audio, so it measures only the client's own overhead (request, conversion), not a real
neural server.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from videodesc.speak import SpeechCache, VoiceSpec, make_voice  # noqa: E402
from videodesc.write.speaking import spoken_seconds, syllables, words  # noqa: E402

KOREAN = ["민수가 창문 앞에 서서 비 내리는 거리를 내려다본다.",
          "지수가 조용히 문을 열고 들어온다.",
          "두 사람이 식탁에 마주 앉는다.",
          "어두운 골목, 한 남자가 담배에 불을 붙인다.",
          "할머니가 손녀의 손을 꼭 잡는다.",
          "버스가 떠나고 정류장에 지수만 남는다.",
          "민수가 휴대폰 화면을 보고 얼굴이 굳는다.",
          "아침, 병원 복도에 햇살이 비친다."]
ENGLISH = ["Minsu stands at the window and looks down at the rainy street.",
           "Jisu quietly opens the door and comes in.",
           "The two sit facing each other at the table.",
           "In a dark alley, a man lights a cigarette.",
           "Grandmother holds her granddaughter's hand tightly.",
           "The bus pulls away, leaving Jisu alone at the stop.",
           "Minsu looks at his phone and his face hardens.",
           "Morning. Sunlight falls across the hospital corridor."]


class FakeSpeechServer:
    """A fake of an OpenAI-compatible /v1/audio/speech endpoint that answers with espeak-ng audio."""

    def __init__(self, folder: Path):
        voice = make_voice(VoiceSpec("espeak", "en"))
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                target = folder / f"fake-{time.monotonic_ns()}.wav"
                voice.synthesize(body["input"], target)
                data = target.read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", "audio/wav")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        fake.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def measure(spec: VoiceSpec, texts: list[str], folder: Path, rounds: int) -> dict:
    started = time.perf_counter()
    voice = make_voice(spec)
    made = (time.perf_counter() - started) * 1000
    times, spoken, predicted, units = [], 0.0, 0.0, 0
    for round_ in range(rounds):
        cache = SpeechCache(folder / f"{spec.backend}-{spec.language}-{round_}")
        for text in texts:
            started = time.perf_counter()
            _, seconds = cache.speak(voice, spec, text)
            times.append((time.perf_counter() - started) * 1000)
            spoken += seconds
            predicted += spoken_seconds(text, spec.language)
            units += syllables(text) if spec.language == "ko" else words(text)
    if hasattr(voice, "close"):
        voice.close()
    return {"voice": voice.name, "make": made, "first": times[0], "median": statistics.median(times[1:]),
            "pace": units / spoken, "ratio": spoken / predicted}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="times each sentence set is spoken (default 2)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        fake = FakeSpeechServer(folder)
        try:
            rows = [
                ("espeak", "ko", measure(VoiceSpec("espeak", "ko"), KOREAN, folder, args.rounds)),
                ("espeak", "en", measure(VoiceSpec("espeak", "en"), ENGLISH, folder, args.rounds)),
                ("piper", "en", measure(VoiceSpec("piper", "en"), ENGLISH, folder, args.rounds)),
                ("http (local fake, overhead)", "en",
                 measure(VoiceSpec("http", "en", endpoint=fake.url), ENGLISH, folder, args.rounds)),
            ]
        finally:
            fake.close()
    print(f"Speech backends on {platform.processor() or platform.machine()}, "
          f"{len(KOREAN)} sentences x {args.rounds} rounds, uncached\n")
    print("| backend | lang | voice | make_voice ms | first cue ms | median cue ms | pace | spoken / writer's estimate |")
    print("|---|---|---|---:|---:|---:|---|---:|")
    for backend, language, row in rows:
        unit = "syllables/s" if language == "ko" else "words/s"
        print(f"| {backend} | {language} | {row['voice']} | {row['make']:.0f} | {row['first']:.0f} | "
              f"{row['median']:.0f} | {row['pace']:.2f} {unit} | {row['ratio']:.2f} |")


if __name__ == "__main__":
    main()
