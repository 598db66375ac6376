"""W3C DAPT documents: what `write` and `render` export, what `render --script` imports.

The project is real: the studio's clip (a man in a suit, then a bus with writing on it, under a
LibriVox sentence) analysed, written and rendered by the commands a user runs. The documents
are read back with ElementTree, not with videodesc's own reader, so that a fault of the writer
is not hidden by the same fault in the reader.
"""

from __future__ import annotations

import dataclasses
import io
import math
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from studio import heard, track
from videodesc.errors import InputError
from videodesc.output.dapt import from_dapt, to_dapt
from videodesc.records import Claim, dumps, load_script, load_timeline
from videodesc.render.mix import MixSettings

TT = "http://www.w3.org/ns/ttml"
TTP = "http://www.w3.org/ns/ttml#parameter"
TTA = "http://www.w3.org/ns/ttml#audio"
DAPTM = "http://www.w3.org/ns/ttml/profile/dapt#metadata"
XML = "http://www.w3.org/XML/1998/namespace"
PROFILE = "http://www.w3.org/ns/ttml/profile/dapt1.0/content"


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "videodesc", *map(str, args)], capture_output=True, text=True)


@dataclass
class Project:
    out: Path
    written_dapt: str  # NAME.ad.dapt.ttml as `write` left it (render replaces it)
    written_script: str  # script.json as `write` left it


@pytest.fixture(scope="module")
def project(studio_clip, tmp_path_factory) -> Project:
    """The clip analysed, written and rendered, step by step: `write`'s DAPT document is kept
    before `render` writes its own in its place."""
    out = tmp_path_factory.mktemp("dapt") / "out"
    for step in (("analyze", studio_clip, "-o", out, "--lang", "en"), ("write", out, "--lang", "en", "--no-fluency")):
        proc = run(*step, "--quiet")
        assert proc.returncode == 0, proc.stderr
    written = Project(out, (out / "studio_clip.ad.dapt.ttml").read_text(encoding="utf-8"),
                      (out / "script.json").read_text(encoding="utf-8"))
    proc = run("render", out, "--quiet")
    assert proc.returncode == 0, proc.stderr
    return written


def parse(text: str) -> ET.Element:
    return ET.fromstring(text.encode("utf-8"))


def declared_namespaces(text: str) -> dict[str, str]:
    return {prefix: uri for _, (prefix, uri) in ET.iterparse(io.BytesIO(text.encode("utf-8")), events=["start-ns"])}


def seconds(value: str) -> float:
    """An offset time as videodesc writes them (`12.345s`)."""
    assert value.endswith("s") and not value.endswith("ms"), value
    return float(value[:-1])


def events(root: ET.Element) -> list[ET.Element]:
    return root.findall(f"{{{TT}}}body/{{{TT}}}div")


def check_root(root: ET.Element, text: str, script, stage: str) -> None:
    namespaces = declared_namespaces(text)
    assert namespaces[""] == TT and namespaces["ttp"] == TTP and namespaces["tta"] == TTA
    assert namespaces["daptm"] == DAPTM
    assert root.tag == f"{{{TT}}}tt"
    assert PROFILE in root.get(f"{{{TTP}}}contentProfiles").split()
    assert root.get(f"{{{XML}}}lang") == script.language == "en"
    assert root.get(f"{{{DAPTM}}}scriptType") == stage
    represents = {div.get(f"{{{DAPTM}}}represents") for div in events(root)}
    # What the script represents is what its events represent: the picture, never dialogue.
    assert set(root.get(f"{{{DAPTM}}}scriptRepresents").split()) == represents | {"visual.nonText"}
    assert represents <= {"visual.nonText", "visual.text"}


def expected_represents(cue) -> str:
    claims = cue.candidates[cue.chosen].claims
    return "visual.text" if any(claim.kind == "text" for claim in claims) else "visual.nonText"


def test_write_exports_the_script_as_a_pre_recording_dapt_document(project):
    script = load_script(project.written_script)
    root = parse(project.written_dapt)
    check_root(root, project.written_dapt, script, "preRecording")
    divs = events(root)
    assert len(divs) == len(script.cues) >= 2
    frame = 1 / script.media.fps
    ids = [div.get(f"{{{XML}}}id") for div in divs]
    assert all(ids) and len(set(ids)) == len(ids)
    for div, cue in zip(divs, sorted(script.cues, key=lambda c: c.start)):
        assert abs(seconds(div.get("begin")) - cue.start) < frame and abs(seconds(div.get("end")) - cue.end) < frame
        assert div.get(f"{{{DAPTM}}}represents") == expected_represents(cue)
        (p,) = div.findall(f"{{{TT}}}p")
        assert p.text == cue.text and p.get(f"{{{XML}}}lang") == cue.lang
        # Before recording there is nothing to play and nothing to duck.
        assert not div.findall(f".//{{{TT}}}audio") and not div.findall(f".//{{{TT}}}animate")


