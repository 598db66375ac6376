"""`videodesc evaluate`: metric values worked out by hand, matching by time, the reference-free
checks on scripts and time lines built here with known answers, and the command's table, JSON,
comparison and errors."""

from __future__ import annotations

import json
import math
import unicodedata
from pathlib import Path

import pytest

from conftest import ffmpeg
from videodesc.cli.main import main
from videodesc.dataset.jsonl import write_items
from videodesc.evaluation.checks import check, pace, repetitions, speech_overlap
from videodesc.evaluation.evaluate import evaluate_all
from videodesc.evaluation.inputs import load_system
from videodesc.evaluation.match import match
from videodesc.evaluation.text_metrics import bleu, chrf, cider_d, embedding_similarity, rouge_l
from videodesc.evaluation.tokenize import tokens
from videodesc.records import (Candidate, Cue, DatasetItem, Media, ReferenceDescription, Script, Span, Timeline,
                               dumps)
from videodesc.write.embed import Embedder
from videodesc.write.style import problems

MEDIA = Media(path="/videos/drama01.mp4", duration=120.0, fps=25.0, width=640, height=360, video_codec="h264",
              audio_streams=[], size_bytes=1, content_hash="0")


def cue(start: float, end: float, text: str, spoken: float | None = None, lang: str = "ko") -> Cue:
    return Cue(start=start, end=end, text=text, lang=lang, slot=0, shots=[], candidates=[Candidate(text, "template")],
               chosen=0, spoken_duration=spoken)


def output_folder(folder: Path, cues: list[Cue], language: str = "ko", speech: list[tuple[float, float]] = (),
                  provenance: dict | None = None, references: list[ReferenceDescription] = (),
                  timeline: bool = True) -> Path:
    """An output folder as `write` leaves it: script.json and timeline.json."""
    folder.mkdir(parents=True, exist_ok=True)
    script = Script(media=MEDIA, language=language, characters=[], cues=cues, provenance=provenance or {})
    (folder / "script.json").write_text(dumps(script), encoding="utf-8")
    if timeline:
        (folder / "timeline.json").write_text(dumps(Timeline(
            media=MEDIA, language=language, shots=[], utterances=[], speech_regions=[Span(*s) for s in speech],
            slots=[], references=list(references))), encoding="utf-8")
    return folder / "script.json"


def item(start: float, end: float, text: str, language: str = "ko", video: str | None = None) -> DatasetItem:
    return DatasetItem(start=start, end=end, reference=text, language=language, source=f"refs:{int(start)}",
                       video=video)


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


# --- tokenization -------------------------------------------------------------------------------

def test_korean_is_split_into_eojeol_with_punctuation_apart():
    assert tokens("지우가 문을 연다.") == ["지우가", "문을", "연다", "."]
    # A closing quote before a particle is punctuation, not part of a word.
    assert tokens("“3년 후”라는 자막이 뜬다.") == ["“", "3년", "후", "”", "라는", "자막이", "뜬다", "."]
    assert tokens("‘OPEN’이라는 간판", punctuation=False) == ["open", "이라는", "간판"]
    # Decomposed Hangul (as some subtitle files hold it) is the same word as composed Hangul.
    assert tokens(unicodedata.normalize("NFD", "지우가 웃는다")) == ["지우가", "웃는다"]


def test_english_keeps_names_and_possessives_whole_and_folds_case():
    assert tokens("Min-su's phone RINGS!") == ["min-su's", "phone", "rings", "!"]
    assert tokens("A cat... sits.", punctuation=False) == ["a", "cat", "sits"]


# --- text metrics -------------------------------------------------------------------------------

def test_bleu_and_chrf_of_identical_text_are_100():
    texts = ["지우가 문을 천천히 연다.", "A man opens the red door slowly."]
    assert bleu(texts, texts) == pytest.approx(100.0)
    assert chrf(texts, texts) == pytest.approx(100.0)


