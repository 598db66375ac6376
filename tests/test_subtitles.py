"""Subtitle import (SRT and WebVTT, Korean encodings, `{...}` descriptions) and SRT/WebVTT output."""

from __future__ import annotations

import codecs
import random
from pathlib import Path

import pytest

from videodesc.errors import InputError
from videodesc.output.subtitle_files import to_srt, to_vtt
from videodesc.records import ReferenceDescription, Utterance
from videodesc.speech.subtitles import read_subtitles

KOREAN_SRT = ("1\n00:00:00,500 --> 00:00:02,000\n안녕하세요.\n\n"
              "2\n00:01:02,345 --> 00:01:04,100\n오늘 날씨가\n정말 좋네요.\n\n"
              "3\n01:00:00,001 --> 01:00:03,999\n잘 지냈어?\n")
KOREAN_DIALOGUE = [(0.5, 2.0, "안녕하세요."), (62.345, 64.1, "오늘 날씨가 정말 좋네요."),
                   (3600.001, 3603.999, "잘 지냈어?")]


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def dialogue(utterances: list[Utterance]) -> list[tuple[float, float, str]]:
    return [(u.start, u.end, u.text) for u in utterances]


def texts(path: Path) -> list[str]:
    return [u.text for u in read_subtitles(path)[0]]


@pytest.mark.parametrize("encoding", ["cp949", "utf-8", "utf-8-sig", "utf-16", "utf-16-be-bom", "crlf-cp949"])
def test_korean_srt_in_every_supported_encoding(tmp_path, encoding):
    text = KOREAN_SRT
    if encoding == "utf-16-be-bom":
        data = codecs.BOM_UTF16_BE + text.encode("utf-16-be")
    elif encoding == "crlf-cp949":
        data = text.replace("\n", "\r\n").encode("cp949")
    else:
        data = text.encode(encoding)
    path = tmp_path / "drama.srt"
    path.write_bytes(data)

    utterances, references = read_subtitles(path)

    assert dialogue(utterances) == KOREAN_DIALOGUE
    assert all(u.source == "subtitle" and u.words == [] for u in utterances)
    assert references == []


def test_cp949_file_is_not_utf8_so_the_fallback_is_what_reads_it(tmp_path):
    data = KOREAN_SRT.encode("cp949")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    path = tmp_path / "drama.srt"
    path.write_bytes(data)
    assert texts(path)[0] == "안녕하세요."


def test_korean_webvtt_in_cp949(tmp_path):
    path = write(tmp_path, "drama.vtt", "WEBVTT\n\n00:01.000 --> 00:02.500\n밥 먹었어?\n", "cp949")
    assert dialogue(read_subtitles(path)[0]) == [(1.0, 2.5, "밥 먹었어?")]


def test_braced_lines_are_reference_descriptions_not_dialogue(tmp_path):
    path = write(tmp_path, "ad.srt",
                 "1\n00:00:01,000 --> 00:00:02,000\n안녕하세요.\n\n"
                 "2\n00:00:03,000 --> 00:00:04,500\n{민수가 문을 열고 들어온다.}\n\n"
                 "3\n00:00:05,000 --> 00:00:07,000\n{지수가 웃는다.}\n고마워.\n\n"
                 "4\n00:00:08,000 --> 00:00:09,000\n{\\an8}위를 봐!\n\n"
                 "5\n00:00:10,000 --> 00:00:12,000\n{\\an8}{창밖으로\n눈이 내린다.}\n", "cp949")

    utterances, references = read_subtitles(path)

    assert dialogue(utterances) == [(1.0, 2.0, "안녕하세요."), (5.0, 7.0, "고마워."), (8.0, 9.0, "위를 봐!")]
    assert references == [
        ReferenceDescription(3.0, 4.5, "민수가 문을 열고 들어온다.", source="ad.srt"),
        ReferenceDescription(5.0, 7.0, "지수가 웃는다.", source="ad.srt"),
        ReferenceDescription(10.0, 12.0, "창밖으로 눈이 내린다.", source="ad.srt"),
    ]


def test_braced_descriptions_in_webvtt(tmp_path):
    path = write(tmp_path, "ad.vtt", "WEBVTT\n\n00:03.000 --> 00:04.000\n<i>{문이 닫힌다.}</i>\n누구야?\n")
    utterances, references = read_subtitles(path)
    assert dialogue(utterances) == [(3.0, 4.0, "누구야?")]
    assert references == [ReferenceDescription(3.0, 4.0, "문이 닫힌다.", source="ad.vtt")]