def test_a_cue_that_reads_out_text_on_screen_represents_visual_text(project):
    """Told by the chosen candidate's claims, as the template writer records a line it reads."""
    script = load_script(project.written_script)
    cue = script.cues[0]
    chosen = cue.candidates[cue.chosen]
    reading = dataclasses.replace(chosen, claims=[*chosen.claims, Claim(shot=cue.shots[0], kind="text", value="EXIT")])
    without = dataclasses.replace(chosen, claims=[c for c in chosen.claims if c.kind != "text"])
    for candidate, represents in ((reading, "visual.text"), (without, "visual.nonText")):
        candidates = list(cue.candidates)
        candidates[cue.chosen] = candidate
        edited = dataclasses.replace(script, cues=[dataclasses.replace(cue, candidates=candidates)])
        root = parse(to_dapt(edited, "preRecording"))
        assert events(root)[0].get(f"{{{DAPTM}}}represents") == represents
        assert root.get(f"{{{DAPTM}}}scriptRepresents").split() == ["visual.nonText"] + (
            ["visual.text"] if represents == "visual.text" else [])


def gain_curve(div: ET.Element) -> list[tuple[float, float, list[float]]]:
    """The div's animations of tta:gain: (begin, end, values), in the div's time."""
    curve = []
    for animate in div.findall(f"{{{TT}}}animate"):
        values = [float(v) for v in animate.get(f"{{{TTA}}}gain").split(";")]
        curve.append((seconds(animate.get("begin")), seconds(animate.get("end")), values))
    return curve


def test_render_exports_what_it_recorded_and_how_it_ducked(project):
    script = load_script((project.out / "script.json").read_text(encoding="utf-8"))
    text = (project.out / "studio_clip.ad.dapt.ttml").read_text(encoding="utf-8")
    root = parse(text)
    check_root(root, text, script, "asRecorded")
    settings = MixSettings()  # what `render` mixes with by default
    duck = 10 ** (settings.duck_db / 20)
    frame = 1 / script.media.fps
    divs = events(root)
    assert len(divs) == len(script.cues) >= 2
    ids = [div.get(f"{{{XML}}}id") for div in divs]
    assert all(ids) and len(set(ids)) == len(ids)
    for div, cue in zip(divs, script.cues):
        begin, end = seconds(div.get("begin")), seconds(div.get("end"))
        (p,) = div.findall(f"{{{TT}}}p")
        assert "".join(p.itertext()) == cue.text and p.get(f"{{{XML}}}lang") == "en"
        assert div.get(f"{{{DAPTM}}}represents") == expected_represents(cue)
        # The text is timed inside the event, which also spans the ramps around it.
        spoken = (begin + seconds(p.get("begin", "0s")), begin + seconds(p.get("end", f"{end - begin}s")))
        assert abs(spoken[0] - cue.start) < frame and abs(spoken[1] - cue.end) < frame
        (audio,) = p.findall(f"{{{TT}}}audio")
        assert audio.get("src") == cue.audio and audio.get("type") == "audio/wave"
        assert (project.out / audio.get("src")).is_file()

        curve = gain_curve(div)
        # One animation after the other, from the event's begin to its end.
        assert curve[0][0] == 0 and math.isclose(curve[-1][1], end - begin, abs_tol=1e-3)
        assert all(math.isclose(a[1], b[0], abs_tol=1e-3) for a, b in zip(curve, curve[1:]))
        assert all(duck - 1e-4 <= v <= 1 for _, _, values in curve for v in values)
        # Down to the duck level while the cue is spoken...
        held = [(a, b) for a, b, values in curve if all(math.isclose(v, duck, abs_tol=1e-4) for v in values)]
        assert held and held[0][0] <= spoken[0] - begin + 1e-3 and held[-1][1] >= spoken[1] - begin - 1e-3
        # ...from unity over the ramp before it (when the programme starts early enough)...
        if cue.start >= settings.ramp:
            first = curve[0]
            assert first[2][0] == 1 and math.isclose(first[2][-1], duck, abs_tol=1e-4)
            assert math.isclose(first[1] - first[0], settings.ramp, abs_tol=1e-3)
            assert math.isclose(begin, cue.start - settings.ramp, abs_tol=1e-3)
        # ...and back to unity over the ramp after it.
        last = curve[-1]
        assert last[2][-1] == 1 and math.isclose(last[2][0], duck, abs_tol=1e-4)
        assert math.isclose(last[1] - last[0], settings.ramp, abs_tol=1e-3)
        assert math.isclose(begin + last[0], cue.end, abs_tol=frame)