def test_bleu_of_one_changed_eojeol_by_hand():
    # Tokens: 지우가|지우는 문을 천천히 연다 . -- one of five differs, lengths equal (no brevity penalty).
    # Matched n-grams: 1-grams 4/5, 2-grams 3/4, 3-grams 2/3, 4-grams 1/2.
    # BLEU = (4/5 * 3/4 * 2/3 * 1/2) ** (1/4) = 0.2 ** 0.25 = 0.6687.
    assert bleu(["지우가 문을 천천히 연다."], ["지우는 문을 천천히 연다."]) == pytest.approx(100 * 0.2 ** 0.25, abs=0.01)


def test_an_unmatched_reference_counts_as_an_empty_hypothesis():
    # The empty hypothesis adds no n-grams (precisions stay 100%) but its reference's 4 tokens
    # to the reference length: hypothesis 4 tokens, references 8, brevity penalty exp(1 - 8/4).
    assert bleu(["a b c d", ""], ["a b c d", "e f g h"]) == pytest.approx(100 * math.exp(-1), abs=0.01)
    assert chrf(["a man walks", ""], ["a man walks", "rain falls"]) < chrf(["a man walks"], ["a man walks"])
    assert rouge_l([""], ["비가 내린다."]) == [0.0]


def test_rouge_l_by_longest_common_subsequence():
    # Reference: the man opens the red door (6 words); hypothesis: a man opens the door (5).
    # LCS = man opens the door (4): precision 4/5, recall 4/6, F = 2PR/(P+R) = 8/11.
    assert rouge_l(["a man opens the door"], ["the man opens the red door"]) == [pytest.approx(800 / 11)]
    # Korean by eojeol: 지우가|지우는 differ, 문을 연다 shared: P = R = 2/3. rouge-score's own
    # tokenizer would drop every Hangul letter and score 0.
    assert rouge_l(["지우가 문을 연다."], ["지우는 문을 연다."]) == [pytest.approx(200 / 3)]


def test_cider_d_on_a_tiny_corpus_by_hand():
    # Two references: "a man runs", "a man sits"; N = 2, so IDF = log 2 - log(df).
    # "a", "man", "a man" are in both (df 2): weight 0. Everything else: weight log 2 = L
    # (an n-gram in no reference has df taken as 1, so "woman" weighs L too).
    # Pair 1, identical: cosine 1 for 1-, 2- and 3-grams, no 4-grams (0); equal lengths, no
    #   penalty: 10 * mean(1, 1, 1, 0) = 7.5.
    # Pair 2, "a woman sits": 1-grams hyp {a:0, woman:L, sits:L}, ref {a:0, man:0, sits:L}:
    #   dot L^2 / (sqrt(2) L * L) = 1/sqrt(2); no shared 2- or 3-grams: 10 * (1/sqrt(2)) / 4 = 1.768.
    # Reported x 100.
    scores = cider_d(["a man runs", "a woman sits"], ["a man runs", "a man sits"])
    assert scores == [pytest.approx(750.0), pytest.approx(1000 / math.sqrt(2) / 4)]
    # With one reference every IDF weight is log 1 - log 1 = 0: CIDEr-D needs a corpus.
    assert cider_d(["a man runs"], ["a man runs"]) == [0.0]


def test_embedding_similarity_is_cosine_and_zero_for_unmatched(embedder):
    same, other, unmatched = embedding_similarity(
        ["지우가 문을 연다.", "비가 내린다.", ""], ["지우가 문을 연다.", "민준이 커피를 마신다.", "문이 열린다."], embedder)
    assert same == pytest.approx(1.0, abs=1e-4)
    assert 0.5 < other < 0.95
    assert unmatched == 0.0


# --- matching -----------------------------------------------------------------------------------

