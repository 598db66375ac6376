"""The `videodesc` command: a thin layer that parses options, calls the library, reports errors.

Exit codes: 0 success, 2 bad input (a file or option the user can fix), 1 internal failure,
130 interrupted.
"""

from __future__ import annotations

import argparse
import errno
import sys
import traceback
from pathlib import Path

from videodesc import __version__
from videodesc.errors import InputError, VideodescError
from videodesc.progress import BarReporter, JsonReporter, Reporter


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 on usage errors, as we want
        self.print_usage(sys.stderr)
        self.exit(2, f"videodesc: error: {message}\n")


def _add_common(p: argparse.ArgumentParser) -> None:
    out = p.add_mutually_exclusive_group()
    out.add_argument("--quiet", action="store_true", help="print nothing but errors")
    out.add_argument("--json", action="store_true", help="progress and warnings as JSON lines on stderr")
    p.add_argument("--force", action="store_true", help="recompute every stage, ignoring cached results")
    p.add_argument("--debug", action="store_true", help="show the traceback of internal errors")


def _seconds(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="videodesc", description="Automatic audio description for video.")
    parser.add_argument("--version", action="version", version=f"videodesc {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    a = commands.add_parser(
        "analyze", help="find shots, keyframes, dialogue and the gaps where descriptions can go",
        description="Analyse a video: shots and keyframes, dialogue (speech recognition or a subtitle "
                    "file), and the dialogue-free slots. Writes timeline.json, dialogue.srt, "
                    "dialogue.vtt, keyframes/ and report.html into OUT.")
    a.add_argument("video", type=Path, metavar="VIDEO", help="the video file (anything ffmpeg reads)")
    a.add_argument("-o", "--output", type=Path, required=True, metavar="OUT", help="output folder")
    a.add_argument("--lang", choices=["ko", "en", "auto"], default="auto",
                   help="language of the dialogue (default: auto-detect; forcing it is more reliable)")
    a.add_argument("--subtitles", type=Path, metavar="FILE",
                   help="SRT or WebVTT dialogue to use instead of speech recognition "
                        "(UTF-8 or cp949/EUC-KR; {...} lines are kept as reference descriptions)")
    a.add_argument("--asr-model", type=Path, metavar="PATH",
                   help="a local faster-whisper model folder, e.g. large-v3 (default: the bundled whisper-base)")
    a.add_argument("--min-slot", type=_seconds, default=1.2, metavar="S",
                   help="shortest gap to offer for a description (default 1.2 s)")
    a.add_argument("--pad-after", type=_seconds, default=0.2, metavar="S",
                   help="silence kept after speech before a slot starts (default 0.2 s)")
    a.add_argument("--pad-before", type=_seconds, default=0.1, metavar="S",
                   help="silence kept before speech after a slot ends (default 0.1 s)")
    a.add_argument("--min-shot", type=_seconds, default=0.6, metavar="S",
                   help="shortest shot; faster changes count as flashes (default 0.6 s)")
    a.add_argument("--vision", choices=["slots", "all", "off"], default="slots",
                   help="which shots to look at for faces and characters: those near a slot (default), "
                        "all, or none")
    a.add_argument("--cast", type=Path, metavar="FILE",
                   help="TOML or JSON file with a name and reference photos per character, to name "
                        "the characters found (unmatched ones stay 'Person N')")
    _add_common(a)
    a.set_defaults(run=_run_analyze)

    w = commands.add_parser(
        "write", help="write descriptions for the slots of an analysed video",
        description="Write audio descriptions for the slots found by `analyze`: candidates from a writer, "
                    "scored and chosen, fitted to their slots. Writes script.json, descriptions.vtt, "
                    "descriptions.srt and review.html into OUT.")
    w.add_argument("output", type=Path, metavar="OUT", help="the output folder of `videodesc analyze`")
    w.add_argument("--writer", choices=["template", "openai", "transformers"], default="template",
                   help="template: offline, from the facts (default); openai: an OpenAI-compatible chat "
                        "endpoint; transformers: a local vision-language model folder")
    w.add_argument("--lang", choices=["ko", "en"], help="language of the descriptions (default: the dialogue's)")
    w.add_argument("--endpoint", metavar="URL", help="openai: base URL, e.g. http://127.0.0.1:8080/v1")
    w.add_argument("--model", metavar="NAME", help="openai: the model name the endpoint serves")
    w.add_argument("--api-key-env", default="OPENAI_API_KEY", metavar="VAR",
                   help="openai: environment variable holding the API key (default OPENAI_API_KEY)")
    w.add_argument("--vlm", type=Path, metavar="PATH", help="transformers: a local vision-language model folder")
    w.add_argument("--trust-remote-code", action="store_true",
                   help="transformers: run the Python code that ships in the model folder (only for folders you trust)")
    w.add_argument("--no-images", action="store_true",
                   help="openai/transformers: send the facts and dialogue without the keyframe images "
                        "(for text-only models)")
    w.add_argument("--candidates", type=int, default=4, metavar="N", help="candidates asked per slot (default 4)")
    w.add_argument("--extended", action="store_true",
                   help="allow descriptions longer than their slot, marked extended (the player pauses)")
    w.add_argument("--no-fluency", action="store_true",
                   help="skip the language-model fluency score (faster; style, fit and novelty still count)")
    w.add_argument("--adapter", type=Path, metavar="PATH", help="a LoRA adapter folder for the fluency model")
    _add_common(w)
    w.set_defaults(run=_run_write)
    return parser