@pytest.mark.parametrize("cue_text, expected", [
    ("<i>Italic</i> and <b>bold</b>", "Italic and bold"),
    ('<font color="#ffff00">노란</font> <FONT face="Arial">글씨</FONT>', "노란 글씨"),
    ("{\\i1}기울임{\\i0} 글씨", "기울임 글씨"),
    ("Tom &amp; Jerry &lt;3&gt;&nbsp;&nbsp;forever", "Tom & Jerry <3> forever"),
    ("&lt;i&gt; is a tag", "<i> is a tag"),
    ("I <3 you", "I <3 you"),
    ("  first line  \n\tsecond   line ", "first line second line"),
    ("- 어디 가?\n- 집에.", "- 어디 가? - 집에."),  # dialogue dashes are kept
])
def test_srt_markup_is_stripped(tmp_path, cue_text, expected):
    path = write(tmp_path, "markup.srt", f"1\n00:00:01,000 --> 00:00:02,000\n{cue_text}\n")
    assert texts(path) == [expected]


@pytest.mark.parametrize("cue_text, expected", [
    ("<v Roger Bingham>We are in New York City", "We are in New York City"),
    ("<v.loud Esme>Run!</v>", "Run!"),
    ("<c.yellow.bg_blue>노란</c> 글씨", "노란 글씨"),
    ("<ruby>漢字<rt>かんじ</rt></ruby>를 읽다", "漢字를 읽다"),
    ("<00:00:01.000>one <00:00:01.500>two", "one two"),
    ("<lang en>Hello</lang> &amp; <u>bye</u>", "Hello & bye"),
])
def test_webvtt_markup_is_stripped(tmp_path, cue_text, expected):
    path = write(tmp_path, "markup.vtt", f"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n{cue_text}\n")
    assert texts(path) == [expected]


def test_webvtt_header_notes_styles_ids_and_settings(tmp_path):
    path = write(tmp_path, "full.vtt", (
        "WEBVTT - 드라마 1화\n"
        "Kind: captions\n"
        "Language: ko\n"
        "\n"
        "NOTE 이 줄은 주석이다\n"
        "두 줄에 걸쳐서\n"
        "\n"
        "STYLE\n"
        "::cue { color: yellow }\n"
        "\n"
        "REGION\n"
        "id:top width:40%\n"
        "\n"
        "intro\n"
        "00:01.000 --> 00:02.500 align:start position:10%\n"
        "첫 줄\n"
        "\n"
        "00:00:03.000 --> 00:00:04.000 line:0\n"
        "둘째 줄\n"
        "\n"
        "NOTE 중간 주석\n"
        "\n"
        "cue-3\n"
        "01:00:00.000 --> 01:00:01.250\n"
        "셋째 줄\n"
        "\n"
        "NOTE 끝\n"))

    utterances, references = read_subtitles(path)

    assert dialogue(utterances) == [(1.0, 2.5, "첫 줄"), (3.0, 4.0, "둘째 줄"), (3600.0, 3601.25, "셋째 줄")]
    assert references == []  # the braces of the STYLE block are not descriptions


def test_webvtt_bare_header_and_cues_without_blank_lines(tmp_path):
    path = write(tmp_path, "tight.vtt", "WEBVTT\n00:01.000 --> 00:02.000\n하나\n00:03.000 --> 00:04.000\n둘\n")
    assert dialogue(read_subtitles(path)[0]) == [(1.0, 2.0, "하나"), (3.0, 4.0, "둘")]


def test_format_is_decided_by_content_not_extension(tmp_path):
    vtt_named_srt = write(tmp_path, "really_vtt.srt", "WEBVTT\n\n00:01.000 --> 00:02.000\n하나\n")
    srt_named_txt = write(tmp_path, "really_srt.txt", "1\n00:00:01,000 --> 00:00:02,000\n하나\n")
    assert dialogue(read_subtitles(vtt_named_srt)[0]) == [(1.0, 2.0, "하나")]
    assert dialogue(read_subtitles(srt_named_txt)[0]) == [(1.0, 2.0, "하나")]


def test_empty_cues_are_skipped_and_cues_sorted_by_start(tmp_path):
    path = write(tmp_path, "order.srt",
                 "1\n00:00:05,000 --> 00:00:06,000\n나중\n\n"
                 "2\n00:00:02,000 --> 00:00:03,000\n<i> </i>\n\n"
                 "3\n00:00:01,000 --> 00:00:02,000\n먼저\n")
    assert dialogue(read_subtitles(path)[0]) == [(1.0, 2.0, "먼저"), (5.0, 6.0, "나중")]