def test_each_reference_goes_to_the_cue_it_overlaps_most():
    cues = [(0.0, 4.0), (4.0, 10.0), (20.0, 22.0), (50.0, 52.0)]
    references = [
        (3.0, 8.0),    # 1 s with cue 0, 4 s with cue 1: cue 1
        (10.0, 12.0),  # touches cue 1 at 10.0 only: unmatched
        (21.0, 23.0),  # cue 2
        (20.5, 21.5),  # cue 2 again: two references may share a cue
        (1.0, 3.0),    # cue 0
    ]
    matching = match(references, cues)
    assert [pair.cue for pair in matching.pairs] == [1, None, 2, 2, 0]
    assert [pair.overlap for pair in matching.pairs] == [4.0, 0.0, 1.0, 1.0, 2.0]
    assert (matching.matched_references, matching.unmatched_references) == (4, 1)
    assert matching.unmatched_cues == [3] and matching.matched_cues == 3


def test_a_tie_goes_to_the_earlier_cue_and_no_cues_match_nothing():
    assert match([(2.0, 4.0)], [(1.0, 3.0), (3.0, 5.0)]).pairs[0].cue == 0
    empty = match([(2.0, 4.0)], [])
    assert empty.pairs[0].cue is None and empty.unmatched_cues == []


def test_extended_script_is_matched_in_programme_time(tmp_path):
    # Rendered with a 2 s pause at 10 s: a cue at 15-17 s of the output is at 13-15 s of the programme.
    path = output_folder(tmp_path / "out", [cue(15.0, 17.0, "지우가 문을 연다.", spoken=2.0)],
                         provenance={"extended_pauses": "[[10.0, 2.0]]"})
    assert load_system(path).spans == [(13.0, 15.0)]


# --- checks without references ------------------------------------------------------------------

def test_speech_overlap_uses_spoken_duration_when_rendered():
    speech = [(0.0, 5.0), (10.0, 20.0), (30.0, 40.0)]
    spans = [(5.0, 8.0),    # touches speech at 5.0: 0 s
             (18.0, 22.0),  # 2 s on speech
             (50.0, 53.0)]  # 0 s
    result = speech_overlap(spans, speech)
    assert (result.described_seconds, result.over_speech_seconds, result.cues_over_speech) == (10.0, 2.0, 1)
    assert result.share == pytest.approx(0.2)


def test_checks_on_a_built_script(tmp_path, embedder):
    cues = [
        cue(5.0, 8.0, "지우가 문을 연다."),
        cue(18.0, 22.0, "민준이 창밖을 본다."),
        # Planned to 35 s (5 s on the speech at 30-40 s), but spoken in 1.5 s: heard 28-29.5 s only.
        cue(28.0, 35.0, "지우가 문을 열었다.", spoken=1.5),
        cue(60.0, 62.0, "지우가 문을 연다."),  # says what the first cue said
        cue(70.0, 72.0, "남자가 문을 연다."),  # one word from the next: a contrast, not a repeat
        cue(80.0, 82.0, "여자가 문을 연다."),
        cue(90.0, 92.0, "민준이 전화를 받았다."),
        cue(100.0, 102.0, "지우가 웃어요."),
    ]
    path = output_folder(tmp_path / "out", cues, speech=[(0.0, 5.0), (10.0, 20.0), (30.0, 40.0)])
    result = check(load_system(path), embedder)
    assert result.descriptions == 8 and result.per_minute == pytest.approx(4.0)  # 8 cues in 2 minutes
    # Heard: 3 + 4 + 1.5 + 5 * 2 = 18.5 s, of which 2 s (18-20 s) on speech.
    assert result.speech.described_seconds == pytest.approx(18.5)
    assert result.speech.over_speech_seconds == pytest.approx(2.0)
    assert result.speech.share == pytest.approx(2.0 / 18.5)
    assert result.speech.cues_over_speech == 1
    # The write module's own test, pair by pair, finds the same pair.
    assert [(pair.first, pair.second) for pair in result.repeated] == [(0, 3)] == [
        (i, j) for i in range(8) for j in range(i + 1, 8) if embedder.near_duplicate(cues[i].text, cues[j].text)]
    assert result.repeated[0].similarity > 0.99
    # Two cues in the past tense, one with a polite ending; five follow every rule.
    past = problems("지우가 문을 열었다.", "ko")
    polite = problems("지우가 웃어요.", "ko")
    assert past == ["not present tense"] and len(polite) == 1 and polite != past
    assert result.style == {past[0]: 2, polite[0]: 1}
    assert result.cues_with_style_problems == 3
    assert result.loudness is None  # not rendered


