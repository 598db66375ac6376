"""`videodesc dataset import`: AD subtitle files, CSV annotations and description tracks to JSON Lines."""

from __future__ import annotations

import codecs
import random
import subprocess
import sys
from pathlib import Path

import pytest

from videodesc.dataset.importers import import_file
from videodesc.dataset.jsonl import read_items
from videodesc.errors import InputError
from videodesc.records import DatasetItem

# A Korean AD subtitle file: descriptions in braces between the dialogue lines. The line numbers
# (of each cue's number) are what the items' sources must name.
KOREAN_AD_SRT = (
    "1\n00:00:01,000 --> 00:00:02,000\n안녕하세요.\n\n"  # line 1
    "2\n00:00:02,500 --> 00:00:03,500\n어디 가?\n\n"  # line 5
    "3\n00:00:04,000 --> 00:00:05,000\n<i>집에 가.</i>\n\n"  # line 9
    "4\n00:00:05,000 --> 00:00:07,000\n{민수가 문을 열고 들어온다.}\n\n"  # line 13
    "5\n00:00:06,500 --> 00:00:08,000\n누구야?\n\n"  # line 17: spoken during the description
    "6\n00:00:07,000 --> 00:00:08,500\n- 나야.\n- 왜 왔어?\n\n"  # line 21
    "7\n00:00:09,000 --> 00:00:10,000\n{\\an8}{지수가 창밖을 본다.} 비가 오네.\n\n"  # line 26
    "8\n00:00:11,000 --> 00:00:12,000\n고마워.\n\n"  # line 30
    "9\n00:00:12,000 --> 00:00:13,000\n{눈이 내린다.}\n{민수가 웃는다.}\n\n"  # line 34
    "10\n00:00:14,000 --> 00:00:15,000\n잘 자.\n"  # line 39
)


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def test_korean_ad_srt_in_cp949(tmp_path):
    data = KOREAN_AD_SRT.encode("cp949")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # so it is the CP949 fallback that reads it
    path = tmp_path / "drama01.srt"
    path.write_bytes(data)

    items = import_file(path)

    assert items == [
        DatasetItem(5.0, 7.0, "민수가 문을 열고 들어온다.", "ko", "drama01.srt:13",
                    dialogue_before=["어디 가?", "집에 가."],  # the two nearest, oldest first
                    # "누구야?" starts during the description: neither before nor after it
                    dialogue_after=["- 나야. - 왜 왔어?", "비가 오네."]),
        # The dialogue of the description's own cue is neither before nor after it.
        DatasetItem(9.0, 10.0, "지수가 창밖을 본다.", "ko", "drama01.srt:26",
                    dialogue_before=["누구야?", "- 나야. - 왜 왔어?"], dialogue_after=["고마워.", "잘 자."]),
        # Two brace groups in one cue are one moment.
        DatasetItem(12.0, 13.0, "눈이 내린다. 민수가 웃는다.", "ko", "drama01.srt:34",
                    dialogue_before=["비가 오네.", "고마워."], dialogue_after=["잘 자."]),
    ]


def test_context_lines_and_given_language_and_video(tmp_path):
    path = write(tmp_path, "drama01.srt", KOREAN_AD_SRT, "cp949")

    one = import_file(path, context_lines=1, language="en", video=Path("/videos/drama01.mp4"))
    none = import_file(path, context_lines=0)

    assert [(i.dialogue_before, i.dialogue_after) for i in one] == [
        (["집에 가."], ["- 나야. - 왜 왔어?"]), (["- 나야. - 왜 왔어?"], ["고마워."]), (["고마워."], ["잘 자."])]
    assert {i.language for i in one} == {"en"}
    assert {i.video for i in one} == {"/videos/drama01.mp4"}
    assert all(i.dialogue_before == [] and i.dialogue_after == [] for i in none)
    assert {i.video for i in none} == {None}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
def test_ad_webvtt_in_other_encodings(tmp_path, encoding):
    path = write(tmp_path, "ad.vtt", "WEBVTT\n\nc1\n00:01.000 --> 00:02.000\n누구세요?\n\n"
                                     "00:02.000 --> 00:03.500\n{현관문이 열린다.}\n", encoding)
    assert import_file(path) == [DatasetItem(2.0, 3.5, "현관문이 열린다.", "ko", "ad.vtt:7",
                                             dialogue_before=["누구세요?"])]


