"""The review page of `write`: per slot the picture, the dialogue around it, the description chosen
and every alternative with its scores, so a describer can check and correct the script.

Like report.html it is one self-contained page with no scripts, opened from the output folder;
keyframes are linked by their relative paths and every text from the input is escaped.
"""

from __future__ import annotations

from html import escape
from pathlib import PurePath

from typing import Any

from videodesc.output.qc import qc_section
from videodesc.output.report import format_time
from videodesc.records import Candidate, Claim, Cue, Script, SkippedSlot, Timeline

_SCORE_COLUMNS = ("style", "fit", "fluency", "novelty", "total")
_DIALOGUE_AROUND = 2
_THUMB_WIDTH = 240

_CSS = """
body { margin: 0 1.5em 2em; color: #1d1d1f; background: #fafafa;
  font-family: "NanumGothic", "Nanum Gothic", "Noto Sans KR", "Malgun Gothic", "Apple SD Gothic Neo", sans-serif; }
h1 { font-size: 1.4em; word-break: break-all; }
.slot { background: #fff; border: 1px solid #ddd; border-radius: 4px; padding: .6em .8em; margin: .8em 0; }
.slot.silent { background: #f4f4f4; }
.slot h2 { font-size: 1em; margin: 0 0 .4em; }
.time { color: #666; font-variant-numeric: tabular-nums; white-space: nowrap; }
.thumbs { display: flex; flex-wrap: wrap; gap: 4px; }
.thumbs img { max-width: 100%; height: auto; background: #ddd; }
.dialogue { color: #444; margin: .3em 0; padding-left: 1.2em; }
.chosen { font-size: 1.15em; margin: .5em 0; }
.chosen.extended::after { content: " (extended: the programme pauses)"; color: #9a4a00; font-size: .8em; }
.reason { color: #9a4a00; }
table { border-collapse: collapse; font-size: .9em; margin-top: .4em; }
th, td { text-align: left; padding: .15em .6em; border-bottom: 1px solid #eee; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.picked { background: #fff3cc; font-weight: bold; }
.problems { color: #b00020; font-weight: normal; }
.claims { color: #555; font-size: 0.85em; font-weight: normal; }
table.summary th { font-weight: normal; color: #666; border: 0; }
table.summary td { border: 0; }
ul.warnings li { color: #9a4a00; }
audio { height: 2em; }
"""


def render_review(script: Script, timeline: Timeline, mix: Any = None, warnings: list[str] | None = None,
                  qc: dict | None = None) -> str:
    """The review page for `script` (written from `timeline`), as HTML text.

    After `render`, `mix` (a render.mix.MixReport) adds the loudness figures and each cue gets a
    player for its spoken audio; `warnings` lists what render had to drop or change; `qc` (a QC
    report as qc.json holds it) adds its verdict and rules.
    """
    entries: list[Cue | SkippedSlot] = sorted([*script.cues, *script.skipped], key=lambda e: e.start)
    name = escape(PurePath(script.media.path).name)
    spoken = sum(cue.end - cue.start for cue in script.cues)
    summary = [("Language", script.language), ("Descriptions", str(len(script.cues))),
               ("Silent slots", str(len(script.skipped))), ("Spoken time", f"{spoken:.1f} s"),
               *sorted(script.provenance.items())]
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in summary)
    body = "\n".join(_entry(entry, timeline) for entry in entries) or "<p>No slots.</p>"
    sound = _sound(mix) if mix is not None else ""
    if qc is not None:
        sound += qc_section(qc)
    if warnings:
        sound += '<h2>Warnings</h2><ul class="warnings">' + "".join(f"<li>{escape(w)}</li>" for w in warnings) + "</ul>"
    return "\n".join([
        "<!DOCTYPE html>",
        f'<html lang="{escape(script.language)}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>videodesc review – {name}</title><style>{_CSS}</style></head><body>",
        f"<h1>{name}: descriptions</h1>",
        f'<table class="summary">{rows}</table>',
        sound,
        body,
        "</body></html>",
        "",
    ])


