"""Delivery presets and the QC report: `render --deliver PRESET` on a real clip with a 5.1 programme,
each output measured by the tests on its own (pyloudnorm, ffprobe) against the preset's numbers."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import LIBRIVOX, ffmpeg
from test_text import render as draw_text
from videodesc.delivery import PRESETS
from videodesc.records import load_script, load_timeline


def run(*args):
    return subprocess.run([sys.executable, "-m", "videodesc", *args], capture_output=True, text=True)


def probe_audio(path: Path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a", "-show_streams", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["streams"]


def samples_of(path: Path, folder: Path) -> tuple[np.ndarray, int]:
    """Any audio file as float64 samples (frames x channels), decoded by ffmpeg to 32-bit float."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:a:0", "-f", "f32le", "-"],
                         capture_output=True, check=True).stdout
    channels = int(probe_audio(path)[0]["channels"])
    return np.frombuffer(raw, dtype="<f4").astype(np.float64).reshape(-1, channels), 48000


def gated(data: np.ndarray, rate: int, spans: list[tuple[float, float]]) -> np.ndarray:
    """The frames inside `spans`, end to end: what a dialogue-gated meter measures."""
    return np.concatenate([data[int(s * rate):int(e * rate)] for s, e in sorted(spans) if e > s])


def loudness(data: np.ndarray, rate: int) -> float:
    """BS.1770 integrated loudness by pyloudnorm (not ffmpeg, which videodesc uses), with 5.1 weights."""
    import pyloudnorm

    if data.shape[1] == 6:
        # The WAV's order is L R C LFE Ls Rs; BS.1770 leaves the LFE out, and pyloudnorm weighs
        # five channels as L R C Ls Rs (the surrounds +1.5 dB).
        data = data[:, [0, 1, 2, 4, 5]]
    return pyloudnorm.Meter(rate).integrated_loudness(data)


@pytest.fixture(scope="module")
def surround(samples, tmp_path_factory) -> Path:
    """20 s, a sign reading EXIT 3 (0-10 s) then the astronaut, with a 5.1 programme: LibriVox speech
    in the centre at 2-6 s and 12-16 s, pink noise in every other channel and a low hum in the LFE."""
    folder = tmp_path_factory.mktemp("surround-src")
    sign = folder / "sign.png"
    cv2.imwrite(str(sign), draw_text(samples / "coffee.png", [("EXIT 3", (160, 120), 96, True)]))
    speech = LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0880.wav"
    video = folder / "surround.mp4"
    ffmpeg("-loop", "1", "-t", "10", "-i", str(sign), "-loop", "1", "-t", "10", "-i", str(samples / "astronaut.png"),
           "-i", str(speech), "-filter_complex",
           "[0:v]scale=1280:720,setsar=1,fps=25[a];[1:v]scale=720:720,pad=1280:720:280:0,setsar=1,fps=25[b];"
           "[a][b]concat=n=2:v=1:a=0[v];"
           "[2:a]atrim=0:4,asetpts=PTS-STARTPTS,aresample=48000,asplit[s1][s2];"
           "[s1]adelay=2000[d1];[s2]adelay=12000[d2];[d1][d2]amix=inputs=2:normalize=0,apad=whole_dur=20[centre];"
           "anoisesrc=d=20:c=pink:a=0.03:r=48000,asplit=5[n1][n2][n3][n4][n5];"
           "sine=f=50:d=20:r=48000,volume=0.1[lfe];"
           "[n3][centre]amix=inputs=2:normalize=0:duration=first[c];"
           "[n1][n2][c][lfe][n4][n5]join=inputs=6:channel_layout=5.1[a]",
           "-map", "[v]", "-map", "[a]", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
           "-c:a", "aac", "-b:a", "384k", "-t", "20", "-metadata:s:a:0", "language=eng", str(video))
    assert probe_audio(video)[0]["channels"] == 6
    return video


@pytest.fixture(scope="module")
def written(surround, tmp_path_factory) -> Path:
    """The clip analysed and written, not rendered: each test renders a copy its own way."""
    out = tmp_path_factory.mktemp("surround") / "out"
    for step in (["analyze", str(surround), "-o", str(out), "--lang", "en", "--vision", "all"],
                 ["write", str(out), "--no-fluency"]):
        proc = run(*step, "--quiet")
        assert proc.returncode == 0, proc.stderr
    assert load_script((out / "script.json").read_text()).cues, "the sign and the astronaut give something to say"
    return out


