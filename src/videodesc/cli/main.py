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
    _analyze_arguments(a)
    _add_common(a)
    a.set_defaults(run=_run_analyze)

    w = commands.add_parser(
        "write", help="write descriptions for the slots of an analysed video",
        description="Write audio descriptions for the slots found by `analyze`: candidates from a writer, "
                    "scored and chosen, fitted to their slots. Writes script.json, descriptions.vtt, "
                    "descriptions.srt and review.html into OUT.")
    w.add_argument("output", type=Path, metavar="OUT", help="the output folder of `videodesc analyze`")
    w.add_argument("--lang", choices=["ko", "en"], help="language of the descriptions (default: the dialogue's)")
    _write_arguments(w)
    _add_common(w)
    w.set_defaults(run=_run_write)

    r = commands.add_parser(
        "render", help="speak the script and write the described video and sound",
        description="Speak script.json (as written, or as you edited it), duck the programme sound under "
                    "each description, normalise the loudness, and write NAME.ad.mp4 (original audio plus a "
                    "described track and a text track), NAME.ad-mix.m4a, NAME.ad-stem.wav and the "
                    "descriptions as VTT and SRT into OUT. Only changed cues are spoken again.")
    r.add_argument("output", type=Path, metavar="OUT", help="the output folder holding script.json")
    _render_arguments(r)
    _add_common(r)
    r.set_defaults(run=_run_render)

    d = commands.add_parser(
        "describe", help="analyze, write and render in one go",
        description="Make an audio-described version of VIDEO: analyze, write and render, into OUT.")
    _analyze_arguments(d)
    _write_arguments(d)
    _render_arguments(d, own_extended=False)
    _add_common(d)
    d.set_defaults(run=_run_describe)
    return parser


def _analyze_arguments(a: argparse.ArgumentParser) -> None:
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


def _write_arguments(w: argparse.ArgumentParser) -> None:
    w.add_argument("--writer", choices=["template", "openai", "transformers"], default="template",
                   help="template: offline, from the facts (default); openai: an OpenAI-compatible chat "
                        "endpoint; transformers: a local vision-language model folder")
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
                   help="allow descriptions longer than their slot: write keeps them, marked extended, and "
                        "render pauses the picture while they are spoken")
    w.add_argument("--no-fluency", action="store_true",
                   help="skip the language-model fluency score (faster; style, fit and novelty still count)")
    w.add_argument("--adapter", type=Path, metavar="PATH", help="a LoRA adapter folder for the fluency model")


def _render_arguments(r: argparse.ArgumentParser, own_extended: bool = True) -> None:
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
    r.add_argument("--duck", type=float, default=-10.0, metavar="DB",
                   help="programme sound level under a description (default -10 dB)")
    r.add_argument("--loudness", choices=["ebu", "atsc"], default="ebu",
                   help="loudness target: EBU R128, -23 LUFS (default), or ATSC A/85, -24 LKFS")
    r.add_argument("--container", choices=["mp4", "mkv"], default="mp4",
                   help="mp4 (text as mov_text, default) or mkv (text as WebVTT)")
    r.add_argument("--ad-default", action="store_true", help="make the described track the default audio track")
    if own_extended:  # `describe` has --extended from the write arguments: one flag serves both steps
        r.add_argument("--extended", action="store_true",
                       help="extended description: pause the picture and the programme sound for a description "
                            "that fits no other way (the video is then re-encoded and every later time shifts)")


def _run_analyze(args: argparse.Namespace, reporter: Reporter) -> int:
    from videodesc.analyze import analyze

    timeline = analyze(args.video, args.output, _analyze_options(args), reporter)
    free = sum(s.duration for s in timeline.slots)
    reporter.info(f"{len(timeline.shots)} shots, {len(timeline.utterances)} utterances, "
                  f"{len(timeline.slots)} slots ({free:.1f} s of {timeline.media.duration:.1f} s free); "
                  f"report: {args.output / 'report.html'}")
    return 0


def _run_write(args: argparse.Namespace, reporter: Reporter) -> int:
    from videodesc.writing import write

    script = write(args.output, _write_options(args, args.lang), reporter)
    spoken = sum(cue.end - cue.start for cue in script.cues)
    reporter.info(f"{len(script.cues)} descriptions ({spoken:.1f} s), {len(script.skipped)} slots left silent; "
                  f"review: {args.output / 'review.html'}")
    return 0


def _run_render(args: argparse.Namespace, reporter: Reporter) -> int:
    from videodesc.rendering import render

    result = render(args.output, _render_options(args), reporter)
    reporter.info(f"{len(result.script.cues)} descriptions spoken; described mix {result.loudness.integrated:.1f} "
                  f"LUFS, true peak {result.loudness.true_peak:.1f} dBTP; "
                  + ", ".join(str(path) for path in result.outputs))
    return 0


def _run_describe(args: argparse.Namespace, reporter: Reporter) -> int:
    from videodesc.analyze import analyze
    from videodesc.memory import release_freed_memory
    from videodesc.rendering import render
    from videodesc.writing import write

    # Every option is checked before the long analysis starts.
    write_options, render_options = _write_options(args, None), _render_options(args)
    analyze(args.video, args.output, _analyze_options(args), reporter)
    release_freed_memory()  # the vision models' memory, before write loads its language model
    write(args.output, write_options, reporter)
    release_freed_memory()
    result = render(args.output, render_options, reporter)
    reporter.info(f"{len(result.script.cues)} descriptions; " + ", ".join(str(path) for path in result.outputs))
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
    from videodesc.writing import WriteOptions

    if args.candidates < 1:
        raise InputError("--candidates must be at least 1")
    return WriteOptions(writer=args.writer, language=language, candidates=args.candidates,
                        endpoint=args.endpoint, model=args.model, api_key_env=args.api_key_env, vlm=args.vlm,
                        trust_remote_code=args.trust_remote_code, images=not args.no_images,
                        fluency=not args.no_fluency, adapter=args.adapter,
                        selection=SelectionSettings(extended=args.extended))


def _render_options(args: argparse.Namespace):
    from videodesc.render.mix import ATSC_A85, LoudnessTarget, MixSettings
    from videodesc.rendering import RenderOptions
    from videodesc.speak import VoiceSpec

    if not 0.5 <= args.rate <= 2.0:
        raise InputError("--rate must be between 0.5 and 2.0")
    voice = None
    if args.voice != "default" or args.voice_name or args.tts_endpoint:
        if args.voice == "default":
            raise InputError("--voice-name and --tts-endpoint need --voice espeak, piper or http")
        # The language is filled in from the script when rendering starts.
        voice = VoiceSpec(backend=args.voice, language="", voice=args.voice_name, rate=args.rate,
                          endpoint=args.tts_endpoint, model=args.tts_model, api_key_env=args.tts_key_env)
    target = ATSC_A85 if args.loudness == "atsc" else LoudnessTarget()
    return RenderOptions(voice=voice, rate=args.rate, mix=MixSettings(duck_db=args.duck, target=target),
                         container=args.container, ad_default=args.ad_default,
                         extended=args.extended)


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