def _entry(entry: Cue | SkippedSlot, timeline: Timeline) -> str:
    slot = timeline.slots[entry.slot] if 0 <= entry.slot < len(timeline.slots) else None
    start, end = (slot.start, slot.end) if slot else (entry.start, entry.end)
    shots = entry.shots if isinstance(entry, Cue) else (slot.shots if slot else [])
    thumbs = "".join(
        f'<img src="{escape(kf.path)}" width="{_THUMB_WIDTH}" loading="lazy" alt="{format_time(kf.time)}">'
        for shot in timeline.shots if shot.index in shots for kf in shot.keyframes[:2])
    before = [u for u in timeline.utterances if u.end <= start + 1e-6][-_DIALOGUE_AROUND:]
    after = [u for u in timeline.utterances if u.start >= end - 1e-6][:_DIALOGUE_AROUND]
    dialogue = lambda items: "".join(
        f'<li><span class="time">{format_time(u.start)}</span> {escape(u.text)}</li>' for u in items)
    if isinstance(entry, Cue):
        css = "chosen extended" if entry.extended else "chosen"
        middle = (f'<p class="{css}"><span class="time">{format_time(entry.start)}–{format_time(entry.end)}</span> '
                  f"{escape(entry.text)}</p>")
        if entry.audio:
            middle += f'<audio controls preload="none" src="{escape(entry.audio)}"></audio>'

        picked = entry.chosen
        classes = "slot"
    else:
        middle = f'<p class="reason">Left silent: {escape(entry.reason)}</p>'
        picked = -1
        classes = "slot silent"
    table = _candidates(entry.candidates, picked)
    return (f'<section class="{classes}" id="slot-{entry.slot}">'
            f'<h2>Slot {entry.slot} <span class="time">{format_time(start)}–{format_time(end)} '
            f"({end - start:.1f} s)</span></h2>"
            f'<div class="thumbs">{thumbs}</div>'
            f'<ul class="dialogue">{dialogue(before)}</ul>{middle}<ul class="dialogue">{dialogue(after)}</ul>'
            f"{table}</section>")


def _sound(report: Any) -> str:
    """Loudness of the programme and of the described mix against the target."""
    target = report.target
    result = report.result
    inside = (abs(result.integrated - target.integrated) <= target.tolerance
              and result.true_peak <= target.true_peak + 1e-6)
    gated = "dialogue-gated" if report.dialogue_gated else "integrated"
    rows = [
        ("Target", f"{target.name}: {target.integrated:g} {target.unit} {gated}, "
                   f"true peak at most {target.true_peak:g} dBTP"),
        ("Described mix", f"{result.integrated:.1f} LUFS {gated}, true peak {result.true_peak:.1f} dBTP, "
                          f"loudness range {result.lra:.1f} LU ({'within' if inside else 'OUTSIDE'} the target)"),
        ("Programme", f"{report.programme.integrated:.1f} LUFS, true peak {report.programme.true_peak:.1f} dBTP"),
        ("Voice gain", f"{report.voice_gain_db:+.1f} dB (to the dialogue level)"),
    ]
    body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return f'<h2>Sound</h2><table class="summary">{body}</table>'


def _claim(claim: Claim) -> str:
    """"shot 12, person-1: gesture arms_crossed", "shot 4 at 15.1 s, track-1: event leaves:right"."""
    where = f"shot {claim.shot}" + (f" at {claim.time:.1f} s" if claim.time is not None else "")
    return f"{where}{', ' + claim.who if claim.who else ''}: {claim.kind} {claim.value}"


def _candidates(candidates: list[Candidate], picked: int) -> str:
    if not candidates:
        return ""
    head = "".join(f"<th>{c}</th>" for c in ("candidate", "spoken s", *_SCORE_COLUMNS))
    rows = []
    for number, candidate in enumerate(candidates):
        scores = "".join(
            f'<td class="num">{candidate.scores[k]:.2f}</td>' if k in candidate.scores else "<td></td>"
            for k in _SCORE_COLUMNS)
        seconds = f"{candidate.spoken_seconds:.1f}" if candidate.spoken_seconds is not None else ""
        problems = (f'<br><span class="problems">{escape("; ".join(candidate.problems))}</span>'
                    if candidate.problems else "")
        if candidate.claims:  # what the sentence rests on, to check it against the picture
            problems += f'<br><span class="claims">from the facts: {escape("; ".join(map(_claim, candidate.claims)))}</span>'

        css = ' class="picked"' if number == picked else ""
        rows.append(f"<tr{css}><td>{escape(candidate.text)}{problems}</td><td class=\"num\">{seconds}</td>{scores}</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"