def rendered(written: Path, tmp_path: Path, *options: str) -> Path:
    out = tmp_path / "out"
    shutil.copytree(written, out)
    proc = run("render", str(out), *options, "--quiet")
    assert proc.returncode == 0, proc.stderr
    return out


def dialogue_spans(out: Path) -> list[tuple[float, float]]:
    script = load_script((out / "script.json").read_text())
    timeline = load_timeline((out / "timeline.json").read_text())
    return ([(s.start, s.end) for s in timeline.speech_regions]
            + [(c.start, c.start + c.spoken_duration) for c in script.cues])


def test_netflix_delivers_5_1_and_2_0_printmasters_at_dialogue_gated_minus_27(written, tmp_path):
    out = rendered(written, tmp_path, "--deliver", "netflix")
    folder = out / "deliver" / "netflix"
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["surround_AD_eng_2.0_printmaster.wav", "surround_AD_eng_2.0_stem.wav",
                     "surround_AD_eng_5.1_printmaster.wav", "surround_AD_eng_5.1_stem.wav"], names
    spans = dialogue_spans(out)
    for name, channels in (("surround_AD_eng_5.1_printmaster.wav", 6), ("surround_AD_eng_2.0_printmaster.wav", 2)):
        (stream,) = probe_audio(folder / name)
        assert (stream["codec_name"], int(stream["sample_rate"]), stream["channels"]) == ("pcm_s24le", 48000, channels)
        data, rate = samples_of(folder / name, tmp_path)
        assert abs(loudness(gated(data, rate, spans), rate) - (-27.0)) <= 1.0, name
        # Dialogue-gated is not the whole programme's loudness: the bed between the speech is quieter.
        assert loudness(data, rate) < -27.5, name
    (five_one,) = probe_audio(folder / "surround_AD_eng_5.1_printmaster.wav")
    assert five_one["channel_layout"].startswith("5.1")
    # The described track in the MP4 keeps the programme's 5.1 too.
    tracks = probe_audio(out / "surround.ad.mp4")
    assert [t["channels"] for t in tracks] == [6, 6] and tracks[1]["disposition"]["descriptions"] == 1

    qc = json.loads((out / "qc.json").read_text())
    assert qc["preset"] == "netflix" and qc["gating"] == "dialogue" and qc["passed"], qc["rules"]
    rules = {(r["rule"], r["file"]) for r in qc["rules"]}
    assert ("loudness, dialogue-gated", "deliver/netflix/surround_AD_eng_5.1_printmaster.wav") in rules
    assert ("bit depth", "deliver/netflix/surround_AD_eng_2.0_stem.wav") in rules
    assert ("loudness range", "surround.ad-mix.m4a") in rules
    checked = {o["file"]: o for o in qc["outputs"]}
    assert checked["deliver/netflix/surround_AD_eng_5.1_printmaster.wav"]["bits"] == 24
    assert checked["surround.ad-mix.m4a"]["channels"] == 6
    page = (out / "qc.html").read_text()
    assert "PASS" in page and "dialogue-gated" in page
    assert "Quality control" in (out / "review.html").read_text()


def test_ebu_is_measured_over_the_whole_programme(written, tmp_path):
    out = rendered(written, tmp_path, "--deliver", "ebu")
    folder = out / "deliver" / "ebu"
    assert sorted(p.name for p in folder.iterdir()) == ["surround_AD_eng_5.1.wav", "surround_AD_eng_stem.wav"]
    data, rate = samples_of(folder / "surround_AD_eng_5.1.wav", tmp_path)
    assert abs(loudness(data, rate) - (-23.0)) <= 0.5
    data, rate = samples_of(out / "surround.ad-mix.m4a", tmp_path)
    assert abs(loudness(data, rate) - (-23.0)) <= 0.5
    qc = json.loads((out / "qc.json").read_text())
    assert qc["passed"] and qc["gating"] == "programme"
    # Every file's true peak under R128's -1 dBTP, measured by the QC and listed per file.
    assert all(o["true_peak"] <= -1.0 for o in qc["outputs"])


def test_apple_takes_a_stereo_premix_of_a_5_1_programme(written, tmp_path):
    out = rendered(written, tmp_path, "--deliver", "apple")
    (premix,) = (out / "deliver" / "apple").iterdir()
    assert premix.name == "surround_AD_eng_2.0.wav" and probe_audio(premix)[0]["channels"] == 2
    qc = json.loads((out / "qc.json").read_text())
    assert qc["passed"], qc["rules"]


