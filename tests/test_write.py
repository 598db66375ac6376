"""Selection, de-duplication and fitting with the real scorers, and `videodesc write` on real analyses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import NARRATED_CLIP
from test_writer_backends import llama_server  # noqa: F401 -- the real llama.cpp server fixture
from videodesc.records import Slot, Utterance, load_script, load_timeline
from videodesc.write.context import SlotContext
from videodesc.write.select import SelectionSettings, Selector


@pytest.fixture(scope="module")
def selector():
    from videodesc.write.embed import Embedder
    from videodesc.write.fluency import FluencyScorer

    return Selector(SelectionSettings(), FluencyScorer(), Embedder())


class ListWriter:
    """A writer that offers the texts it is given and shortens by dropping the last sentence."""

    name = "list"

    def candidates(self, context, count):
        return []

    def shorten(self, context, text, seconds):
        parts = text.split(". ")
        return [". ".join(parts[:-1]) + "."] if len(parts) > 1 else []

    def claims(self, context, text):
        return []


def context(language, previous=(), start=10.0, end=16.0, dialogue_after=()):
    return SlotContext(0, Slot(start, end), language, Path("."), [], [],
                       [Utterance(end + 0.2, end + 2, text, "asr") for text in dialogue_after], list(previous), {})


@pytest.mark.parametrize("language, previous, relevant, unrelated, salad, short", [
    ("ko", "지우가 카페 문을 열고 들어온다.", "지우가 창가 자리에 앉아 커피를 마신다.", "펭귄 무리가 얼음 위를 천천히 걷는다.",
     "커피 창가 마신다 자리에 지우가 앉아.", "지우가 앉는다."),
    ("en", "Ji-woo walks into the café.", "Ji-woo sits down by the window with a cup of coffee.",
     "A flock of penguins waddles across the ice floe.", "Window coffee the sits cup Ji-woo down with by.", "Ji-woo sits."),
    ("ko", "민수가 병원 복도를 걷는다.", "민수가 병실 문을 열고 들어간다.", "아이들이 운동장에서 축구를 한다.",
     "문을 병실 들어간다 민수가 열고.", "민수가 선다."),
    ("en", "Min-su walks down the hospital corridor.", "Min-su opens the door of a ward and goes in.",
     "Children play football in the schoolyard.", "Door the ward opens goes Min-su in of.", "Min-su stops."),
])
def test_fluent_relevant_beats_unrelated_beats_word_salad_and_short_is_not_enough(
        selector, language, previous, relevant, unrelated, salad, short):
    scored = selector.score(context(language, [previous]), ListWriter(), [relevant, unrelated, salad, short], 6.0)
    total = {c.text: c.scores["total"] for c in scored}
    assert total[relevant] > total[unrelated] > total[salad]
    assert total[relevant] > total[short]
    for candidate in scored:  # the reviewer sees every part of the score
        assert {"style", "fit", "fluency", "novelty", "total"} <= set(candidate.scores)


def test_a_paraphrase_of_an_earlier_description_is_dropped_and_a_new_one_kept(selector):
    writer = ListWriter()
    earlier = ["A woman opens the front door."]
    paraphrase = selector.decide(context("en", earlier), writer, ["The front door is opened by a woman."], 0.0)
    assert paraphrase.cue is None and "nothing new" in paraphrase.skipped.reason
    assert "repeats an earlier description" in paraphrase.skipped.candidates[0].problems
    fresh = selector.decide(context("en", earlier), writer, ["A man sits at a desk."], 0.0)
    assert fresh.cue is not None and fresh.cue.text == "A man sits at a desk."
    korean = selector.decide(context("ko", ["여자가 현관문을 연다."]), writer, ["현관문을 여자가 연다.", "남자가 책상에 앉아 있다."], 0.0)
    assert korean.cue.text == "남자가 책상에 앉아 있다."
    # Repeating the next line of dialogue is no description either.
    echo = selector.decide(context("en", dialogue_after=["Open the door."]), writer, ["Open the door."], 0.0)
    assert echo.cue is None and "repeats the dialogue" in echo.skipped.candidates[0].problems


@pytest.mark.parametrize("extended", [False, True])
def test_a_cue_never_overruns_its_slot_unless_marked_extended(selector, extended):
    selector = Selector(SelectionSettings(extended=extended), selector.fluency, selector.embedder)
    writer = ListWriter()
    long_text = "A tall man in a dark grey suit walks slowly along the crowded platform towards the last carriage."
    two_sentences = "A man waits on the platform. A train pulls in behind him with its doors open."
    for end, texts in [(11.5, [long_text]), (13.0, [two_sentences]), (30.0, [long_text, "A man waits."])]:
        decision = selector.decide(context("en", start=10.0, end=end), writer, texts, 0.0)
        if decision.cue is None:
            assert not extended and "too long for the slot" in decision.skipped.reason
            continue
        cue = decision.cue
        assert cue.start >= 10.0 and cue.end > cue.start
        assert cue.end <= end + 1e-6 or cue.extended
        assert cue.extended == (cue.end > end + 1e-6)
        assert cue.candidates[cue.chosen].text == cue.text
    # Shortening is tried before giving up: the two-sentence text fits once cut to its first sentence.
    decision = Selector(SelectionSettings(), selector.fluency, selector.embedder).decide(
        context("en", start=10.0, end=12.5), writer, [two_sentences], 0.0)
    assert decision.cue is not None and decision.cue.text == "A man waits on the platform."


def test_a_long_gap_over_several_shots_gets_a_context_per_shot():
    from test_records import sample_timeline
    from videodesc.records import Shot
    from videodesc.write.context import slot_contexts

    timeline = sample_timeline()
    timeline.shots = [Shot(i, i * 10.0, i * 10.0 + 10) for i in range(4)]
    timeline.slots = [Slot(3.0, 36.0, [0, 1, 2, 3]), Slot(38.5, 39.9, [3]), Slot(10.5, 14.0, [1])]
    contexts = slot_contexts(timeline, None, Path("."), "en")
    parts = [(c.slot_index, c.slot.start, c.slot.end, c.main_shot.index) for c in contexts]
    assert parts[:4] == [(0, 3.0, 10.0, 0), (0, 10.0, 20.0, 1), (0, 20.0, 30.0, 2), (0, 30.0, 36.0, 3)]
    assert parts[4:] == [(1, 38.5, 39.9, 3), (2, 10.5, 14.0, 1)]  # short slots stay whole
    assert [s.index for s in contexts[1].shots] == [0, 1]  # the shot before, to tell a change of place


def test_a_slot_too_close_to_the_previous_description_stays_silent(selector):
    decision = selector.decide(context("en", start=10.0, end=11.0), ListWriter(), ["A man waits."], 10.5)
    assert decision.cue is None and "too close" in decision.skipped.reason


def run(*args):
    return subprocess.run([sys.executable, "-m", "videodesc", *args], capture_output=True, text=True)


@pytest.fixture(scope="module")
def narrated_analysis(tmp_path_factory):
    out = tmp_path_factory.mktemp("narrated") / "out"
    proc = run("analyze", str(NARRATED_CLIP), "-o", str(out), "--lang", "en", "--quiet", "--vision", "all")
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.mark.parametrize("language", ["en", "ko"])
def test_write_on_a_real_clip_puts_every_cue_inside_a_slot(narrated_analysis, language):
    proc = run("write", str(narrated_analysis), "--lang", language, "--json")
    assert proc.returncode == 0, proc.stderr
    timeline = load_timeline((narrated_analysis / "timeline.json").read_text())
    script = load_script((narrated_analysis / "script.json").read_text())
    assert script.language == language and script.provenance["writer"] == "template"
    assert script.cues, "the narrated clip's slots show text and people: something must be said"
    # Every slot is spoken in or said to be silent (a long slot over several shots may hold several cues).
    assert {c.slot for c in script.cues} | {s.slot for s in script.skipped} == set(range(len(timeline.slots)))
    for cue in script.cues:
        slot = timeline.slots[cue.slot]
        assert slot.start - 1e-6 <= cue.start < cue.end <= slot.end + 1e-6 and not cue.extended
        assert cue.lang == language and cue.candidates[cue.chosen].text == cue.text
    for earlier, later in zip(script.cues, script.cues[1:]):
        assert later.start >= earlier.end + 1.0 - 1e-6  # programme sound between descriptions
    vtt = (narrated_analysis / "descriptions.vtt").read_text()
    srt = (narrated_analysis / "descriptions.srt").read_text()
    assert vtt.startswith("WEBVTT") and all(cue.text.split('"')[0].strip() in vtt for cue in script.cues)
    assert srt.count("-->") == len(script.cues)
    review = (narrated_analysis / "review.html").read_text()
    assert review.count('class="picked"') == len(script.cues) and review.count("Left silent") == len(script.skipped)
    events = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    assert any(e.get("stage") == "write" for e in events)


def test_write_without_an_analysis_is_a_clear_error(tmp_path):
    proc = run("write", str(tmp_path / "nothing"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("videodesc: error:") and "analyze" in proc.stderr


def test_write_needs_an_endpoint_for_the_openai_writer(narrated_analysis):
    proc = run("write", str(narrated_analysis), "--writer", "openai")
    assert proc.returncode == 2 and "--endpoint" in proc.stderr and "Traceback" not in proc.stderr


def test_write_without_facts_leaves_every_slot_silent_and_says_why(narrated_analysis, tmp_path):
    import shutil

    bare = tmp_path / "bare"
    shutil.copytree(narrated_analysis, bare, ignore=shutil.ignore_patterns("work", "facts.json"))
    proc = run("write", str(bare), "--no-fluency")
    assert proc.returncode == 0, proc.stderr
    script = load_script((bare / "script.json").read_text())
    assert script.cues == [] and script.skipped and "facts.json" in proc.stderr



def test_write_through_a_real_openai_compatible_server(narrated_analysis, llama_server, tmp_path):
    """`write --writer openai` end to end: llama.cpp's server (xllamacpp) serving SmolLM2, a text model."""
    import os
    import shutil

    base_url, key = llama_server
    out = tmp_path / "out"
    shutil.copytree(narrated_analysis, out, ignore=shutil.ignore_patterns("work"))
    env = {**os.environ, "LOCAL_LLM_KEY": key}
    args = [sys.executable, "-m", "videodesc", "write", str(out), "--writer", "openai", "--endpoint", base_url,
            "--model", "smollm2", "--api-key-env", "LOCAL_LLM_KEY", "--no-images", "--no-fluency", "--lang", "en"]
    proc = subprocess.run(args, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    script = load_script((out / "script.json").read_text())
    timeline = load_timeline((out / "timeline.json").read_text())
    assert script.provenance["writer"] == "openai:smollm2"
    assert {c.slot for c in script.cues} | {s.slot for s in script.skipped} == set(range(len(timeline.slots)))
    for cue in script.cues:  # whatever a 135M model says, it is fitted into its slot
        slot = timeline.slots[cue.slot]
        assert slot.start - 1e-6 <= cue.start < cue.end <= slot.end + 1e-6
        assert all(c.backend == "openai:smollm2" for c in cue.candidates)
    cached = sorted((out / "work" / "writer").rglob("*.json"))
    assert cached, "answers are cached in the work folder"
    # A second run is answered from the cache: same script, no new cache entries.
    again = subprocess.run(args, capture_output=True, text=True, env=env)
    assert again.returncode == 0, again.stderr
    assert sorted((out / "work" / "writer").rglob("*.json")) == cached
    assert load_script((out / "script.json").read_text()).cues == script.cues
    # A wrong key is one clear line, not a traceback.
    wrong = subprocess.run(args, capture_output=True, text=True, env={**env, "LOCAL_LLM_KEY": "nope"})
    if wrong.returncode == 0:  # every request may have been answered from the cache
        shutil.rmtree(out / "work" / "writer")
        wrong = subprocess.run(args, capture_output=True, text=True, env={**env, "LOCAL_LLM_KEY": "nope"})
    assert wrong.returncode == 2 and "LOCAL_LLM_KEY" in wrong.stderr and "Traceback" not in wrong.stderr
