"""The HTML report shows every shot, line and slot where it belongs, escaped, and self-contained."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from videodesc.output.report import choose_scale, format_time, render_report
from videodesc.records import (AudioStream, Character, Face, Facts, Keyframe, Media, ObjectHint, ReferenceDescription,
                               SceneTag, Shot, ShotFacts, Slot, Span, TextLine, Timeline, Utterance)
from videodesc.shots.detect import keyframe_size

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
KOREAN_LINE = "안녕하세요, <script>alert(1)</script> & 반가워요"
ENGLISH_LINE = "Tom & Jerry <b>run</b>"
STRADDLING_LINE = "경계에 걸친 대사"


def sample_timeline(duration: float = 30.0) -> Timeline:
    media = Media(path="/videos/드라마 <1화> & more.mp4", duration=duration, fps=23.976, width=1280, height=720,
                  video_codec="h264", audio_streams=[AudioStream(1, "aac", 2, 48000, "kor")],
                  size_bytes=1000, content_hash="ab")
    shots = [
        Shot(0, 0.0, 8.0, [Keyframe(4.0, "keyframes/shot0000_1.jpg", 90.0)]),
        Shot(1, 8.0, 20.0, [Keyframe(10.0, "keyframes/shot0001_1.jpg", 80.0),
                            Keyframe(16.0, "keyframes/shot0001_2.jpg", 70.0)]),
        Shot(2, 20.0, 30.0, [Keyframe(25.0, "keyframes/shot0002_1.jpg", 60.0)]),
    ]
    utterances = [Utterance(1.0, 3.5, KOREAN_LINE, "asr"),
                  Utterance(9.0, 11.0, ENGLISH_LINE, "subtitle"),
                  Utterance(19.0, 21.0, STRADDLING_LINE, "asr")]
    slots = [Slot(3.7, 8.8, [0, 1]), Slot(11.2, 18.8, [1]), Slot(21.2, 30.0, [2])]
    return Timeline(
        media=media, language="ko", shots=shots, utterances=utterances,
        speech_regions=[Span(1.0, 3.5), Span(9.0, 11.0), Span(19.0, 21.0)], slots=slots,
        references=[ReferenceDescription(12.0, 14.0, "문이 열린다 & <닫힌다>", "ad.srt")],
        warnings=["the <audio> track & the video differ"],
        provenance={"asr": "faster-whisper 1.2.1", "shots": "PySceneDetect ContentDetector 0.7.2"})


class PageParser(HTMLParser):
    """Collects elements and the text of each shot card, and checks that tags nest properly."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.card_text: dict[str, str] = {}
        self.open: list[str] = []
        self.errors: list[str] = []
        self.card: str | None = None

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        self.elements.append((tag, attributes))
        if tag == "section" and "card" in attributes.get("class", "").split():
            self.card = attributes["id"]
            self.card_text[self.card] = ""
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        if not self.open or self.open[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.open[-1:]}")
            return
        self.open.pop()
        if tag == "section":
            self.card = None

    def handle_data(self, data):
        if self.card:
            self.card_text[self.card] += data

    def with_class(self, cls: str) -> list[dict[str, str]]:
        return [attrs for _, attrs in self.elements if cls in attrs.get("class", "").split()]


def parse(page: str) -> PageParser:
    parser = PageParser()
    parser.feed(page)
    parser.close()
    assert parser.errors == [] and parser.open == [], (parser.errors, parser.open)
    return parser


def left_and_width(attrs: dict[str, str]) -> tuple[float, float]:
    match = re.fullmatch(r"left:([\d.]+)px;width:([\d.]+)px", attrs["style"])
    assert match, attrs["style"]
    return float(match[1]), float(match[2])


@pytest.fixture(scope="module")
def timeline() -> Timeline:
    return sample_timeline()


@pytest.fixture(scope="module")
def page(timeline) -> str:
    return render_report(timeline)


@pytest.fixture(scope="module")
def parsed(page) -> PageParser:
    return parse(page)


