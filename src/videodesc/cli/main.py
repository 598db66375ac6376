"""The `videodesc` command: a thin layer that parses options, calls the library, reports errors.

Exit codes: 0 success, 2 bad input (a file or option the user can fix), 1 internal failure,
130 interrupted.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import functools
import json
import math
import signal
import sys
import traceback
from pathlib import Path

from videodesc import __version__
from videodesc.delivery import PRESETS
from videodesc.errors import InputError, Terminated, VideodescError
from videodesc.progress import BarReporter, JsonReporter, Reporter
from videodesc.workfolder import exclusive, published_path


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 on usage errors, as we want
        self.print_usage(sys.stderr)
        self.exit(2, f"videodesc: error: {message}\n")


def _add_common(p: argparse.ArgumentParser, cached: bool = True) -> None:
    out = p.add_mutually_exclusive_group()
    out.add_argument("--quiet", action="store_true", help="print nothing but errors")
    out.add_argument("--json", action="store_true", help="progress and warnings as JSON lines on stderr")
    if cached:  # commands that keep no work folder have nothing to recompute
        p.add_argument("--force", action="store_true", help="recompute every stage, ignoring cached results")
    p.add_argument("--debug", action="store_true", help="show the traceback of internal errors")


def _path(text: str) -> Path:
    """A path argument. One starting with "-" (`./-dash.mp4`, which pathlib shortens back to
    `-dash.mp4`) is made absolute, so that ffmpeg and ffprobe never read it as an option."""
    path = Path(text)
    return Path.cwd() / path if str(path).startswith("-") else path


def _seconds(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, 0 or more: {text}")
    return value


def _endpoint_timeout(text: str) -> float:
    from videodesc.httpapi import MAX_TIMEOUT

    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= MAX_TIMEOUT):
        raise argparse.ArgumentTypeError(f"must be seconds, more than 0 and at most {MAX_TIMEOUT:g}: {text}")
    return value


def _endpoint_retries(text: str) -> int:
    from videodesc.httpapi import MAX_RETRIES

    if not (text.strip().isdigit() and int(text) <= MAX_RETRIES):
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to {MAX_RETRIES}: {text}")
    return int(text)


def _duck_db(text: str) -> float:
    value = float(text)
    # 0 dB is no ducking; a positive level would raise the programme over the description, and
    # below -60 dB it is simply silent.
    if not math.isfinite(value) or not -60.0 <= value <= 0.0:
        raise argparse.ArgumentTypeError(f"must be a level in dB from -60 to 0: {text}")
    return value


def _slot_numbers(text: str) -> frozenset[int]:
    try:
        numbers = frozenset(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"slot numbers separated by commas, not {text!r}") from None
    if not numbers or min(numbers) < 0:
        raise argparse.ArgumentTypeError(f"slot numbers from 0, not {text!r}")
    return numbers


def _jobs(text: str) -> int:
    if not (text.strip().isdigit() and 1 <= int(text) <= 256):
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 256: {text}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="videodesc", description="Automatic audio description for video.")
    parser.add_argument("--version", action="version", version=f"videodesc {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    a = commands.add_parser(
        "analyze", help="find shots, keyframes, dialogue and the gaps where descriptions can go",
        description="Analyse a video: shots and keyframes, dialogue (speech recognition or a subtitle "
                    "file), and the dialogue-free slots. Writes timeline.json, dialogue.srt, "
                    "dialogue.vtt, keyframes/ and report.html into OUT.")
    _analyze_arguments(a)
    _add_common(a)
    a.set_defaults(run=_run_analyze)

    w = commands.add_parser(
        "write", help="write descriptions for the slots of an analysed video",
        description="Write audio descriptions for the slots found by `analyze`: candidates from a writer, "
                    "scored and chosen, fitted to their slots. Writes script.json, descriptions.vtt, "
                    "descriptions.srt, NAME.ad.dapt.ttml (W3C DAPT) and review.html into OUT.")
    w.add_argument("output", type=_path, metavar="OUT", help="the output folder of `videodesc analyze`")
    w.add_argument("--lang", choices=["ko", "en"], help="language of the descriptions (default: the dialogue's)")
    w.add_argument("--slots", type=_slot_numbers, metavar="N[,N...]",
                   help="write only these slots again (numbered as in review.html), keeping the other cues of "
                        "script.json as they are, edits included")
    _write_arguments(w)
    _voice_arguments(w)
    _add_common(w)
    w.set_defaults(run=_run_write)

    r = commands.add_parser(
        "render", help="speak the script and write the described video and sound",
        description="Speak script.json (as written, or as you edited it), duck the programme sound under "
                    "each description, normalise the loudness, and write NAME.ad.mp4 (original audio plus a "
                    "described track and a text track), NAME.ad-mix.m4a, NAME.ad-stem.wav, the "
                    "descriptions as VTT and SRT, and NAME.ad.dapt.ttml (W3C DAPT, as recorded) into OUT. "
                    "Only changed cues are spoken again.")
    r.add_argument("output", type=_path, metavar="OUT", help="the output folder holding script.json")
    _voice_arguments(r)
    _render_arguments(r)
    _add_common(r)
    r.set_defaults(run=_run_render)

    d = commands.add_parser(
        "describe", help="analyze, write and render in one go",
        description="Make an audio-described version of VIDEO: analyze, write and render, into OUT.")
    _analyze_arguments(d)
    _describe_options(d)
    _add_common(d)
    d.set_defaults(run=_run_describe)

    b = commands.add_parser(
        "batch", help="describe many videos, on this machine or on a Ray cluster",
        description="Describe every video INPUTS name, each into its own folder OUTDIR/NAME (what `describe` "
                    "writes), on this machine's cores or on Ray. INPUTS are video files, folders (searched for "
                    "media files) and list files: .txt with one path a line, or .csv with a path column and "
                    "optional lang, subtitles, cast and name columns. A video that fails is reported and the "
                    "others go on; OUTDIR/batch.json and a table say how each went. A rerun skips the videos "
                    "already described. Exit 0 when every video was described, 2 when one or more failed.")
    b.add_argument("inputs", type=_path, nargs="+", metavar="INPUT", help="video files, folders or list files")
    b.add_argument("-o", "--output", type=_path, required=True, metavar="OUTDIR",
                   help="the folder that gets one output folder per video, and batch.json")
    b.add_argument("--jobs", type=_jobs, metavar="N",
                   help="videos described at a time on this machine (default: one per core, as memory allows)")
    b.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                   help="run on Ray: alone, a local Ray instance; with an ADDRESS (host:6379, ray://host:10001, "
                        "auto), that cluster, whose nodes share this install and the paths of INPUTS and OUTDIR")
    _analysis_options(b)
    _describe_options(b)
    _add_common(b)
    b.set_defaults(run=_run_batch)

    ds = commands.add_parser(
        "dataset", help="build datasets of human audio description",
        description="Build datasets of human audio description: JSON Lines files, one described moment a line.")
    dataset_commands = ds.add_subparsers(dest="dataset_command", required=True, metavar="SUBCOMMAND",
                                         parser_class=_Parser)
    di = dataset_commands.add_parser(
        "import", help="turn AD subtitle files, description tracks and CSV annotations into a dataset",
        description="Read human audio description from SRT/WebVTT files whose {...} lines are descriptions "
                    "(the rest is dialogue, kept as context), from description tracks (--descriptions) and "
                    "from CSV files with start, end and text columns (and optionally a video column), and "
                    "write one JSON Lines dataset.")
    di.add_argument("files", type=_path, nargs="+", metavar="FILE", help="SRT, WebVTT or CSV files")
    di.add_argument("-o", "--output", type=_path, required=True, metavar="DATASET", help="the .jsonl file to write")
    di.add_argument("--lang", choices=["ko", "en"], help="language of the descriptions (default: detected per file)")
    di.add_argument("--descriptions", action="store_true",
                    help="read a subtitle file without {...} lines as a description track: every cue a description")
    di.add_argument("--context", type=int, default=2, metavar="N",
                    help="lines of dialogue kept before and after each description (default 2)")
    di.add_argument("--video", type=_path, metavar="PATH", help="the video the files describe, recorded in each item")
    _add_common(di, cached=False)
    di.set_defaults(run=_run_dataset_import)

    dsft = dataset_commands.add_parser(
        "sft", help="fine-tuning data: the writer's candidate closest to each human description",
        description="For each described moment of a dataset, ask a writer for candidates and keep the one "
                    "most similar to the human description (multilingual sentence embeddings) as the response "
                    "of a prompt/response record; with --form preference also the least similar as rejected.")
    dsft.add_argument("dataset", type=_path, metavar="DATASET", help="a .jsonl file from `videodesc dataset import`")
    dsft.add_argument("-o", "--output", type=_path, required=True, metavar="FILE", help="the .jsonl file to write")
    dsft.add_argument("--analysis", type=_path, metavar="OUT",
                      help="the output folder of `videodesc analyze` for the dataset's video: its shots, facts "
                           "and keyframes are what the writer describes (without it, only the dialogue)")
    dsft.add_argument("--form", choices=["sft", "preference"], default="sft",
                      help="sft: prompt and response (default); preference: prompt, chosen and rejected")
    _writer_arguments(dsft)
    _add_common(dsft, cached=False)
    dsft.set_defaults(run=_run_dataset_sft)

    t = commands.add_parser(
        "train", help="fine-tune the selector's language model with LoRA",
        description="Train a LoRA adapter for the selector's language model (Gemma 3 270M by default) on "
                    "prompt/response records from `videodesc dataset sft`. Writes the adapter into OUT "
                    "(load it with `videodesc write --selector-adapter OUT`) and resumable checkpoints "
                    "into OUT/checkpoints.")
    t.add_argument("data", type=_path, metavar="DATA", help="a .jsonl file of prompt/response records")
    t.add_argument("-o", "--output", type=_path, required=True, metavar="OUT", help="the adapter folder to write")
    t.add_argument("--model-dir", type=_path, metavar="PATH",
                   help="a local causal language model folder (default: the packaged Gemma 3 270M)")
    t.add_argument("--epochs", type=float, default=3.0, metavar="N", help="passes over the data (default 3)")
    t.add_argument("--max-steps", type=int, default=-1, metavar="N", help="stop after N optimiser steps")
    t.add_argument("--lr", type=float, default=2e-4, metavar="X", help="learning rate (default 2e-4)")
    t.add_argument("--batch", type=int, default=4, metavar="N", help="records per step (default 4)")
    t.add_argument("--rank", type=int, default=8, metavar="R", help="LoRA rank (default 8)")
    t.add_argument("--save-steps", type=int, default=50, metavar="N", help="checkpoint every N steps (default 50)")
    t.add_argument("--resume", action="store_true", help="carry on from the newest checkpoint in OUT/checkpoints")
    _add_common(t, cached=False)
    t.set_defaults(run=_run_train)

    e = commands.add_parser(
        "evaluate", help="score a script against human descriptions and check it",
        description="Evaluate SCRIPT (a script.json, or the output folder holding it): BLEU, chrF, ROUGE-L, "
                    "CIDEr-D and embedding similarity against reference descriptions matched by time, and "
                    "checks that need no reference (description over speech, density, speaking rate, "
                    "repetition, style rules, loudness of the described mix). Prints a table.")
    e.add_argument("script", type=_path, metavar="SCRIPT", help="script.json, or an output folder holding one")
    e.add_argument("--reference", type=_path, metavar="FILE",
                   help="human descriptions: a dataset (.jsonl), an SRT/WebVTT file with {...} lines, or a CSV "
                        "(default: the {...} lines kept in timeline.json, if any)")
    e.add_argument("--descriptions", action="store_true",
                   help="read a reference subtitle file without {...} lines as a description track")
    e.add_argument("--compare", type=_path, metavar="OTHER_SCRIPT",
                   help="a second script to evaluate against the same references, side by side")
    # --json names a file here, not the progress format of the other commands: progress stays as bars.
    e.add_argument("--json", type=_path, dest="json_file", metavar="OUT.json", help="also write the results as JSON")
    e.add_argument("--quiet", action="store_true", help="no progress on stderr")
    e.add_argument("--debug", action="store_true", help="show the traceback of internal errors")
    e.set_defaults(run=_run_evaluate, json=False)

    sv = commands.add_parser(
        "serve", help="the review studio: describe, review, edit and render in a web page",
        description="Start the review studio, a web app: upload a video (or pick one from --media-folder), "
                    "follow it being described, review and edit the descriptions, hear them, render again "
                    "and download the outputs. Serves on 127.0.0.1 unless told otherwise; any other host "
                    "needs a token.")
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this machine only)")
    sv.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    sv.add_argument("--data", type=_path, metavar="DIR",
                    help="folder the projects are kept in (default ~/.local/share/videodesc/studio)")
    sv.add_argument("--token", default=None,
                    help="the token every request must carry (default: $VIDEODESC_TOKEN); needed beyond 127.0.0.1")
    sv.add_argument("--media-folder", type=_path, metavar="DIR", help="a folder of videos to pick projects from")
    sv.add_argument("--max-upload-mb", type=int, default=4096, metavar="MB", help="largest upload (default 4096 MiB)")
    sv.add_argument("--jobs", type=int, default=1, metavar="N", help="jobs run at once (default 1)")
    _writer_arguments(sv)
    sv.add_argument("--quiet", action="store_true", help="print nothing but the address and errors")
    sv.add_argument("--debug", action="store_true", help="show the traceback of internal errors")
    sv.set_defaults(run=_run_serve, json=False)
    return parser


def _describe_options(d: argparse.ArgumentParser) -> None:
    """What `describe` (and `batch`, which describes each video) takes beyond the analysis' options."""
    _write_arguments(d)
    _voice_arguments(d)
    _render_arguments(d, own_extended=False, script=False)