def true_peak(data: np.ndarray) -> float:
    """dBTP by 4x oversampling (BS.1770-4 Annex 2's method), with scipy rather than ffmpeg."""
    from scipy.signal import resample_poly

    return float(20 * np.log10(np.abs(resample_poly(data, 4, 1, axis=0)).max()))


def test_youtube_mixes_to_minus_14_and_the_qc_tells_the_truth_about_the_peaks(written, tmp_path):
    out = rendered(written, tmp_path, "--loudness", "youtube")
    assert not (out / "deliver").exists()
    data, rate = samples_of(out / "surround.ad-mix.m4a", tmp_path)
    assert abs(loudness(data, rate) - (-14.0)) <= 1.0
    qc = json.loads((out / "qc.json").read_text())
    assert qc["preset"] == "youtube"
    # At -14 LUFS this dense noise bed makes the AAC encoder overshoot by decibels: whether the
    # track passes YouTube's -1 dBTP or not, the QC must say what an independent meter reads.
    peak = true_peak(data)
    (reading,) = [o for o in qc["outputs"] if o["file"] == "surround.ad-mix.m4a"]
    assert abs(reading["true_peak"] - peak) <= 0.5, (reading, peak)
    (rule,) = [r for r in qc["rules"] if r["rule"] == "true peak" and r["file"] == "surround.ad-mix.m4a"]
    assert rule["passed"] == (peak <= -1.0) or abs(peak + 1.0) < 0.3, (rule, peak)
    assert qc["passed"] == all(r["passed"] for r in qc["rules"])


def test_a_failing_rule_is_reported_and_evaluate_shows_it(written, tmp_path):
    from videodesc.delivery import Deliverable
    from videodesc.output.qc import PREMIX, RenderFacts, run_qc

    out = rendered(written, tmp_path)
    qc = json.loads((out / "qc.json").read_text())
    assert qc["preset"] == "ebu" and qc["passed"]
    # The same premix checked against Netflix: -23 LUFS is not -27 dialogue-gated, and 16-bit is not 24.
    wav = tmp_path / "premix.wav"
    ffmpeg("-i", str(out / "surround.ad-mix.m4a"), "-c:a", "pcm_s16le", str(wav))
    script = load_script((out / "script.json").read_text())
    timeline = load_timeline((out / "timeline.json").read_text())
    facts = RenderFacts(script.media.duration, [(s.start, s.end) for s in timeline.speech_regions],
                        [(c.start, c.start + c.spoken_duration) for c in script.cues])
    report = run_qc([Deliverable(PREMIX, wav, "premix.wav", 6)], facts, PRESETS["netflix"])
    failed = {r.rule for r in report.rules if not r.passed}
    # R128 allows peaks to -1 dBTP, Netflix to -2.
    (m4a,) = [o for o in qc["outputs"] if o["file"] == "surround.ad-mix.m4a"]
    expected = {"loudness, dialogue-gated", "bit depth"} | ({"true peak"} if m4a["true_peak"] > -2.0 else set())
    assert not report.passed and failed == expected, report.rules
    (out / "qc.json").write_text(json.dumps(report.to_dict()), encoding="utf-8")
    proc = run("evaluate", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "QC (Netflix)" in proc.stdout and "FAIL" in proc.stdout and "bit depth" in proc.stdout, proc.stdout


def test_two_different_targets_are_refused_before_any_work(written, tmp_path):
    proc = run("render", str(written), "--deliver", "netflix", "--loudness", "ebu")
    assert proc.returncode == 2 and "two targets" in proc.stderr and "Traceback" not in proc.stderr


def test_render_packages_hls_and_dash_with_the_described_sound_flagged(written, tmp_path):
    out = rendered(written, tmp_path, "--hls", "--dash")
    master = (out / "surround.hls" / "master.m3u8").read_text()
    described = [line for line in master.splitlines() if "describes-video" in line]
    assert len(described) == 1 and 'TYPE=AUDIO' in described[0] and 'LANGUAGE="en"' in described[0]
    mpd = (out / "surround.dash" / "manifest.mpd").read_text()
    assert 'value="description"' in mpd and "urn:tva:metadata:cs:AudioPurposeCS:2007" in mpd
    # A real client: ffprobe reads the master playlist with the video and both sounds, 5.1 kept.
    proc = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json",
                           str(out / "surround.hls" / "master.m3u8")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    streams = json.loads(proc.stdout)["streams"]
    assert [s["codec_type"] for s in streams].count("audio") == 2
    assert all(s["channels"] == 6 for s in streams if s["codec_type"] == "audio")