def test_page_is_self_contained_and_well_formed(page, parsed):
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"https?://", page)
    assert not [tag for tag, _ in parsed.elements if tag in {"script", "link", "iframe"}]
    assert ("meta", {"charset": "utf-8"}) in parsed.elements
    assert '"NanumGothic"' in page and "sans-serif" in page


def test_every_keyframe_is_a_lazy_thumbnail(timeline, parsed):
    images = [attrs for tag, attrs in parsed.elements if tag == "img"]
    expected = [kf.path for shot in timeline.shots for kf in shot.keyframes]
    assert [img["src"] for img in images] == expected
    assert all(img["loading"] == "lazy" for img in images)
    # 1280x720 keeps its aspect ratio in the reserved space.
    assert {(img["width"], img["height"]) for img in images} == {("160", "90")}


def test_user_text_is_escaped(page, parsed):
    assert "<script" not in page and "<b>" not in page and "<닫힌다>" not in page and "<audio>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; 반가워요" in page
    assert "Tom &amp; Jerry &lt;b&gt;run&lt;/b&gt;" in page
    assert "<h1>드라마 &lt;1화&gt; &amp; more.mp4</h1>" in page
    # The unescaped text is what a browser shows.
    assert KOREAN_LINE in parsed.card_text["shot-0"]


def test_header_counts_and_provenance(page):
    assert "0:00:30" in page  # duration
    assert "1280×720" in page and "23.976 fps" in page and "ko" in page
    slot_seconds = 5.1 + 7.6 + 8.8
    assert f"3, {slot_seconds:.1f} s (72% of the running time)" in page
    assert "the &lt;audio&gt; track &amp; the video differ" in page
    assert "<th>asr</th><td>faster-whisper 1.2.1</td>" in page


def test_cards_hold_the_dialogue_and_slots_of_their_shot(timeline, parsed):
    cards = parsed.card_text
    assert list(cards) == ["shot-0", "shot-1", "shot-2"]
    assert KOREAN_LINE in cards["shot-0"] and ENGLISH_LINE not in cards["shot-0"]
    assert ENGLISH_LINE in cards["shot-1"] and KOREAN_LINE not in cards["shot-1"]
    # A line across a cut belongs to both shots.
    assert STRADDLING_LINE in cards["shot-1"] and STRADDLING_LINE in cards["shot-2"]
    assert "No dialogue." not in "".join(cards.values())
    assert "0:00:09.0–0:00:11.0" in cards["shot-1"]

    first, second, third = [f"{format_time(slot.start)}–{format_time(slot.end)} slot of {slot.duration:.1f} s"
                            for slot in timeline.slots]
    assert first == "0:00:03.7–0:00:08.8 slot of 5.1 s"
    assert first in cards["shot-0"] and first in cards["shot-1"]
    assert second in cards["shot-1"] and second not in cards["shot-0"]
    assert third in cards["shot-2"] and third not in cards["shot-1"]


def test_shot_without_dialogue_or_slot_says_so():
    timeline = sample_timeline()
    timeline.shots.append(Shot(3, 30.0, 31.0))
    timeline.media.duration = 31.0
    card = parse(render_report(timeline)).card_text["shot-3"]
    assert "No dialogue." in card and "No slot." in card


def test_timeline_shot_blocks_link_to_the_cards(timeline, parsed):
    blocks = parsed.with_class("tl-shot")
    cards = {attrs["id"] for attrs in parsed.with_class("card")}
    assert [block["href"] for block in blocks] == [f"#shot-{shot.index}" for shot in timeline.shots]
    assert {block["href"][1:] for block in blocks} == cards
    # Cut marks on every shot but the first, alternating shades.
    assert ["cut" in block["class"] for block in blocks] == [False, True, True]
    assert ["alt" in block["class"] for block in blocks] == [False, True, False]


