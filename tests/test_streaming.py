"""HLS and DASH packages of a described programme, read back by real clients: ffmpeg's HLS and DASH
demuxers, and hls.js in Debian's headless chromium.

The programme is made here: a 9 s test picture (a keyframe every 2 s, so segments of 6 s and 3 s)
under a 440 Hz original sound, a 1000 Hz "described mix", rendered into NAME.ad.mp4 as `render`
does, and two descriptions, the second spanning the segment boundary at 6 s. A client that plays
the described rendition hears 1000 Hz; one that plays the original hears 440 Hz.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest
from defusedxml.ElementTree import parse as parse_xml

from conftest import ffmpeg
from videodesc.errors import InputError
from videodesc.output.streaming import package_dash, package_hls
from videodesc.output.subtitle_files import to_vtt
from videodesc.records import Utterance
from videodesc.render.mux import TextCue, audio_title, text_title, write_ad_mp4, write_m4a

ORIGINAL_HZ, DESCRIBED_HZ = 440, 1000
SECONDS = 9.0
DESCRIPTIONS = [(1.0, 2.0, "A door opens."), (5.0, 7.5, "She leaves & the <door> shuts.")]
MPD = "{urn:mpeg:dash:schema:mpd:2011}"
HLS_JS = Path(__file__).parent / "browser" / "node_modules" / "hls.js" / "dist" / "hls.min.js"


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("streaming")
    source = folder / "clip.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=320x180:r=25", "-f", "lavfi", "-i", f"sine=f={ORIGINAL_HZ}:r=48000",
           "-t", str(SECONDS), "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast", "-g", "50",
           "-pix_fmt", "yuv420p", "-ac", "2", "-c:a", "aac", "-metadata:s:a:0", "language=eng", str(source))
    mix = described_mix(folder / "mix.wav", SECONDS)
    vtt = folder / "descriptions.vtt"
    vtt.write_text(to_vtt(Utterance(start, end, text, "subtitle") for start, end, text in DESCRIPTIONS),
                   encoding="utf-8")
    rendered = folder / "clip.ad.mp4"
    write_ad_mp4(source, mix, [TextCue(*cue) for cue in DESCRIPTIONS], "en", rendered)
    return {"source": source, "mix": mix, "vtt": vtt, "rendered": rendered, "folder": folder}


def described_mix(wav: Path, seconds: float) -> Path:
    """The described mix as `render` leaves it: AAC in an M4A, flagged and named by write_m4a."""
    ffmpeg("-f", "lavfi", "-i", f"sine=f={DESCRIBED_HZ}:r=48000", "-t", str(seconds), "-ac", "2", str(wav))
    m4a = wav.with_suffix(".m4a")
    write_m4a(wav, m4a, "en")
    return m4a


@pytest.fixture(scope="module")
def hls(media) -> Path:
    target = media["folder"] / "out" / "clip.hls"
    assert package_hls(media["rendered"], media["mix"], media["vtt"], "en", target) == []
    return target


@pytest.fixture(scope="module")
def dash(media) -> Path:
    target = media["folder"] / "out" / "clip.dash"
    assert package_dash(media["rendered"], media["mix"], media["vtt"], "en", target) == []
    return target


def tags(playlist: Path) -> list[tuple[str, dict[str, str]]]:
    """A playlist's tags with their attributes (quotes taken off), and its URI lines as ('URI', {})."""
    found = []
    for line in playlist.read_text(encoding="utf-8").splitlines():
        if line.startswith("#EXT"):
            name, _, rest = line.partition(":")
            attributes = {key: value.strip('"') for key, value in re.findall(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)', rest)}
            found.append((name, attributes or {"": rest}))
        elif line.strip():
            found.append(("URI", {"": line}))
    return found


def probe(url: str, *options: str) -> list[dict]:
    proc = subprocess.run(["ffprobe", "-v", "error", *options, "-show_streams", "-of", "json", url],
                          capture_output=True, check=True)
    return json.loads(proc.stdout)["streams"]


def sound(url: str, index: int, *options: str) -> np.ndarray:
    """Audio stream `index` of what a client reads at `url`, decoded to 16 kHz mono."""
    proc = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", *options, "-i", url, "-map", f"0:a:{index}",
                           "-ac", "1", "-ar", "16000", "-f", "f32le", "pipe:1"], capture_output=True, check=True)
    return np.frombuffer(proc.stdout, np.float32)


