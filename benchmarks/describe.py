"""Benchmark `videodesc describe` against its floor, and `render` after an edit.

Usage: python benchmarks/describe.py [--samples DIR] [--only NAME] [--quick]

For each input, in the same run, each in a fresh process:
- describe: `videodesc describe VIDEO -o OUT --lang en` from an empty output folder (every model
  loaded, nothing cached but the assembled whisper-base and the converted Gemma);
- the floor (benchmarks/child.py floor): the work describe cannot skip, done with the same tools
  and model -- one ffmpeg pass decoding the whole video and its sound (writing the 16 kHz audio
  on the way), then faster-whisper's whisper-base with VAD and word times on that audio, model
  load included, with analyze's own function and settings. The files both read (the video,
  whisper-base) are read once beforehand, so that neither finds them in the file cache and the
  other not; the floor runs after describe;
- render after an edit: the text of one cue in script.json is changed, as a person would, and
  `videodesc render OUT` is run with the speech cache kept (only that cue is spoken again);
- render of every cue: `render` again after the speech cache is cleared, as after a new `write`.

Inputs: the narrated clip of Debian's openboard-common (3:00), Big Buck Bunny (9:56) from
`make samples`, and a dialogue clip built here (2:13, 1280x720): photos from the samples folder
as shots, under LibriVox sentences (pocketsphinx's test data) and pyannote's two-speaker sample,
with pauses of 1-10 s between them and two stretches of piano music (openboard-common).
`--quick` cuts every input to its first 30 s, to check the script, not to measure.

Peak memory is each child's VmHWM, polled. The load average is printed at the start and end and
per input: the numbers only mean something on a quiet machine. Prints Markdown for
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from child import measure, timed

REPO = Path(__file__).resolve().parents[1]
NARRATED = Path("/usr/share/openboard/library/videos/wannaworktogether.mp4")
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
PIANO = Path("/usr/share/openboard/library/audios/Sonata para piano.mp3")
QUICK_SECONDS = 30.0

def _librivox(n: str) -> Path:
    return LIBRIVOX / f"sense_and_sensibility_01_austen_64kb-{n}.wav"


def dialogue_sound(samples: Path) -> list[tuple[Path | None, float, float | None]]:
    """The dialogue clip's sound, in order: (source, start s, length s or None: all); None is silence.

    LibriVox "Sense and Sensibility" sentences (one reader), pyannote's sample (two speakers
    talking, cut at a pause of its RTTM), piano music: pauses of 1.2-1.5 s inside dialogue (too
    short for a description) and of 5-10 s between (slots)."""
    return [(None, 0, 5.0), (_librivox("0870"), 0, None), (None, 0, 1.2), (_librivox("0880"), 0, None),
            (None, 0, 8.0), (samples / "sample.wav", 6.3, 15.3), (None, 0, 6.0), (PIANO, 0, 22.0),
            (_librivox("0890"), 0, None), (None, 0, 1.5), (_librivox("0920"), 0, None), (None, 0, 10.0),
            (samples / "sample.wav", 21.6, 8.4), (None, 0, 7.0), (_librivox("0930"), 0, None),
            (None, 0, 4.0), (PIANO, 40.0, 20.0)]


# The dialogue clip's shots: photos of the samples folder, seconds each (the last one to the end).
DIALOGUE_SHOTS = [("person.jpg", 13.0), ("obama3.jpg", 16.0), ("zidane.jpg", 14.0), ("jesper.jpg", 15.0),
                  ("coffee.png", 14.0), ("bus.jpg", 12.0), ("biden.jpg", 16.0), ("anne_helene.jpg", 14.0),
                  ("grand_canyon_2.jpg", None)]


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


def probe_duration(video: Path) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                          str(video)], capture_output=True, text=True, check=True).stdout
    return float(out.strip())


def make_dialogue(samples: Path, target: Path) -> Path:
    """The dialogue clip: photo shots (1280x720, 25 fps, H.264) under speech, pauses and music (AAC)."""
    sound = dialogue_sound(samples)
    inputs: list[str] = []
    chains: list[str] = []
    duration = 0.0
    for i, (source, start, length) in enumerate(sound):
        if source is None:
            inputs += ["-f", "lavfi", "-t", f"{length}", "-i", "anullsrc=r=48000:cl=stereo"]
        else:
            inputs += ["-ss", f"{start}", *(["-t", f"{length}"] if length else []), "-i", str(source)]
            length = length or probe_duration(source) - start
        duration += length
        chains.append(f"[{i}:a]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo[a{i}]")
    audio = f"{''.join(f'[a{i}]' for i in range(len(sound)))}concat=n={len(sound)}:v=0:a=1[s]"
    frame = ("scale=1280:720:force_original_aspect_ratio=decrease,pad=1280:720:(ow-iw)/2:(oh-ih)/2,"
             "setsar=1,format=yuv420p")
    first = len(sound)
    shown = 0.0
    for j, (photo, seconds) in enumerate(DIALOGUE_SHOTS):
        seconds = seconds if seconds is not None else duration - shown
        shown += seconds
        frames = round(seconds * 25)  # the photo decoded and scaled once, its frame repeated
        inputs += ["-i", str(samples / photo)]
        chains.append(f"[{first + j}:v]{frame},loop=loop={frames - 1}:size=1:start=0,setpts=N/25/TB[v{j}]")
    video = f"{''.join(f'[v{j}]' for j in range(len(DIALOGUE_SHOTS)))}concat=n={len(DIALOGUE_SHOTS)}:v=1:a=0[v]"
    ffmpeg(*inputs, "-filter_complex", ";".join([*chains, audio, video]), "-map", "[v]", "-map", "[s]",
           "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-c:a", "aac", "-b:a", "128k",
           "-movflags", "+faststart", "-t", f"{duration:.3f}", str(target))
    return target


def cut(video: Path, seconds: float, target: Path) -> Path:
    ffmpeg("-i", str(video), "-t", f"{seconds}", "-map", "0", "-c", "copy", str(target))
    return target


def stages(events: list[dict]) -> str:
    return ", ".join(f"{e['stage']} {e['seconds']:.1f}" for e in events if e.get("event") == "done")


def edit_one_cue(script_path: Path) -> tuple[int, str, str]:
    """Change the words of the middle cue the way a person would: "Then " in front of them.

    The cue says one word more, so it is spoken again and fitted to its gap again (sped up or
    replaced by a shorter alternative if it no longer fits), as after a real edit."""
    script = json.loads(script_path.read_text())
    index = len(script["cues"]) // 2
    cue = script["cues"][index]
    old = cue["text"]
    first, _, rest = old.partition(" ")
    if first in ("A", "An", "The", "There", "Two", "Three", "Some"):
        first = first.lower()
    cue["text"] = new = f"Then {first} {rest}".rstrip()
    script_path.write_text(json.dumps(script, ensure_ascii=False, indent=2))
    return index, old, new


def speech_files(out: Path) -> set[str]:
    folder = out / "work" / "speech"
    return {p.name for p in folder.glob("*.wav")} if folder.is_dir() else set()


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def read_through(*paths: Path) -> None:
    """Read files (folders: their files) once, so that both the floor and describe find them in the file cache."""
    for path in paths:
        for file in ([path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())):
            with file.open("rb") as f:
                while f.read(1 << 22):
                    pass


def run_input(video: Path, tmp: Path) -> dict:
    from videodesc.speech.models import default_whisper_model

    duration = probe_duration(video)
    read_through(video, default_whisper_model())
    row: dict = {"duration": duration, "load": load()}
    out = tmp / "out"
    seconds, peak, events = timed(["describe", str(video), "-o", str(out), "--lang", "en"])
    script = json.loads((out / "script.json").read_text())
    row.update(describe=seconds, describe_peak=peak, describe_stages=stages(events), cues=len(script["cues"]),
               slots=len(json.loads((out / "timeline.json").read_text()).get("slots", [])))

    _, floor_peak, floor_events = measure([sys.executable, str(Path(__file__).with_name("child.py")), "floor",
                                           str(video), str(tmp / "floor.wav"), "--lang", "en"])
    done = {e["stage"]: e for e in floor_events if e.get("event") == "done"}
    row.update(decode=done["decode"]["seconds"], asr=done["asr"]["seconds"], floor_peak=floor_peak,
               floor_utterances=done["asr"]["utterances"])
    row["floor"] = row["decode"] + row["asr"]

    row["edit"] = None
    if script["cues"]:
        before = speech_files(out)
        row["edit"] = edit_one_cue(out / "script.json")
        seconds, peak, events = timed(["render", str(out)])
        row.update(edit_render=seconds, edit_peak=peak, edit_stages=stages(events),
                   edit_spoken=len(speech_files(out) - before))

    shutil.rmtree(out / "work" / "speech", ignore_errors=True)
    seconds, peak, events = timed(["render", str(out)])
    row.update(render=seconds, render_peak=peak, render_stages=stages(events))
    return row


def machine() -> str:
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), platform.processor() or platform.machine())
    memory = next(int(l.split()[1]) for l in Path("/proc/meminfo").read_text().splitlines()
                  if l.startswith("MemTotal:"))
    ffmpeg_version = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout.split()[2]
    return (f"{platform.node()}: {os.cpu_count()} cores ({len(os.sched_getaffinity(0))} usable), {cpu}, "
            f"{memory / 2**20:.0f} GiB, Python {platform.python_version()}, ffmpeg {ffmpeg_version}, "
            f"{datetime.date.today().isoformat()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path,
                        default=Path(os.environ.get("VIDEODESC_SAMPLES", REPO / ".cache/samples")))
    parser.add_argument("--only", choices=["narrated", "bbb", "dialogue"])
    parser.add_argument("--quick", action="store_true", help=f"cut every input to its first {QUICK_SECONDS:.0f} s")
    args = parser.parse_args()
    inputs = {"narrated": (lambda _: NARRATED, "wannaworktogether.mp4 (3:00, 480x352, narration over music)"),
              "bbb": (lambda _: args.samples / "bbb.mp4", "bbb.mp4 (9:56, 1280x720, music and effects, no dialogue)"),
              "dialogue": (lambda tmp: make_dialogue(args.samples, tmp / "dialogue.mp4"),
                           "dialogue clip (2:13, 1280x720 photos, LibriVox and pyannote speech, pauses, piano)")}
    print(f"machine: {machine()}")
    print(f"load average at start: {load()}" + (f"; --quick: first {QUICK_SECONDS:.0f} s of each input" if args.quick else ""))
    print()
    print("| input | duration s | load at start | floor s (decode + asr) | describe s | describe / floor "
          "| describe RTF | peak MiB (describe, render) | cues / slots | render after one edit s (RTF) "
          "| render of every cue s (RTF) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    details = []
    for name, (source, label) in inputs.items():
        if args.only and name != args.only:
            continue
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            video = source(tmp)
            if args.quick:
                video = cut(video, QUICK_SECONDS, tmp / f"quick{video.suffix}")
            r = run_input(video, tmp)
        d = r["duration"]
        edit = (f"{r['edit_render']:.1f} ({r['edit_render'] / d:.3f}; {r['edit_spoken']} spoken)"
                if r["edit"] else "no cue")
        print(f"| {label} | {d:.1f} | {r['load']} | {r['floor']:.1f} ({r['decode']:.1f} + {r['asr']:.1f}) "
              f"| {r['describe']:.1f} | {r['describe'] / r['floor']:.2f} | {r['describe'] / d:.3f} "
              f"| {r['describe_peak']:.0f}, {max(r.get('edit_peak', 0), r['render_peak']):.0f} "
              f"| {r['cues']} / {r['slots']} | {edit} | {r['render']:.1f} ({r['render'] / d:.3f}) |", flush=True)
        details.append((label, r))
    print(f"\nload average at end: {load()}\n")
    print("| input | step | stages (s) |")
    print("|---|---|---|")
    for label, r in details:
        print(f"| {label} | describe | {r['describe_stages']} |")
        print(f"| {label} | floor | decode {r['decode']:.1f}, asr {r['asr']:.1f} ({r['floor_utterances']} utterances),"
              f" peak {r['floor_peak']:.0f} MiB |")
        if r["edit"]:
            index, old, new = r["edit"]
            print(f"| {label} | render after editing cue {index + 1} ({old!r} to {new!r}) | {r['edit_stages']} |")
        print(f"| {label} | render of every cue | {r['render_stages']} |")


if __name__ == "__main__":
    main()