def test_cues_that_share_a_duck_stay_ducked_between_them(project):
    """render keeps the programme down between cues closer than MixSettings.merge_gap: so does the
    document, the first event running to the next one's start and neither ramping up in between."""
    from videodesc.output.dapt import Ducking

    script = load_script((project.out / "script.json").read_text(encoding="utf-8"))
    first, second = (dataclasses.replace(script.cues[0], start=1.0, end=3.0),
                     dataclasses.replace(script.cues[1], start=3.5, end=6.0))
    root = parse(to_dapt(dataclasses.replace(script, cues=[first, second]), "asRecorded",
                         Ducking([(1.0, 6.0)], -6.0, 0.25, script.media.duration)))
    one, two = events(root)
    duck = 10 ** (-6 / 20)
    assert (seconds(one.get("begin")), seconds(one.get("end"))) == (0.75, 3.5)
    assert (seconds(two.get("begin")), seconds(two.get("end"))) == (3.5, 6.25)
    one_curve, two_curve = gain_curve(one), gain_curve(two)
    assert one_curve[0][2][0] == 1 and two_curve[-1][2][-1] == 1
    # From the end of the ramp down to the start of the ramp up, nothing but the duck level.
    between = [values for _, _, values in one_curve[1:] + two_curve[:-1]]
    assert between and all(math.isclose(v, duck, abs_tol=1e-4) for values in between for v in values)


def copy_project(project: Project, target: Path) -> Path:
    """A copy of the rendered project, so that a test rendering it again leaves the others' alone."""
    shutil.copytree(project.out, target)
    return target


NEW_TEXT = "A red bicycle stands by the door."


def test_an_edited_dapt_document_is_what_render_speaks(project, tmp_path):
    out = copy_project(project, tmp_path / "out")
    tree = ET.parse(out / "studio_clip.ad.dapt.ttml")
    first = events(tree.getroot())[0]
    (p,) = first.findall(f"{{{TT}}}p")
    for audio in p.findall(f"{{{TT}}}audio"):  # an editor drops the recording of text it changed
        p.remove(audio)
    p.text = NEW_TEXT
    edited = tmp_path / "edited.ttml"
    tree.write(edited, encoding="utf-8", xml_declaration=True)  # ElementTree's own prefixes: ns0:tt ...
    before = load_script((out / "script.json").read_text(encoding="utf-8"))

    proc = run("render", out, "--script", edited, "--duck", "-14", "--quiet")
    assert proc.returncode == 0, proc.stderr

    script = load_script((out / "script.json").read_text(encoding="utf-8"))
    assert [c.text for c in script.cues] == [NEW_TEXT] + [c.text for c in before.cues[1:]]
    cue = script.cues[0]
    assert (cue.slot, cue.shots, cue.chosen) == (before.cues[0].slot, before.cues[0].shots, 0)
    assert [(c.text, c.backend) for c in cue.candidates] == [(NEW_TEXT, "dapt")]
    assert NEW_TEXT in (out / "descriptions.vtt").read_text(encoding="utf-8")
    said = heard(track(out / "studio_clip.ad.mp4", 1), max(0.0, cue.start - 0.1), cue.start + cue.spoken_duration + 0.3)
    assert "bicycle" in said and "door" in said, said
    # The new document is of the new render: the new text, and the programme ducked by 14 dB.
    root = parse((out / "studio_clip.ad.dapt.ttml").read_text(encoding="utf-8"))
    assert "".join(events(root)[0].find(f"{{{TT}}}p").itertext()) == NEW_TEXT
    levels = {round(min(values), 4) for div in events(root) for _, _, values in gain_curve(div)}
    assert levels == {round(10 ** (-14 / 20), 4)}