def test_timeline_positions_are_proportional_to_time(timeline, parsed):
    scale = choose_scale(timeline.media.duration)
    lanes = {"tl-shot": timeline.shots, "tl-speech": timeline.speech_regions, "tl-utt": timeline.utterances,
             "tl-slot": timeline.slots, "tl-ref": timeline.references}
    for cls, items in lanes.items():
        boxes = [left_and_width(attrs) for attrs in parsed.with_class(cls)]
        assert len(boxes) == len(items)
        for (left, width), item in zip(boxes, items):
            assert left == pytest.approx(item.start * scale, abs=0.01)
            assert width == pytest.approx((item.end - item.start) * scale, abs=0.01)
    (left1, _), (left2, _) = [left_and_width(attrs) for attrs in parsed.with_class("tl-slot")][1:]
    first, second = timeline.slots[1:]
    assert left2 / left1 == pytest.approx(second.start / first.start, rel=1e-3)


def test_timeline_tooltips_carry_times_and_text(parsed):
    slot_titles = [attrs["title"] for attrs in parsed.with_class("tl-slot")]
    assert slot_titles[0] == "Slot 0:00:03.7–0:00:08.8 (5.1 s)"
    utterance_titles = [attrs["title"] for attrs in parsed.with_class("tl-utt")]
    assert utterance_titles[1] == f"0:00:09.0–0:00:11.0 [subtitle]\n{ENGLISH_LINE}"
    assert parsed.with_class("tl-ref")[0]["title"] == "0:00:12.0–0:00:14.0 [ad.srt]\n문이 열린다 & <닫힌다>"


def test_no_reference_lane_without_references():
    timeline = sample_timeline()
    timeline.references = []
    parsed = parse(render_report(timeline))
    assert parsed.with_class("tl-ref") == []
    assert len(parsed.with_class("lane")) == 5  # ruler, shots, speech, dialogue, slots


def test_long_video_scrolls_at_a_coarse_fixed_scale():
    duration = 2 * 3600.0
    timeline = sample_timeline(duration)
    timeline.utterances = [Utterance(t * 2.4, t * 2.4 + 1.5, f"line {t}", "asr") for t in range(3000)]
    timeline.slots = [Slot(t * 2.4 + 1.6, t * 2.4 + 2.35) for t in range(0, 3000, 3)]
    parsed = parse(render_report(timeline))
    assert choose_scale(duration) == 4.0
    track = parsed.with_class("track")[0]
    assert track["style"] == f"width:{duration * 4:.2f}px"
    assert len(parsed.with_class("tl-utt")) == 3000
    ruler_labels = [attrs for tag, attrs in parsed.elements if tag == "div" and attrs.get("style", "").startswith("left")
                    and not attrs.get("class")]
    assert len(ruler_labels) == duration // 30 + 1  # a tick every 30 s: ~120 px apart


def test_scale_gets_coarser_as_videos_get_longer():
    scales = [choose_scale(d) for d in (5, 60, 300, 900, 3600, 7200)]
    assert scales == sorted(scales, reverse=True)
    assert all(d * choose_scale(d) <= 4000 for d in (5, 60, 300, 900))


@pytest.mark.parametrize("seconds, decimals, text", [
    (0, 1, "0:00:00.0"), (59.96, 1, "0:01:00.0"), (3725.26, 1, "1:02:05.3"), (7199.6, 0, "2:00:00"),
    (65, 0, "0:01:05"), (-0.01, 1, "0:00:00.0"),
])
def test_format_time(seconds, decimals, text):
    assert format_time(seconds, decimals) == text


# --- What the vision stage saw -------------------------------------------------------------------

SIGN = "<script>alert('sign')</script> 카페 & 바"
SUBTITLE = "그래, 가자 <i>지금</i>"