ENGLISH_CSV = (
    "Movie,Start Time,END,Caption,speaker\n"
    "tt0001,00:01:02.500,63.25,He opens the door.,AD\n"
    'tt0001,1.5,3,"She smiles,\nthen turns away.",AD\n'  # a quoted cell over two lines
    "\n"
    "tt0002,2,00:00:04,Rain falls on the roof.,AD\n"  # overlaps tt0001's second row: another film
    "tt0001,01:04,1:05.5,A car pulls up.,AD\n"
)


def test_csv_with_aliases_time_forms_and_a_video_column(tmp_path):
    path = write(tmp_path, "mad.csv", ENGLISH_CSV, "utf-8-sig")

    items = import_file(path)

    assert items == [
        DatasetItem(1.5, 3.0, "She smiles, then turns away.", "en", "mad.csv:3", video="tt0001"),
        DatasetItem(62.5, 63.25, "He opens the door.", "en", "mad.csv:2", video="tt0001"),
        DatasetItem(64.0, 65.5, "A car pulls up.", "en", "mad.csv:7", video="tt0001"),
        DatasetItem(2.0, 4.0, "Rain falls on the roof.", "en", "mad.csv:6", video="tt0002"),
    ]


def test_csv_tab_separated_korean_in_utf16_and_clock_with_comma(tmp_path):
    path = write(tmp_path, "ad.tsv", "begin\tstop\tdescription\n"
                                     "00:00:01,250\t2\t민수가 웃는다.\n"
                                     "1:00:00\t1:00:01.5\t지수가 TV를 켠다.\n", "utf-16")
    assert import_file(path) == [DatasetItem(1.25, 2.0, "민수가 웃는다.", "ko", "ad.tsv:2"),
                                 DatasetItem(3600.0, 3601.5, "지수가 TV를 켠다.", "ko", "ad.tsv:3")]


def test_csv_in_cp949_without_video_column_takes_the_given_video(tmp_path):
    path = write(tmp_path, "ad.csv", "start,end,text\n1,2,문이 닫힌다.\n2,3.5,불이 꺼진다.\n", "cp949")
    assert import_file(path, video="ep1.mp4") == [  # descriptions that only touch do not overlap
        DatasetItem(1.0, 2.0, "문이 닫힌다.", "ko", "ad.csv:2", video="ep1.mp4"),
        DatasetItem(2.0, 3.5, "불이 꺼진다.", "ko", "ad.csv:3", video="ep1.mp4")]


@pytest.mark.parametrize("text, language", [
    ("민수가 Samsung 휴대폰을 본다.", "ko"),  # Korean with an English name
    ("The sign reads 서울역.", "en"),  # English quoting a Korean word
    ("A car pulls up.", "en"),
])
def test_language_is_detected_from_the_descriptions(tmp_path, text, language):
    path = write(tmp_path, "ad.csv", f"start,end,text\n1,2,{text}\n")
    assert import_file(path)[0].language == language


def test_csv_naming_videos_refuses_a_given_video(tmp_path):
    path = write(tmp_path, "mad.csv", ENGLISH_CSV)
    with pytest.raises(InputError, match="names its videos in a column"):
        import_file(path, video="film.mp4")


DESCRIPTION_TRACK = (
    "WEBVTT\n"
    "Kind: descriptions\n"
    "Language: en\n"
    "\n"
    "NOTE written by a describer\n"
    "\n"
    "intro\n"  # line 7
    "00:00:01.000 --> 00:00:03.000\n"
    "A man in a grey coat walks in.\n"
    "\n"
    "00:05.500 --> 00:07.000 align:start\n"  # line 11
    "<v Narrator>She turns away.</v>\n"
)


def test_webvtt_description_track(tmp_path):
    path = write(tmp_path, "track.vtt", DESCRIPTION_TRACK)
    assert import_file(path, descriptions_only=True) == [
        DatasetItem(1.0, 3.0, "A man in a grey coat walks in.", "en", "track.vtt:7"),
        DatasetItem(5.5, 7.0, "She turns away.", "en", "track.vtt:11"),
    ]


def test_descriptions_flag_does_not_turn_dialogue_of_an_ad_file_into_descriptions(tmp_path):
    path = write(tmp_path, "drama01.srt", KOREAN_AD_SRT)
    assert import_file(path, descriptions_only=True) == import_file(path)


