"""The QC report of a render: every output measured as it is delivered, and checked rule by rule
against the delivery preset (delivery.py).

What a broadcaster's QC desk looks at: per output file its format (sample rate, bit depth,
channels) and loudness, measured both ways (the whole programme, BS.1770 with its relative gate,
and dialogue-gated: over the speech regions of the analysis and the spoken descriptions, which
is what a speech-gated meter such as Dolby's Dialogue Intelligence gates on), its true peak and
loudness range; for the programme, how much description falls on dialogue and what render had to
do to the script (cues sped up, shortened, dropped). Each rule of the preset becomes a row with
the measured value, the limit and pass or fail.

`render` writes the report as OUT/qc.json and OUT/qc.html (one printable page to file with the
delivery) and review.html shows the same table; `evaluate` reads qc.json.
"""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from videodesc import __version__
from videodesc.delivery import SAMPLE_RATE, Deliverable, Preset, layout_name
from videodesc.errors import InputError
from videodesc.overlap import speech_overlap
from videodesc.media import ffmpeg
from videodesc.render.loudness import DIALOGUE, Loudness, measure_gated

QC_FILE = "qc.json"
QC_PAGE = "qc.html"
SCHEMA = "videodesc.qc/1"
# The premix: the file the loudness rules are about. The stem is checked for its peaks only:
# the voice alone is never meant to be at programme loudness.
PREMIX, STEM = "premix", "stem"


@dataclass
class Output:
    """One delivered file, as measured."""

    file: str  # its name, relative to the output folder
    role: str  # PREMIX or STEM
    codec: str
    sample_rate: int
    bits: int | None  # of PCM; None for a lossy codec
    channels: int
    integrated: float  # LUFS, the whole programme (BS.1770, relative gate)
    dialogue_gated: float | None  # LUFS over the dialogue; None when there is too little
    true_peak: float | None  # dBTP; None for digital silence
    lra: float  # LU


@dataclass
class Rule:
    """One check: what was measured, against what, and whether it passed."""

    rule: str
    file: str  # the file it is about, or "" for the programme as a whole
    value: str
    limit: str
    passed: bool


@dataclass
class QCReport:
    preset: str  # key
    standard: str  # the preset's name, e.g. "Netflix"
    source: str
    gating: str  # how the preset's integrated loudness is measured
    duration: float  # seconds of the output
    outputs: list[Output]
    descriptions: int
    per_minute: float
    described_seconds: float
    over_dialogue_seconds: float
    cues_over_dialogue: int
    sped_up: int
    shortened: int
    dropped: int
    rules: list[Rule] = field(default_factory=list)
    version: str = __version__
    schema: str = SCHEMA

    @property
    def passed(self) -> bool:
        return all(rule.passed for rule in self.rules)

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "passed": self.passed}


@dataclass
class RenderFacts:
    """What render did and knows, in output time: where the dialogue is and what became of each cue."""

    duration: float
    speech_regions: list[tuple[float, float]]
    cue_spans: list[tuple[float, float]]  # where each description is heard
    sped_up: int = 0
    shortened: int = 0
    dropped: int = 0


def run_qc(files: Sequence[Deliverable], facts: RenderFacts, preset: Preset) -> QCReport:
    """Measure `files` (premixes and stems, each with the channels it should have) and check them
    against `preset`.

    Raises:
        InputError: a file is missing or holds no sound.
    """
    # Dialogue as a speech-gated meter hears it: the programme's speech and the spoken descriptions.
    dialogue = [*facts.speech_regions, *facts.cue_spans]
    outputs = [_measure(f.role, Path(f.path), f.name, dialogue, facts.duration) for f in files]
    overlap = speech_overlap(facts.cue_spans, facts.speech_regions)
    report = QCReport(
        preset=preset.key, standard=preset.name, source=preset.source, gating=preset.target.gating,
        duration=round(facts.duration, 3), outputs=outputs, descriptions=len(facts.cue_spans),
        per_minute=round(len(facts.cue_spans) * 60 / facts.duration, 2) if facts.duration > 0 else 0.0,
        described_seconds=round(overlap.described_seconds, 2),
        over_dialogue_seconds=round(overlap.over_speech_seconds, 2), cues_over_dialogue=overlap.cues_over_speech,
        sped_up=facts.sped_up, shortened=facts.shortened, dropped=facts.dropped)
    report.rules = _rules(report, files, preset)
    return report


