"""Fault injection at the endpoints users configure: the chat writer's and the http voice's.

Every server here is a protocol-level FAKE on 127.0.0.1, named as such: `FakeOpenAIServer`
(tests/test_writer_backends.py) and `FakeSpeechServer` (tests/test_speak.py) answer with what a
broken service sends -- a chat completion without text, an HTML page or an error object with
status 200, bytes that are no audio -- and `SilentServer` takes connections and never answers.
Each case must end in one line on stderr and exit 2 (ModelError) without a traceback, within a
time bounded by the configured timeout, and leave nothing bad in the caches: a second run
against a fixed server writes or speaks real descriptions.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import ffmpeg
from test_speak import FakeSpeechServer
from test_writer_backends import FakeOpenAIServer, make_context, writer_for
from videodesc import httpapi
from videodesc.cli.main import build_parser
from videodesc.errors import InputError, ModelError
from videodesc.records import Shot, Slot, Timeline, dumps, load_script
from videodesc.speak import VoiceSpec, make_voice
from videodesc.write.backends.openai_chat import OpenAIChatWriter

KEY_ENV = "VIDEODESC_TEST_KEY"
SLOTS = [(0.5, 3.5), (4.5, 7.5), (8.5, 11.5)]
# Distinct short sentences, so that no slot's description repeats an earlier one.
SENTENCES = ["A red car passes.", "A dog runs by.", "Rain hits the window.", "A door opens.",
             "A woman waves.", "A bus stops.", "Leaves fall.", "A man sits down.", "The lights go out.",
             "A phone rings.", "Snow falls.", "A cat jumps."]


class SilentServer:
    """A FAKE endpoint that takes every connection and reads the request, but never answers."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/v1"
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return  # closed
            self.connections.append(connection)  # held open, never answered

    def close(self):
        self.listener.close()
        for connection in self.connections:
            connection.close()


class TricklingServer:
    """A FAKE endpoint that answers 200 at once and then sends its body one byte every 0.1 s for
    `seconds`, which resets a socket's timeout with every byte."""

    def __init__(self, seconds: float = 8.0):
        fake = self
        self.seconds = seconds

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                self.rfile.read(int(self.headers["Content-Length"]))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                until = time.monotonic() + fake.seconds
                try:
                    while time.monotonic() < until:
                        self.wfile.write(b" ")
                        self.wfile.flush()
                        time.sleep(0.1)
                except OSError:
                    pass  # the client gave up

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    return f"http://127.0.0.1:{port}/v1"


def answer(text) -> dict:
    """A scripted chat completion whose message content is `text` (a string, None, or parts)."""
    return {"status": 200, "body": {"object": "chat.completion", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]}}


def copy_of(folder: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(folder, tmp_path / "out"))


def answer_file(tmp_path: Path, body: bytes) -> Path:
    path = tmp_path / "answer.bin"
    path.write_bytes(body)
    return path


def good_answers(count: int = 12) -> list[dict]:
    return [FakeOpenAIServer.reply([SENTENCES[n % len(SENTENCES)]]) for n in range(count)]


# --- an analysed clip, made here: a test pattern with a tone, three slots -------------------------


@pytest.fixture(scope="module")
def analysis(tmp_path_factory) -> Path:
    """An output folder as `analyze` leaves it for a 12 s clip with three dialogue-free slots."""
    from videodesc.media.probe import probe

    folder = tmp_path_factory.mktemp("faults")
    video = folder / "clip.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=160x90:r=10:d=12", "-f", "lavfi", "-i", "sine=f=300:d=12",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(video))
    out = folder / "out"
    out.mkdir()
    timeline = Timeline(media=probe(video), language="en", shots=[Shot(0, 0.0, 12.0)], utterances=[],
                        speech_regions=[], slots=[Slot(start, end, [0]) for start, end in SLOTS])
    (out / "timeline.json").write_text(dumps(timeline), encoding="utf-8")
    return out