def test_repetition_across_languages_follows_the_write_module(embedder):
    texts = ["지우가 문을 연다.", "Ji-woo opens the door.", "Ji-woo opens the front door.", "A man drinks coffee."]
    found = repetitions([cue(10.0 * n, 10.0 * n + 2, text) for n, text in enumerate(texts)], embedder)
    expected = [(i, j) for i in range(4) for j in range(i + 1, 4) if embedder.near_duplicate(texts[i], texts[j])]
    assert [(pair.first, pair.second) for pair in found] == expected
    # A translation is over the cross-lingual threshold (0.845 > 0.836), not the same-language one.
    assert (0, 1) in expected and (1, 2) in expected and (0, 3) not in expected


def test_pace_in_syllables_or_words_from_spoken_duration_when_there():
    # 민준이 웃는다 = 6 syllables spoken in 2 s (3/s); 지우가 문을 연다 = 7 syllables planned in 1 s.
    korean = pace([cue(0.0, 5.0, "민준이 웃는다.", spoken=2.0), cue(10.0, 11.0, "지우가 문을 연다.")], "ko")
    assert (korean.unit, korean.timing) == ("syllables/s", "mixed")
    assert korean.rate == pytest.approx(13 / 3) and korean.fastest == pytest.approx(7.0)
    english = pace([cue(0.0, 9.0, "A man opens the door.", spoken=2.0, lang="en")], "en")
    assert (english.unit, english.timing, english.rate) == ("words/s", "spoken", pytest.approx(2.5))


def test_loudness_of_the_rendered_mix(tmp_path, embedder):
    path = output_folder(tmp_path / "out", [cue(5.0, 8.0, "지우가 문을 연다.", spoken=2.0)])
    # A mono 997 Hz sine at amplitude 0.1 (-20 dBFS): -23.0 LUFS by BS.1770 (a full-scale sine
    # in one channel reads -3.0 LUFS), true peak -20 dBTP. Faded in and out: AAC overshoots an
    # abrupt onset by more than 1 dB.
    ffmpeg("-f", "lavfi", "-i", "aevalsrc=0.1*sin(2*PI*997*t):s=48000:d=10",
           "-af", "afade=t=in:d=0.5,afade=t=out:st=9.5:d=0.5", "-c:a", "aac", "-b:a", "128k",
           str(path.parent / "drama01.ad-mix.m4a"))
    loudness = check(load_system(path), embedder).loudness
    assert loudness.file == "drama01.ad-mix.m4a"
    assert loudness.integrated == pytest.approx(-23.0, abs=0.5)
    assert loudness.true_peak == pytest.approx(-20.0, abs=0.5)


def test_without_a_timeline_speech_is_not_measured(tmp_path, embedder):
    path = output_folder(tmp_path / "out", [cue(5.0, 8.0, "지우가 문을 연다.")], timeline=False)
    system = load_system(path)
    assert check(system, embedder).speech is None
    assert any("timeline.json" in note for note in system.notes)


def test_timeline_references_are_used_when_no_file_is_given(tmp_path):
    path = output_folder(tmp_path / "out", [cue(5.0, 8.0, "지우가 문을 연다.")],
                         references=[ReferenceDescription(5.5, 7.5, "지우가 문을 연다.", "drama01.srt")])
    references, (evaluation,) = evaluate_all([path])
    assert references.source.startswith("timeline.json")
    assert evaluation.reference.matched_references == 1
    assert evaluation.reference.scores.chrf == pytest.approx(100.0)