def _rules(report: QCReport, files: Sequence[Deliverable], preset: Preset) -> list[Rule]:
    target = preset.target
    unit = target.unit
    rules = []
    for out, checked in zip(report.outputs, files):
        expected = checked.channels
        if out.role == PREMIX:
            measured = out.dialogue_gated if target.gating == DIALOGUE else out.integrated
            how = "dialogue-gated" if target.gating == DIALOGUE else "integrated"
            if measured is None:
                # Too little dialogue to gate on: the programme's own loudness stands in, and says so.
                measured, how = out.integrated, "integrated (too little dialogue to gate)"
            rules.append(Rule(f"loudness, {how}", out.file, f"{measured:.1f} {unit}",
                              f"{target.integrated:g} ± {target.tolerance:g}",
                              abs(measured - target.integrated) <= target.tolerance + 0.05))
            if preset.lra is not None:
                low, high = preset.lra
                rules.append(Rule("loudness range", out.file, f"{out.lra:.1f} LU", f"{low:g}-{high:g} LU",
                                  low - 0.05 <= out.lra <= high + 0.05))
            rules.append(Rule("channel layout", out.file, layout_name(out.channels), layout_name(expected),
                              out.channels == expected))
        peak = "silent" if out.true_peak is None else f"{out.true_peak:.1f} dBTP"
        rules.append(Rule("true peak", out.file, peak, f"at most {target.true_peak:g} dBTP",
                          out.true_peak is None or out.true_peak <= target.true_peak + 0.05))
        if checked.delivered and out.bits is not None:  # a WAV the preset asks for
            rules.append(Rule("sample rate", out.file, f"{out.sample_rate / 1000:g} kHz",
                              f"{SAMPLE_RATE / 1000:g} kHz", out.sample_rate == SAMPLE_RATE))
            rules.append(Rule("bit depth", out.file, f"{out.bits} bit", f"{preset.sample_bits} bit",
                              out.bits == preset.sample_bits))
    # The describers' rule, not a platform's: never over dialogue.
    rules.append(Rule("no description over dialogue", "", f"{report.cues_over_dialogue} cues, "
                      f"{report.over_dialogue_seconds:.2f} s", "0 cues", report.cues_over_dialogue == 0))
    return rules


def _measure(role: str, path: Path, shown: str, dialogue: list[tuple[float, float]], duration: float) -> Output:
    stream = _audio_stream(path)
    whole, gated = measure_gated(path, dialogue, duration)
    codec = stream.get("codec_name", "?")
    bits = None
    if codec.startswith("pcm_"):
        bits = int(stream.get("bits_per_raw_sample") or stream.get("bits_per_sample") or 0) or None
    return Output(file=shown, role=role, codec=codec, sample_rate=int(stream.get("sample_rate") or 0), bits=bits,
                  channels=int(stream.get("channels") or 0), integrated=round(whole.integrated, 2),
                  dialogue_gated=None if gated is None else round(gated.integrated, 2),
                  true_peak=_peak(whole), lra=round(whole.lra, 2))


def _peak(loudness: Loudness) -> float | None:
    return round(loudness.true_peak, 2) if math.isfinite(loudness.true_peak) else None


def _audio_stream(path: Path) -> dict:
    if not path.is_file():
        raise InputError(f"{path}: no such file to check")
    proc = subprocess.run([ffmpeg.binary("ffprobe"), "-v", "error", "-select_streams", "a:0", "-show_entries",
                           "stream=codec_name,sample_rate,channels,bits_per_sample,bits_per_raw_sample",
                           "-of", "json", str(path)], capture_output=True)
    streams = json.loads(proc.stdout or b"{}").get("streams", []) if proc.returncode == 0 else []
    if not streams:
        raise InputError(f"{path}: holds no sound to check ({ffmpeg.last_line(proc.stderr) or 'no audio stream'})")
    return streams[0]


def to_json(report: QCReport) -> str:
    return json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n"