def _analyze_arguments(a: argparse.ArgumentParser) -> None:
    a.add_argument("video", type=_path, metavar="VIDEO", help="the video file (anything ffmpeg reads)")
    a.add_argument("-o", "--output", type=_path, required=True, metavar="OUT", help="output folder")
    _analysis_options(a)


def _analysis_options(a: argparse.ArgumentParser) -> None:
    a.add_argument("--lang", choices=["ko", "en", "auto"], default="auto",
                   help="language of the dialogue (default: auto-detect; forcing it is more reliable)")
    a.add_argument("--subtitles", type=_path, metavar="FILE",
                   help="SRT or WebVTT dialogue to use instead of speech recognition "
                        "(UTF-8 or cp949/EUC-KR; {...} lines are kept as reference descriptions)")
    a.add_argument("--asr-model", type=_path, metavar="PATH",
                   help="a local faster-whisper model folder, e.g. large-v3 (default: the bundled whisper-base)")
    a.add_argument("--min-slot", type=_seconds, default=1.2, metavar="S",
                   help="shortest pause between speech to offer for a description, before padding (default 1.2 s)")
    a.add_argument("--pad-after", type=_seconds, default=0.2, metavar="S",
                   help="silence kept after speech before a slot starts (default 0.2 s)")
    a.add_argument("--pad-before", type=_seconds, default=0.1, metavar="S",
                   help="silence kept before speech after a slot ends (default 0.1 s)")
    a.add_argument("--min-shot", type=_seconds, default=0.6, metavar="S",
                   help="shortest shot; faster changes count as flashes (default 0.6 s)")
    a.add_argument("--vision", choices=["slots", "all", "off"], default="slots",
                   help="which shots to look at for faces and characters: those near a slot (default), "
                        "all, or none")
    a.add_argument("--cast", type=_path, metavar="FILE",
                   help="TOML or JSON file with a name and reference photos per character, to name "
                        "the characters found (unmatched ones stay 'Person N')")


