"""Speech: recognition accuracy, forced Korean, and slots against reference speech turns."""

from __future__ import annotations

import re
import subprocess

from conftest import LIBRIVOX, ffmpeg, read_rttm, video_with_audio
from videodesc.analyze import AnalyzeOptions, analyze
from videodesc.progress import Reporter
from videodesc.records import Span
from videodesc.speech import asr, models
from videodesc.speech.audio import extract_audio, load_wav


def normalise(text: str) -> list[str]:
    """Lower case, no punctuation, hyphenated words split, 'Mr.' spelled out (as the reference does)."""
    text = text.lower().replace("mr.", "mister").replace("-", " ")
    return re.sub(r"[^a-z' ]+", " ", text).split()


def word_errors(reference: list[str], hypothesis: list[str]) -> int:
    """Levenshtein distance over words: substitutions + deletions + insertions."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref_word in enumerate(reference, 1):
        current = [i]
        for j, hyp_word in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_word != hyp_word)))
        previous = current
    return previous[-1]


def test_word_error_rate_on_librivox_is_at_most_15_percent(tmp_path):
    references = {}
    for line in (LIBRIVOX / "transcription").read_text().splitlines():
        match = re.match(r"<s>(.*)</s> \((.*)\)", line.strip())
        if match:
            references[match.group(2)] = normalise(match.group(1))
    assert len(references) == 5
    model = models.default_whisper_model()
    errors = words = 0
    for clip, reference in references.items():
        wav = tmp_path / f"{clip}.wav"
        extract_audio(LIBRIVOX / f"{clip}.wav", 0, wav)
        transcript = asr.transcribe(load_wav(wav), model, asr.AsrSettings(language="en"))
        hypothesis = normalise(" ".join(u.text for u in transcript.utterances))
        errors += word_errors(reference, hypothesis)
        words += len(reference)
        # Word times must lie inside the utterance that holds them and run forwards.
        for utterance in transcript.utterances:
            assert utterance.words
            assert all(utterance.start <= w.start <= w.end <= utterance.end for w in utterance.words)
    assert errors / words <= 0.15, f"WER {errors / words:.1%}"


def test_korean_speech_forced_to_ko_gives_korean_words(tmp_path):
    wav = tmp_path / "ko.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-s", "140", "-w", str(wav),
                    "안녕하세요. 오늘 날씨가 정말 좋습니다. 우리는 공원에 갑니다."], check=True)
    audio = tmp_path / "ko16.wav"
    extract_audio(wav, 0, audio)
    transcript = asr.transcribe(load_wav(audio), models.default_whisper_model(), asr.AsrSettings(language="ko"))
    words = [w.text for u in transcript.utterances for w in u.words]
    assert transcript.language == "ko"
    assert len(words) >= 3
    hangul = [w for w in words if re.search("[\uac00-\ud7a3]", w)]
    assert len(hangul) == len(words), words


def overlap(a: Span, b: Span) -> float:
    return max(0.0, min(a.end, b.end) - max(a.start, b.start))


def test_slots_avoid_reference_speech_and_cover_long_pauses(samples, pyannote_video, tmp_path):
    timeline = analyze(pyannote_video, tmp_path / "out", AnalyzeOptions(language="en"), Reporter())
    turns = read_rttm(samples / "sample.rttm")
    slot_time = sum(s.duration for s in timeline.slots)
    assert slot_time > 0
    speech_in_slots = sum(overlap(s, t) for s in timeline.slots for t in turns)
    assert 1 - speech_in_slots / slot_time >= 0.98
    # Pauses of at least 1.5 s in the reference (between merged turns, and before the first).
    merged: list[Span] = []
    for turn in sorted(turns, key=lambda t: t.start):
        if merged and turn.start <= merged[-1].end:
            merged[-1].end = max(merged[-1].end, turn.end)
        else:
            merged.append(Span(turn.start, turn.end))
    pauses = [Span(0.0, merged[0].start)] + [Span(a.end, b.start) for a, b in zip(merged, merged[1:])]
    long_pauses = [p for p in pauses if p.duration >= 1.5]
    assert long_pauses
    for pause in long_pauses:
        assert any(overlap(pause, s) > 0 for s in timeline.slots), pause
    assert timeline.utterances and all(u.source == "asr" for u in timeline.utterances)


def test_slots_fill_known_silences_between_spoken_clips(media_dir, tmp_path):
    """Real speech with silences of known length: each silence of 1.5 s or more holds a slot
    covering most of it, and no slot reaches into the speech."""
    clips = ["sense_and_sensibility_01_austen_64kb-0880", "sense_and_sensibility_01_austen_64kb-0930",
             "sense_and_sensibility_01_austen_64kb-0890"]
    silences = [3.0, 1.0]  # the 1.0 s pause is too short once padded: no slot expected there
    parts, spans, t = [], [], 1.0
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "1.0", str(tmp_path / "lead.wav"))
    parts.append(tmp_path / "lead.wav")
    for i, clip in enumerate(clips):
        seg = tmp_path / f"c{i}.wav"
        extract_audio(LIBRIVOX / f"{clip}.wav", 0, seg)
        length = load_wav(seg).size / 16000
        spans.append(Span(t, t + length))
        parts.append(seg)
        t += length
        if i < len(silences):
            gap = tmp_path / f"g{i}.wav"
            ffmpeg("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", str(silences[i]), str(gap))
            parts.append(gap)
            t += silences[i]
    listing = tmp_path / "list.txt"
    listing.write_text("".join(f"file '{p}'\n" for p in parts))
    joined = tmp_path / "joined.wav"
    ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c", "pcm_s16le", str(joined))
    video = video_with_audio(joined, tmp_path / "joined.mp4")
    timeline = analyze(video, tmp_path / "out", AnalyzeOptions(language="en"), Reporter())

    # The clips have their own short leading/trailing silences, so speech lies within each span.
    for slot in timeline.slots:
        for span in spans:
            inner = Span(span.start + 0.4, span.end - 0.4)
            assert overlap(slot, inner) == 0, (slot, span)
    long_silence = Span(spans[0].end, spans[1].start)
    best = max(overlap(s, long_silence) for s in timeline.slots)
    assert best >= long_silence.duration - 0.5, timeline.slots
    short_silence = Span(spans[1].end, spans[2].start)
    assert all(overlap(s, short_silence) < 1.2 for s in timeline.slots)
