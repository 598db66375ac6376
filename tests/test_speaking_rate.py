"""The writer's time budget from the voice that will speak: measured on real Piper and espeak-ng voices."""

from __future__ import annotations

import numpy as np
import pytest

from videodesc.speak import SpeechCache, default_voice, make_voice
from videodesc.write.speaking import CALIBRATION, SpeakingRate, english_letters, spoken_seconds, voice_rate

# Cues as the template writer says them, none of them in the calibration passage.
HELD_OUT = {
    "en": ["Person 1, a man, comes in from the left.", "Outdoors, by day.", 'The words "THE END" appear.',
           "People walk by. A truck is in view.", "Person 1 stops.", "Person 1 sits with arms folded. She smiles.",
           "Two people are in view. A bus is in view.",
           "Person 2, a young woman in a purple top, appears and smiles."],
    "ko": ["남자인 인물 1이 왼쪽에서 들어온다.", "낮의 야외다.", "화면에 'THE END'라고 적혀 있다.", "사람들이 지나간다. 트럭이 보인다.",
           "인물 1이 멈춰 선다.", "인물 1이 팔짱을 끼고 앉아 있다. 미소 짓는다.", "두 사람이 보인다. 버스가 보인다.",
           "보라색 상의를 입은 젊은 여자인 인물 2가 나타나 미소 짓는다."],
}


def errors(language, rate, folder):
    spec = default_voice(language)
    voice, cache = make_voice(spec), SpeechCache(folder)
    real = np.array([cache.speak(voice, spec, text)[1] for text in HELD_OUT[language]])
    estimate = np.array([spoken_seconds(text, language, rate) for text in HELD_OUT[language]])
    return estimate - real


def test_the_english_voice_is_timed_better_than_a_describers_pace(tmp_path):
    measured = voice_rate(default_voice("en"), "en", tmp_path)
    # Piper's joe speaks faster than the 2.7 words a second a describer is budgeted at.
    assert 3.0 <= measured.en_words_per_second <= 4.0, measured
    by_voice, by_describer = errors("en", measured, tmp_path), errors("en", SpeakingRate(), tmp_path)
    print(f"en held-out cues: measured MAE {np.abs(by_voice).mean():.2f} s (max {np.abs(by_voice).max():.2f}), "
          f"describer pace MAE {np.abs(by_describer).mean():.2f} s (max {np.abs(by_describer).max():.2f})")
    assert np.abs(by_voice).mean() < np.abs(by_describer).mean()
    assert np.abs(by_voice).max() <= 0.5


def test_the_korean_voice_is_timed_within_half_a_second(tmp_path):
    measured = voice_rate(default_voice("ko"), "ko", tmp_path)
    assert 4.0 <= measured.ko_syllables_per_second <= 9.0, measured
    assert measured.en_letters_per_second is None  # English stays at the describer's pace
    assert np.abs(errors("ko", measured, tmp_path)).max() <= 0.6


def test_the_calibration_is_spoken_once_per_folder(tmp_path):
    first = voice_rate(default_voice("en"), "en", tmp_path)
    files = sorted(tmp_path.glob("*.wav"))
    assert len(files) == len(CALIBRATION["en"]) + len(CALIBRATION["en"]) // 2
    assert voice_rate(default_voice("en"), "en", tmp_path) == first
    assert sorted(tmp_path.glob("*.wav")) == files


@pytest.mark.parametrize("text, count", [("Person 1 stops.", 14), ('The words "THE END" appear.', 20),
                                         ("Outdoors, by day.", 13), ("Platform 15", 14)])
def test_english_letters(text, count):
    assert english_letters(text) == count