def _write_arguments(w: argparse.ArgumentParser) -> None:
    _writer_arguments(w)
    w.add_argument("--extended", action="store_true",
                   help="allow descriptions longer than their slot: write keeps them, marked extended, and "
                        "render pauses the picture while they are spoken")
    w.add_argument("--no-fluency", action="store_true",
                   help="skip the language-model fluency score (faster; style, fit and novelty still count)")
    w.add_argument("--selector-adapter", "--adapter", dest="adapter", type=_path, metavar="PATH",
                   help="a LoRA adapter folder for the selector's language model (made by `videodesc train`)")
    w.add_argument("--describer-pace", action="store_true",
                   help="fit descriptions at a describer's pace (6 Korean syllables or 2.7 English words a "
                        "second) instead of timing the voice given by --voice")


def _writer_arguments(w: argparse.ArgumentParser) -> None:
    w.add_argument("--writer", choices=["template", "openai", "transformers"], default="template",
                   help="template: offline, from the facts (default); openai: an OpenAI-compatible chat "
                        "endpoint; transformers: a local vision-language model folder")
    w.add_argument("--endpoint", metavar="URL", help="openai: base URL, e.g. http://127.0.0.1:8080/v1")
    w.add_argument("--model", metavar="NAME", help="openai: the model name the endpoint serves")
    w.add_argument("--api-key-env", default="OPENAI_API_KEY", metavar="VAR",
                   help="openai: environment variable holding the API key (default OPENAI_API_KEY)")
    w.add_argument("--vlm", type=_path, metavar="PATH", help="transformers: a local vision-language model folder")
    w.add_argument("--trust-remote-code", action="store_true",
                   help="transformers: run the Python code that ships in the model folder (only for folders you trust)")
    w.add_argument("--no-images", action="store_true",
                   help="openai/transformers: send the facts and dialogue without the keyframe images "
                        "(for text-only models)")
    w.add_argument("--candidates", type=int, default=4, metavar="N", help="candidates asked per slot (default 4)")