def _run_analyze(args: argparse.Namespace, reporter: Reporter) -> int:
    from videodesc.analyze import AnalyzeOptions, analyze
    from videodesc.shots.detect import ShotOptions
    from videodesc.slots import SlotSettings
    from videodesc.vision.see import VisionSettings

    options = AnalyzeOptions(
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
    timeline = analyze(args.video, args.output, options, reporter)
    free = sum(s.duration for s in timeline.slots)
    reporter.info(f"{len(timeline.shots)} shots, {len(timeline.utterances)} utterances, "
                  f"{len(timeline.slots)} slots ({free:.1f} s of {timeline.media.duration:.1f} s free); "
                  f"report: {args.output / 'report.html'}")
    return 0


def _run_write(args: argparse.Namespace, reporter: Reporter) -> int:
    from videodesc.write.select import SelectionSettings
    from videodesc.writing import WriteOptions, write

    if args.candidates < 1:
        raise InputError("--candidates must be at least 1")
    options = WriteOptions(writer=args.writer, language=args.lang, candidates=args.candidates,
                           endpoint=args.endpoint, model=args.model, api_key_env=args.api_key_env, vlm=args.vlm,
                           trust_remote_code=args.trust_remote_code, images=not args.no_images,
                           fluency=not args.no_fluency, adapter=args.adapter,
                           selection=SelectionSettings(extended=args.extended))
    script = write(args.output, options, reporter)
    spoken = sum(cue.end - cue.start for cue in script.cues)
    reporter.info(f"{len(script.cues)} descriptions ({spoken:.1f} s), {len(script.skipped)} slots left silent; "
                  f"review: {args.output / 'review.html'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    reporter: Reporter = Reporter() if args.quiet else JsonReporter() if args.json else BarReporter()
    try:
        return args.run(args, reporter)
    except VideodescError as exc:
        print(f"videodesc: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("videodesc: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        # Disk full, permission lost mid-run: the user's environment, not a bug.
        what = f"{exc.filename}: " if exc.filename else ""
        print(f"videodesc: error: {what}{exc.strerror or exc}", file=sys.stderr)
        return 2 if exc.errno in (errno.ENOSPC, errno.EACCES, errno.EROFS, errno.EDQUOT) else 1
    except Exception as exc:  # a bug: one line by default, the traceback on request
        if args.debug:
            traceback.print_exc()
        print(f"videodesc: internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)",
              file=sys.stderr)
        return 1