def dominant_hz(samples: np.ndarray, rate: int = 16000) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * rate / len(samples))


# --- HLS ---------------------------------------------------------------------------------------

def test_the_master_playlist_offers_the_described_sound_beside_the_original(hls, media):
    master = tags(hls / "master.m3u8")
    assert master[0] == ("#EXTM3U", {"": ""})
    assert ("#EXT-X-VERSION", {"": "7"}) in master  # fMP4 segments with EXT-X-MAP
    assert ("#EXT-X-INDEPENDENT-SEGMENTS", {"": ""}) in master
    audio = [a for name, a in master if name == "#EXT-X-MEDIA" and a["TYPE"] == "AUDIO"]
    text = [a for name, a in master if name == "#EXT-X-MEDIA" and a["TYPE"] == "SUBTITLES"]
    variants = [a for name, a in master if name == "#EXT-X-STREAM-INF"]
    assert len(audio) == 2 and len(text) == 1 and len(variants) == 1
    original, described = audio
    assert "CHARACTERISTICS" not in original
    assert (original["LANGUAGE"], original["DEFAULT"], original["AUTOSELECT"]) == ("en", "YES", "YES")
    assert described["CHARACTERISTICS"] == "public.accessibility.describes-video"
    assert (described["LANGUAGE"], described["NAME"], described["DEFAULT"]) == ("en", audio_title("en"), "NO")
    assert original["NAME"] != described["NAME"]
    assert (text[0]["NAME"], text[0]["LANGUAGE"], text[0]["DEFAULT"], text[0]["AUTOSELECT"]) == \
        (text_title("en"), "en", "NO", "NO")
    variant = variants[0]
    assert original["GROUP-ID"] == described["GROUP-ID"] == variant["AUDIO"]
    assert text[0]["GROUP-ID"] == variant["SUBTITLES"]
    assert variant["RESOLUTION"] == "320x180" and variant["FRAME-RATE"] == "25.000"

    # CODECS names the picture's profile and level as the stream has them, and AAC LC.
    picture = probe(str(media["rendered"]), "-select_streams", "v:0")[0]
    video_codec, audio_codec = variant["CODECS"].split(",")
    assert audio_codec == "mp4a.40.2"
    assert video_codec.startswith("avc1.") and int(video_codec[5:7], 16) == 66  # (constrained) baseline
    assert int(video_codec[9:11], 16) == picture["level"]
    # The bit rates are those of the segments: about the picture's and the described mix's.
    streams = probe(str(media["rendered"]))
    expected = int(streams[0]["bit_rate"]) + int(streams[2]["bit_rate"])
    assert abs(int(variant["AVERAGE-BANDWIDTH"]) - expected) < expected * 0.1
    assert int(variant["BANDWIDTH"]) >= int(variant["AVERAGE-BANDWIDTH"])

    # Every playlist, init segment and segment named exists.
    uris = [a["URI"] for a in audio + text] + [a[""] for name, a in master if name == "URI"]
    for uri in uris:
        playlist = hls / uri
        media_tags = tags(playlist)
        files = [a[""] for name, a in media_tags if name == "URI"] + \
                [a["URI"] for name, a in media_tags if name == "#EXT-X-MAP"]
        assert files and all((playlist.parent / file).is_file() for file in files), uri
        assert ("#EXT-X-ENDLIST", {"": ""}) in media_tags


def test_the_text_is_cut_with_the_picture_and_each_segment_holds_every_cue_it_shows(hls):
    video = [a[""] for name, a in tags(hls / "video" / "index.m3u8") if name == "#EXTINF"]
    text_tags = tags(hls / "text" / "index.m3u8")
    assert [a[""] for name, a in text_tags if name == "#EXTINF"] == video == ["6.000000,", "3.000000,"]
    first, second = [(hls / "text" / a[""]).read_text(encoding="utf-8") for name, a in text_tags if name == "URI"]
    for segment in (first, second):
        assert re.match(r"WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:\d+,LOCAL:00:00:00\.000\n\n", segment)
    assert "A door opens." in first and "A door opens." not in second
    # 5.0-7.5 s is shown in both segments (RFC 8216 3.5), its markup escaped as the file had it.
    assert "00:00:05.000 --> 00:00:07.500\nShe leaves &amp; the &lt;door&gt; shuts." in first
    assert "00:00:05.000 --> 00:00:07.500\nShe leaves &amp; the &lt;door&gt; shuts." in second


