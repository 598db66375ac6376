"""The describers' style rules and the spoken-length estimate."""

from __future__ import annotations

import pytest

from videodesc.write.speaking import spoken_seconds, syllables
from videodesc.write.style import problems, style_score


@pytest.mark.parametrize("text, language, expected", [
    ("민수가 문을 연다.", "ko", []),
    ("문 앞에 서 있다.", "ko", []),
    ("화면에 '3년 후'라고 적혀 있다.", "ko", []),
    ("화면에 'WANNA WORK TOGETHER?'라고 적혀 있다.", "ko", []),  # quoted screen text keeps its own punctuation
    ("화면에 '어디 갔었어요.'라고 적혀 있다.", "ko", []),
    ('On screen: "Where were you?".', "en", []),
    ("Min-su's mother was at Ji-woo's door.", "en", ["not present tense"]),  # apostrophes are not quotes
    ("민수가 문을 열었다.", "ko", ["not present tense"]),
    ("민수가 문을 열겠다.", "ko", ["not present tense"]),
    ("민수가 문을 엽니다.", "ko", ["polite ending: use plain '~다'"]),
    ("민수가 문을 열어요.", "ko", ["polite ending: use plain '~다'"]),
    ("민수가 슬퍼 보인다.", "ko", ["interprets feelings or intentions"]),
    ("민수는 화가 난 것 같다.", "ko", ["interprets feelings or intentions"]),
    ("민수가 문을", "ko", ["no full stop at the end", "not a plain '~다' sentence"]),
    ("A woman opens the door.", "en", []),
    ('On screen: "EXIT".', "en", []),
    ("We see a woman open the door.", "en", ["'we see' filler: say what is there"]),
    ("She opened the door.", "en", ["not present tense"]),
    ("She left the room.", "en", ["not present tense"]),
    ("Person 1 comes in from the left and walks to the right.", "en", []),  # a side, not the past of leave
    ("She feels sad.", "en", ["interprets feelings or intentions"]),
    ("He seems to want the letter.", "en", ["interprets feelings or intentions"]),
])
def test_style_rules(text, language, expected):
    assert problems(text, language) == expected
    assert style_score(text, language) == pytest.approx(max(0.0, 1 - 0.4 * len(expected)))


def test_spoken_length_grows_with_the_text_and_counts_korean_syllables():
    assert syllables("인물 1이 나타난다.") == 8  # 인 물 일(1) 이 나 타 난 다
    short, long = spoken_seconds("민수가 웃는다.", "ko"), spoken_seconds("민수가 문을 열고 방 안으로 들어온다.", "ko")
    assert 0.5 < short < long < 4
    assert spoken_seconds("A woman opens the door.", "en") == pytest.approx(5 / 2.7, abs=0.01)
    # A second sentence costs a breath.
    assert spoken_seconds("He sits. She stands.", "en") > spoken_seconds("He sits, she stands", "en")