def _voice_arguments(r: argparse.ArgumentParser) -> None:
    """The voice that speaks: `render` speaks with it, `write` times it to fit the cues."""
    r.add_argument("--voice", choices=["default", "espeak", "piper", "http"], default="default",
                   help="speech engine: default is piper's English voice for English and espeak-ng for Korean; "
                        "http is an OpenAI-compatible /v1/audio/speech endpoint")
    r.add_argument("--voice-name", metavar="NAME",
                   help="espeak voice (e.g. ko, en-us), piper model file (.onnx), or the endpoint's voice name")
    r.add_argument("--rate", type=float, default=1.0, metavar="X", help="speaking pace, 1.0 = a describer's pace")
    r.add_argument("--tts-endpoint", metavar="URL", help="http voice: base URL, e.g. http://127.0.0.1:8880/v1")
    r.add_argument("--tts-model", metavar="NAME", help="http voice: model name")
    r.add_argument("--tts-key-env", default="OPENAI_API_KEY", metavar="VAR",
                   help="http voice: environment variable holding the API key")
    # Here because every command with a voice talks to endpoints: write and describe to the
    # writer's too, and write times an http voice.
    r.add_argument("--endpoint-timeout", type=_endpoint_timeout, metavar="SECONDS",
                   help="openai writer and http voice: seconds to wait for one whole answer (default 120 for "
                        "the writer, 60 for the voice); a request that times out is tried again only once the "
                        "endpoint has answered")
    r.add_argument("--endpoint-retries", type=_endpoint_retries, metavar="N",
                   help="openai writer and http voice: further attempts after a rate limit (429), a server "
                        "error (5xx) or a refused or dropped connection, 0-10 (default 3)")