def test_references_of_other_videos_are_left_out(tmp_path):
    path = output_folder(tmp_path / "out", [cue(5.0, 8.0, "지우가 문을 연다.")])
    dataset = tmp_path / "refs.jsonl"
    write_items(dataset, [item(5.0, 8.0, "지우가 문을 연다.", video="/elsewhere/drama01.mp4"),
                          item(5.0, 8.0, "민준이 웃는다.", video="/videos/drama02.mp4"),
                          item(20.0, 22.0, "비가 내린다.")])  # names no video: taken as this one's
    _, (evaluation,) = evaluate_all([path], dataset)
    assert evaluation.reference.references == 2
    assert [pair.reference for pair in evaluation.reference.pairs] == ["지우가 문을 연다.", "비가 내린다."]
    assert any("1 of 3 references" in note and "other videos" in note for note in evaluation.notes)


# --- the command --------------------------------------------------------------------------------

SYSTEM_A = [cue(1.0, 3.0, "지우가 문을 천천히 연다."), cue(10.0, 12.0, "민준이 창밖을 본다."),
            cue(80.0, 82.0, "비가 내린다.")]
SYSTEM_B = [cue(1.0, 3.0, "지우가 문을 연다."), cue(10.0, 12.0, "민준이 창밖을 본다."),
            cue(20.0, 22.0, "지우가 웃는다."), cue(30.0, 32.0, "지우가 웃는다.")]
REFERENCES = [item(1.5, 3.5, "지우가 문을 천천히 연다."), item(9.0, 11.0, "민준이 창밖을 바라본다."),
              item(40.0, 42.0, "차가 떠난다.")]


@pytest.fixture
def folders(tmp_path) -> tuple[Path, Path, Path]:
    a = output_folder(tmp_path / "out-a", SYSTEM_A, speech=[(11.0, 15.0)])
    b = output_folder(tmp_path / "out-b", SYSTEM_B, speech=[(11.0, 15.0)])
    references = tmp_path / "refs.jsonl"
    write_items(references, REFERENCES)
    return a, b, references


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["evaluate", *args, "--quiet"])
    out, err = capsys.readouterr()
    return code, out, err


def table_row(table: str, label: str) -> list[str]:
    """The cells after `label` on the table line that starts with it."""
    line = next(line for line in table.splitlines() if line.startswith(label + "  "))
    return line[len(label):].split()


def test_table_and_json(folders, tmp_path, capsys):
    a, _, references = folders
    code, out, err = run(capsys, str(a), "--reference", str(references), "--json", str(tmp_path / "r.json"))
    assert code == 0, err
    assert table_row(out, "references matched to a cue") == ["2"]
    assert table_row(out, "references with no cue (scored as empty)") == ["1"]
    assert table_row(out, "cues with no reference (not scored)") == ["1"]
    assert table_row(out, "cues over speech") == ["1"]  # 10-12 s against speech from 11 s
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    (system,) = data["systems"]
    assert system["name"] == "out-a" and "difference" not in data
    assert data["references"] == {"source": str(references), "count": 3}
    # The JSON holds what the library computes for the same pairs, the unmatched one empty.
    hypotheses = ["지우가 문을 천천히 연다.", "민준이 창밖을 본다.", ""]
    texts = [r.reference for r in REFERENCES]
    assert system["reference"]["scores"]["bleu"] == pytest.approx(bleu(hypotheses, texts))
    assert system["reference"]["scores"]["cider_d"] == pytest.approx(sum(cider_d(hypotheses, texts)) / 3)
    assert table_row(out, "BLEU") == [f"{bleu(hypotheses, texts):.1f}"]
    pairs = system["reference"]["pairs"]
    assert [p["cue"] for p in pairs] == [0, 1, None] and pairs[2]["hypothesis"] == ""
    assert pairs[0]["rouge_l"] == pytest.approx(100.0)
    assert system["checks"]["speech"]["over_speech_seconds"] == pytest.approx(1.0)


