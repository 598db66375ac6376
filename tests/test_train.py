"""Fine-tuning data and training: `videodesc dataset sft` and `videodesc train`, with the real
multilingual-e5-small embedder, the real template writer on a real analysis, and real LoRA
training of the packaged Gemma 3 270M."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import pytest

from conftest import ffmpeg
from test_text import render as draw_text
from videodesc.dataset.sft import build, closest
from videodesc.records import DatasetItem
from videodesc.write.fluency import scoring_prompt


def run(*args):
    return subprocess.run([sys.executable, "-m", "videodesc", *args], capture_output=True, text=True)


@pytest.fixture(scope="module")
def embedder():
    from videodesc.write.embed import Embedder

    return Embedder()


# --- choosing the candidate closest to the human description -----------------------------------


def test_the_candidate_closest_to_the_reference_is_chosen_and_the_furthest_rejected(embedder):
    reference = "A woman opens her umbrella in the rain."
    candidates = ["Two dogs run along the beach.", "A man reads a newspaper on a bench.",
                  "In the rain, a woman opens an umbrella.", "A woman stands outside."]
    best, worst, similarities = closest(reference, candidates, embedder)
    assert best == 2 and worst == 0
    assert similarities[2] > similarities[3] > similarities[0]
    korean = ["두 사람이 식탁에 마주 앉는다.", "민수가 우산을 펴고 빗속으로 나간다.", "고양이가 소파에서 잔다."]
    best, worst, _ = closest("민수가 우산을 쓰고 비 오는 거리로 나선다.", korean, embedder)
    assert (best, worst) == (1, 2)


class ListWriter:
    """A writer whose candidates are given per moment (a test double for the candidate source only:
    what is tested here is the choice among them)."""

    name = "list"

    def __init__(self, by_start: dict[float, list[str]]):
        self.by_start = by_start
        self.seen = []

    def candidates(self, context, count):
        self.seen.append(context)
        return self.by_start[context.slot.start][:count]

    def shorten(self, context, text, seconds):
        return []

    def claims(self, context, text):
        return []


def test_sft_records_carry_the_previous_human_description_as_context(embedder, tmp_path):
    items = [DatasetItem(1.0, 3.0, "Minsu opens the door.", "en", "a.srt:5", ["Who is it?"], ["It's me."]),
             DatasetItem(5.0, 7.0, "Jisu looks up from her book.", "en", "a.srt:12"),
             DatasetItem(9.0, 11.0, "The street is empty.", "en", "a.srt:20"),
             DatasetItem(1.0, 2.0, "A bus stops.", "en", "b.srt:3")]
    writer = ListWriter({1.0: ["A man opens a door.", "A cat sleeps.", "Minsu is at the door."],
                         5.0: ["A woman reads.", "Jisu looks up from the book.", "It is night."],
                         9.0: ["An empty street."]})
    result = build(items, writer, embedder, 4, None, tmp_path)
    assert [r.source for r in result.records] == ["a.srt:5", "a.srt:12", "b.srt:3"]
    assert result.skipped == {"one candidate only": 1}
    first, second, other_file = result.records
    assert first.prompt == scoring_prompt(first.chosen, "") == "Audio description:"
    assert second.prompt == "Audio description: Minsu opens the door."  # the previous human line
    assert other_file.prompt == "Audio description:"  # a new file starts without context
    assert second.chosen == "Jisu looks up from the book." and second.rejected == "It is night."
    assert first.chosen in ("A man opens a door.", "Minsu is at the door.") and first.rejected == "A cat sleeps."
    assert second.similarity_chosen > second.similarity_rejected
    # Without an analysis the writer is told the dialogue the dataset carries.
    assert [u.text for u in writer.seen[0].dialogue_before] == ["Who is it?"]
    assert [u.text for u in writer.seen[0].dialogue_after] == ["It's me."]
    assert writer.seen[1].previous == ["Minsu opens the door."]
    preference = second.as_json("preference")
    assert set(preference) >= {"prompt", "chosen", "rejected", "similarity_chosen", "similarity_rejected"}
    assert second.as_json("sft")["response"] == second.chosen


# --- the commands on a real analysis -----------------------------------------------------------


@pytest.fixture(scope="module")
def analysed_sign(samples, tmp_path_factory):
    """12 s: a sign reading EXIT 3 (0-6 s), then the astronaut (6-12 s), analysed with vision;
    an AD subtitle file describing both moments."""
    folder = tmp_path_factory.mktemp("sft")
    sign = folder / "sign.png"
    cv2.imwrite(str(sign), draw_text(samples / "coffee.png", [("EXIT 3", (160, 120), 96, True)]))
    video = folder / "sign.mp4"
    ffmpeg("-loop", "1", "-t", "6", "-i", str(sign), "-loop", "1", "-t", "6", "-i", str(samples / "astronaut.png"),
           "-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo", "-filter_complex",
           "[0:v]scale=1280:720,setsar=1,fps=25[a];[1:v]scale=720:720,pad=1280:720:280:0,setsar=1,fps=25[b];"
           "[a][b]concat=n=2:v=1:a=0[v]", "-map", "[v]", "-map", "2:a", "-c:v", "libx264", "-pix_fmt", "yuv420p",
           "-c:a", "aac", "-t", "12", str(video))
    out = folder / "out"
    proc = run("analyze", str(video), "-o", str(out), "--lang", "en", "--vision", "all", "--quiet")
    assert proc.returncode == 0, proc.stderr
    subtitles = folder / "ad.srt"
    subtitles.write_text("1\n00:00:01,000 --> 00:00:04,000\n{A blue sign reads EXIT 3.}\n\n"
                         "2\n00:00:07,000 --> 00:00:10,000\n{A woman in a white space suit smiles.}\n",
                         encoding="utf-8")
    return out, subtitles


def test_dataset_sft_on_an_analysed_video_keeps_what_the_describer_said(analysed_sign, tmp_path):
    out, subtitles = analysed_sign
    dataset = tmp_path / "ad.jsonl"
    proc = run("dataset", "import", str(subtitles), "-o", str(dataset), "--lang", "en", "--quiet")
    assert proc.returncode == 0, proc.stderr
    preference = tmp_path / "pref.jsonl"
    proc = run("dataset", "sft", str(dataset), "--analysis", str(out), "-o", str(preference), "--form",
               "preference", "--quiet")
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in preference.read_text().splitlines()]
    sign = next(r for r in records if r["reference"].startswith("A blue sign"))
    assert "EXIT 3" in sign["chosen"].upper() and sign["chosen"] != sign["rejected"]
    assert sign["similarity_chosen"] >= sign["similarity_rejected"] and sign["candidates"] >= 2
    assert sign["prompt"] == "Audio description:"
    for later in records[records.index(sign) + 1:]:
        assert later["prompt"] == "Audio description: A blue sign reads EXIT 3."

    # Without the analysis the template writer has nothing to say: one clear error, no file.
    nothing = tmp_path / "none.jsonl"
    proc = run("dataset", "sft", str(dataset), "-o", str(nothing))
    assert proc.returncode == 2 and "fewer than two candidates" in proc.stderr.strip().splitlines()[-1]
    assert not nothing.exists()


# --- training ------------------------------------------------------------------------------------

# Describers write Korean AD in the plain present ('~다'); the base model leans towards the polite
# past ('~었어요') on several verbs. Trained on plain-present descriptions, the selector should
# prefer them on sentences it never saw.
TRAIN = ["민수가 창문을 연다.", "지수가 커피를 마신다.", "남자가 계단을 내려간다.", "여자가 편지를 읽는다.",
         "아이가 공원에서 뛴다.", "경찰이 차에서 내린다.", "두 사람이 손을 잡는다.", "할머니가 문 앞에 앉는다.",
         "민수가 전화를 받는다.", "지수가 고개를 돌린다.", "비가 창문을 때린다.", "남자가 가방을 챙긴다.",
         "Minsu opens the window.", "Jisu drinks her coffee.", "A man walks down the stairs.",
         "A woman reads a letter.", "A child runs in the park.", "A police officer gets out of the car.",
         "The two hold hands.", "An old woman sits by the door.", "Minsu answers the phone.",
         "Jisu turns her head.", "Rain beats against the window.", "A man packs his bag."]
HELD_OUT = [("여자가 우산을 편다.", "여자가 우산을 폈어요."), ("소년이 자전거를 탄다.", "소년이 자전거를 탔어요."),
            ("의사가 병실에 들어온다.", "의사가 병실에 들어왔어요."), ("민수가 불을 끈다.", "민수가 불을 껐어요."),
            ("지수가 창밖을 본다.", "지수가 창밖을 봤어요."), ("남자가 담배를 피운다.", "남자가 담배를 피웠어요."),
            ("아이가 울음을 터뜨린다.", "아이가 울음을 터뜨렸어요."), ("두 사람이 식탁에 앉는다.", "두 사람이 식탁에 앉았어요."),
            ("노인이 신문을 접는다.", "노인이 신문을 접었어요."), ("여자가 거울을 본다.", "여자가 거울을 봤어요.")]


def margins(scorer) -> list[float]:
    """Score of the plain-present sentence minus the polite-past one, per held-out pair."""
    return [a - b for a, b in (scorer.score(list(pair)) for pair in HELD_OUT)]


def test_training_lowers_the_loss_and_the_adapter_moves_the_selector_the_trained_way(tmp_path):
    from videodesc.write.fluency import FluencyScorer

    data = tmp_path / "sft.jsonl"
    data.write_text("".join(json.dumps({"prompt": scoring_prompt(text), "response": text}, ensure_ascii=False) + "\n"
                            for text in TRAIN), encoding="utf-8")
    adapter = tmp_path / "adapter"
    proc = run("train", str(data), "-o", str(adapter), "--max-steps", "12", "--lr", "1e-3", "--save-steps", "6",
               "--quiet")
    assert proc.returncode == 0, proc.stderr
    log = json.loads((adapter / "training.json").read_text())
    losses = log["losses"]
    assert log["steps"] == 12 and len(losses) == 12 and log["examples"] == len(TRAIN)
    assert sum(losses[-3:]) / 3 < 0.6 * sum(losses[:3]) / 3
    assert (adapter / "adapter_config.json").is_file() and (adapter / "adapter_model.safetensors").is_file()
    assert sorted(p.name for p in (adapter / "checkpoints").iterdir()) == ["checkpoint-12", "checkpoint-6"]

    before = margins(FluencyScorer())
    after = margins(FluencyScorer(adapter=adapter))
    right_before, right_after = sum(m > 0 for m in before), sum(m > 0 for m in after)
    print("held-out margins before", [round(m, 2) for m in before], "after", [round(m, 2) for m in after])
    assert right_after >= right_before + 2
    assert sum(after) / len(after) > sum(before) / len(before) + 0.4

    # Resuming carries on from the newest checkpoint instead of starting again.
    proc = run("train", str(data), "-o", str(adapter), "--max-steps", "14", "--lr", "1e-3", "--resume", "--quiet")
    assert proc.returncode == 0, proc.stderr
    log = json.loads((adapter / "training.json").read_text())
    assert log["steps"] == 14 and len(log["losses"]) == 2


@pytest.mark.parametrize("content, message", [
    (None, "does not exist"),
    ("not json\n", "sft.jsonl:1: not JSON"),
    ('{"prompt": "Audio description:", "response": "A man sits."}\n{"prompt": "x"}\n', "sft.jsonl:2: a training"),
    ('{"prompt": "Audio description:", "response": "  "}\n', "sft.jsonl:1: empty response"),
    ("\n", "holds no records"),
])
def test_bad_training_data_is_one_line_naming_file_and_line(tmp_path, content, message):
    data = tmp_path / "sft.jsonl"
    if content is not None:
        data.write_text(content, encoding="utf-8")
    proc = run("train", str(data), "-o", str(tmp_path / "adapter"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and message in proc.stderr
    assert not (tmp_path / "adapter").exists()


def test_resume_without_a_checkpoint_and_an_adapter_path_that_is_a_file_are_refused(tmp_path):
    data = tmp_path / "sft.jsonl"
    data.write_text(json.dumps({"prompt": "Audio description:", "response": "A man sits."}) + "\n")
    proc = run("train", str(data), "-o", str(tmp_path / "adapter"), "--resume")
    assert proc.returncode == 2 and "nothing to resume" in proc.stderr
    (tmp_path / "file").write_text("x")
    proc = run("train", str(data), "-o", str(tmp_path / "file"))
    assert proc.returncode == 2 and "is a file" in proc.stderr