def _render_arguments(r: argparse.ArgumentParser, own_extended: bool = True, script: bool = True) -> None:
    if script:  # not for `describe`, which renders the script it has just written
        r.add_argument("--script", type=_path, metavar="FILE",
                       help="render these descriptions instead of script.json's: a DAPT document (.ttml, such as "
                            "NAME.ad.dapt.ttml edited in another tool) or a script.json")
    r.add_argument("--duck", type=_duck_db, default=-10.0, metavar="DB",
                   help="programme sound level under a description, -60 to 0 (default -10 dB)")
    r.add_argument("--deliver", choices=list(PRESETS), metavar="PRESET",
                   help="deliver to a platform's spec: mix to its loudness (ebu -23 LUFS, atsc -24, netflix and "
                        "amazon -27 dialogue-gated, apple -24 stereo, youtube -14, kbs -24), write its 48 kHz "
                        "WAV premix and stem into OUT/deliver/PRESET/, and check them in the QC report "
                        f"({', '.join(PRESETS)})")
    r.add_argument("--loudness", choices=list(PRESETS), default=None, metavar="PRESET",
                   help="mix to a preset's loudness target without writing its deliverables (default ebu: "
                        "EBU R128, -23 LUFS)")
    r.add_argument("--hls", action="store_true",
                   help="also package for HLS streaming: OUT/NAME.hls/master.m3u8 with the described audio "
                        "flagged as describing the video, and the descriptions as WebVTT")
    r.add_argument("--dash", action="store_true",
                   help="also package for MPEG-DASH: OUT/NAME.dash/manifest.mpd with the described audio "
                        "flagged (Role/Accessibility description)")
    r.add_argument("--container", choices=["mp4", "mkv"], default="mp4",
                   help="mp4 (text as mov_text, default) or mkv (text as WebVTT)")
    r.add_argument("--ad-default", action="store_true", help="make the described track the default audio track")
    if own_extended:  # `describe` has --extended from the write arguments: one flag serves both steps
        r.add_argument("--extended", action="store_true",
                       help="extended description: pause the picture and the programme sound for a description "
                            "that fits no other way (the video is then re-encoded and every later time shifts)")


def _holding_output(run):
    """Run a command that writes into OUT while holding OUT (one run at a time; a second one is
    refused), after removing what interrupted runs left there."""
    @functools.wraps(run)
    def holding(args: argparse.Namespace, reporter: Reporter) -> int:
        with exclusive(args.output) as freed:
            if freed:
                size = f"{freed / 1e6:.1f} MB" if freed >= 1e5 else f"{freed / 1e3:.0f} kB"
                reporter.info(f"removed {size} of temporary files an interrupted run left in {args.output}")
            return run(args, reporter)
    return holding


@_holding_output
def _run_analyze(args: argparse.Namespace, reporter: Reporter) -> int:
    from videodesc.analyze import analyze

    timeline = analyze(args.video, args.output, _analyze_options(args), reporter)
    free = sum(s.duration for s in timeline.slots)
    reporter.info(f"{len(timeline.shots)} shots, {len(timeline.utterances)} utterances, "
                  f"{len(timeline.slots)} slots ({free:.1f} s of {timeline.media.duration:.1f} s free); "
                  f"report: {args.output / 'report.html'}")
    return 0


@_holding_output
def _run_write(args: argparse.Namespace, reporter: Reporter) -> int:
    from videodesc.writing import write

    options = dataclasses.replace(_write_options(args, args.lang), slots=args.slots)
    script = write(args.output, options, reporter)
    spoken = sum(cue.end - cue.start for cue in script.cues)
    reporter.info(f"{len(script.cues)} descriptions ({spoken:.1f} s), {len(script.skipped)} slots left silent; "
                  f"review: {args.output / 'review.html'}")
    return 0