@pytest.fixture()
def out(analysis, tmp_path) -> Path:
    return copy_of(analysis, tmp_path)


@pytest.fixture()
def chat():
    server = FakeOpenAIServer()
    yield server
    server.close()


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, KEY_ENV: "sk-test-123"}
    return subprocess.run([sys.executable, "-m", "videodesc", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def write(out: Path, endpoint: str, *extra: str) -> subprocess.CompletedProcess:
    """`videodesc write` through the openai writer at `endpoint`, with nothing else slow in the way."""
    return run("write", str(out), "--writer", "openai", "--endpoint", endpoint, "--model", "fake-model",
               "--api-key-env", KEY_ENV, "--no-images", "--no-fluency", "--describer-pace", "--lang", "en",
               "--candidates", "1", "--endpoint-retries", "1", *extra)


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    """The error line of a failed `--quiet` run, after checking that it is all it said and exit 2."""
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("videodesc: error: "), proc.stderr
    return lines[0]


def cached_answers(out: Path) -> list[dict]:
    return [json.loads(path.read_text())["response"] for path in (out / "work" / "writer").glob("*.json")]


def cue_texts(out: Path) -> list[str]:
    return [cue.text for cue in load_script((out / "script.json").read_text()).cues]


# --- the chat writer ----------------------------------------------------------------------------


@pytest.mark.parametrize("content", [None, "", "  \n ", [{"type": "text", "text": ""}]],
                         ids=["null", "empty", "blank", "parts-without-text"])
def test_chat_answers_without_text_stop_the_run_and_are_not_cached(out, chat, content):
    chat.default = answer(content)
    error = one_line_error(write(out, chat.base_url, "--quiet"))
    assert "answered with no text" in error and "3 requests in a row" in error
    assert len(chat.requests) == 3  # one per slot: empty answers are not retried
    assert not (out / "script.json").exists()
    assert cached_answers(out) == []
    chat.script, chat.default = good_answers(), FakeOpenAIServer.reply(["A bird sings."])
    fixed = write(out, chat.base_url)
    assert fixed.returncode == 0, fixed.stderr
    assert len(cue_texts(out)) == len(SLOTS)


def test_one_empty_answer_leaves_its_slot_silent_with_a_warning(out, chat):
    chat.script = [answer(None)] + good_answers()
    proc = write(out, chat.base_url)
    assert proc.returncode == 0, proc.stderr
    assert "slot 0 left silent" in proc.stderr and "content null" in proc.stderr
    script = load_script((out / "script.json").read_text())
    assert [s.slot for s in script.skipped] == [0] and "no text" in script.skipped[0].reason
    assert {c.slot for c in script.cues} == {1, 2}
    # The empty answer was not cached: the next run asks for slot 0 again and says something.
    chat.script = good_answers()[5:]
    again = write(out, chat.base_url)
    assert again.returncode == 0, again.stderr
    assert {c.slot for c in load_script((out / "script.json").read_text()).cues} == {0, 1, 2}


@pytest.mark.parametrize("step, said", [
    ({"raw": b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>", "content_type": "text/html"},
     'did not answer with JSON (text/html, 65 bytes: "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1>'),
    ({"raw": b"\x89PNG\r\n\x1a\n\x00\x00", "content_type": "application/octet-stream"},
     "did not answer with JSON (application/octet-stream, 10 bytes: 89 50 4e 47"),
    ({"body": ["not", "a", "completion"]}, "answered with something other than a chat completion"),
    ({"body": {"error": {"message": "model overloaded"}}}, "answered with an error: {'message': 'model overloaded'}"),
    ({"body": {"object": "chat.completion", "choices": []}}, "without choices[0].message"),
    ({"body": {"object": "chat.completion"}}, "without choices[0].message"),
    ({"body": {"choices": [{"message": "Minsu smiles."}]}}, "a message that is str, not an object"),
    ({"body": {"choices": [{"message": {"content": 42}}]}}, "message content of type int"),
], ids=["html-page", "binary", "json-list", "error-object", "no-choices", "missing-choices", "message-string",
        "content-number"])
def test_answers_that_are_no_chat_completion_stop_the_run_at_once(out, chat, step, said):
    chat.default = {"status": 200, **step}
    error = one_line_error(write(out, chat.base_url, "--quiet"))
    assert said in error and "/v1/chat/completions" in error
    assert len(chat.requests) == 1  # the same page would come back for every slot
    assert cached_answers(out) == []


def test_a_bad_answer_cached_by_an_earlier_version_is_asked_again(chat, tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "sk-test-123")
    context, cache = make_context(tmp_path, keyframes=0), tmp_path / "cache"
    writer_for(chat, cache_dir=cache).candidates(context, 2)
    (entry,) = cache.glob("*.json")
    document = json.loads(entry.read_text())
    document["response"]["choices"][0]["message"]["content"] = None  # what an earlier version kept
    entry.write_text(json.dumps(document))
    again = writer_for(chat, cache_dir=cache)
    assert again.candidates(context, 2) == ["Minsu smiles.", "Minsu smiles and puts down his cup."]
    assert again.requests == 1 and again.cache_hits == 0
    assert json.loads(entry.read_text())["response"]["choices"][0]["message"]["content"]  # replaced


def test_a_writer_endpoint_that_never_answers_fails_after_one_timeout(out):
    server = SilentServer()
    try:
        started = time.monotonic()
        error = one_line_error(write(out, server.url, "--quiet", "--endpoint-timeout", "1", "--endpoint-retries", "3"))
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert "failed once; last: no answer within 1 s" in error and "--endpoint-timeout" in error
    assert len(server.connections) == 1  # not retried: it never answered
    assert elapsed < 30  # startup and the embedder, plus one timeout: not four with backoff between


def test_a_refused_connection_is_retried_then_one_line(out):
    started = time.monotonic()
    error = one_line_error(write(out, closed_port_url(), "--quiet", "--endpoint-retries", "1"))
    assert "failed 2 times; last: cannot connect" in error and "Connection refused" in error
    assert time.monotonic() - started < 30  # 1 s of backoff


def test_connecting_has_its_own_short_limit(monkeypatch, tmp_path):
    """A listener whose queue is full drops new connections, as a firewalled host does."""
    monkeypatch.setattr(httpapi, "CONNECT_TIMEOUT", 0.5)
    listener = socket.create_server(("127.0.0.1", 0), backlog=0)
    port = listener.getsockname()[1]
    queued = []
    for _ in range(3):  # fill the accept queue
        client = socket.socket()
        client.setblocking(False)
        client.connect_ex(("127.0.0.1", port))
        queued.append(client)
    time.sleep(0.2)
    writer = OpenAIChatWriter(f"http://127.0.0.1:{port}/v1", "m", timeout=30, retries=3, backoff=0.01)
    started = time.monotonic()
    try:
        with pytest.raises(ModelError, match=r"failed once; last: cannot connect within 0\.5 s$"):
            writer.candidates(make_context(tmp_path, keyframes=0), 2)
    finally:
        for client in queued:
            client.close()
        listener.close()
    assert time.monotonic() - started < 5  # the 30 s answer timeout does not apply to connecting


def test_an_answer_trickling_in_is_cut_at_the_timeout(tmp_path):
    server = TricklingServer()
    writer = OpenAIChatWriter(server.url, "m", timeout=1, retries=3, backoff=0.01)
    started = time.monotonic()
    try:
        with pytest.raises(ModelError, match=r"failed once; last: no answer within 1 s"):
            writer.candidates(make_context(tmp_path, keyframes=0), 2)
    finally:
        server.close()
    assert time.monotonic() - started < 4  # a byte every 0.1 s would otherwise hold it for 8 s


@pytest.mark.parametrize("option, value", [
    ("--endpoint-timeout", "0"), ("--endpoint-timeout", "-5"), ("--endpoint-timeout", "nan"),
    ("--endpoint-timeout", "inf"), ("--endpoint-timeout", "3601"), ("--endpoint-timeout", "soon"),
    ("--endpoint-retries", "-1"), ("--endpoint-retries", "11"), ("--endpoint-retries", "1.5"),
])
def test_endpoint_settings_out_of_range_are_refused(capsys, option, value):
    for command in (["write", "OUT"], ["render", "OUT"], ["describe", "v.mp4", "-o", "OUT"]):
        with pytest.raises(SystemExit) as exited:
            build_parser().parse_args([*command, option, value])
        assert exited.value.code == 2
        assert capsys.readouterr().err.strip().splitlines()[-1].startswith(
            f"videodesc: error: argument {option}")
    with pytest.raises(InputError, match="endpoint timeout"):
        make_voice(VoiceSpec("http", "en", endpoint="http://127.0.0.1:1/v1", timeout=float("nan")))
    with pytest.raises(InputError, match="endpoint retries"):
        OpenAIChatWriter("http://127.0.0.1:1/v1", "m", retries=-1)


def test_endpoint_settings_reach_the_writer_and_the_voice():
    from videodesc.cli.main import _write_options
    from videodesc.writing import make_writer

    args = build_parser().parse_args(["write", "OUT", "--writer", "openai", "--endpoint", "http://127.0.0.1:1/v1",
                                      "--model", "m", "--voice", "http", "--tts-endpoint", "http://127.0.0.1:2/v1",
                                      "--endpoint-timeout", "7.5", "--endpoint-retries", "0"])
    options = _write_options(args, "en")
    writer = make_writer(options, Path("OUT"))
    voice = make_voice(dataclasses.replace(options.voice, language="en"))
    assert (writer.timeout, writer.retries) == (7.5, 0) and (voice.timeout, voice.retries) == (7.5, 0)
    assert "timeout" not in options.voice.as_key()  # waiting longer makes the same audio
    defaults = make_writer(_write_options(build_parser().parse_args(
        ["write", "OUT", "--writer", "openai", "--endpoint", "http://127.0.0.1:1/v1", "--model", "m"]), "en"),
        Path("OUT"))
    # A vision model on a CPU may take a minute for one slot: the default waits twice that.
    assert defaults.timeout >= 120 and defaults.retries == 3


# --- the http voice -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def written(analysis, tmp_path_factory) -> Path:
    """The analysed clip with a script.json of three cues, written through a fake chat endpoint."""
    server = FakeOpenAIServer()
    server.script = good_answers()
    out = copy_of(analysis, tmp_path_factory.mktemp("written"))
    try:
        proc = write(out, server.base_url)
    finally:
        server.close()
    assert proc.returncode == 0, proc.stderr
    assert len(cue_texts(out)) == len(SLOTS)
    return out


@pytest.fixture(scope="module")
def tone_wav(tmp_path_factory) -> Path:
    """Real audio for the fixed voice: one second of a tone at 22050 Hz."""
    path = tmp_path_factory.mktemp("audio") / "tone.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=f=220:d=1:sample_rate=22050", str(path))
    return path


def render(out: Path, endpoint: str, *extra: str) -> subprocess.CompletedProcess:
    return run("render", str(out), "--voice", "http", "--tts-endpoint", endpoint, "--tts-model", "tts-1",
               "--voice-name", "alloy", "--tts-key-env", KEY_ENV, "--endpoint-retries", "1", *extra)


@pytest.mark.parametrize("body, kind, said", [
    (b"\x00\x01garbage that no decoder reads" * 4, "audio/wav",
     "answered with audio ffmpeg cannot decode (audio/wav, 124 bytes: 00 01 67 61"),
    (b"", "audio/wav", "answered with no audio (audio/wav, 0 bytes)"),
    (b"<html><body>Service Unavailable</body></html>", "text/html",
     'answered with no audio (text/html, 45 bytes: "<html><body>Service Unavailable'),
    (b'{"error": {"message": "voice alloy is not loaded"}}', "application/json",
     'answered with no audio (application/json, 51 bytes: "{"error": {"message": "voice alloy is not loaded"}}"'),
    (b"<html>Moved</html>", "audio/mpeg", 'answered with no audio (audio/mpeg, 18 bytes: "<html>Moved</html>"'),
], ids=["garbage", "empty", "html", "json-error", "html-as-audio"])
def test_a_voice_endpoint_answering_with_no_audio_is_one_line(written, tmp_path, body, kind, said):
    out = copy_of(written, tmp_path)
    server = FakeSpeechServer(answer_file(tmp_path, body), key="sk-test-123")
    server.content_type = kind
    try:
        error = one_line_error(render(out, server.url, "--quiet"))
    finally:
        server.close()
    assert said in error and f"{server.url}/audio/speech" in error
    assert len(server.requests) == 1  # the same answer would come back for every cue
    assert not list((out / "work" / "speech").glob("*.wav"))  # nothing spoken is kept


def test_after_garbage_a_fixed_voice_endpoint_speaks_every_cue(written, tmp_path, tone_wav):
    out = copy_of(written, tmp_path)
    server = FakeSpeechServer(answer_file(tmp_path, b"\x00\x01 not audio " * 8), key="sk-test-123")
    try:
        one_line_error(render(out, server.url, "--quiet"))
        server.audio = tone_wav  # the server fixed
        fixed = render(out, server.url)
    finally:
        server.close()
    assert fixed.returncode == 0, fixed.stderr
    assert len(list((out / "work" / "speech").glob("*.wav"))) == len(SLOTS)
    assert len(load_script((out / "script.json").read_text()).cues) == len(SLOTS)


def test_a_voice_endpoint_that_never_answers_fails_after_one_timeout(written, tmp_path):
    out = copy_of(written, tmp_path)
    server = SilentServer()
    try:
        started = time.monotonic()
        error = one_line_error(render(out, server.url, "--quiet", "--endpoint-timeout", "1", "--endpoint-retries", "3"))
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert "the TTS endpoint" in error and "failed once; last: no answer within 1 s" in error
    assert len(server.connections) == 1
    assert elapsed < 30  # startup, plus one timeout: not four with backoff between


def test_a_voice_that_has_answered_gets_one_more_try_after_a_stall(tone_wav, tmp_path):
    server = FakeSpeechServer(tone_wav)
    voice = make_voice(VoiceSpec("http", "en", endpoint=server.url, timeout=0.5, retries=3))
    voice.backoff = 0.01
    try:
        assert voice.synthesize("A door opens.", tmp_path / "first.wav") > 0.5
        server.server.shutdown()  # the server stops answering, its socket still open
        with pytest.raises(ModelError, match=r"failed 2 times; last: no answer within 0\.5 s"):
            voice.synthesize("A door closes.", tmp_path / "second.wav")
    finally:
        server.server.server_close()
    assert voice.requests == 3


def test_describe_refuses_a_broken_voice_endpoint_before_the_analysis(analysis, tmp_path):
    server = FakeSpeechServer(answer_file(tmp_path, b"<html><body>Service Unavailable</body></html>"),
                              key="sk-test-123")
    server.content_type = "text/html"
    out = tmp_path / "out"
    try:
        error = one_line_error(run("describe", str(analysis.parent / "clip.mp4"), "-o", str(out), "--lang", "en",
                                   "--voice", "http", "--tts-endpoint", server.url, "--tts-model", "tts-1",
                                   "--voice-name", "alloy", "--tts-key-env", KEY_ENV, "--quiet"))
    finally:
        server.close()
    assert "answered with no audio" in error and len(server.requests) == 1
    assert not out.exists(), "refused before the analysis made anything"