def test_an_hls_client_plays_the_picture_and_both_sounds(hls):
    master = str(hls / "master.m3u8")
    streams = probe(master)
    assert [s["codec_type"] for s in streams].count("video") == 1
    sounds = [s for s in streams if s["codec_type"] == "audio"]
    assert len(sounds) == 2
    # ffmpeg's HLS reader gives each rendition's NAME as the stream's comment.
    names = [s.get("tags", {}).get("comment") for s in sounds]
    described = names.index(audio_title("en"))
    assert dominant_hz(sound(master, described)) == pytest.approx(DESCRIBED_HZ, abs=5)
    assert dominant_hz(sound(master, 1 - described)) == pytest.approx(ORIGINAL_HZ, abs=5)
    assert len(sound(master, described)) / 16000 == pytest.approx(SECONDS, abs=0.1)
    pictures = probe(master, "-count_frames", "-select_streams", "v:0")[0]
    assert int(pictures["nb_read_frames"]) == SECONDS * 25


# --- DASH --------------------------------------------------------------------------------------

def test_the_mpd_marks_the_described_sound_and_the_text(dash, media):
    text = (dash / "manifest.mpd").read_text(encoding="utf-8")
    assert "ns0:" not in text and 'xmlns="urn:mpeg:dash:schema:mpd:2011"' in text
    root = parse_xml(dash / "manifest.mpd").getroot()
    assert root.tag == f"{MPD}MPD"
    sets = root.findall(f"{MPD}Period/{MPD}AdaptationSet")
    kinds = [s.get("contentType") for s in sets]
    assert kinds == ["video", "audio", "audio", "text"]
    roles = [{r.get("value") for r in s.findall(f"{MPD}Role") if r.get("schemeIdUri") == "urn:mpeg:dash:role:2011"}
             for s in sets]
    video, original, described, subtitles = sets
    assert "lang" not in video.attrib
    assert roles[1] == {"main"} and original.get("lang") == "en"
    assert "description" in roles[2] and described.get("lang") == "en"
    assert described.find(f"{MPD}Label").text == audio_title("en")
    assert {(a.get("schemeIdUri"), a.get("value")) for a in described.findall(f"{MPD}Accessibility")} >= \
        {("urn:tva:metadata:cs:AudioPurposeCS:2007", "1")}
    assert not original.findall(f"{MPD}Accessibility")
    assert roles[3] == {"description"} and subtitles.get("mimeType") == "text/vtt" and subtitles.get("lang") == "en"
    base = subtitles.find(f"{MPD}Representation/{MPD}BaseURL").text
    assert (dash / base).read_bytes() == media["vtt"].read_bytes()
    # Every segment the templates name exists: the init segment and one file per timeline entry.
    for representation in root.iter(f"{MPD}Representation"):
        template = representation.find(f"{MPD}SegmentTemplate")
        if template is None:
            continue
        rid = representation.get("id")
        assert (dash / template.get("initialization").replace("$RepresentationID$", rid)).is_file()
        count = sum(1 + int(s.get("r", 0)) for s in template.iter(f"{MPD}S"))
        for number in range(int(template.get("startNumber")), int(template.get("startNumber")) + count):
            name = template.get("media").replace("$RepresentationID$", rid).replace("$Number%05d$", f"{number:05d}")
            assert (dash / name).is_file(), name


def test_a_dash_client_plays_both_sounds_and_reads_the_text(dash):
    manifest = str(dash / "manifest.mpd")  # ffmpeg's DASH reader wants an absolute path
    # ffmpeg opens only media file names unless told otherwise; the text is a .vtt file.
    allow = ("-allowed_extensions", "ALL")
    streams = probe(manifest, *allow)
    assert [s["codec_type"] for s in streams] == ["video", "audio", "audio", "subtitle"]
    assert streams[3]["codec_name"] == "webvtt"
    # The AdaptationSets' order: the original, then the described sound.
    assert dominant_hz(sound(manifest, 0, *allow)) == pytest.approx(ORIGINAL_HZ, abs=5)
    described = sound(manifest, 1, *allow)
    assert dominant_hz(described) == pytest.approx(DESCRIBED_HZ, abs=5)
    assert len(described) / 16000 == pytest.approx(SECONDS, abs=0.1)