def load_qc(text: str) -> dict:
    """A qc.json as a dict, checked to be one.

    Raises:
        ValueError: not JSON, or not a videodesc QC report.
    """
    data = json.loads(text)
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or not isinstance(data.get("rules"), list):
        raise ValueError(f"not a videodesc QC report ({SCHEMA})")
    return data


_CSS = """
body { margin: 1.5em; color: #111; font-family: "Noto Sans KR", "NanumGothic", sans-serif; font-size: 11pt; }
h1 { font-size: 1.3em; margin: 0 0 .3em; word-break: break-all; }
h2 { font-size: 1.05em; margin: 1em 0 .3em; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .2em .5em; border-bottom: 1px solid #ccc; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.pass { color: #0a5c2b; font-weight: bold; }
.fail { color: #b00020; font-weight: bold; }
.verdict { font-size: 1.2em; }
@page { size: A4; margin: 12mm; }
@media print { body { margin: 0; } }
"""


def qc_section(report: dict, heading: str = "h2") -> str:
    """The report as HTML tables: the verdict, the files measured, and the rules (for review.html and qc.html)."""
    passed = all(rule["passed"] for rule in report["rules"])
    verdict = (f'<p class="verdict">{escape(report["standard"])}: '
               f'<span class="{"pass" if passed else "fail"}">{"PASS" if passed else "FAIL"}</span> '
               f'({sum(r["passed"] for r in report["rules"])} of {len(report["rules"])} rules)</p>')
    head = "".join(f"<th>{h}</th>" for h in ("File", "Format", "Integrated", "Dialogue-gated", "True peak", "LRA"))
    files = []
    for out in report["outputs"]:
        fmt = f"{out['codec']}, {out['sample_rate'] / 1000:g} kHz" + (f", {out['bits']} bit" if out["bits"] else "")
        fmt += f", {layout_name(out['channels'])}"
        gated = "-" if out["dialogue_gated"] is None else f"{out['dialogue_gated']:.1f}"
        peak = "-" if out["true_peak"] is None else f"{out['true_peak']:.1f} dBTP"
        files.append(f"<tr><td>{escape(out['file'])} ({escape(out['role'])})</td><td>{escape(fmt)}</td>"
                     f'<td class="num">{out["integrated"]:.1f}</td><td class="num">{gated}</td>'
                     f'<td class="num">{peak}</td><td class="num">{out["lra"]:.1f} LU</td></tr>')
    rules = "".join(
        f"<tr><td>{escape(r['rule'])}</td><td>{escape(r['file']) or 'programme'}</td><td>{escape(r['value'])}</td>"
        f"<td>{escape(r['limit'])}</td><td class=\"{'pass' if r['passed'] else 'fail'}\">"
        f"{'pass' if r['passed'] else 'FAIL'}</td></tr>" for r in report["rules"])
    summary = (f"{report['descriptions']} descriptions ({report['per_minute']:.1f} per minute), "
               f"{report['described_seconds']:.1f} s described, {report['over_dialogue_seconds']:.2f} s over dialogue; "
               f"render sped up {report['sped_up']}, shortened {report['shortened']} and dropped {report['dropped']}.")
    return "\n".join([
        f"<{heading}>Quality control</{heading}>", verdict,
        f"<p>Loudness in LUFS (= LKFS), measured with ffmpeg's ebur128 (ITU-R BS.1770). Dialogue-gated: over the "
        f"analysis' speech regions and the spoken descriptions. Target: {escape(report['source'])}.</p>",
        f"<table><tr>{head}</tr>{''.join(files)}</table>",
        f"<p>{escape(summary)}</p>",
        "<table><tr><th>Rule</th><th>File</th><th>Measured</th><th>Limit</th><th>Result</th></tr>"
        f"{rules}</table>",
    ])


def qc_page(report: dict, title: str) -> str:
    """One printable page to file with the delivery."""
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>QC – {escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}: audio description QC</h1>",
        f"<p>{report['duration']:.1f} s programme; preset <b>{escape(report['preset'])}</b>; "
        f"videodesc {escape(report['version'])}.</p>",
        qc_section(report),
        "</body></html>", ""])
