"""The `render` step: speak the script, fit each cue to its gap, mix, and write the described media.

Reads `script.json` (possibly edited by a person) and `timeline.json` from the output folder.
Each cue is spoken by the voice configured for the script's language; speech is cached by text
and voice, so after an edit only the changed cues are synthesised again. A cue that runs past its
gap is sped up (at most `max_speedup`), else replaced by the best shorter alternative in the
script, else, with extended description enabled, spoken as it is while the picture and the
programme sound pause (a `Freeze`) for the overflow, else dropped with a warning. Then the
programme sound is ducked under the voice, the mix is normalised to the loudness target, and the
outputs are written, all together or none.

With pauses, every output is in the time of the extended video: the video is re-encoded with the
picture held, every programme sound track gets the silence, and the cues, the stem, the mix and
the text tracks are shifted by the pauses before them. The rendered script records the pauses in
its provenance (`extended_pauses`, JSON), so that rendering it again first maps its cue times
back to programme time.

The mix follows a delivery preset (delivery.py; EBU R128 unless asked): its loudness target,
measured over the whole programme or dialogue-gated, and its true-peak ceiling. With
`RenderOptions.deliver` the preset's WAV deliverables (premix, stem, at its bit depth and layout)
are written into OUT/deliver/KEY/ as well. Every render ends with a QC report (output/qc.py): each
output measured as delivered and checked rule by rule, as OUT/qc.json, OUT/qc.html and a section of
review.html. `RenderOptions.streaming` packages the described programme for HLS and/or DASH.

`RenderOptions.script` renders other descriptions than script.json's: a DAPT document (as
`write` and `render` write it, edited in another tool, or written by one) or another
script.json; its cues replace the script's for this render, and the rendered script.json keeps
them. `render` also writes the rendered script as an asRecorded DAPT document, NAME.ad.dapt.ttml.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from videodesc.delivery import PRESETS, Deliverable, Preset, file_name, hand_over
from videodesc.errors import InputError
from videodesc.media import ffmpeg
from videodesc.media.probe import content_hash
from videodesc.output.dapt import Ducking, read_dapt, to_dapt
from videodesc.output.qc import PREMIX, QC_FILE, QC_PAGE, STEM, RenderFacts, qc_page, run_qc, to_json
from videodesc.output.review import render_review
from videodesc.output.subtitle_files import to_srt, to_vtt
from videodesc.progress import Reporter
from videodesc.records import (Candidate, Cue, Media, SchemaError, Script, SkippedSlot, Timeline, dumps,
                               load_script, load_timeline)
from videodesc.render.extend import (Freeze, describe_freezes, extend_audio, extend_video, freezes_json, merge,
                                     parse_freezes, shift, total, unshift)
from videodesc.output.streaming import package_dash, package_hls
from videodesc.render.loudness import measure, merge_regions
from videodesc.render.mix import Loudness, MixReport, MixSettings, Placement, mix, tempo
from videodesc.render.mux import (TextCue, aac_encoding, language_code, streams_of, subtitle_streams,
                                  write_ad_mkv, write_ad_mp4, write_m4a)
from videodesc.speak import SpeechCache, VoiceSpec, make_voice, resolve_voice
from videodesc.workfolder import (OutputGroup, atomic_path, check_output_folder, note_script_written, stage_key,
                                  staged_name)

SPEECH_DIR = "speech"  # the spoken cues, published next to script.json
MIN_GAP = 0.1  # seconds of programme sound kept between two spoken cues
PAUSES = "extended_pauses"  # provenance key: the pauses of extended description, JSON [[at, seconds], ...]
PAUSES_TEXT = "extended description"  # provenance key: the same, for people (the review page)
# Provenance keys render writes about the script as rendered: they hold no more once it changes.
RENDER_PROVENANCE = ("voice", "loudness", "QC")
IMPORTED = "imported"  # provenance key: the file the cues were taken from (`--script`)
LANGUAGES = ("ko", "en")  # the languages a script can be voiced in
PEAK_SLACK_DB = 0.05  # dB over the ceiling that a true-peak reading may show before the mix is limited again


@dataclass
class RenderOptions:
    voice: VoiceSpec | None = None  # None: the default voice for the script's language
    rate: float = 1.0  # speaking pace for the default voice
    mix: MixSettings = field(default_factory=MixSettings)  # its target and format come from `preset`
    preset: Preset = PRESETS["ebu"]  # the loudness rules the mix follows and QC checks
    deliver: bool = False  # also write the preset's WAV deliverables into OUT/deliver/KEY/
    streaming: tuple[str, ...] = ()  # "hls" and/or "dash": package the described programme for streaming
    container: str = "mp4"  # or "mkv" (WebVTT inside)
    ad_default: bool = False  # make the described track the default audio track
    max_speedup: float = 1.25
    extended: bool = False  # pause the picture for a cue that fits no other way (extended description)
    # Render these descriptions instead of script.json's: a DAPT document or a script.json.
    script: Path | None = None


@dataclass
class FittedCue:
    cue: Cue
    audio: Path  # the WAV to place
    seconds: float
    note: str | None = None  # how it was made to fit, for the report


@dataclass
class RenderResult:
    script: Script
    outputs: list[Path]
    loudness: Loudness
    warnings: list[str]
    qc_passed: bool = True


def load_for_render(out: Path, replacement: Path | None = None) -> tuple[Script, Timeline, Path]:
    """The script, the time line and the source video, or one clear InputError.

    With `replacement` (a DAPT document or a script.json), its cues replace the script's.
    """
    script_file, timeline_file = out / "script.json", out / "timeline.json"
    for needed, step in ((timeline_file, "analyze VIDEO -o"), (script_file, "write")):
        if not needed.is_file():
            raise InputError(f"{out} holds no {needed.name}: run `videodesc {step} {out}` first")
    try:
        script = load_script(script_file.read_text(encoding="utf-8"))
        timeline = load_timeline(timeline_file.read_text(encoding="utf-8"))
    except (SchemaError, ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{script_file} cannot be read: {exc}") from exc
    script = _in_programme_time(script)
    if replacement is not None:
        script = replace_cues(script, timeline, Path(replacement))
        script_file = Path(replacement)  # what the messages below are about
    video = Path(script.media.path)
    if not video.is_file():
        raise InputError(f"the video {video} named in {script_file} is missing")
    if content_hash(video) != script.media.content_hash:
        raise InputError(f"the video {video} has changed since it was analysed: run `videodesc analyze` again")
    duration = script.media.duration
    for number, cue in enumerate(script.cues, start=1):
        if not cue.text.strip():
            raise InputError(f"{script_file}: cue {number} at {cue.start:.2f} s has no text")
        if not 0 <= cue.start < duration:
            raise InputError(f"{script_file}: cue {number} starts at {cue.start:.2f} s, outside the video "
                             f"(0-{duration:.2f} s)")
        if cue.end < cue.start:
            raise InputError(f"{script_file}: cue {number} ends at {cue.end:.2f} s, before it starts "
                             f"({cue.start:.2f} s)")
    return script, timeline, video


def preflight(out: Path, media: Media, options: RenderOptions) -> None:
    """Refuse, before any work, what would make the render fail at its end: a file name the file
    system cannot hold (the longest is a temporary name, ".NAME.ad.dapt.ttml.XXXXXXXX.part"), an
    output folder that cannot be written, or less free space than the outputs take.

    Raises:
        InputError: with the name, the folder or the space.
    """
    out = Path(out)
    check_output_folder(out)
    folder = out if out.is_dir() else out.parent
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    try:
        limit = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    name = Path(media.path).stem
    longest = [f"{name}.ad.dapt.ttml", f"{name}.ad-stem.wav"]
    if options.deliver:
        # Every language code is three letters long, "5.1" the longest layout.
        longest += [file_name(p, name, 6, "eng") for p in (options.preset.premix, options.preset.stem) if p]
    for produced in longest:
        if len(staged_name(produced).encode("utf-8")) > limit:
            raise InputError(f"the video's name is too long for the outputs: {produced} (with the temporary "
                             f"name it is written under) passes the file system's {limit} bytes; rename the video")
    needed = output_bytes(media, options, out / "work" / "render")
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise InputError(f"not enough free space in {folder} for the outputs of {Path(media.path).name}: they need "
                         f"about {_megabytes(needed)} and {_megabytes(free)} are free")


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size < 10e6 else f"{size / 1e6:,.0f} MB"


def check_remote_voice(options: RenderOptions, language: str) -> None:
    """Before an analysis whose render will need it: an http voice speaks one short word, so that
    a dead or broken speech endpoint is refused before the work rather than after it (the local
    voices are checked when they load, in a second).

    Raises:
        InputError, ModelError: the voice's own one-line error.
    """
    if options.voice is None or options.voice.backend != "http":
        return
    import tempfile

    spec = resolve_voice(options.voice, language, options.rate)
    with tempfile.TemporaryDirectory(prefix="videodesc-voice-check-") as scratch:
        make_voice(spec).synthesize("Ready." if language == "en" else "준비.", Path(scratch) / "check.wav")


def output_bytes(media: Media, options: RenderOptions, render_folder: Path) -> int:
    """A low estimate of the bytes a render of `media` writes before it publishes: the sound WAVs,
    the AAC mix, and the video (a copy of the source; re-encoded near its size for extended
    description, and again for each streaming package). Low, so that a render that fits is never
    refused: the speech, the text files and the scratch files are left out.

    Args:
        render_folder: where the programme's sound is kept from an earlier run (not counted again).
    """
    seconds = max(media.duration, 0.0)
    channels = media.audio_streams[0].channels if media.audio_streams else 2
    if options.preset.stereo:
        channels = 2
    sample_bytes = 3 if options.deliver else 2
    wav = seconds * 48000 * sample_bytes  # one channel
    total = wav * channels + wav  # the mix and the stem
    if media.audio_streams and not any(render_folder.glob("programme-*.wav")):
        total += wav * channels
    total += seconds * channels * 96_000 / 8  # the AAC mix at 96 kb/s a channel
    picture = media.size_bytes
    total += picture * (1 + options.extended + len(options.streaming))
    if options.deliver and options.preset.also_stereo and channels > 2:
        total += wav * 2 + wav  # the 2.0 mix and stem; the deliverables are hard links to the mixes
    return int(total)


def render(out: Path, options: RenderOptions, reporter: Reporter) -> RenderResult:
    """Render the script in `out` into described media. See the module docstring."""
    out = Path(out)
    script, timeline, video = load_for_render(out, options.script)
    preflight(out, script.media, options)
    spec = resolve_voice(options.voice, script.language, options.rate)
    voice = make_voice(spec)
    speech = SpeechCache(out / "work" / "speech")
    warnings: list[str] = []

    cues = sorted(script.cues, key=lambda c: c.start)
    freezes: list[Freeze] = []
    with reporter.stage("speak", total=len(cues), unit="cues") as progress:
        fitted: list[FittedCue] = []
        dropped: list[SkippedSlot] = []
        for number, cue in enumerate(cues):
            following = cues[number + 1].start if number + 1 < len(cues) else None
            limit, _ = time_available(cue.start, cue.slot, following, timeline, script.media.duration)
            result = _fit(cue, limit, voice, spec, speech, options, out / "work" / "speech")
            if result is None and options.extended:
                result, freeze = _pause_for(cue, limit, voice, spec, speech, script.media.fps)
                freezes.append(freeze)
            if result is None:
                why = (" (render with --extended to pause the picture for it)" if cue.extended else "")
                reason = (f"dropped by render: \"{cue.text}\" does not fit its {limit:.1f} s even at "
                          f"{options.max_speedup:g}x or shortened{why}")
                warnings.append(f"cue at {cue.start:.2f} s {reason}")
                dropped.append(SkippedSlot(cue.slot, cue.start, cue.start + limit, reason, cue.candidates))
            else:
                fitted.append(result)
            progress.update(number + 1)
    freezes = merge(freezes)
    # From here on every time is in the output: the programme time plus the pauses before it.
    duration = script.media.duration + total(freezes)
    fitted = [dataclasses.replace(f, cue=dataclasses.replace(f.cue, start=_shift_start(f.cue.start, freezes)))
              for f in fitted]

    stem_name = video.stem
    render_folder = out / "work" / "render"
    preset = options.preset
    regions = [(shift(s.start, freezes), _shift_start(s.end, freezes)) for s in timeline.speech_regions]
    settings = mix_settings(options, regions, duration)
    # Every published file is written under a temporary name and all are renamed together at the
    # end: a failure while muxing (a full disk, say) leaves the previous outputs as they were.
    with OutputGroup() as publish:
        with reporter.stage("mix"):
            programme = _programme_audio(video, script, render_folder, settings.sample_bits)
            if programme is not None and freezes:
                programme = _extended_wav(programme, freezes, render_folder)
            placements = [Placement(f.cue.start, f.audio, f.seconds) for f in fitted]
            render_folder.mkdir(parents=True, exist_ok=True)
            stem = out / f"{stem_name}.ad-stem.wav"
            stem_tmp = publish.path(stem)
            m4a = out / f"{stem_name}.ad-mix.m4a"
            m4a_tmp = publish.path(m4a)
            for attempt in range(2):
                with atomic_path(render_folder / "mix.wav") as mixed:
                    report = mix(programme, placements, duration, settings, stem_tmp, mixed, regions)
                # The premixed AAC file: the described track of the video is then copied from it,
                # not encoded a second time.
                write_m4a(render_folder / "mix.wav", m4a_tmp, script.language)
                # A lossy encoding raises peaks (by decibels on dense, loud sound): when the AAC
                # passes the ceiling, the mix is limited again by that much more.
                over = measure(m4a_tmp).true_peak - settings.target.true_peak
                if attempt == 1 or report.result.silent or over <= PEAK_SLACK_DB:
                    break
                settings = dataclasses.replace(settings, peak_margin_db=settings.peak_margin_db + over + 0.2)
                warnings.append(f"the AAC encoding raised the mix's true peak {over:.1f} dB above "
                                f"{settings.target.true_peak:g} dBTP: the mix was limited again with "
                                f"{settings.peak_margin_db:.1f} dB of headroom")
            warnings += report.warnings
            mixes = [(report, render_folder / "mix.wav", stem_tmp)]
            if options.deliver and preset.also_stereo and report.channels > 2:
                stereo_stem = render_folder / "stem-2.0.wav"
                with atomic_path(render_folder / "mix-2.0.wav") as mixed:
                    stereo = mix(programme, placements, duration, dataclasses.replace(settings, stereo=True),
                                 stereo_stem, mixed, regions)
                mixes.append((stereo, render_folder / "mix-2.0.wav", stereo_stem))

        final_cues = _published_cues(fitted, publish.path(out / SPEECH_DIR))
        text_cues = [TextCue(c.start, c.end, c.text) for c in final_cues]
        vtt = publish.path(out / "descriptions.vtt")
        vtt.write_text(to_vtt(final_cues), encoding="utf-8")
        with reporter.stage("mux"):
            writer, suffix = (write_ad_mkv, "mkv") if options.container == "mkv" else (write_ad_mp4, "mp4")
            target = out / f"{stem_name}.ad.{suffix}"
            source = video
            if freezes:
                # The picture held and every original sound track paused: a re-encoded copy of the
                # source that the writer then takes as it takes the source.
                source, more = _extended_source(video, script, freezes, programme, render_folder)
                warnings += more
            target_tmp = publish.path(target)
            warnings += writer(source, m4a_tmp, text_cues, script.language, target_tmp, options.ad_default) or []
        dapt = out / f"{stem_name}.ad.dapt.ttml"
        outputs = [stem, target, m4a, dapt]

        if options.streaming:
            with reporter.stage("package"):
                for kind in options.streaming:
                    package = package_hls if kind == "hls" else package_dash
                    folder = out / f"{stem_name}.{kind}"
                    warnings += package(target_tmp, m4a_tmp, vtt, script.language, publish.path(folder))
                    outputs.append(folder)

        deliverables = []
        if options.deliver:
            deliverables = _deliverables(preset, mixes, out / "deliver" / preset.key, stem_name, script.language,
                                         publish)
            outputs += sorted({out / d.name for d in deliverables})

        with reporter.stage("qc"):
            # The AAC must hold the layout the mix was made in: the programme's, or stereo when asked.
            checked = [Deliverable(PREMIX, m4a_tmp, m4a.name, report.channels, delivered=False), *deliverables]
            if not options.deliver:
                checked.append(Deliverable(STEM, stem_tmp, stem.name, 1, delivered=False))
            cue_spans = [(f.cue.start, f.cue.start + f.seconds) for f in fitted]
            notes = [f.note or "" for f in fitted]
            facts = RenderFacts(duration, regions, cue_spans, sped_up=sum("sped up" in n for n in notes),
                                shortened=sum("shorter alternative" in n for n in notes), dropped=len(dropped))
            qc = run_qc(checked, facts, dataclasses.replace(preset, target=settings.target))
            qc_report = qc.to_dict()
            publish.path(out / QC_FILE).write_text(to_json(qc), encoding="utf-8")
            publish.path(out / QC_PAGE).write_text(qc_page(qc_report, video.name), encoding="utf-8")
            outputs.append(out / QC_PAGE)
            if not qc.passed:
                failed = [f"{r.rule} ({r.file or 'programme'}: {r.value}, limit {r.limit})"
                          for r in qc.rules if not r.passed]
                warnings.append(f"QC against {qc.standard} failed: {'; '.join(failed)}")

        # A dropped cue leaves its slot silent: the script and the review page say why.
        rendered = dataclasses.replace(script, cues=final_cues, skipped=sorted(script.skipped + dropped,
                                                                               key=lambda s: s.start))
        provenance = {k: v for k, v in script.provenance.items() if k not in (PAUSES, PAUSES_TEXT)}
        if freezes:
            provenance[PAUSES] = freezes_json(freezes)
            provenance[PAUSES_TEXT] = describe_freezes(freezes)
        rendered.provenance = {**provenance, "voice": voice.name,
                               "loudness": f"{report.result.integrated:.1f} LUFS"
                                           f"{' dialogue-gated' if report.dialogue_gated else ''}, true peak "
                                           f"{report.result.true_peak:.1f} dBTP ({settings.target.name})",
                               "QC": f"{'pass' if qc.passed else 'FAIL'} ({qc.standard}, {QC_PAGE})"}
        publish.path(out / "descriptions.srt").write_text(to_srt(final_cues), encoding="utf-8")
        # The programme was ducked only where mix() had a programme to duck (and a duck to make).
        ducking = (Ducking(report.duck_windows, settings.duck_db, settings.ramp, duration)
                   if programme is not None and report.duck_windows and settings.duck_db != 0 else None)
        publish.path(dapt).write_text(to_dapt(rendered, "asRecorded", ducking, provenance.get(PAUSES)),
                                      encoding="utf-8")
        publish.path(out / "review.html").write_text(render_review(rendered, timeline, report, warnings, qc_report),
                                                     encoding="utf-8")
        text = dumps(rendered)
        publish.path(out / "script.json").write_text(text, encoding="utf-8")  # last: it names the rest
    # Render keeps the script's cues as they were given (edits included): what it writes is its own.
    note_script_written(out, text)
    for warning in warnings:
        reporter.warning(warning)
    return RenderResult(rendered, outputs, report.result, warnings, qc.passed)


def mix_settings(options: RenderOptions, regions: list[tuple[float, float]], duration: float) -> MixSettings:
    """The mix `options` ask for, with the preset's target (for this programme's share of dialogue),
    layout and, when delivering, its bit depth."""
    preset = options.preset
    spoken = sum(end - start for start, end in merge_regions(regions, duration))
    return dataclasses.replace(options.mix, target=preset.target_for(spoken / duration if duration > 0 else 0.0),
                               stereo=options.mix.stereo or preset.stereo,
                               sample_bits=preset.sample_bits if options.deliver else options.mix.sample_bits)


def _deliverables(preset: Preset, mixes: list[tuple[MixReport, Path, Path]], folder: Path, name: str,
                  language: str, publish: OutputGroup) -> list[Deliverable]:
    """The preset's WAV files, named as it asks, in `folder`, which `publish` puts in place whole (so
    no file of an earlier delivery stays beside them)."""
    if preset.premix is None and preset.stem is None:
        return []
    code = language_code(language)
    staged = publish.path(folder)
    staged.mkdir()
    files = []
    for report, premix, stem in mixes:
        for role, pattern, path, channels in ((PREMIX, preset.premix, premix, report.channels),
                                              (STEM, preset.stem, stem, 1)):
            if pattern is None:
                continue
            shown = file_name(pattern, name, report.channels, code)
            hand_over(path, staged / shown)
            files.append(Deliverable(role, staged / shown, f"deliver/{preset.key}/{shown}", channels))
    return files


def replace_cues(script: Script, timeline: Timeline, path: Path) -> Script:
    """`script` with the cues of `path` instead of its own: those of a script.json of the same
    video, or the Script Events of a DAPT document (any other file is read as one).

    A DAPT event becomes a cue at the event's time (mapped back to programme time when the
    document records videodesc's extended-description pauses), in the slot holding its start
    (-1 when none does), over the shots it overlaps, with its text as the one candidate
    (backend "dapt"). Events that represent the sound rather than the picture (a dubbing
    script's dialogue) and events without text are left out: there is nothing to describe.

    Raises:
        InputError: the file is missing or unreadable, of another video, or not DAPT.
    """
    if not path.is_file():
        raise InputError(f"--script {path}: no such file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"--script {path}: {exc.strerror or exc}") from exc
    if path.suffix.lower() == ".json":
        try:
            other = _in_programme_time(load_script(data.decode("utf-8")))
        except (SchemaError, ValueError, UnicodeDecodeError) as exc:
            raise InputError(f"{path} cannot be read: {exc}") from exc
        if other.media.content_hash != script.media.content_hash:
            raise InputError(f"{path} describes {Path(other.media.path).name}, not {Path(script.media.path).name}")
        return dataclasses.replace(script, language=other.language, cues=other.cues, skipped=other.skipped,
                                   provenance={**script.provenance, IMPORTED: path.name})

    document = read_dapt(data, path.name)
    language = document.language.split("-")[0].lower()
    if language not in LANGUAGES:
        raise InputError(f"{path.name} is in {document.language or 'no language'} (xml:lang); videodesc speaks "
                         f"{' or '.join(LANGUAGES)}")
    freezes = parse_freezes(document.pauses)
    events = [e for e in document.events if not (e.represents or "visual").startswith("audio")]
    if document.events and not events:
        raise InputError(f"{path.name} represents {' '.join(document.script_represents) or 'audio'}: a dubbing "
                         "script or transcript of the sound, not audio description")
    events = sorted((e for e in events if e.text.strip()), key=lambda e: e.begin)
    duration = script.media.duration
    cues = []
    for number, event in enumerate(events):
        # Left open by the document, an event lasts until the next one, as far as render is concerned.
        following = events[number + 1].begin if number + 1 < len(events) else duration + total(freezes)
        start = round(unshift(event.begin, freezes), 3)
        end = max(start, round(unshift(event.end if event.end is not None else following, freezes), 3))
        slot = next((i for i, s in enumerate(timeline.slots) if s.start - 1e-6 <= start < s.end), -1)
        shots = [shot.index for shot in timeline.shots
                 if shot.start < max(end, start + 1e-3) and shot.end > start]
        lang = event.language.split("-")[0].lower() or language
        cues.append(Cue(start=start, end=end, text=event.text, lang=lang if lang in LANGUAGES else language,
                        slot=slot, shots=shots, candidates=[Candidate(text=event.text, backend="dapt")], chosen=0))
    filled = {cue.slot for cue in cues}
    return dataclasses.replace(script, language=language, cues=cues,
                               skipped=[s for s in script.skipped if s.slot not in filled],
                               provenance={**script.provenance, IMPORTED: f"{path.name} (DAPT {document.script_type})"})


def time_available(start: float, slot: int, next_start: float | None, timeline: Timeline,
                   duration: float) -> tuple[float, str]:
    """Seconds a cue starting at `start` in `slot` may be heard for, and what ends them: the next
    speech, the next cue (starting at `next_start`), the end of its slot or of the video."""
    ends = [(duration, "the end of the video")]
    ends += [(s.start, "the next dialogue") for s in timeline.speech_regions if s.start >= start + 1e-3]
    if next_start is not None:
        ends.append((next_start - MIN_GAP, "the next description"))
    if 0 <= slot < len(timeline.slots) and timeline.slots[slot].start <= start + 1e-3:
        ends.append((timeline.slots[slot].end, "the end of its gap"))
    end, what = min(ends)
    return max(0.0, end - start), what


def _fit(cue: Cue, limit: float, voice, spec: VoiceSpec, speech: SpeechCache, options: RenderOptions,
         folder: Path) -> FittedCue | None:
    """The cue's audio within `limit` seconds: as spoken, sped up, or a shorter alternative; None if none fits."""
    texts = [cue.text]
    # Shorter alternatives the writer offered, best score first; duplicates and too-long ones stay out.
    for candidate in sorted(cue.candidates, key=lambda c: -c.scores.get("total", 0.0)):
        if candidate.text not in texts and not any(p.startswith("repeats") for p in candidate.problems):
            texts.append(candidate.text)
    for text in texts:
        path, seconds = speech.speak(voice, spec, text)
        if seconds <= limit:
            note = None if text == cue.text else "a shorter alternative from the script"
            return FittedCue(_with_text(cue, text), path, seconds, note)
        factor = seconds / limit if limit > 0 else float("inf")
        if factor <= options.max_speedup:
            faster = folder / f"{path.stem}.x{factor:.3f}.wav"
            if not faster.is_file():
                with atomic_path(faster) as tmp:
                    tempo(path, factor, tmp)
            spoken = seconds / factor
            note = f"sped up {factor:.2f}x" + ("" if text == cue.text else ", a shorter alternative")
            return FittedCue(_with_text(cue, text), faster, spoken, note)
    return None


def _pause_for(cue: Cue, limit: float, voice, spec: VoiceSpec, speech: SpeechCache,
               fps: float) -> tuple[FittedCue, Freeze]:
    """The cue spoken as written, at its own pace, and the pause that lets it finish: the picture held
    from where its time runs out until it has been spoken. Both ends fall on frame boundaries (the
    pause lasts whole frames, rounded up), so the sound and the picture pause alike."""
    path, seconds = speech.speak(voice, spec, cue.text)
    at = cue.start + limit
    if fps > 0:
        aligned = math.floor(at * fps + 1e-6) / fps
        at = aligned if aligned > cue.start else at
    pause = cue.start + seconds - at
    if fps > 0:
        pause = math.ceil(pause * fps - 1e-6) / fps
    note = f"extended: the picture pauses {pause:.2f} s at {at:.2f} s"
    return FittedCue(cue, path, seconds, note), Freeze(round(at, 6), round(pause, 6))


def _shift_start(time: float, freezes: list[Freeze]) -> float:
    """Output time of something that starts (or ends) at `time`: only the pauses strictly before it
    count, so a cue whose own pause begins where it begins is spoken over the pause."""
    return round(time + sum(f.seconds for f in freezes if f.at < time - 1e-9), 6)


def _in_programme_time(script: Script) -> Script:
    """A script rendered with pauses holds output times: take them back to programme time."""
    freezes = parse_freezes(script.provenance.get(PAUSES))
    if not freezes:
        return script
    cues = [dataclasses.replace(c, start=round(unshift(c.start, freezes), 6), end=round(unshift(c.end, freezes), 6))
            for c in script.cues]
    provenance = {k: v for k, v in script.provenance.items() if k not in (PAUSES, PAUSES_TEXT)}
    return dataclasses.replace(script, cues=cues, provenance=provenance)


def _freezes_key(freezes: list[Freeze]) -> str:
    return hashlib.sha256(freezes_json(freezes).encode()).hexdigest()[:16]


def _extended_wav(wav: Path, freezes: list[Freeze], folder: Path) -> Path:
    """`wav` with the pauses' silence in it (cached beside it)."""
    target = folder / f"{wav.stem}-paused-{_freezes_key(freezes)}.wav"
    if not target.is_file():
        with atomic_path(target) as tmp:
            extend_audio(wav, freezes, tmp)
    return target


def _extended_source(video: Path, script: Script, freezes: list[Freeze], programme: Path | None,
                     folder: Path) -> tuple[Path, list[str]]:
    """A Matroska copy of the source with the picture held and every sound track paused at each freeze:
    the video re-encoded (H.264), the sound tracks AAC with the source's languages and names."""
    key = stage_key("extended", script.media.content_hash, freezes_json(freezes))
    target = folder / f"extended-{key}.mkv"
    warnings = [f"extended description: the video was re-encoded (H.264, CRF 18) to pause the picture "
                f"{len(freezes)} time{'s' if len(freezes) != 1 else ''}, {total(freezes):.2f} s in all"]
    own_text = subtitle_streams(streams_of(video))
    if own_text:
        # Their times are not moved by the pauses: carried over they would drift out of step.
        warnings.append(f"the source's {len(own_text)} subtitle track{'s were' if len(own_text) != 1 else ' was'} "
                        "left out of the extended video (the pauses would put them out of step)")
    if target.is_file():
        return target, warnings
    picture = folder / f"extended-video-{key}.mkv"
    if not picture.is_file():
        with atomic_path(picture) as tmp:
            extend_video(video, freezes, tmp, script.media.duration)
    inputs, maps, codecs = ["-i", str(picture)], ["-map", "0:v:0"], ["-c:v", "copy"]
    sounds = len(script.media.audio_streams)
    for number, stream in enumerate(script.media.audio_streams):
        if number == 0 and programme is not None:
            paused = programme  # already extended for the mix
        else:
            wav = folder / f"sound-{stage_key('sound', script.media.content_hash, stream.index)}.wav"
            if not wav.is_file():
                with atomic_path(wav) as tmp:
                    ffmpeg.run(["-v", "error", "-i", str(video), "-map", f"0:{stream.index}", "-vn",
                                "-c:a", "pcm_s16le", "-f", "wav", "-y", str(tmp)],
                               what=f"extracting sound track {number + 1} of {video.name}")
            paused = _extended_wav(wav, freezes, folder)
        inputs += ["-i", str(paused)]
        maps += ["-map", f"{number + 1}:a:0"]
        codecs += [*aac_encoding({"channels": stream.channels}, number),
                   f"-map_metadata:s:a:{number}", f"{sounds + 1}:s:{stream.index}"]
    inputs += ["-i", str(video)]
    with atomic_path(target) as tmp:
        ffmpeg.run(["-v", "error", *inputs, *maps, *codecs, "-map_metadata", f"{sounds + 1}",
                    "-f", "matroska", "-y", str(tmp)], what=f"pausing the sound of {video.name}")
    return target, warnings


def _with_text(cue: Cue, text: str) -> Cue:
    if text == cue.text:
        return cue
    chosen = next((i for i, c in enumerate(cue.candidates) if c.text == text), cue.chosen)
    return dataclasses.replace(cue, text=text, chosen=chosen)


def _published_cues(fitted: list[FittedCue], folder: Path) -> list[Cue]:
    """Copy each cue's audio into `folder` (to become OUT/speech/) and record its real spoken time in the cue."""
    folder.mkdir()
    cues = []
    for number, item in enumerate(fitted, start=1):
        name = f"{number:04d}.wav"
        # A copy, not a hard link into the speech cache: a person editing speech/0001.wav in place
        # would otherwise change the cached audio every later render reuses.
        shutil.copyfile(item.audio, folder / name)
        cues.append(dataclasses.replace(item.cue, end=round(item.cue.start + item.seconds, 3),
                                        audio=f"{SPEECH_DIR}/{name}", spoken_duration=round(item.seconds, 3)))
    return cues


def _programme_audio(video: Path, script: Script, folder: Path, bits: int = 16) -> Path | None:
    """The video's first audio stream as 48 kHz WAV of `bits` (cached by content); None for a silent video.
    A 24-bit delivery is mixed from 24 bits of the programme, not from a 16-bit copy."""
    if not script.media.audio_streams:
        return None
    stream = script.media.audio_streams[0]
    key = stage_key('programme', script.media.content_hash, stream.index, *([bits] if bits != 16 else []))
    target = folder / f"programme-{key}.wav"
    if not target.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as tmp:
            ffmpeg.run(["-v", "error", "-i", str(video), "-map", f"0:{stream.index}", "-vn", "-ar", "48000",
                        "-c:a", f"pcm_s{bits}le", "-f", "wav", "-y", str(tmp)],
                       what=f"extracting the sound of {video.name}")
    return target