@pytest.mark.parametrize("name, text", [("track.vtt", DESCRIPTION_TRACK),
                                        ("dialogue.srt", "1\n00:00:01,000 --> 00:00:02,000\nHello.\n")])
def test_subtitles_without_braces_need_the_descriptions_option(tmp_path, name, text):
    path = write(tmp_path, name, text)
    with pytest.raises(InputError) as caught:
        import_file(path)
    message = str(caught.value)
    assert str(path) in message and "no description lines" in message and "--descriptions" in message
    assert "\n" not in message


# name -> (file name, content, import_file options, what the message must hold; PATH is the file)
BAD_FILES = {
    "csv unparsable time": ("a.csv", "start,end,text\n1,2,a\nsoon,5,b\n", {}, ["PATH:3", "bad start time 'soon'"]),
    "csv bad clock": ("a.csv", "start,end,text\n00:01:75,00:01:80,a\n", {}, ["PATH:2", "bad start time"]),
    "csv negative time": ("a.csv", "start,end,text\n1,2,a\n-1.5,2,b\n", {}, ["PATH:3", "negative start time"]),
    "csv no end time": ("a.csv", "start,end,text\n1,,a\n", {}, ["PATH:2", "no end time"]),
    "csv end equals start": ("a.csv", "start,end,text\n1,2,a\n00:00:03,3,b\n", {},
                             ["PATH:3", "not after its start 00:00:03.000"]),
    "csv end before start": ("a.csv", "start,end,text\n5,4,a\n", {}, ["PATH:2", "bad times"]),
    "csv overlap": ("a.csv", "start,end,text\n1,3,a\n5,6,b\n2.5,4,c\n", {}, ["PATH:4", "line 2", "overlaps"]),
    "csv overlap within one video": ("a.csv", "film,start,end,text\nx,1,3,a\ny,2,3,b\nx,2,4,c\n", {},
                                     ["PATH:4", "line 2"]),
    "csv empty text": ("a.csv", "start,end,text\n1,2,a\n3,4,  \n", {}, ["PATH:3", "empty description text"]),
    "csv short row": ("a.csv", "start,end,text\n1,2\n", {}, ["PATH:2", "empty description text"]),
    "csv empty video cell": ("a.csv", "movie,start,end,text\nm1,1,2,a\n,3,4,b\n", {},
                             ["PATH:3", "video column is empty"]),
    "csv missing column": ("a.csv", "\n\nstart,text\n1,a\n", {}, ["PATH:3", "no end column", "stop"]),
    "csv missing columns": ("a.csv", "start,words\n1,a\n", {}, ["PATH:1", "no end or text column"]),
    "not csv at all": ("a.csv", "just some prose\nand more\n", {}, ["PATH:1", "neither subtitles", "CSV header"]),
    "csv bad row after a two-line cell": ("a.csv", 'start,end,text\n1,2,"two\nlines"\n3,x,b\n', {},
                                          ["PATH:4", "bad end time 'x'"]),
    "csv unclosed quote": ("a.csv", 'start,end,text\n1,2,"open\n3,4,b\n', {}, ["PATH:2", "not valid CSV"]),
    "csv header only": ("a.csv", "start,end,text\n", {}, ["PATH holds no descriptions"]),
    "empty csv": ("a.csv", "", {}, ["PATH is empty"]),
    "blank srt": ("a.srt", " \n\n", {}, ["PATH is empty"]),
    "srt overlapping descriptions": ("a.srt", "1\n00:00:01,000 --> 00:00:03,000\n{문이 열린다.}\n\n"
                                              "2\n00:00:02,000 --> 00:00:02,500\n누구야?\n\n"
                                              "3\n00:00:02,500 --> 00:00:04,000\n{민수가 들어온다.}\n", {},
                                     ["PATH:9", "line 1", "00:00:01.000-00:00:03.000"]),
    "srt zero-length description": ("a.srt", "1\n00:00:01,000 --> 00:00:02,000\n안녕.\n\n"
                                             "2\n00:00:03,000 --> 00:00:03,000\n{문이 열린다.}\n", {},
                                    ["PATH:5", "bad times"]),
    "srt ends before it starts": ("a.srt", "1\n00:00:01,000 --> 00:00:02,000\n{문이 열린다.}\n\n"
                                           "2\n00:00:04,000 --> 00:00:03,000\n{닫힌다.}\n", {},
                                  ["subtitle file PATH, line 5 (cue 2)", "ends before it starts"]),
    "srt unparsable time": ("a.srt", "1\n00:00:01,000 --> 00:00:02,000\n{a}\n\n"
                                     "2\n00:0x:03,000 --> 00:00:04,000\n{b}\n", {},
                            ["PATH:1", "bad cue timings '00:0x:03,000 --> 00:00:04,000'"]),
    "srt garbage before the first cue": ("a.srt", "hello\n\n1\n00:00:01,000 --> 00:00:02,000\n{a}\n", {},
                                         ["subtitle file PATH, line 1"]),
    "vtt track overlapping cues": ("a.vtt", "WEBVTT\n\n00:01.000 --> 00:03.000\nA door opens.\n\n"
                                            "00:02.000 --> 00:04.000\nA man enters.\n", {"descriptions_only": True},
                                   ["PATH:6", "line 3"]),
    "vtt track empty of text": ("a.vtt", "WEBVTT\n\n00:01.000 --> 00:03.000\n<i> </i>\n",
                                {"descriptions_only": True}, ["PATH holds no descriptions"]),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_malformed_files_give_one_line_naming_file_and_line(tmp_path, case):
    name, text, options, expected = BAD_FILES[case]
    path = write(tmp_path, name, text)
    with pytest.raises(InputError) as caught:
        import_file(path, **options)
    message = str(caught.value)
    for part in expected:
        assert part.replace("PATH", str(path)) in message
    assert "\n" not in message


@pytest.mark.parametrize("data", [random.Random(0).randbytes(2048), b"\x89PNG\r\n\x1a\n" + bytes(64),
                                  codecs.BOM_UTF16_LE + b"\x00\xd8\x41"])
def test_unknown_encoding_is_refused_naming_the_file(tmp_path, data):
    path = tmp_path / "ad.csv"
    path.write_bytes(data)
    with pytest.raises(InputError, match="not text in any encoding tried") as caught:
        import_file(path)
    assert str(path) in str(caught.value)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        import_file(tmp_path / "nowhere.csv")
    with pytest.raises(InputError, match="is a folder"):
        import_file(tmp_path)


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "videodesc", "dataset", "import", *args],
                          capture_output=True, text=True)