OTHER_TOOL = """<?xml version="1.0" encoding="UTF-8"?>
<tt xmlns="http://www.w3.org/ns/ttml" xmlns:ttp="http://www.w3.org/ns/ttml#parameter"
    xmlns:tts="http://www.w3.org/ns/ttml#styling" xmlns:ttm="http://www.w3.org/ns/ttml#metadata"
    xmlns:daptm="http://www.w3.org/ns/ttml/profile/dapt#metadata"
    ttp:contentProfiles="http://www.w3.org/ns/ttml/profile/dapt1.0/content" ttp:frameRate="25"
    xml:lang="en" daptm:scriptRepresents="visual.nonText" daptm:scriptType="preRecording">
  <head><metadata><ttm:title>Studio clip</ttm:title></metadata></head>
  <body>
    <div begin="0.5s" end="2.5s" daptm:represents="visual.nonText">
      <ttm:desc>opening shot</ttm:desc>
      <p>A man in a dark suit <span tts:fontStyle="italic">stands</span><br/>with folded arms.</p>
      <p xml:lang="fr" daptm:langSrc="en">Un homme en costume sombre.</p>
    </div>
    <div xml:id="street" begin="00:00:06.000" daptm:represents="visual.nonText">
      <div xml:id="bus" begin="1500ms" end="00:00:04.000">
        <p xml:lang="en-GB">
          <span begin="25f" end="50f">A red bus waits at a stop.</span>
        </p>
      </div>
    </div>
  </body>
</tt>
"""


def test_a_dapt_document_of_another_tool_is_read():
    """No xml:id, nested divs, spans, a line break, a translation beside the text, metadata; times as
    offsets in seconds, milliseconds and frames and as clock times, each relative to its parent."""
    first, second = from_dapt(OTHER_TOOL)
    assert (first.begin, first.end, first.text, first.language, first.represents, first.id) == (
        0.5, 2.5, "A man in a dark suit stands with folded arms.", "en", "visual.nonText", None)
    # bus: 6 + 1.5 s to 6 + 4 s; its span 25 and 50 frames (at 25 fps) after the bus's begin.
    assert (second.begin, second.end, second.text, second.language, second.represents, second.id) == (
        8.5, 9.5, "A red bus waits at a stop.", "en-GB", "visual.nonText", "bus")


@pytest.mark.parametrize("expression,parameters", [
    ("00:00:01.500", ""), ("00:00:01.5", ""), ("1.5s", ""), ("1500ms", ""), ("0.025m", ""),
    ("36f", 'ttp:frameRate="24"'), ("45f", 'ttp:frameRate="30" ttp:frameRateMultiplier="1000 1000"'),
    ("15000t", 'ttp:tickRate="10000"'), ("00:00:01:12", 'ttp:frameRate="24"')])
def test_time_expressions_of_ttml2_are_read(expression, parameters):
    document = (f'<tt xmlns="{TT}" xmlns:ttp="{TTP}" xmlns:daptm="{DAPTM}" ttp:contentProfiles="{PROFILE}" '
                f'{parameters} xml:lang="en" daptm:scriptRepresents="visual.nonText" daptm:scriptType="preRecording">'
                f'<body><div xml:id="a" begin="{expression}" end="3s"><p>Rain.</p></div></body></tt>')
    (event,) = from_dapt(document)
    assert math.isclose(event.begin, 1.5) and event.end == 3.0


def test_render_speaks_a_dapt_document_of_another_tool(project, tmp_path):
    out = copy_project(project, tmp_path / "out")
    document = tmp_path / "other.ttml"
    document.write_text(OTHER_TOOL, encoding="utf-8")
    proc = run("render", out, "--script", document, "--quiet")
    assert proc.returncode == 0, proc.stderr
    script = load_script((out / "script.json").read_text(encoding="utf-8"))
    timeline = load_timeline((out / "timeline.json").read_text(encoding="utf-8"))
    assert [(c.start, c.text) for c in script.cues] == [(0.5, "A man in a dark suit stands with folded arms."),
                                                         (8.5, "A red bus waits at a stop.")]
    for cue in script.cues:
        # The slot that holds the cue's start, and the shots it is spoken over (the man, then the bus).
        slot = timeline.slots[cue.slot]
        assert slot.start <= cue.start < slot.end
        assert cue.shots == [s.index for s in timeline.shots if s.start <= cue.start < s.end]
        assert (out / cue.audio).is_file()
    assert [c.shots for c in script.cues] == [[0], [1]]
    vtt = (out / "descriptions.vtt").read_text(encoding="utf-8")
    assert "A red bus waits at a stop." in vtt and "Un homme" not in vtt


