"""The studio's defences, tried against a real `videodesc serve` with real media: paths that try to
leave a project or the media folder, uploads that are not videos or too large, the token beyond
loopback, the Host check and the change header on loopback, and projects kept apart.

Raw paths go through http.client, which sends the request target exactly as written (requests
would fold `..` away before the server saw it).
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from conftest import ffmpeg
from studio import CHANGE, Studio, make_clip

SECRET = "top secret, outside every project"


def raw(studio: Studio, method: str, target: str, headers: dict | None = None, body: bytes | None = None):
    """(status, body) of a request whose target is sent byte for byte as given."""
    connection = http.client.HTTPConnection(studio.url.removeprefix("http://"), timeout=60)
    try:
        connection.request(method, target, body=body, headers={**studio.auth(), **(headers or {})})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def folders(data: Path) -> set[str]:
    return {p.name for p in (data / "projects").iterdir()}


@pytest.fixture(scope="module")
def site(samples, tmp_path_factory):
    """A loopback studio (1 MiB uploads, a media folder) with project A, uploaded and described.

    The media folder holds the clip, a link to a real video outside it and a link to the folder
    above it; beside it lie that outside video and a secret file, which no request may reach.
    """
    root = tmp_path_factory.mktemp("security")
    media = root / "media"
    media.mkdir()
    clip = make_clip(samples, media / "clip.mp4")
    outside = root / "outside.mp4"
    shutil.copy(clip, outside)
    (root / "secret.txt").write_text(SECRET)
    (media / "link.mp4").symlink_to(outside)
    (media / "up").symlink_to(root, target_is_directory=True)
    data = root / "data"
    studio = Studio(data, "--media-folder", str(media), "--max-upload-mb", "1")
    try:
        response = studio.upload(clip, name="A")
        assert response.status_code == 201, response.text
        a = response.json()
        # B is queued behind A's describe and cancelled there: a project with no outputs of its own.
        response = studio.upload(clip, name="B")
        assert response.status_code == 201, response.text
        b = response.json()
        assert studio.post(f"/api/jobs/{b['job']['id']}/cancel").json()["status"] == "cancelled"
        yield {"studio": studio, "data": data, "root": root, "media": media, "clip": clip, "outside": outside,
               "a": a["id"], "a_job": a["job"]["id"], "b": b["id"]}
    finally:
        studio.stop()


@pytest.fixture(scope="module")
def described(site):
    """Project A once its describe job is done: the files a page may read are there."""
    job = site["studio"].wait(site["a_job"])
    assert job["status"] == "done", job
    out = site["data"] / "projects" / site["a"] / "out"
    keyframe = sorted((out / "keyframes").glob("*.jpg"))[0]
    return {**site, "out": out, "keyframe": f"keyframes/{keyframe.name}"}


def refused(status: int, body: bytes, *secrets_: bytes) -> None:
    assert status in (400, 404), (status, body[:200])
    for text in (b"root:x:0:0", SECRET.encode(), *secrets_):
        assert text not in body, body[:200]


# --- uploads -----------------------------------------------------------------------------------


def test_an_upload_that_is_not_a_video_is_refused_and_leaves_nothing(site, tmp_path):
    studio, data = site["studio"], site["data"]
    wav = tmp_path / "tone.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=3", str(wav))
    before = folders(data)
    for filename, body in [("notes.mp4", b"these are words, not a video\n" * 50), ("tone.wav", wav.read_bytes()),
                           ("empty.mp4", b"")]:
        response = studio.post("/api/projects/upload", params={"filename": filename}, data=body)
        assert response.status_code == 400, (filename, response.status_code, response.text)
        error = response.json()["error"]
        assert error and "\n" not in error and "Traceback" not in error, error
        # The message names the file as the user gave it, never the server's folder.
        assert filename in error and str(data) not in error, error
        assert folders(data) == before, filename
    assert "no video stream" in studio.post("/api/projects/upload", params={"filename": "tone.wav"},
                                            data=wav.read_bytes()).json()["error"]


def test_an_upload_over_the_limit_is_refused_and_leaves_nothing(site, samples, tmp_path):
    studio, data = site["studio"], site["data"]
    big = tmp_path / "big.mp4"
    ffmpeg("-i", str(samples / "bbb.mp4"), "-t", "25", "-c", "copy", str(big))
    assert 1.5 * 2**20 < big.stat().st_size < 3 * 2**20  # a real video of about 2 MB against 1 MiB
    before = folders(data)
    response = studio.upload(big)  # with its Content-Length
    assert response.status_code == 413, response.text
    assert "1 MiB" in response.json()["error"]
    assert folders(data) == before

    def chunks():  # no Content-Length: the limit is found while the body streams in
        content = big.read_bytes()
        for start in range(0, len(content), 1 << 16):
            yield content[start:start + (1 << 16)]

    response = studio.post("/api/projects/upload", params={"filename": "big.mp4"}, data=chunks())
    assert response.status_code == 413, response.text
    assert folders(data) == before


def test_a_video_under_the_limit_is_accepted(site):
    """Project A: a real 0.4 MB video on the 1 MiB server became a project with a describe job."""
    size = site["clip"].stat().st_size
    assert 0.3 * 2**20 < size < 2**20
    project = site["studio"].get(f"/api/projects/{site['a']}").json()
    assert project["name"] == "A" and project["source"] == "source/clip.mp4"
    assert (site["data"] / "projects" / site["a"] / "source" / "clip.mp4").stat().st_size == size
    assert [j["kind"] for j in project["jobs"]] == ["describe"]


def test_an_upload_file_name_cannot_place_the_video_elsewhere(site):
    studio, data = site["studio"], site["data"]
    before = folders(data)
    with open(site["clip"], "rb") as body:
        response = studio.post("/api/projects/upload", params={"filename": "../../../escaped.mp4"}, data=body)
    assert response.status_code == 201, response.text
    project = response.json()
    studio.post(f"/api/jobs/{project['job']['id']}/cancel")
    assert project["source"] == "source/escaped.mp4"
    assert (data / "projects" / project["id"] / "source" / "escaped.mp4").is_file()
    stray = [p for p in site["root"].rglob("escaped.mp4*") if p.parent != data / "projects" / project["id"] / "source"]
    assert stray == []
    assert folders(data) == before | {project["id"]}
    assert studio.wait(project["job"]["id"], timeout=60)["status"] == "cancelled"
    assert studio.delete(f"/api/projects/{project['id']}").status_code == 200


# --- the media folder --------------------------------------------------------------------------


def test_from_folder_reaches_nothing_outside_the_media_folder(site):
    studio, data, outside = site["studio"], site["data"], site["outside"]
    before = folders(data)
    for media in ["../../etc/passwd", "/etc/passwd", "../outside.mp4", str(outside), str(site["media"] / "clip.mp4"),
                  "link.mp4", "up/outside.mp4", "up/secret.txt", "..", "", "clip.mp4\x00",
                  "..\\outside.mp4", "./../outside.mp4"]:
        response = studio.post("/api/projects/from-folder", json={"media": media})
        refused(response.status_code, response.content)
        assert folders(data) == before, media
    # The list of what may be picked names only what may be picked.
    assert studio.get("/api/settings").json()["media"] == ["clip.mp4"]
    # And a video that is in the folder is taken (the refusals above are not refusing everything).
    response = studio.post("/api/projects/from-folder", json={"media": "clip.mp4", "name": "C"})
    assert response.status_code == 201, response.text
    project = response.json()
    studio.post(f"/api/jobs/{project['job']['id']}/cancel")
    assert project["source"] == str((site["media"] / "clip.mp4").resolve())
    assert studio.wait(project["job"]["id"], timeout=60)["status"] == "cancelled"
    assert studio.delete(f"/api/projects/{project['id']}").status_code == 200
    assert site["media"].joinpath("clip.mp4").is_file()  # read where it lies, never moved or deleted


# --- a project's files -------------------------------------------------------------------------


def test_a_project_file_path_cannot_leave_the_output_folder(described):
    studio, a, out = described["studio"], described["a"], described["out"]
    project_json = (out.parent / "project.json").read_bytes()
    (out / "keyframes" / "out.jpg").symlink_to(described["root"] / "secret.txt")
    base = f"/api/projects/{a}/files/"
    for path in ["../project.json", "..%2Fproject.json", "%2e%2e/project.json", "%2E%2E%2Fproject.json",
                 "keyframes/../../project.json", "keyframes/%2e%2e/%2e%2e/project.json", "speech/../../project.json",
                 "work/speech/../../../project.json", "keyframes/../script.json", "descriptions.vtt/../project.json",
                 "/etc/passwd", "//etc/passwd", "%2Fetc%2Fpasswd", "keyframes//etc/passwd",
                 "keyframes/../../../../../../../../etc/passwd", quote(str(described["root"] / "secret.txt"), safe=""),
                 "script.json%00", "descriptions.vtt%00.jpg", "keyframes/%00/../../project.json",
                 "..\\project.json", "keyframes\\..\\..\\project.json", "..%5Cproject.json",
                 "keyframes/..%5C..%5Cproject.json", "keyframes/out.jpg", "keyframes", "keyframes/", ""]:
        status, body = raw(studio, "GET", base + path)
        refused(status, body, project_json, b'"cues"')
    # What the page reads is there: refusing everything would not pass.
    status, body = raw(studio, "GET", base + "descriptions.vtt")
    assert status == 200 and body.startswith(b"WEBVTT") and body == (out / "descriptions.vtt").read_bytes()
    status, body = raw(studio, "GET", base + described["keyframe"])
    assert status == 200 and body[:3] == b"\xff\xd8\xff"
    status, body = raw(studio, "GET", base + "script.json")
    assert status == 200 and json.loads(body)["cues"]


def test_a_project_id_must_be_one(described):
    studio, a = described["studio"], described["a"]
    routes = [("GET", "/projects/{}"), ("GET", "/api/projects/{}"), ("DELETE", "/api/projects/{}"),
              ("POST", "/api/projects/{}/jobs"), ("GET", "/api/projects/{}/editor"),
              ("POST", "/api/projects/{}/cues/0"), ("DELETE", "/api/projects/{}/cues/0"),
              ("POST", "/api/projects/{}/cues"), ("POST", "/api/projects/{}/undo"),
              ("POST", "/api/projects/{}/check"), ("POST", "/api/projects/{}/speak"),
              ("GET", "/api/projects/{}/files/script.json"), ("GET", "/api/projects/{}/video")]
    ids = ["..", "%2e%2e", "..%2F..", f"..%2F{a}", f"{a}%2F..%2F{a}", f"{a}/../{a}", f"../projects/{a}", a.upper(),
           a[:15], a + "0", f"{a}%0A", f"{a}%00", f".%2F{a}", "%2F" + a, "0" * 16, "0" * 16 + "/..", "projects"]
    headers = {**CHANGE, "Content-Type": "application/json"}
    for method, route in routes:
        for bad in ids:
            body = b'{"kind": "describe", "text": "x", "slot": 0, "start": 1.0}' if method == "POST" else None
            status, answer = raw(studio, method, route.format(bad), headers=headers, body=body)
            refused(status, answer, b'"cues"', b"WEBVTT")
    status, answer = raw(studio, "GET", "/projects/..%2F..")
    refused(status, answer)
    status, answer = raw(studio, "GET", "/api/projects/../x")
    refused(status, answer)
    # Nothing was deleted or started: A is whole, with its one job.
    project = studio.get(f"/api/projects/{a}").json()
    assert [j["kind"] for j in project["jobs"]] == ["describe"] and project["has_script"]
    assert raw(studio, "GET", f"/projects/{a}")[0] == 200


def test_projects_do_not_see_each_others_files(described):
    studio, a, b, out_a = described["studio"], described["a"], described["b"], described["out"]
    out_b = described["data"] / "projects" / b / "out"
    (out_b / "keyframes").mkdir(parents=True, exist_ok=True)
    (out_b / "keyframes" / "a.jpg").symlink_to(out_a / described["keyframe"])
    script = (out_a / "script.json").read_bytes()
    base = f"/api/projects/{b}/files/"
    for path in [f"../{a}/out/script.json", f"..%2F..%2F{a}%2Fout%2Fscript.json", f"%2e%2e/%2e%2e/{a}/out/script.json",
                 f"keyframes/../../../{a}/out/script.json", f"../../{a}/out/descriptions.vtt",
                 f"../../{a}/project.json", f"../../{a}/out/{described['keyframe']}", "script.json", "descriptions.vtt",
                 described["keyframe"], "keyframes/a.jpg"]:
        status, body = raw(studio, "GET", base + path)
        refused(status, body, script, b"WEBVTT", b"\xff\xd8\xff")
    assert studio.get(f"/api/projects/{b}").json()["outputs"] == []
    # B's video is B's own upload, and A's still answer under A.
    assert raw(studio, "GET", f"/api/projects/{b}/video")[1] == described["clip"].read_bytes()
    assert raw(studio, "GET", f"/api/projects/{a}/files/script.json") == (200, script)


# --- who may use it ----------------------------------------------------------------------------


def test_loopback_answers_only_loopback_host_names(site):
    studio = site["studio"]
    port = studio.url.rsplit(":", 1)[1]
    for host in ["evil.example", f"evil.example:{port}", f"127.0.0.1.evil.example:{port}", f"127.evil.example:{port}",
                 f"localhost.evil.example:{port}", f"10.0.0.1:{port}"]:
        status, body = raw(studio, "GET", "/api/projects", headers={"Host": host})
        assert status == 421, (host, status, body[:200])
        assert site["a"].encode() not in body
    for host in [f"127.0.0.1:{port}", f"localhost:{port}"]:
        status, body = raw(studio, "GET", "/api/projects", headers={"Host": host})
        assert status == 200 and site["a"].encode() in body, (host, status)


def test_a_change_needs_the_change_header(site):
    studio, data, a = site["studio"], site["data"], site["a"]
    before = folders(data)
    for method, path, body in [("POST", "/api/projects/upload?filename=clip.mp4", site["clip"].read_bytes()),
                               ("POST", "/api/projects/from-folder", b'{"media": "clip.mp4"}'),
                               ("POST", f"/api/projects/{a}/jobs", b'{"kind": "render"}'),
                               ("POST", f"/api/projects/{a}/undo", b"{}"),
                               ("DELETE", f"/api/projects/{a}", None)]:
        for headers in ({}, {"X-Videodesc": "0"}, {"X-Videodesc": ""}):
            response = requests.request(method, studio.url + path, data=body, headers=headers, timeout=60)
            assert response.status_code == 403, (method, path, headers, response.status_code, response.text)
            assert "x-videodesc" in response.json()["error"]
    assert folders(data) == before
    assert [j["kind"] for j in studio.get(f"/api/projects/{a}").json()["jobs"]] == ["describe"]
    # The same request with the header goes through (here: refused for what it asks, not for the header).
    assert studio.post("/api/projects/from-folder", json={"media": "nothing.mp4"}).status_code == 404


@pytest.fixture(scope="module")
def tokened(tmp_path_factory):
    token = secrets.token_urlsafe(16)
    studio = Studio(tmp_path_factory.mktemp("tokened"), "--host", "0.0.0.0", env={"VIDEODESC_TOKEN": token})
    studio.url = studio.url.replace("0.0.0.0", "127.0.0.1")
    try:
        yield studio, token
    finally:
        studio.stop()


def test_beyond_loopback_every_request_needs_the_token(tokened):
    studio, token = tokened
    url = studio.url
    wrong = ["", "wrong", token[:-1], token + "x", token.upper() if token.upper() != token else token.lower()]
    for path in ["/", "/api/settings", "/api/projects", "/static/studio.js"]:
        response = requests.get(url + path, timeout=30)
        assert response.status_code == 401, (path, response.status_code)
        assert "<html" not in response.text.lower() and "max_upload_bytes" not in response.text
        for guess in wrong:
            for kw in ({"headers": {"Authorization": f"Bearer {guess}"}}, {"cookies": {"videodesc_token": guess}},
                       {"params": {"token": guess}}):
                response = requests.get(url + path, timeout=30, **kw)
                assert response.status_code == 401, (path, guess, kw)
                assert "set-cookie" not in response.headers
        response = requests.get(url + path, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert response.status_code == 200, path
    # A change without the token is refused before anything else; with it, the change header is still needed.
    response = requests.post(url + "/api/projects/from-folder", json={}, headers=CHANGE, timeout=30)
    assert response.status_code == 401
    response = requests.post(url + "/api/projects/from-folder", json={},
                             headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 403


def test_opening_the_page_with_the_token_sets_a_cookie_that_works_alone(tokened):
    studio, token = tokened
    session = requests.Session()
    response = session.get(studio.url + "/", params={"token": token}, timeout=30)
    assert response.status_code == 200 and "<html" in response.text.lower()
    cookie = response.headers["set-cookie"].lower()
    assert f"videodesc_token={token}".lower() in cookie and "httponly" in cookie and "samesite=strict" in cookie
    response = session.get(studio.url + "/api/projects", timeout=30)
    assert response.status_code == 200 and response.json() == []
    assert requests.get(studio.url + "/api/projects", timeout=30).status_code == 401  # it was the cookie


def test_serving_beyond_loopback_without_a_token_is_refused(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "VIDEODESC_TOKEN"}
    result = subprocess.run([sys.executable, "-m", "videodesc", "serve", "--host", "0.0.0.0", "--port", "0",
                             "--data", str(tmp_path / "data")], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 2, result
    assert result.stdout == ""  # no address printed: it never listened
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("videodesc: error:") and "token" in lines[0], result.stderr
