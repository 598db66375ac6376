"""The studio's API on a real server: a real clip uploaded, described, edited, rendered again, and
the described track checked by ear (Whisper) for the new text."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from studio import Studio, heard, track
from videodesc.records import load_script

NEW_TEXT = "A man in a dark suit waits by the window."


@pytest.fixture(scope="module")
def described(studio, studio_clip):
    """The clip uploaded and described; its project id."""
    answer = studio.upload(studio_clip, name="Two shots")
    assert answer.status_code == 201, answer.text
    project = answer.json()
    assert project["name"] == "Two shots" and 10.5 < project["duration"] < 12.5
    job = studio.wait(project["job"]["id"])
    assert job["status"] == "done", job
    return project["id"]


def editor(studio, project):
    answer = studio.get(f"/api/projects/{project}/editor")
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_an_uploaded_video_is_described_edited_and_rendered_with_the_new_text(studio, described, tmp_path):
    state = editor(studio, described)
    cues = state["script"]["cues"]
    assert cues and len(state["warnings"]) == len(cues)
    assert state["slots"] and state["shots"] and state["speech"] and state["dialogue"]
    old = cues[0]["text"]
    assert old != NEW_TEXT
    # Keyframes are served for the cue's shots.
    keyframe = state["shots"][cues[0]["shots"][0]]["keyframes"][0]["url"]
    assert studio.get(keyframe).headers["content-type"] == "image/jpeg"

    answer = studio.post(f"/api/projects/{described}/cues/0", json={"revision": state["revision"], "text": NEW_TEXT})
    assert answer.status_code == 200, answer.text
    edited = answer.json()
    assert edited["revision"] != state["revision"] and edited["script"]["cues"][0]["text"] == NEW_TEXT
    # The text track follows at once; the audio waits for the render.
    assert NEW_TEXT in studio.get(f"/api/projects/{described}/files/descriptions.vtt").text

    job = studio.post(f"/api/projects/{described}/jobs", json={"kind": "render"}).json()
    assert studio.wait(job["id"])["status"] == "done"
    project = studio.get(f"/api/projects/{described}").json()
    names = {o["name"] for o in project["outputs"]}
    assert {"studio_clip.ad.mp4", "studio_clip.ad-mix.m4a", "studio_clip.ad-stem.wav", "descriptions.vtt", "descriptions.srt",
            "script.json", "studio_clip.ad.dapt.ttml"} <= names
    dapt = studio.get(f"/api/projects/{described}/files/studio_clip.ad.dapt.ttml")
    assert dapt.status_code == 200 and NEW_TEXT in dapt.text and 'daptm:scriptType="asRecorded"' in dapt.text
    download = studio.get(f"/api/projects/{described}/files/studio_clip.ad.mp4")
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    video = tmp_path / "ad.mp4"
    video.write_bytes(download.content)
    streams = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(video)],
                                        capture_output=True, check=True).stdout)["streams"]
    assert [s["codec_type"] for s in streams].count("audio") == 2
    rendered = load_script(studio.get(f"/api/projects/{described}/files/script.json").text)
    cue = rendered.cues[0]
    assert cue.text == NEW_TEXT and cue.audio and cue.spoken_duration
    # The described track says the new text where the cue is; the original track does not.
    said = heard(track(video, 1), max(0.0, cue.start - 0.1), cue.start + cue.spoken_duration + 0.3)
    assert "window" in said and "black" not in said, said
    assert "window" not in heard(track(video, 0), max(0.0, cue.start - 0.1), cue.start + cue.spoken_duration + 0.3)
    assert NEW_TEXT in studio.get(f"/api/projects/{described}/files/descriptions.srt").text


def test_edits_are_checked_against_the_revision_saved_with_history_and_undone(studio, described):
    base = f"/api/projects/{described}"
    state = editor(studio, described)
    first = state["script"]["cues"][0]
    # Control characters and line breaks do not reach the script.
    answer = studio.post(f"{base}/cues/0", json={"revision": state["revision"], "text": "A man\x00 waits.\x1b\nHe smiles."})
    assert answer.status_code == 200, answer.text
    changed = answer.json()
    assert changed["script"]["cues"][0]["text"] == "A man waits. He smiles."
    # A change made against the revision before it is refused, not silently applied.
    stale = studio.post(f"{base}/cues/0", json={"revision": state["revision"], "text": "Something else."})
    assert stale.status_code == 409 and "changed elsewhere" in stale.json()["error"]
    assert studio.post(f"{base}/cues/0", json={"revision": changed["revision"], "text": "  "}).status_code == 400
    assert studio.post(f"{base}/cues/9", json={"revision": changed["revision"], "text": "A bus."}).status_code == 400

    # Delete the last cue: its gap is silent and keeps its alternatives; a cue added there is saved.
    last = len(changed["script"]["cues"]) - 1
    gap = changed["script"]["cues"][last]["slot"]
    deleted = studio.delete(f"{base}/cues/{last}", params={"revision": changed["revision"]}).json()
    assert len(deleted["script"]["cues"]) == last
    assert any(s["slot"] == gap for s in deleted["script"]["skipped"])
    added = studio.post(f"{base}/cues", json={"revision": deleted["revision"], "slot": gap, "text": "A bus waits."}).json()
    new = [c for c in added["script"]["cues"] if c["slot"] == gap]
    assert [c["text"] for c in new] == ["A bus waits."] and new[0]["candidates"][0]["backend"] == "person"
    assert not any(s["slot"] == gap for s in added["script"]["skipped"])

    # Undo three times: the add, the delete, the text; the script is as it was.
    revision = added["revision"]
    for _ in range(3):
        answer = studio.post(f"{base}/undo", json={"revision": revision})
        assert answer.status_code == 200, answer.text
        revision = answer.json()["revision"]
    restored = answer.json()["script"]
    assert restored["cues"][0]["text"] == first["text"] and len(restored["cues"]) == len(state["script"]["cues"])


def test_warnings_follow_the_text_as_it_is_typed(studio, described):
    base = f"/api/projects/{described}"
    state = editor(studio, described)
    cue = state["script"]["cues"][0]
    check = lambda text, start=cue["start"]: studio.post(f"{base}/check", json={
        "index": 0, "text": text, "start": start, "slot": cue["slot"]}).json()["warnings"]
    assert check("A man stands.") == []
    assert any(w.startswith("too long") for w in check("A man in a dark suit stands in a room with golden "
                                                       "curtains and folds his arms while a chandelier shines."))
    assert "'we see' filler: say what is there" in check("We see a man.")
    speech = state["speech"][0]
    assert "starts over dialogue" in check("A man stands.", speech[0] + 0.2)


def test_one_gap_is_written_again_and_the_others_keep_their_edits(studio, described):
    base = f"/api/projects/{described}"
    state = editor(studio, described)
    assert len(state["script"]["cues"]) >= 2
    mine = "A man stands with arms folded."
    edited = studio.post(f"{base}/cues/0", json={"revision": state["revision"], "text": mine}).json()
    second = edited["script"]["cues"][1]
    hand = studio.post(f"{base}/cues/1", json={"revision": edited["revision"], "text": "A bus is parked."}).json()
    assert hand["script"]["cues"][1]["text"] == "A bus is parked."
    job = studio.post(f"{base}/jobs", json={"kind": "write", "slot": second["slot"]}).json()
    # While it is queued or runs, the script may not be edited (the job would overwrite the edit).
    busy = studio.post(f"{base}/cues/0", json={"revision": hand["revision"], "text": "Later."})
    assert busy.status_code == 409 and "job" in busy.json()["error"]
    done = studio.wait(job["id"])
    assert done["status"] == "done", done
    after = editor(studio, described)["script"]["cues"]
    assert after[0]["text"] == mine
    assert after[1]["text"] == second["text"]  # the writer's own text again, not the hand edit
    assert studio.post(f"{base}/jobs", json={"kind": "write", "slot": -1}).status_code == 400


def test_a_cue_is_spoken_for_the_describer_to_hear(studio, described):
    answer = studio.post(f"/api/projects/{described}/speak", json={"text": "A bus waits at the stop."})
    assert answer.status_code == 200, answer.text
    wav = studio.get(answer.json()["url"])
    assert wav.status_code == 200 and wav.content[:4] == b"RIFF" and len(wav.content) > 20_000
    assert studio.post(f"/api/projects/{described}/speak", json={"text": " "}).status_code == 400


def test_write_again_refuses_what_it_cannot_do(studio, described):
    out = studio.data / "projects" / described / "out"
    before = (out / "script.json").read_bytes()
    for args, said in ((["--slots", "99"], "no slot 99: the analysis has slots 0-"),
                       (["--slots", "0", "--lang", "ko"], "is in en, not ko")):
        proc = subprocess.run([sys.executable, "-m", "videodesc", "write", str(out), "--quiet", *args],
                              capture_output=True, text=True)
        assert proc.returncode == 2 and said in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert (out / "script.json").read_bytes() == before


def test_a_model_writer_given_to_serve_is_a_choice_per_project(studio_clip, tmp_path):
    # A port nothing listens on: the write step must reach for it, and fail in one line.
    server = Studio(tmp_path / "data", "--writer", "openai", "--endpoint", "http://127.0.0.1:9/v1", "--model", "m")
    try:
        assert server.get("/api/settings").json()["writers"] == ["template", "openai"]
        with open(studio_clip, "rb") as body:
            refused = server.post("/api/projects/upload", params={"filename": "studio_clip.mp4", "writer": "gpt"}, data=body)
        assert refused.status_code == 400 and "writer must be one of template, openai" in refused.json()["error"]
        with open(studio_clip, "rb") as body:
            project = server.post("/api/projects/upload", params={"filename": "studio_clip.mp4", "language": "en",
                                                                  "writer": "openai"}, data=body).json()
        assert project["writer"] == "openai"
        job = server.wait(project["job"]["id"])
        assert job["status"] == "failed" and "\n" not in job["error"], job
        assert "http://127.0.0.1:9/v1" in job["error"] and "Connection refused" in job["error"]
    finally:
        server.stop()
    proc = subprocess.run([sys.executable, "-m", "videodesc", "serve", "--data", str(tmp_path / "x"), "--writer",
                           "openai"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "needs --endpoint URL and --model NAME" in proc.stderr