# --- other inputs ------------------------------------------------------------------------------

def test_a_picture_and_sound_players_cannot_take_are_encoded_with_warnings(media, tmp_path):
    # A plain source video (no described track in it): MPEG-4 Part 2 with 5.1 AC-3 sound, in Korean.
    source = tmp_path / "old.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=320x180:r=25", "-f", "lavfi", "-i", f"sine=f={ORIGINAL_HZ}:r=48000",
           "-t", "3", "-map", "0:v", "-map", "1:a", "-c:v", "mpeg4",
           "-af", "pan=5.1(side)|FL=c0|FR=c0|FC=c0|LFE=c0|SL=c0|SR=c0", "-c:a", "ac3",
           "-metadata:s:a:0", "language=kor", str(source))
    mix = described_mix(tmp_path / "mix.wav", 3)

    warnings = package_hls(source, mix, None, "ko", tmp_path / "old.hls")
    assert len(warnings) == 2
    assert "video (mpeg4)" in warnings[0] and "H.264" in warnings[0]
    assert "sound (ac3)" in warnings[1] and "AAC" in warnings[1]
    master = tags(tmp_path / "old.hls" / "master.m3u8")
    audio = [a for name, a in master if name == "#EXT-X-MEDIA"]
    assert [(a["LANGUAGE"], a.get("CHARACTERISTICS"), a["CHANNELS"]) for a in audio] == \
        [("ko", None, "6"), ("ko", "public.accessibility.describes-video", "2")]
    assert audio[1]["NAME"] == audio_title("ko")
    assert not any(a["TYPE"] == "SUBTITLES" for a in audio) and "SUBTITLES" not in master[-2][1]
    codecs = master[-2][1]["CODECS"].split(",")
    assert codecs[0].startswith("avc1.64") and codecs[1] == "mp4a.40.2"  # x264's High profile
    streams = probe(str(tmp_path / "old.hls" / "master.m3u8"))
    assert sorted(s["codec_name"] for s in streams) == ["aac", "aac", "h264"]
    # 5.1 as AAC knows it (AC-3's side channels as surrounds), which every decoder reads.
    assert probe(str(tmp_path / "old.hls" / "original-1" / "index.m3u8"))[0]["channel_layout"] == "5.1"

    warnings = package_dash(source, mix, None, "ko", tmp_path / "old.dash")
    assert len(warnings) == 2 and "DASH" in warnings[0]
    streams = probe(str(tmp_path / "old.dash" / "manifest.mpd"))
    assert [s["codec_name"] for s in streams] == ["h264", "aac", "aac"]


def test_an_hevc_picture_is_copied_with_the_codec_string_players_check(media, tmp_path):
    source = tmp_path / "hevc.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=320x180:r=25", "-t", "2", "-c:v", "libx265", "-preset", "ultrafast",
           "-x265-params", "log-level=error", str(source))
    mix = described_mix(tmp_path / "mix.wav", 2)
    assert package_hls(source, mix, None, "en", tmp_path / "hevc.hls") == []
    level = probe(str(source))[0]["level"]
    codecs = tags(tmp_path / "hevc.hls" / "master.m3u8")[-2][1]["CODECS"]
    # Main profile (1), compatible with profiles 1 and 2 (flags read in reverse bit order: 6).
    assert re.fullmatch(rf"hvc1\.1\.6\.L{level}(\.[0-9A-F]{{1,2}})*,mp4a\.40\.2", codecs), codecs
    assert b"hvc1" in next((tmp_path / "hevc.hls" / "video").glob("init*.mp4")).read_bytes()
    # No original sound: the described one is the group's default.
    audio = [a for name, a in tags(tmp_path / "hevc.hls" / "master.m3u8") if name == "#EXT-X-MEDIA"]
    assert [a["DEFAULT"] for a in audio] == ["YES"]
    assert [s["codec_name"] for s in probe(str(tmp_path / "hevc.hls" / "master.m3u8"))] == ["aac", "hevc"]


