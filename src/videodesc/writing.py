"""The `write` step: descriptions for the slots of an analysed video, chosen, fitted and written out.

Reads `timeline.json` (and `facts.json` when the vision stage ran) from the output folder of
`analyze`, times the voice that will speak (so that cues fit it), asks a writer backend for
candidates slot by slot in time order -- each slot knowing the descriptions chosen before it and
what the viewer was told -- lets the selector choose, and writes `script.json`,
`descriptions.vtt`, `descriptions.srt`, `NAME.ad.dapt.ttml` (the script as a W3C DAPT document,
before recording, for other audio description tools) and `review.html`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

from videodesc import __version__
from videodesc.errors import InputError, ModelError
from videodesc.output.dapt import to_dapt
from videodesc.output.review import render_review
from videodesc.output.subtitle_files import to_srt, to_vtt
from videodesc.progress import Reporter
from videodesc.rendering import RENDER_PROVENANCE
from videodesc.records import (Cue, Facts, SchemaError, Script, SkippedSlot, Timeline, dumps, load_facts, load_script,
                               load_timeline)
from videodesc.speak import VoiceSpec, resolve_voice
from videodesc.speech.models import cache_root
from videodesc.workfolder import keep_edited_script, note_script_written, write_text_atomic
from videodesc.write.backends import EmptyAnswer, Writer
from videodesc.write.context import slot_contexts
from videodesc.write.select import Decision, SelectionSettings, Selector
from videodesc.write.speaking import SpeakingRate, voice_rate

WRITERS = ("template", "openai", "transformers")
LANGUAGES = ("ko", "en")


@dataclass
class WriteOptions:
    writer: str = "template"
    language: str | None = None  # None: the language of the dialogue when it is ko or en
    candidates: int = 4  # asked of the writer per slot
    endpoint: str | None = None  # openai: the base URL, e.g. http://127.0.0.1:8080/v1
    model: str | None = None  # openai: the model name the endpoint serves
    api_key_env: str = "OPENAI_API_KEY"  # openai: the environment variable holding the key
    vlm: Path | None = None  # transformers: a local vision-language model folder
    trust_remote_code: bool = False  # transformers: run the model folder's own code
    images: bool = True  # send keyframes to model writers (off for text-only models)
    # openai: seconds to wait for one whole answer, and further attempts after a 429, a 5xx or a
    # refused or dropped connection (None: the writer's defaults, 120 s and 3).
    endpoint_timeout: float | None = None
    endpoint_retries: int | None = None
    fluency: bool = True  # score fluency with the bundled small language model
    adapter: Path | None = None  # a LoRA adapter folder for the fluency model
    selection: SelectionSettings = field(default_factory=SelectionSettings)
    # The voice `render` will speak with (None: the default voice of the language) and its pace.
    # Its speaking rate is measured and the cues are fitted to it; off: a describer's pace.
    voice: VoiceSpec | None = None
    voice_rate: float = 1.0
    measure_voice: bool = True
    # Write only these slots (their index in timeline.json, as script.json and review.html number
    # them) again, keeping every other cue of the existing script.json as it is; None: all.
    slots: frozenset[int] | None = None


def load_analysis(out: Path) -> tuple[Timeline, Facts | None]:
    """The time line and facts `analyze` wrote into `out`, or a clear InputError."""
    timeline_file = out / "timeline.json"
    if not timeline_file.is_file():
        raise InputError(f"{out} holds no timeline.json: run `videodesc analyze VIDEO -o {out}` first")
    try:
        timeline = load_timeline(timeline_file.read_text(encoding="utf-8"))
        facts_file = out / "facts.json"
        facts = load_facts(facts_file.read_text(encoding="utf-8")) if facts_file.is_file() else None
    except (SchemaError, ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{out}: the analysis cannot be read ({exc}); run `videodesc analyze` again") from exc
    return timeline, facts


def choose_language(options: WriteOptions, timeline: Timeline) -> str:
    if options.language is not None:
        if options.language not in LANGUAGES:
            raise InputError(f"descriptions can be written in {' or '.join(LANGUAGES)}, not {options.language!r}")
        return options.language
    return timeline.language if timeline.language in LANGUAGES else "en"


def make_writer(options: WriteOptions, out: Path) -> Writer:
    if options.writer == "template":
        from videodesc.write.backends.template import TemplateWriter

        return TemplateWriter()
    if options.writer == "openai":
        if not options.endpoint or not options.model:
            raise InputError("--writer openai needs --endpoint URL (e.g. http://127.0.0.1:8080/v1) and --model NAME")
        from videodesc.write.backends.openai_chat import OpenAIChatWriter

        waits = {name: value for name, value in (("timeout", options.endpoint_timeout),
                                                 ("retries", options.endpoint_retries)) if value is not None}
        return OpenAIChatWriter(options.endpoint, options.model, api_key_env=options.api_key_env,
                                cache_dir=out / "work" / "writer", images=options.images, **waits)
    if options.writer == "transformers":
        if options.vlm is None:
            raise InputError("--writer transformers needs --vlm PATH, a local vision-language model folder")
        from videodesc.write.backends.local_vlm import TransformersWriter

        return TransformersWriter(options.vlm, trust_remote_code=options.trust_remote_code, images=options.images)
    raise InputError(f"unknown writer {options.writer!r}: choose one of {', '.join(WRITERS)}")


def write(out: Path, options: WriteOptions, reporter: Reporter) -> Script:
    """Write descriptions for the analysis in `out`; returns the Script also saved as `out/script.json`.

    Raises:
        InputError: no analysis in `out`, or an option that cannot be used.
        ModelError: a writer or scoring model is missing, broken or refuses.
    """
    out = Path(out)
    timeline, facts = load_analysis(out)
    language = choose_language(options, timeline)
    if facts is None and options.writer == "template":
        reporter.warning("no facts.json (analysed with --vision off): the template writer has nothing sure to "
                         "say, so every slot stays silent; run `videodesc analyze` with vision, or use a model writer")
    kept = _kept_script(out, options.slots, timeline, language)
    if options.fluency and options.adapter is not None:
        from videodesc.write.fluency import check_adapter

        check_adapter(options.adapter)  # before the writer and the models load
    writer = make_writer(options, out)
    provenance = {"videodesc": __version__, "writer": writer.name, "language": language}
    selection = options.selection
    if options.measure_voice:
        with reporter.stage("voice"):
            selection = dataclasses.replace(selection, rate=_voice_rate(options, language, provenance, reporter))
    with reporter.stage("scorers"):
        fluency, embedder = _scorers(options, provenance)
    selector = Selector(selection, fluency, embedder)

    contexts = slot_contexts(timeline, facts, out, language)
    cues: list[Cue] = []
    skipped: list[SkippedSlot] = list(kept.skipped) if kept else []
    previous: list[str] = []
    introduced: set[str] = set()
    told: dict[tuple, tuple[str, float]] = {}
    last_end = -math.inf

    def said(cue: Cue, context) -> None:
        nonlocal last_end
        cues.append(cue)
        previous.append(cue.text)
        last_end = cue.end
        introduced.update(cid for cid in context.characters if context.character_name(cid) in cue.text)
        chosen = cue.candidates[cue.chosen].claims if 0 <= cue.chosen < len(cue.candidates) else []
        told.update({claim.subject: (claim.value, cue.start) for claim in chosen})

    to_write = [c for c in contexts if options.slots is None or c.slot_index in options.slots]
    with reporter.stage("write", total=len(to_write), unit="slots") as progress:
        done = 0
        for context in contexts:
            if kept is not None and context.slot_index not in options.slots:
                # A slot not asked for: its cues as the script has them, which later slots know about.
                for cue in kept.cues:
                    if cue.slot == context.slot_index and context.slot.start - 1e-6 <= cue.start < context.slot.end:
                        said(cue, context)
                continue
            context.previous, context.introduced, context.told = list(previous), set(introduced), dict(told)
            context.rate = selection.rate
            try:
                texts = writer.candidates(context, options.candidates)
                decision = selector.decide(context, writer, texts, last_end + options.selection.min_gap)
            except EmptyAnswer as empty:
                # One empty answer leaves its slot silent; the writer stops the run when they persist.
                reporter.warning(f"slot {context.slot_index} left silent: {empty}")
                decision = Decision(None, SkippedSlot(context.slot_index, context.slot.start, context.slot.end,
                                                      f"the writer's answer held no text ({empty})"))
            if decision.cue is not None:
                said(decision.cue, context)
            elif decision.skipped is not None:
                skipped.append(decision.skipped)
            done += 1
            progress.update(done)
    if kept is not None:
        # A kept cue a person moved out of every part of its slot is kept all the same.
        placed = {id(cue) for cue in cues}
        cues = sorted(cues + [cue for cue in kept.cues if id(cue) not in placed], key=lambda c: c.start)
        # What render said of the script (its voice, its loudness, its QC) holds no more once a slot changes.
        provenance = {**{k: v for k, v in kept.provenance.items() if k not in RENDER_PROVENANCE}, **provenance}
        skipped.sort(key=lambda s: s.start)

    script = Script(media=timeline.media, language=language, characters=facts.characters if facts else [],
                    cues=cues, skipped=skipped, provenance=provenance)
    backup = keep_edited_script(out)
    if backup is not None:
        reporter.warning(f"script.json had been changed since videodesc wrote it: your version is kept as {backup.name}")
    text = dumps(script)
    write_text_atomic(out / "script.json", text)
    note_script_written(out, text)
    write_text_atomic(out / "descriptions.vtt", to_vtt(cues))
    write_text_atomic(out / "descriptions.srt", to_srt(cues))
    write_text_atomic(out / f"{Path(script.media.path).stem}.ad.dapt.ttml", to_dapt(script, "preRecording"))
    write_text_atomic(out / "review.html", render_review(script, timeline))
    return script


def _kept_script(out: Path, slots: frozenset[int] | None, timeline: Timeline, language: str) -> Script | None:
    """With `slots`, the existing script.json less the cues and silences of those slots."""
    if slots is None:
        return None
    script_file = out / "script.json"
    if not script_file.is_file():
        raise InputError(f"{out} holds no script.json to write slots of again: run `videodesc write {out}` first")
    unknown = sorted(n for n in slots if not 0 <= n < len(timeline.slots))
    if unknown:
        raise InputError(f"no slot {', '.join(map(str, unknown))}: the analysis has slots 0-{len(timeline.slots) - 1}")
    try:
        script = load_script(script_file.read_text(encoding="utf-8"))
    except (SchemaError, ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{script_file} cannot be read: {exc}") from exc
    if script.language != language:
        raise InputError(f"{script_file} is in {script.language}, not {language}: write all slots with --lang {language}")
    if script.provenance.get("extended_pauses"):
        raise InputError(f"{script_file} was rendered with extended description: write all slots again")
    return dataclasses.replace(script, cues=[c for c in script.cues if c.slot not in slots],
                               skipped=[s for s in script.skipped if s.slot not in slots])


def _voice_rate(options: WriteOptions, language: str, provenance: dict[str, str], reporter: Reporter) -> SpeakingRate:
    """The speaking rate of the voice that will speak the cues; a describer's pace, with a warning,
    when that voice cannot speak here (render will then fail or use what the user gives it)."""
    spec = resolve_voice(options.voice, language, options.voice_rate)
    try:
        # Timed once per machine and voice: the calibration passage is the same for every video.
        rate = voice_rate(spec, language, cache_root() / "voice-rates")
    except ModelError as exc:
        reporter.warning(f"cannot time the {spec.backend} voice ({exc}); descriptions are fitted at a "
                         "describer's pace instead")
        return SpeakingRate()
    provenance["speaking_rate"] = (f"{spec.backend} voice, measured: " + (
        f"{rate.ko_syllables_per_second} syllables/s" if language == "ko"
        else f"{rate.en_letters_per_second} letters/s ({rate.en_words_per_second} words/s)")
        + f", {rate.per_cue} s per cue, {rate.pause_per_sentence} s between sentences, {rate.per_comma} s per comma")
    return rate


def _scorers(options: WriteOptions, provenance: dict[str, str]):
    """The fluency model and the sentence embedder, loaded once per run."""
    from videodesc.write.embed import Embedder
    from videodesc.write.fluency import FluencyScorer

    embedder = Embedder()
    provenance["embedder"] = embedder.name
    fluency = None
    if options.fluency:
        fluency = FluencyScorer(adapter=options.adapter)
        provenance["fluency"] = fluency.name + (f", adapter {fluency.adapter}" if fluency.adapter else "")
    return fluency, embedder