@_holding_output
def _run_render(args: argparse.Namespace, reporter: Reporter) -> int:
    from videodesc.rendering import render

    result = render(args.output, _render_options(args), reporter)
    reporter.info(f"{len(result.script.cues)} descriptions spoken; described mix {result.loudness.integrated:.1f} "
                  f"LUFS, true peak {result.loudness.true_peak:.1f} dBTP; QC {'passed' if result.qc_passed else 'FAILED'}; "
                  + ", ".join(str(path) for path in result.outputs))
    return 0


@_holding_output
def _run_batch(args: argparse.Namespace, reporter: Reporter) -> int:
    from videodesc.batch.pipeline import PER_VIDEO, BatchOptions, check_outdir, run_batch
    from videodesc.batch.summary import table
    from videodesc.rendering import check_remote_voice

    check_outdir(args.output, args.inputs)
    if args.subtitles is not None:
        raise InputError("--subtitles is one video's dialogue: give each video's in a CSV list (a subtitles column)")
    # Refused here, once, rather than once per video.
    _write_options(args, None)
    check_remote_voice(_render_options(args), args.lang if args.lang in ("ko", "en") else "en")
    per_video = {key: str(getattr(args, key)) for key in PER_VIDEO if getattr(args, key) not in (None, "auto")}
    options = BatchOptions(
        analyze=_step_arguments(_analysis_options, args, skip=tuple(PER_VIDEO)),
        write=_step_arguments(lambda p: (_write_arguments(p), _voice_arguments(p)), args),
        render=_step_arguments(lambda p: (_voice_arguments(p), _render_arguments(p)), args),
        per_video=per_video, jobs=args.jobs, ray=args.ray, force=args.force)
    summary = run_batch(args.inputs, args.output, options, reporter)
    if not args.quiet:
        print(table(summary), flush=True)
    return 2 if summary.failed else 0


def _step_arguments(add_arguments, args: argparse.Namespace, skip: tuple[str, ...] = ()) -> list[str]:
    """The command-line arguments, for a step whose options `add_arguments` defines, that give
    it the values in `args` that differ from its defaults (a batch passes its options on)."""
    parser = argparse.ArgumentParser(add_help=False)
    add_arguments(parser)
    argv: list[str] = []
    for action in parser._actions:
        if not action.option_strings or action.dest in skip or not hasattr(args, action.dest):
            continue
        value = getattr(args, action.dest)
        if value is None or value == action.default:
            continue
        flag = next((o for o in action.option_strings if o.startswith("--")), action.option_strings[0])
        argv += [flag] if isinstance(action, argparse._StoreTrueAction) else [flag, str(value)]
    return argv


@_holding_output
def _run_describe(args: argparse.Namespace, reporter: Reporter) -> int:
    from videodesc.analyze import analyze
    from videodesc.memory import release_freed_memory
    from videodesc.media.probe import probe
    from videodesc.rendering import check_remote_voice, preflight, render
    from videodesc.writing import write

    # Every option is checked before the long analysis starts.
    write_options, render_options = _write_options(args, None), _render_options(args)
    preflight(args.output, probe(args.video), render_options)
    check_remote_voice(render_options, args.lang if args.lang in ("ko", "en") else "en")
    analyze(args.video, args.output, _analyze_options(args), reporter)
    release_freed_memory()  # the vision models' memory, before write loads its language model
    write(args.output, write_options, reporter)
    release_freed_memory()
    result = render(args.output, render_options, reporter)
    reporter.info(f"{len(result.script.cues)} descriptions; " + ", ".join(str(path) for path in result.outputs))
    return 0


