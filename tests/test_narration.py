"""A long dialogue-free shot narrated as it unfolds: a cue at each thing a person does, nothing repeated.

The clip is staged from real pictures: a real person (zidane.jpg, cut out) walks in from the left
over a Big Buck Bunny meadow, stands still in the middle for eight seconds, then walks out to the
right. 20 s, no sound: one slot over everything.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from claims import unsupported
from conftest import ffmpeg
from videodesc.records import load_facts, load_script
from videodesc.write.speaking import spoken_seconds
from videodesc.write.style import problems

SPEED = 100  # px a second across a 640 px frame
STOP, GO = 4.1, 12.0  # the walker stands at x = 270 from STOP to GO
WIDTH = 92  # the walker's width in px
CLIP = 20


def videodesc(*args):
    proc = subprocess.run([sys.executable, "-m", "videodesc", *args, "--quiet"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def stop_and_go(samples, tmp_path_factory):
    folder = tmp_path_factory.mktemp("narration")
    background, walker, video = folder / "meadow.png", folder / "walker.png", folder / "stop_and_go.mp4"
    ffmpeg("-ss", "12", "-i", str(samples / "bbb.mp4"), "-frames:v", "1", str(background))
    ffmpeg("-i", str(samples / "zidane.jpg"), "-vf", "crop=400:696:750:24,scale=-2:160", str(walker))
    x = f"if(lt(t,{STOP}),-140+{SPEED}*t,if(lt(t,{GO}),{-140 + SPEED * STOP},{-140 + SPEED * STOP}+{SPEED}*(t-{GO})))"
    ffmpeg("-loop", "1", "-framerate", "25", "-i", str(background), "-loop", "1", "-framerate", "25",
           "-i", str(walker), "-filter_complex", f"[0:v]scale=1280:720,crop=640:360:0:0[b];[b][1:v]overlay=x='{x}':y=150",
           "-t", str(CLIP), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(video))
    out = folder / "out"
    videodesc("analyze", str(video), "-o", str(out), "--lang", "en")
    facts = load_facts((out / "facts.json").read_text())
    scripts = {}
    for language in ("en", "ko"):
        videodesc("write", str(out), "--lang", language)
        scripts[language] = load_script((out / "script.json").read_text())
    review = (out / "review.html").read_text()  # the Korean run's, the last but one
    videodesc("write", str(out), "--lang", "en", "--describer-pace")
    scripts["en, describer's pace"] = load_script((out / "script.json").read_text())
    return facts, scripts, review


def test_the_walk_out_after_standing_is_told_when_it_happens(stop_and_go):
    facts, scripts, _ = stop_and_go
    (shot,) = facts.shots
    leaves = next(e for e in shot.events if e.kind == "leaves")
    stops = [e for e in shot.events if e.kind == "stops"]
    assert len(stops) == 1 and abs(stops[0].time - STOP) <= 1.0, shot.events
    assert leaves.direction == "right" and abs(leaves.time - (GO + (640 - WIDTH / 2 - 270) / SPEED)) <= 1.0
    for language, script in list(scripts.items())[:2]:
        assert len(script.cues) >= 2, [c.text for c in script.cues]
        # The first cue, at the start, has the walker coming in; a later one, timed at the walk out.
        first, *later = script.cues
        assert first.start < 1.5 and any(c.kind == "event" and c.value == "enters:left"
                                         for c in first.candidates[first.chosen].claims), first.text
        out = [c for c in later if any(k.kind == "event" and k.time == leaves.time or
                                       k.kind == "event" and k.value == "walks:right" and k.time >= GO - 1.0
                                       for k in c.candidates[c.chosen].claims)]
        assert out, [c.text for c in script.cues]
        assert all(abs(c.start - GO) <= 1.5 or abs(c.start - leaves.time) <= 1.5 for c in out), \
            [(c.start, c.text) for c in out]
        # Nothing is said twice, and no cue runs into the next without programme sound between.
        said = [(k.kind, k.value) for c in script.cues for k in c.candidates[c.chosen].claims if k.kind != "event"]
        assert len(said) == len(set(said)), said
        assert all(b.start - a.end >= 0.99 for a, b in zip(script.cues, script.cues[1:]))


def test_every_narrated_claim_holds_and_the_sentences_follow_the_rules(stop_and_go):
    facts, scripts, _ = stop_and_go
    for language, script in list(scripts.items())[:2]:
        assert unsupported(script, facts) == []
        for cue in script.cues:
            assert problems(cue.text, language) == [], cue.text
            if language == "ko":
                assert all(part.endswith("다") for part in cue.text.rstrip(".").split(". ")), cue.text
            # The walker's face is seen on a sample as he leaves: the track, and so each event, is his.
            subject = ("인물 1이", "누군가") if language == "ko" else ("Person 1", "Someone")
            assert cue.text.startswith(subject) or "인물 1이" in cue.text, cue.text



def test_cues_are_fitted_to_the_voice_that_will_speak_them(stop_and_go):
    _, scripts, _ = stop_and_go
    assert scripts["en"].provenance["speaking_rate"].startswith("piper voice, measured")
    assert scripts["ko"].provenance["speaking_rate"].startswith("espeak voice, measured")
    assert "speaking_rate" not in scripts["en, describer's pace"].provenance
    timed = {c.text: c.spoken_seconds for cue in scripts["en"].cues for c in cue.candidates}
    paced = {c.text: c.spoken_seconds for cue in scripts["en, describer's pace"].cues for c in cue.candidates}
    both = set(timed) & set(paced)
    assert both and all(timed[t] != paced[t] for t in both if len(t.split()) >= 4)
    assert all(abs(paced[t] - spoken_seconds(t, "en")) < 0.01 for t in both)


def test_the_review_page_shows_what_each_candidate_rests_on(stop_and_go):
    _, scripts, review = stop_and_go
    leaves = next(c for cue in scripts["ko"].cues for c in cue.candidates[cue.chosen].claims
                  if c.kind == "event" and c.value == "leaves:right")
    assert f"shot 0 at {leaves.time:.1f} s, {leaves.who}: event leaves:right" in review