ROUND_TRIP = [
    Utterance(0.5, 2.0, "안녕하세요.", "subtitle"),
    Utterance(62.345, 64.1, "Tom & Jerry <3 you", "asr"),
    Utterance(3725.007, 3726.999, "- 어디 가? - 집에.", "subtitle"),
]


def test_to_srt_format():
    assert to_srt(ROUND_TRIP[:2]) == ("1\n00:00:00,500 --> 00:00:02,000\n안녕하세요.\n\n"
                                      "2\n00:01:02,345 --> 00:01:04,100\nTom & Jerry <3 you\n")


def test_to_vtt_format():
    assert to_vtt(ROUND_TRIP[1:]) == ("WEBVTT\n\n"
                                      "1\n00:01:02.345 --> 00:01:04.100\nTom &amp; Jerry &lt;3 you\n\n"
                                      "2\n01:02:05.007 --> 01:02:06.999\n- 어디 가? - 집에.\n")


def test_written_times_are_rounded_to_the_millisecond_and_text_kept_on_one_line():
    assert to_srt([Utterance(1.0004, 1.9996, "위\n\n아래", "asr")]) == "1\n00:00:01,000 --> 00:00:02,000\n위 아래\n"


@pytest.mark.parametrize("write_text, name", [(to_srt, "dialogue.srt"), (to_vtt, "dialogue.vtt")])
def test_round_trip(tmp_path, write_text, name):
    path = tmp_path / name
    path.write_text(write_text(ROUND_TRIP), encoding="utf-8")
    utterances, references = read_subtitles(path)
    assert dialogue(utterances) == dialogue(ROUND_TRIP)
    assert references == []


BAD_FILES = {
    "empty": ("a.srt", b"", "is empty"),
    "blank": ("a.srt", b"\n \r\n\t\n", "is empty"),
    "prose": ("a.srt", "그냥 글이다.\n자막이 아니다.\n".encode("utf-8"), "not an SRT or WebVTT file"),
    "srt end before start": ("a.srt", b"1\n00:00:01,000 --> 00:00:02,000\nok\n\n"
                             b"2\n00:00:04,000 --> 00:00:03,000\nbackwards\n", "cue 2"),
    "srt negative time": ("a.srt", b"1\n-00:00:01,000 --> 00:00:02,000\nx\n", "line 1"),
    "srt absurd hours": ("a.srt", b"1\n99999999999999999:00:01,000 --> 00:00:02,000\nx\n", "bad SRT timestamp"),
    "srt garbage before first cue": ("a.srt", b"\nhello\n\n1\n00:00:01,000 --> 00:00:02,000\nx\n", "line 2"),
    "vtt end before start": ("a.vtt", b"WEBVTT\n\n00:05.000 --> 00:04.000\nx\n", "line 3"),
    "vtt negative time": ("a.vtt", b"WEBVTT\n\nid\n-00:01.000 --> 00:02.000\nx\n", "line 4"),
    "vtt bad seconds": ("a.vtt", b"WEBVTT\n\n00:00:61.000 --> 00:01:02.000\nx\n", "line 3"),
    "vtt stray block": ("a.vtt", b"WEBVTT\n\n00:01.000 --> 00:02.000\nx\n\nstray text\n", "line 6"),
    "vtt without cues": ("a.vtt", b"WEBVTT\n\nNOTE nothing here\n", "no subtitle cues"),
    "vtt without header": ("a.vtt", b"00:01.000 --> 00:02.000\nx\n", "WEBVTT"),
    "random binary": ("a.srt", random.Random(0).randbytes(4096), "utf-8-sig, cp949"),
    "png": ("a.srt", b"\x89PNG\r\n\x1a\n" + bytes(64), "not text"),
    "utf-16 without bom": ("a.srt", "1\n00:00:01,000 --> 00:00:02,000\nhi\n".encode("utf-16-le"), "not text"),
    "bad utf-16": ("a.srt", codecs.BOM_UTF16_LE + b"\x00\xd8\x41", "utf-16"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_files_raise_input_error_naming_the_file(tmp_path, case):
    name, data, expected = BAD_FILES[case]
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InputError) as caught:
        read_subtitles(path)
    message = str(caught.value)
    assert str(path) in message
    assert expected in message
    assert "\n" not in message


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(InputError, match="does not exist") as caught:
        read_subtitles(tmp_path / "nowhere.srt")
    assert "nowhere.srt" in str(caught.value)
    with pytest.raises(InputError, match="is a folder") as caught:
        read_subtitles(tmp_path)
    assert str(tmp_path) in str(caught.value)