def _run_serve(args: argparse.Namespace, reporter: Reporter) -> int:
    import os
    import socket

    import uvicorn

    from videodesc.studio.app import StudioSettings, create_app

    data = args.data or Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "videodesc" / "studio"
    token = args.token or os.environ.get("VIDEODESC_TOKEN") or None
    if args.max_upload_mb < 1 or args.jobs < 1 or not 0 <= args.port < 65536:
        raise InputError("--max-upload-mb and --jobs must be at least 1, --port between 0 and 65535")
    # The template writer is always there; a model writer given to serve can be chosen per project.
    writer = _writer_options(args)
    writers = {"template": []}
    if writer.writer != "template":
        # Its options are checked now, not in the first job (the model itself loads in the jobs).
        if writer.writer == "openai" and not (writer.endpoint and writer.model):
            raise InputError("--writer openai needs --endpoint URL and --model NAME")
        if writer.writer == "transformers" and not (writer.vlm and writer.vlm.is_dir()):
            raise InputError("--writer transformers needs --vlm PATH, a local vision-language model folder")
        writers[writer.writer] = [
            "--writer", writer.writer, *(["--endpoint", writer.endpoint] if writer.endpoint else []),
            *(["--model", writer.model] if writer.model else []), "--api-key-env", writer.api_key_env,
            *(["--vlm", str(writer.vlm)] if writer.vlm else []), *(["--no-images"] if not writer.images else []),
            *(["--trust-remote-code"] if writer.trust_remote_code else []), "--candidates", str(writer.candidates)]
    settings = StudioSettings(data=data, host=args.host, port=args.port, token=token, media_folder=args.media_folder,
                              max_upload_bytes=args.max_upload_mb << 20, workers=args.jobs, writers=writers)
    app = create_app(settings)
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((args.host, args.port))
    except OSError as exc:
        listener.close()
        raise InputError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    port = listener.getsockname()[1]
    shown = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
    print(f"videodesc studio: {url}  (projects in {data}; Ctrl-C stops it)", flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning" if args.quiet else "info", access_log=False))
    server.run(sockets=[listener])
    return 0


def _run_dataset_import(args: argparse.Namespace, reporter: Reporter) -> int:
    from collections import Counter

    from videodesc.dataset.importers import import_file
    from videodesc.dataset.jsonl import write_items

    if args.context < 0:
        raise InputError("--context must not be negative")
    # Every file is read before anything is written, so a bad one leaves no output behind.
    items = [item for path in args.files
             for item in import_file(path, language=args.lang, descriptions_only=args.descriptions,
                                     context_lines=args.context, video=args.video)]
    write_items(args.output, items)
    languages = Counter(item.language for item in items)
    reporter.info(f"{len(items)} items from {len(args.files)} files ("
                  + ", ".join(f"{language} {count}" for language, count in languages.most_common())
                  + f"): {args.output}")
    return 0


def _run_evaluate(args: argparse.Namespace, reporter: Reporter) -> int:
    from videodesc.evaluation.evaluate import evaluate_all
    from videodesc.evaluation.report import table, write_json

    scripts = [args.script] + ([args.compare] if args.compare else [])
    references, evaluations = evaluate_all(scripts, args.reference, args.descriptions, reporter)
    if args.json_file:
        write_json(args.json_file, references, evaluations)
    sys.stdout.write(table(references, evaluations))
    return 0


def _run_dataset_sft(args: argparse.Namespace, reporter: Reporter) -> int:
    from videodesc.dataset import sft
    from videodesc.dataset.jsonl import read_items
    from videodesc.workfolder import write_text_atomic
    from videodesc.write.embed import Embedder
    from videodesc.writing import load_analysis, make_writer

    items = read_items(args.dataset)
    options = _writer_options(args)
    analysis = load_analysis(args.analysis) if args.analysis is not None else None
    folder = args.analysis if args.analysis is not None else args.output.parent
    writer = make_writer(options, folder)
    with reporter.stage("scorers"):
        embedder = Embedder()
    with reporter.stage("candidates", total=len(items), unit="items") as progress:
        result = sft.build(items, writer, embedder, options.candidates, analysis, folder, progress.update)
    if not result.records:
        reasons = ", ".join(f"{reason} {count}" for reason, count in result.skipped.items())
        raise InputError(f"{args.dataset}: the {writer.name} writer gave fewer than two candidates for every item "
                         f"({reasons}); give --analysis for the video, or use a model writer")
    write_text_atomic(args.output, "".join(json.dumps(r.as_json(args.form), ensure_ascii=False) + "\n"
                                           for r in result.records))
    skipped = "".join(f", {count} skipped: {reason}" for reason, count in result.skipped.items())
    reporter.info(f"{len(result.records)} {args.form} records from {len(items)} items{skipped}: {args.output}")
    return 0


def _run_train(args: argparse.Namespace, reporter: Reporter) -> int:
    from videodesc.training import TrainOptions, train

    options = TrainOptions(model_dir=args.model_dir, epochs=args.epochs, max_steps=args.max_steps,
                           learning_rate=args.lr, batch_size=args.batch, rank=args.rank, alpha=2 * args.rank,
                           save_steps=args.save_steps, resume=args.resume)
    with reporter.stage("train", unit="steps") as progress:
        def on_step(step: int, total: int) -> None:
            progress.total = total  # known once the data is read
            progress.update(step)

        result = train(args.data, args.output, options, on_step=on_step)
    first, last = (result.losses[0], result.losses[-1]) if result.losses else (float("nan"), float("nan"))
    reporter.info(f"{result.steps} steps on {result.examples} records in {result.seconds:.0f} s, loss {first:.3f} "
                  f"-> {last:.3f}; adapter: {result.adapter} (videodesc write --selector-adapter {result.adapter})")
    return 0


def _analyze_options(args: argparse.Namespace):
    from videodesc.analyze import AnalyzeOptions
    from videodesc.shots.detect import ShotOptions
    from videodesc.slots import SlotSettings
    from videodesc.vision.see import VisionSettings

    return AnalyzeOptions(
        language=None if args.lang == "auto" else args.lang,
        subtitles=args.subtitles,
        asr_model=args.asr_model,
        shots=ShotOptions(min_shot_length=args.min_shot),
        slots=SlotSettings(pad_after_speech=args.pad_after, pad_before_speech=args.pad_before,
                           min_length=args.min_slot),
        vision=VisionSettings(scope=args.vision),
        cast=args.cast,
        force=args.force,
    )


def _write_options(args: argparse.Namespace, language: str | None):
    from videodesc.write.select import SelectionSettings

    return dataclasses.replace(_writer_options(args), language=language, fluency=not args.no_fluency,
                               adapter=args.adapter, selection=SelectionSettings(extended=args.extended),
                               voice=_voice_option(args), voice_rate=args.rate, measure_voice=not args.describer_pace,
                               endpoint_timeout=args.endpoint_timeout, endpoint_retries=args.endpoint_retries)


def _writer_options(args: argparse.Namespace):
    """The writer backend's options alone (what `dataset sft` takes)."""
    from videodesc.writing import WriteOptions

    if args.candidates < 1:
        raise InputError("--candidates must be at least 1")
    return WriteOptions(writer=args.writer, candidates=args.candidates, endpoint=args.endpoint, model=args.model,
                        api_key_env=args.api_key_env, vlm=args.vlm, trust_remote_code=args.trust_remote_code,
                        images=not args.no_images)


def _voice_option(args: argparse.Namespace):
    """The VoiceSpec of --voice and its settings, or None for the default voice."""
    from videodesc.speak import VoiceSpec

    if not 0.5 <= args.rate <= 2.0:
        raise InputError("--rate must be between 0.5 and 2.0")
    if args.voice == "default" and not (args.voice_name or args.tts_endpoint):
        return None
    if args.voice == "default":
        raise InputError("--voice-name and --tts-endpoint need --voice espeak, piper or http")
    # The language is filled in from the script when the voice is used.
    return VoiceSpec(backend=args.voice, language="", voice=args.voice_name, rate=args.rate,
                     endpoint=args.tts_endpoint, model=args.tts_model, api_key_env=args.tts_key_env,
                     timeout=args.endpoint_timeout, retries=args.endpoint_retries)


def _render_options(args: argparse.Namespace):
    from videodesc.render.mix import MixSettings
    from videodesc.rendering import RenderOptions

    voice = _voice_option(args)
    if args.deliver and args.loudness and args.loudness != args.deliver:
        raise InputError(f"--loudness {args.loudness} and --deliver {args.deliver} ask for two targets: give one")
    preset = PRESETS[args.deliver or args.loudness or "ebu"]
    streaming = tuple(kind for kind in ("hls", "dash") if getattr(args, kind))
    return RenderOptions(voice=voice, rate=args.rate, mix=MixSettings(duck_db=args.duck), preset=preset,
                         deliver=bool(args.deliver), streaming=streaming, container=args.container,
                         ad_default=args.ad_default, extended=args.extended, script=getattr(args, "script", None))


# OS errors that are the machine's state or the user's paths, not a bug: exit 2.
_USER_ERRNOS = (errno.ENOSPC, errno.EACCES, errno.EPERM, errno.EROFS, errno.EDQUOT, errno.ENAMETOOLONG,
                errno.EMFILE)


def _terminate(signum, frame) -> None:
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    reporter: Reporter = Reporter() if args.quiet else JsonReporter() if args.json else BarReporter()
    try:
        return args.run(args, reporter)
    except VideodescError as exc:
        reporter.error("error", str(exc), exc.exit_code)
        return exc.exit_code
    except KeyboardInterrupt:
        reporter.error("interrupted", "", 130)
        return 130
    except Terminated:
        reporter.error("terminated", "", 143)
        return 143
    except OSError as exc:
        # Disk full, permission lost mid-run: the user's environment, not a bug.
        # The path the user knows: an output, not the temporary name it was being written under.
        what = f"{published_path(exc.filename)}: " if exc.filename else ""
        code = 2 if exc.errno in _USER_ERRNOS else 1
        meaning = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up"}.get(exc.errno)
        reporter.error("error", f"{what}{exc.strerror or exc}" + (f" ({meaning})" if meaning else ""), code)
        return code
    except Exception as exc:  # a bug: one line by default, the traceback on request
        if args.debug:
            traceback.print_exc()
        reporter.error("internal error", f"{type(exc).__name__}: {exc} (rerun with --debug for details)", 1)
        return 1