def test_compare_shows_both_and_the_difference(folders, tmp_path, capsys):
    a, b, references = folders
    code, out, err = run(capsys, str(a), "--compare", str(b), "--reference", str(references),
                         "--json", str(tmp_path / "c.json"))
    assert code == 0, err
    header = next(line for line in out.splitlines() if line.startswith("metric"))
    assert header.split() == ["metric", "out-a", "out-b", "difference"]
    assert table_row(out, "descriptions") == ["3", "4", "+1"]
    assert table_row(out, "near-duplicate pairs of cues") == ["0", "1", "+1"]
    data = json.loads((tmp_path / "c.json").read_text(encoding="utf-8"))
    first, second = data["systems"]
    bleu_a, bleu_b = first["reference"]["scores"]["bleu"], second["reference"]["scores"]["bleu"]
    assert bleu_a > bleu_b  # system A says the first reference word for word
    assert data["difference"]["bleu"] == pytest.approx(bleu_b - bleu_a)
    assert data["difference"]["cues_unmatched"] == 2 - 1  # B's cues at 20 s and 30 s match nothing; A's at 80 s


def test_srt_references_with_description_lines(folders, tmp_path, capsys):
    a, _, _ = folders
    srt = tmp_path / "drama01.srt"
    srt.write_text("1\n00:00:01,500 --> 00:00:03,500\n{지우가 문을 천천히 연다.}\n\n"
                   "2\n00:00:05,000 --> 00:00:06,000\n어디 가?\n\n"
                   "3\n00:00:40,000 --> 00:00:42,000\n{차가 떠난다.}\n", encoding="utf-8")
    code, out, err = run(capsys, str(a), "--reference", str(srt))
    assert code == 0, err
    assert f"references: {srt} (2 descriptions)" in out
    assert table_row(out, "references matched to a cue") == ["1"]
    assert table_row(out, "references with no cue (scored as empty)") == ["1"]


@pytest.mark.parametrize("make, message", [
    (lambda tmp: tmp / "missing" / "script.json", "does not exist"),
    (lambda tmp: tmp, "holds no script.json"),
    (lambda tmp: _write(tmp / "script.json", '{"media": '), "is not JSON"),
    (lambda tmp: _write(tmp / "script.json", '{"schema_version": 1, "cues": []}'), "missing field"),
])
def test_a_bad_script_is_one_line_and_exit_2(tmp_path, capsys, make, message):
    code, out, err = run(capsys, str(make(tmp_path)))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("videodesc: error: ") and message in err


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("make, message", [
    (lambda tmp: tmp / "none.jsonl", "does not exist"),
    (lambda tmp: _write(tmp / "bad.jsonl", '{"start": 1.0, "end"\n'), "bad.jsonl:1: not JSON"),
    (lambda tmp: _write(tmp / "dialogue.srt", "1\n00:00:01,000 --> 00:00:02,000\n안녕\n"), "--descriptions"),
    (lambda tmp: _write(tmp / "other.jsonl", json.dumps({"start": 1.0, "end": 2.0, "reference": "x",
                                                         "language": "ko", "source": "s", "video": "/v/other.mp4"})),
     "no reference in"),
])
def test_a_bad_reference_is_one_line_and_exit_2(folders, tmp_path, capsys, make, message):
    a, _, _ = folders
    code, out, err = run(capsys, str(a), "--reference", str(make(tmp_path)))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("videodesc: error: ") and message in err


def test_json_onto_a_folder_is_refused(folders, tmp_path, capsys):
    a, _, references = folders
    target = tmp_path / "results"
    (target / "keep").mkdir(parents=True)
    code, _, err = run(capsys, str(a), "--reference", str(references), "--json", str(target))
    assert code == 2 and "is a folder" in err
    assert (target / "keep").is_dir()