def test_an_odd_sized_picture_is_padded_for_h264(tmp_path):
    source = tmp_path / "odd.mkv"
    # testsrc2 makes even sizes only: one is cropped to odd.
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=322x182:r=25,format=rgb24,crop=321:181:0:0", "-t", "1", "-c:v", "png",
           str(source))
    warnings = package_hls(source, described_mix(tmp_path / "mix.wav", 1), None, "en", tmp_path / "odd.hls")
    assert "video (png)" in warnings[0]
    assert tags(tmp_path / "odd.hls" / "master.m3u8")[-2][1]["RESOLUTION"] == "322x182"


def test_bad_input_is_refused_in_one_line_before_anything_is_written(media, tmp_path):
    rendered, mix, vtt = media["rendered"], media["mix"], media["vtt"]
    not_vtt = tmp_path / "cues.srt"
    not_vtt.write_text("1\n00:00:01,000 --> 00:00:02,000\nHello\n", encoding="utf-8")
    bad_time = tmp_path / "bad.vtt"
    bad_time.write_text("WEBVTT\n\n00:01 --> 00:02\nHello\n", encoding="utf-8")
    wav = tmp_path / "mix.wav"
    ffmpeg("-f", "lavfi", "-i", "sine", "-t", "1", str(wav))
    a_file = tmp_path / "taken"
    a_file.write_text("not a folder")
    cases = [
        ((rendered, tmp_path / "missing.m4a", vtt), tmp_path / "a.hls", "described mix missing"),
        ((tmp_path / "missing.mp4", mix, vtt), tmp_path / "a.hls", "video missing"),
        ((mix, mix, vtt), tmp_path / "a.hls", "no video stream"),  # a sound file given as the video
        ((rendered, mix, tmp_path / "missing.vtt"), tmp_path / "a.hls", "WebVTT) missing"),
        ((rendered, mix, not_vtt), tmp_path / "a.hls", "not a WebVTT file"),
        ((rendered, mix, bad_time), tmp_path / "a.hls", "bad cue timing"),
        ((rendered, wav, vtt), tmp_path / "a.hls", "must be AAC"),
        ((rendered, mix, vtt), a_file, "is a file"),
        ((rendered, mix, vtt), tmp_path / "50%" / "a.hls", "cannot contain '%'"),
    ]
    before = sorted(tmp_path.iterdir())
    for inputs, target, message in cases:
        for package in (package_hls, package_dash):
            if package is package_dash and "%" in message:
                continue
            with pytest.raises(InputError, match=re.escape(message)) as error:
                package(*inputs, "en", target)
            assert "\n" not in str(error.value)
    assert sorted(tmp_path.iterdir()) == before


