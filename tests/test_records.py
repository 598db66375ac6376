"""Records survive a JSON round trip, and malformed documents are refused with a clear reason."""

from __future__ import annotations

import json

import pytest

from videodesc.records import (SCHEMA_VERSION, AudioStream, Keyframe, Media, ReferenceDescription, SchemaError,
                               Shot, Slot, Span, Timeline, Utterance, Word, dumps, load_timeline)


def sample_timeline() -> Timeline:
    media = Media(path="/v/a.mp4", duration=12.5, fps=23.976, width=1280, height=720, video_codec="h264",
                  audio_streams=[AudioStream(1, "aac", 2, 48000, "kor")], size_bytes=1000, content_hash="ab")
    return Timeline(
        media=media, language="ko",
        shots=[Shot(0, 0.0, 5.0, [Keyframe(2.5, "keyframes/shot0000_1.jpg", 101.5)]), Shot(1, 5.0, 12.5)],
        utterances=[Utterance(1.0, 2.0, "안녕", "asr", [Word(1.0, 2.0, "안녕", 0.9)]),
                    Utterance(6.0, 7.0, "Hi", "subtitle")],
        speech_regions=[Span(1.0, 2.0)], slots=[Slot(2.2, 5.9, [0, 1])],
        references=[ReferenceDescription(3.0, 4.0, "문이 열린다.", "a.srt")], warnings=["w"],
        provenance={"asr": "x"})


def test_timeline_round_trips_through_json():
    timeline = sample_timeline()
    again = load_timeline(dumps(timeline))
    assert again == timeline
    assert isinstance(again.shots[0].keyframes[0], Keyframe)
    assert again.media.has_audio and again.slots[0].duration == pytest.approx(3.7)


def test_wrong_schema_version_is_refused():
    data = json.loads(dumps(sample_timeline()))
    data["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(SchemaError, match="schema version"):
        load_timeline(json.dumps(data))


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["shots"][0].pop("start"), "missing field 'start'"),
    (lambda d: d["utterances"][0].update(source="guess"), "not one of"),
    (lambda d: d["slots"][0].update(end="soon"), "expected a number"),
    (lambda d: d.update(shots={}), "expected a list"),
])
def test_malformed_fields_are_named(mutate, message):
    data = json.loads(dumps(sample_timeline()))
    mutate(data)
    with pytest.raises(SchemaError, match=message):
        load_timeline(json.dumps(data))


def test_script_round_trips_through_json():
    from videodesc.records import Candidate, Character, Cue, Script, SkippedSlot, load_script

    timeline = sample_timeline()
    candidates = [Candidate("인물 1이 웃는다.", "template", 1.2, {"style": 1.0, "total": 0.8}),
                  Candidate("웃는다.", "template", 0.5, {"style": 1.0, "total": 0.6}, ["too short"])]
    script = Script(media=timeline.media, language="ko",
                    characters=[Character("person-1", {"ko": "인물 1", "en": "Person 1"}, 3, 2.5, "characters/p.jpg")],
                    cues=[Cue(2.4, 3.6, "인물 1이 웃는다.", "ko", 0, [0], candidates, 0)],
                    skipped=[SkippedSlot(1, 8.0, 9.0, "nothing new to say")], provenance={"writer": "template"})
    again = load_script(dumps(script))
    assert again == script and isinstance(again.cues[0].candidates[1], Candidate)
    data = json.loads(dumps(script))
    data["cues"][0].pop("chosen")
    with pytest.raises(SchemaError, match="missing field 'chosen'"):
        load_script(json.dumps(data))