def sample_facts() -> Facts:
    """Facts for sample_timeline(): shot 0 and 1 analysed, shot 2 not."""
    characters = [
        Character("person-1", {"ko": "인물 1", "en": "Person 1"}, appearances=3, first_seen=4.0,
                  crop="characters/person-1.jpg", name="김 <철수>"),
        Character("person-2", {"ko": "인물 2", "en": "Person 2"}, appearances=1, first_seen=16.0,
                  crop="characters/person-2.jpg"),
    ]
    shot0 = ShotFacts(
        0,
        faces=[Face("keyframes/shot0000_1.jpg", [320, 180, 128, 72], 0.99, "person-1", "happy", 0.82, 34, 0.61,
                    "male", 0.9)],
        objects=[ObjectHint("keyframes/shot0000_1.jpg", "cup", 0.71, [640, 360, 64, 36])],
        text=[TextLine("keyframes/shot0000_1.jpg", SIGN, 0.88, [100, 50, 300, 40], "scene", "rapidocr"),
              TextLine("keyframes/shot0000_1.jpg", SUBTITLE, 0.93, [400, 620, 480, 50], "subtitle", "tesseract")],
        tags=[SceneTag("keyframes/shot0000_1.jpg", "espresso", 0.4)])
    shot1 = ShotFacts(
        1,
        faces=[Face("keyframes/shot0001_2.jpg", [-10, 700, 100, 100], 0.8, "person-2")],
        objects=[ObjectHint("keyframes/shot0001_1.jpg", "chair", 0.55, [0, 0, 10, 10]),
                 ObjectHint("keyframes/shot0001_2.jpg", "chair", 0.65, [0, 0, 10, 10])])
    return Facts(characters=characters, shots=[shot0, shot1], analysed="slots",
                 provenance={"faces": "dlib <20>"})


@pytest.fixture(scope="module")
def facts_page() -> str:
    return render_report(sample_timeline(), sample_facts())


@pytest.fixture(scope="module")
def facts_parsed(facts_page) -> PageParser:
    return parse(facts_page)


def boxes_on(parsed: PageParser, src: str) -> list[dict[str, str]]:
    """The overlay boxes drawn over the thumbnail `src`: the box divs after it, up to the next image."""
    start = parsed.elements.index(("img", next(a for t, a in parsed.elements if t == "img" and a["src"] == src)))
    boxes = []
    for tag, attrs in parsed.elements[start + 1:]:
        if tag == "img":
            break
        if "box" in attrs.get("class", "").split():
            boxes.append(attrs)
    return boxes


def box_percents(attrs: dict[str, str]) -> tuple[float, ...]:
    match = re.fullmatch(r"left:([\d.]+)%;top:([\d.]+)%;width:([\d.]+)%;height:([\d.]+)%", attrs["style"])
    assert match, attrs["style"]
    return tuple(float(group) for group in match.groups())


def test_keyframe_size_is_the_size_keyframes_are_written_at():
    assert keyframe_size(1920, 1080) == (1280, 720)
    assert keyframe_size(3840, 1606) == (1280, 536)  # scope: 535.3 rounded to an even height
    assert keyframe_size(1280, 720) == (1280, 720)
    assert keyframe_size(640, 361) == (640, 361)  # not resized, so not evened either


def test_character_gallery_before_the_shots(facts_page, facts_parsed):
    figures = facts_parsed.with_class("character")
    assert [f["id"] for f in figures] == ["character-person-1", "character-person-2"]
    crops = [a["src"] for t, a in facts_parsed.elements if t == "img" and a["src"].startswith("characters/")]
    assert crops == ["characters/person-1.jpg", "characters/person-2.jpg"]
    # Named: the name (escaped) and the automatic label; unnamed: the label.
    assert "<strong>김 &lt;철수&gt;</strong> <span class=\"label\">(Person 1)</span>" in facts_page
    assert "<strong>Person 2</strong><br>" in facts_page
    assert "3 appearances, first seen" in facts_page and "1 appearance, first seen" in facts_page
    assert "0:00:04.0" in facts_page and "0:00:16.0" in facts_page
    assert facts_page.index("<h2>Characters</h2>") < facts_page.index("<h2>Shots</h2>")


def test_no_vision_sections_without_facts(page, parsed):
    assert "Characters" not in page and "Not analysed" not in page
    assert parsed.with_class("box") == [] and parsed.with_class("seen") == []