def test_a_failure_half_way_leaves_the_old_package_and_nothing_half_written(media, tmp_path):
    # A truncated copy keeps its header's length, and ffmpeg copies what is there without an
    # error: the failure is found once the segments are written.
    whole = tmp_path / "whole.mp4"
    ffmpeg("-i", str(media["source"]), "-c", "copy", "-movflags", "+faststart", str(whole))
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(whole.read_bytes()[:whole.stat().st_size // 2])
    out = tmp_path / "out"
    for package, name in ((package_hls, "clip.hls"), (package_dash, "clip.dash")):
        target = out / name
        target.mkdir(parents=True)
        (target / "old").write_text("the package of an earlier render")
        with pytest.raises(InputError, match=r"the picture ends at \d\.\d s of 9\.0 s"):
            package(truncated, media["mix"], media["vtt"], "en", target)
        assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no half-written folder
        assert [p.name for p in target.iterdir()] == ["old"]
        # A good run replaces the old package whole.
        package(whole, media["mix"], media["vtt"], "en", target)
        assert not (target / "old").exists()
    assert sorted(p.name for p in out.iterdir()) == ["clip.dash", "clip.hls"]


# --- a browser ---------------------------------------------------------------------------------

PLAYER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>HLS player</title></head>
<body><video id="video" playsinline></video>
<script src="hls.min.js"></script>
<script>
window.events = [];
const video = document.getElementById('video');
const hls = new Hls();
window.hls = hls;
hls.on(Hls.Events.ERROR, (_, data) => { if (data.fatal) events.push('fatal: ' + data.details); });
hls.on(Hls.Events.AUDIO_TRACK_SWITCHED, (_, data) => events.push('switched to ' + data.id));
hls.loadSource('clip.hls/master.m3u8');
hls.attachMedia(video);
// What is heard: the strongest frequency of the element's sound, through Web Audio.
const context = new AudioContext();
const analyser = new AnalyserNode(context, {fftSize: 8192});
context.createMediaElementSource(video).connect(analyser);
analyser.connect(context.destination);
window.heardHz = () => {
  const bins = new Float32Array(analyser.frequencyBinCount);
  analyser.getFloatFrequencyData(bins);
  let best = 0;
  for (let i = 1; i < bins.length; i++) if (bins[i] > bins[best]) best = i;
  return best * context.sampleRate / analyser.fftSize;
};
</script></body></html>
"""


@pytest.fixture(scope="module")
def site(hls, tmp_path_factory):
    """The HLS package, hls.js and a player page, served on loopback."""
    if not HLS_JS.is_file():
        pytest.fail(f"{HLS_JS} missing: run `make browser` (npm ci in tests/browser)")
    root = tmp_path_factory.mktemp("site")
    shutil.copytree(hls, root / "clip.hls")
    shutil.copyfile(HLS_JS, root / "hls.min.js")
    (root / "player.html").write_text(PLAYER, encoding="utf-8")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def chromium():
    from studio import browser

    driver = browser(640, 480)
    driver.get("about:blank")
    if not driver.execute_script("return MediaSource.isTypeSupported('video/mp4; codecs=\"avc1.42E01E, mp4a.40.2\"')"):
        driver.quit()
        pytest.skip("this chromium's Media Source Extensions cannot play H.264 and AAC")
    yield driver
    driver.quit()


def test_hls_js_lists_the_described_sound_and_switches_to_it(site, chromium, hls):
    from selenium.webdriver.support.ui import WebDriverWait

    chromium.get(site + "/player.html")
    WebDriverWait(chromium, 20).until(lambda d: d.execute_script("return hls.audioTracks.length") == 2)
    tracks = chromium.execute_script(
        "return hls.audioTracks.map(t => ({name: t.name, lang: t.lang, characteristics: t.characteristics || null,"
        " default: t.default}))")
    assert [t["characteristics"] for t in tracks] == [None, "public.accessibility.describes-video"]
    assert [(t["name"], t["lang"], t["default"]) for t in tracks][1] == (audio_title("en"), "en", False)
    assert chromium.execute_script("return hls.subtitleTracks.map(t => t.name)") == [text_title("en")]
    assert chromium.execute_script("return hls.audioTrack") == 0

    chromium.execute_script("video.play()")
    WebDriverWait(chromium, 20).until(lambda d: d.execute_script("return video.currentTime") > 1)
    assert chromium.execute_script("return heardHz()") == pytest.approx(ORIGINAL_HZ, abs=10)
    chromium.execute_script("hls.audioTrack = 1")
    WebDriverWait(chromium, 20).until(lambda d: "switched to 1" in d.execute_script("return events"))
    switched_at = chromium.execute_script("return video.currentTime")
    WebDriverWait(chromium, 20).until(lambda d: d.execute_script("return video.currentTime") > switched_at + 1.5)
    assert chromium.execute_script("return heardHz()") == pytest.approx(DESCRIBED_HZ, abs=10)

    # The text, once chosen, is placed on the picture's timeline by its X-TIMESTAMP-MAP (ffmpeg
    # starts the picture a few milliseconds in, after the AAC priming), to the millisecond, and
    # the cue repeated in two segments is shown once.
    first_picture = float(probe(str(hls / "video" / "index.m3u8"))[0]["start_time"])
    chromium.execute_script("hls.subtitleTrack = 0")
    cues = ("return Array.from(video.textTracks).flatMap(t => Array.from(t.cues || []))"
            ".map(c => [c.startTime, c.endTime, c.getCueAsHTML().textContent])")
    WebDriverWait(chromium, 20).until(lambda d: len(d.execute_script(cues)) >= 2)
    shown = sorted(chromium.execute_script(cues))
    assert [text for _, _, text in shown] == [text for _, _, text in DESCRIPTIONS]
    for (start, end, _), (expected_start, expected_end, _) in zip(shown, DESCRIPTIONS):
        assert (start, end) == (pytest.approx(first_picture + expected_start, abs=0.002),
                                pytest.approx(first_picture + expected_end, abs=0.002))
    assert not [e for e in chromium.execute_script("return events") if e.startswith("fatal")]