def test_cli_writes_a_dataset_read_items_reads_back(tmp_path):
    srt = write(tmp_path, "drama01.srt", KOREAN_AD_SRT, "cp949")
    csv_file = write(tmp_path, "mad.csv", ENGLISH_CSV)
    track = write(tmp_path, "track.vtt", DESCRIPTION_TRACK)
    out = tmp_path / "data" / "train.jsonl"

    proc = run(str(srt), str(csv_file), str(track), "-o", str(out), "--descriptions", "--context", "1")

    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == f"9 items from 3 files (en 6, ko 3): {out}"
    expected = (import_file(srt, context_lines=1) + import_file(csv_file)
                + import_file(track, descriptions_only=True))
    assert read_items(out) == expected
    assert read_items(out)[0].dialogue_before == ["집에 가."]


def test_cli_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path):
    good = write(tmp_path, "good.csv", "start,end,text\n1,2,A door opens.\n")
    bad = write(tmp_path, "bad.csv", "start,end,text\n1,2,a\n3,2,b\n")
    out = tmp_path / "out.jsonl"

    proc = run(str(good), str(bad), "-o", str(out))

    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [f"videodesc: error: {bad}:3: bad times: the description ends at "
                                        "00:00:02.000, not after its start 00:00:03.000"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "good.csv"]  # no output, no temp file


def test_cli_refuses_a_folder_as_output_and_a_negative_context(tmp_path):
    good = write(tmp_path, "good.csv", "start,end,text\n1,2,A door opens.\n")
    folder = tmp_path / "keep"
    folder.mkdir()
    (folder / "precious.txt").write_text("x")

    as_folder = run(str(good), "-o", str(folder))
    negative = run(str(good), "-o", str(tmp_path / "out.jsonl"), "--context", "-1")

    assert as_folder.returncode == 2 and "is a folder" in as_folder.stderr
    assert (folder / "precious.txt").read_text() == "x"
    assert negative.returncode == 2 and "--context must not be negative" in negative.stderr
    assert not (tmp_path / "out.jsonl").exists()