def test_face_box_is_placed_in_percent_of_the_keyframe(facts_parsed):
    # 1920x1080 video, keyframes written 1280x720: the box is in keyframe pixels.
    timeline = sample_timeline()
    timeline.media.width, timeline.media.height = 1920, 1080
    parsed = parse(render_report(timeline, sample_facts()))
    faces = [b for b in boxes_on(parsed, "keyframes/shot0000_1.jpg") if "face" in b["class"].split()]
    assert len(faces) == 1
    assert box_percents(faces[0]) == pytest.approx((25.0, 25.0, 10.0, 10.0))
    assert faces[0]["title"] == "김 <철수> · happy"
    # A box partly outside the picture is clipped to it: x -10..90 and y 700..800 on 1280x720.
    (clipped,) = boxes_on(parsed, "keyframes/shot0001_2.jpg")[:1]
    assert "face" in clipped["class"].split() and clipped["title"] == "Person 2"
    assert box_percents(clipped) == pytest.approx((0.0, 97.22, 7.03, 2.78), abs=0.01)
    # On a 1280x720 video the keyframes are not scaled: the same box is the same share of them.
    assert box_percents([b for b in boxes_on(facts_parsed, "keyframes/shot0000_1.jpg")
                         if "face" in b["class"].split()][0]) == pytest.approx((25.0, 25.0, 10.0, 10.0))


def test_boxes_are_drawn_on_their_own_keyframe(facts_parsed):
    shot0 = boxes_on(facts_parsed, "keyframes/shot0000_1.jpg")
    kinds = {b["class"]: b for b in shot0}
    assert set(kinds) == {"box face", "box object", "box text"}  # the subtitle gets no box
    assert kinds["box object"]["title"] == "cup 71%"
    assert box_percents(kinds["box object"]) == pytest.approx((50.0, 50.0, 5.0, 5.0))
    assert kinds["box text"]["title"] == SIGN
    assert [b["title"] for b in boxes_on(facts_parsed, "keyframes/shot0001_1.jpg")] == ["chair 55%"]
    assert boxes_on(facts_parsed, "keyframes/shot0002_1.jpg") == []


def test_cards_list_what_was_seen_in_their_shot(facts_parsed):
    cards = facts_parsed.card_text
    assert f"scene {SIGN} (88%)" in cards["shot-0"]
    assert f"subtitle {SUBTITLE} (93%)" in cards["shot-0"]
    assert SIGN not in cards["shot-1"] and SUBTITLE not in cards["shot-1"]
    assert "김 <철수>: happy (82%), age 34 (61%), male (90%)" in cards["shot-0"]
    assert "cup (71%)" in cards["shot-0"] and "espresso (40%)" in cards["shot-0"]
    # Objects merge over keyframes at their best confidence; a face without attributes is just named.
    assert "chair (65%) ×2" in cards["shot-1"] and "cup" not in cards["shot-1"]
    assert "0:00:16.0 Person 2" in cards["shot-1"] and "No text." in cards["shot-1"]
    assert "No scene tags." in cards["shot-1"]
    face_links = [a["href"] for t, a in facts_parsed.elements if t == "a" and a.get("href", "").startswith("#char")]
    assert face_links == ["#character-person-1", "#character-person-2"]


def test_text_read_on_screen_is_escaped(facts_page):
    assert "<script" not in facts_page and "<i>" not in facts_page and "<철수>" not in facts_page
    assert "&lt;script&gt;alert(&#x27;sign&#x27;)&lt;/script&gt; 카페 &amp; 바" in facts_page
    assert "<th>vision faces</th><td>dlib &lt;20&gt;</td>" in facts_page


def test_unanalysed_shots_say_so(facts_parsed):
    cards = facts_parsed.card_text
    assert "Not analysed" in cards["shot-2"]
    assert "Not analysed" not in cards["shot-0"] and "Not analysed" not in cards["shot-1"]
    assert len(facts_parsed.with_class("seen")) == 2


def test_thumbnails_are_bigger_with_boxes_on_them(facts_parsed):
    thumbs = [a for t, a in facts_parsed.elements if t == "img" and a["src"].startswith("keyframes/")]
    assert len(thumbs) == 4 and {(a["width"], a["height"]) for a in thumbs} == {("320", "180")}