def test_render_takes_a_script_json_as_well(project, tmp_path):
    out = copy_project(project, tmp_path / "out")
    edited = load_script(project.written_script)
    edited.cues[-1].text = "A bus waits."
    written = tmp_path / "written.json"
    written.write_text(dumps(edited), encoding="utf-8")
    proc = run("render", out, "--script", written, "--quiet")
    assert proc.returncode == 0, proc.stderr
    script = load_script((out / "script.json").read_text(encoding="utf-8"))
    assert [c.text for c in script.cues] == [c.text for c in edited.cues]
    assert "A bus waits." in (out / "descriptions.vtt").read_text(encoding="utf-8")


def test_times_of_an_extended_render_come_back_to_programme_time(project, tmp_path):
    """An extended render's document is in the time of the extended video, and says by how much:
    read back, its cues land where they were in the programme, in their own slots."""
    from videodesc.rendering import replace_cues

    script = load_script(project.written_script)
    timeline = load_timeline((project.out / "timeline.json").read_text(encoding="utf-8"))
    # As an extended render publishes them: the picture held 1 s at 5 s, every later time 1 s later.
    later = [dataclasses.replace(c, start=c.start + (c.start >= 5), end=c.end + (c.start >= 5)) for c in script.cues]
    assert any(c.start >= 5 for c in script.cues)
    document = tmp_path / "extended.ttml"
    document.write_text(to_dapt(dataclasses.replace(script, cues=later), pauses="[[5.0, 1.0]]"), encoding="utf-8")
    imported = replace_cues(script, timeline, document)
    assert [(c.start, c.end, c.slot, c.text) for c in imported.cues] == [
        (round(c.start, 3), round(c.end, 3), c.slot, c.text) for c in script.cues]


@pytest.mark.parametrize("name,content,message", [
    ("broken.ttml", '<tt xmlns="http://www.w3.org/ns/ttml"><body><div>', "not well-formed XML"),
    ("drawing.ttml", '<svg xmlns="http://www.w3.org/2000/svg"><text>A bus.</text></svg>', "not a TTML document"),
    ("subtitles.ttml", f'<tt xmlns="{TT}" xmlns:ttp="{TTP}" xml:lang="en" '
                       'ttp:contentProfiles="http://www.w3.org/ns/ttml/profile/imsc1.1/text">'
                       '<body><div><p begin="1s" end="2s">Hello.</p></div></body></tt>', "not DAPT"),
    ("bomb.ttml", '<?xml version="1.0"?><!DOCTYPE tt [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
                  f'<tt xmlns="{TT}">&b;</tt>', "entities"),
    ("dubbing.ttml", f'<tt xmlns="{TT}" xmlns:ttp="{TTP}" xmlns:daptm="{DAPTM}" ttp:contentProfiles="{PROFILE}" '
                     'xml:lang="en" daptm:scriptRepresents="audio.dialogue" daptm:scriptType="originalTranscript">'
                     '<body><div xml:id="d1" begin="1s" end="2s" daptm:represents="audio.dialogue">'
                     '<p>Hello there.</p></div></body></tt>', "not audio description"),
    ("late.ttml", f'<tt xmlns="{TT}" xmlns:ttp="{TTP}" xmlns:daptm="{DAPTM}" ttp:contentProfiles="{PROFILE}" '
                  'xml:lang="en" daptm:scriptRepresents="visual.nonText" daptm:scriptType="preRecording">'
                  '<body><div xml:id="d1" begin="1s" end="2s"><p>Hello there.</p></div>'
                  '<div xml:id="d2" begin="20f" end="30f"><p>Frames without a rate.</p></div></body></tt>',
     "ttp:frameRate"),
])
def test_a_file_that_is_not_a_dapt_document_is_refused(project, tmp_path, name, content, message):
    out = copy_project(project, tmp_path / "out")
    published = {p: p.read_bytes() for p in out.iterdir() if p.is_file()}
    bad = tmp_path / name
    bad.write_text(content, encoding="utf-8")
    proc = run("render", out, "--script", bad)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("videodesc: error: ") and message in lines[0], proc.stderr
    assert name in lines[0]
    # Refused before anything was spoken or written.
    assert {p: p.read_bytes() for p in out.iterdir() if p.is_file()} == published


def test_the_reader_refuses_with_an_input_error():
    with pytest.raises(InputError, match="not well-formed XML"):
        from_dapt(b"\x00not xml", "nothing.ttml")
