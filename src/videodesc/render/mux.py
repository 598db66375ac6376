"""The described media: the original video with the described mix as an added, flagged audio track
and the description text as a subtitle track (MP4 or MKV), and the premixed mix alone (M4A).

The video and the original sound are copied, so the picture is bit-identical to the source's; only
the mix is encoded (AAC). What MP4 cannot hold as it is (an MS-MPEG4 or ProRes picture, PCM sound)
is encoded once, with a warning: the picture to H.264 at CRF 18, the sound to AAC. Players find the described track by its language, its
name, and its flags: `descriptions` and `visual_impaired` (in MP4 both become a `kind` box with the
DASH role "description"; Matroska has FlagVisualImpaired for audio tracks).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from videodesc.errors import InputError
from videodesc.media import ffmpeg
from videodesc.output.subtitle_files import to_vtt
from videodesc.workfolder import atomic_path

# ISO 639-1 -> ISO 639-2/B (what MP4 and Matroska tags hold) and the language's English name.
LANGUAGES = {
    "ko": ("kor", "Korean"), "en": ("eng", "English"), "ja": ("jpn", "Japanese"), "zh": ("chi", "Chinese"),
    "fr": ("fre", "French"), "de": ("ger", "German"), "es": ("spa", "Spanish"), "it": ("ita", "Italian"),
    "pt": ("por", "Portuguese"), "ru": ("rus", "Russian"), "ar": ("ara", "Arabic"), "hi": ("hin", "Hindi"),
    "vi": ("vie", "Vietnamese"), "th": ("tha", "Thai"), "id": ("ind", "Indonesian"), "nl": ("dut", "Dutch"),
    "sv": ("swe", "Swedish"), "pl": ("pol", "Polish"), "tr": ("tur", "Turkish"),
}
# Names in the viewer's language where we have them: a Korean player menu shows 화면해설.
_AUDIO_TITLE = {"ko": "화면해설 (Audio description, Korean)"}
_TEXT_TITLE = {"ko": "화면해설 대본 (Audio description text, Korean)"}
# Codecs the MP4 muxer takes as they are; other original sound is re-encoded to AAC (with a warning).
_MP4_AUDIO = {"aac", "mp3", "mp2", "ac3", "eac3", "alac", "opus", "flac"}
_MP4_VIDEO = {"h264", "hevc", "av1", "vp9", "mpeg4", "mpeg2video", "mpeg1video", "mjpeg"}
AAC_BITRATE_PER_CHANNEL = 96  # kb/s: 192 kb/s for a stereo mix, 576 kb/s for 5.1
# AAC's channel configuration 6 is 5.1 with surrounds, not "side" or "back" ones; given 5.1(side),
# ffmpeg's encoder writes a program config element instead, which many players and hardware
# decoders ignore or misread (and ffprobe reads back no layout). Encoded as 5.1, the side channels
# go to the back ones unchanged and the track is the plain 5.1 every decoder knows.
_AAC_LAYOUT = {"5.1(side)": "5.1"}
REENCODE_CRF = 18  # x264 quality for a picture that cannot be copied: near transparent


@dataclass
class TextCue:
    """One description as text, for the subtitle track."""

    start: float
    end: float
    text: str


def language_code(language: str) -> str:
    """The ISO 639-2 code for `language` ('ko' -> 'kor'); three-letter codes pass through; else 'und'."""
    language = (language or "").strip().lower()
    if language in LANGUAGES:
        return LANGUAGES[language][0]
    if len(language) == 3 and language.isalpha():
        return language
    return "und"


def audio_title(language: str) -> str:
    """The described track's name, e.g. 'Audio description (English)' or '화면해설 (Audio description, Korean)'."""
    return _AUDIO_TITLE.get(language, f"Audio description ({_language_name(language)})")


def text_title(language: str) -> str:
    return _TEXT_TITLE.get(language, f"Audio description text ({_language_name(language)})")


def _language_name(language: str) -> str:
    return LANGUAGES.get(language, (None, language or "unknown language"))[1]


def write_ad_mp4(video: Path, mix: Path, cues: Sequence[TextCue], language: str, target: Path,
                 ad_default: bool = False) -> list[str]:
    """MP4: the video (copied), the original sound (copied), the described mix (AAC), the description text (mov_text).

    Args:
        video: the source video.
        mix: the described mix, as long as the video: a WAV (encoded here to AAC), or the M4A
            that `write_m4a` made of it (copied: one AAC encoding saved).
        cues: the descriptions' texts and times, for the text track (no track when empty).
        language: ISO 639-1 ('ko', 'en') or 639-2 code of the descriptions.
        target: the file to write (written atomically).
        ad_default: make the described track the default audio track (the original's default flag
            is taken away).

    Returns:
        Warnings: what MP4 cannot hold and was encoded (a picture to H.264, original sound to AAC).

    Raises:
        InputError: the video or the mix is missing.
    """
    return _write(video, mix, cues, language, Path(target), ad_default, container="mp4")


def write_ad_mkv(video: Path, mix: Path, cues: Sequence[TextCue], language: str, target: Path,
                 ad_default: bool = False) -> list[str]:
    """Matroska: as `write_ad_mp4`, with the description text as a WebVTT track, and the source's own
    subtitle tracks and attachments (fonts) kept after it."""
    return _write(video, mix, cues, language, Path(target), ad_default, container="mkv")


def write_m4a(mix: Path, target: Path, language: str) -> None:
    """The described mix alone as AAC in an M4A file, tagged with the language and the track name.

    Write it before the MP4 and hand it to `write_ad_mp4` as the mix: the AAC is then copied,
    not encoded a second time.
    """
    mix, target = Path(mix), Path(target)
    if not mix.is_file():
        raise InputError(f"{mix}: described mix missing")
    with atomic_path(target) as tmp:
        ffmpeg.run(["-v", "error", "-i", str(mix), "-map", "0:a:0", "-vn", *_aac_args(mix, 0),
                    *_tags("a:0", language_code(language), audio_title(language)),
                    "-disposition:a:0", "default+descriptions+visual_impaired",
                    # The mp4 muxer (not `ipod`) writes the `kind` box that carries the flags.
                    "-brand", "M4A ", "-f", "mp4", "-y", str(tmp)],
                   what=f"writing {target.name}")


def _write(video: Path, mix: Path, cues: Sequence[TextCue], language: str, target: Path, ad_default: bool,
           container: str) -> list[str]:
    video, mix = Path(video), Path(mix)
    if not video.is_file():
        raise InputError(f"{video}: video missing")
    if not mix.is_file():
        raise InputError(f"{mix}: described mix missing")
    streams = streams_of(video)
    videos = [s for s in streams if s.get("codec_type") == "video"
              and not s.get("disposition", {}).get("attached_pic")]
    audios = [s for s in streams if s.get("codec_type") == "audio"]
    if not videos:
        raise InputError(f"{video}: no video stream")
    code = language_code(language)
    ad = len(audios)  # the described track's index among the output's audio streams
    warnings: list[str] = []

    args = ["-v", "error", "-i", str(video), "-i", str(mix)]
    maps = ["-map", "0:V"]
    if audios:
        maps += ["-map", "0:a"]
    maps += ["-map", "1:a:0"]
    codecs = []
    for number, stream in enumerate(videos):
        if container == "mp4" and stream.get("codec_name") not in _MP4_VIDEO:
            # MS-MPEG4, ProRes, Theora...: the MP4 muxer refuses them, so the picture is encoded
            # once, at a quality that keeps it (the same settings as the extended video's).
            codecs += [f"-c:v:{number}", "libx264", f"-crf:v:{number}", str(REENCODE_CRF),
                       f"-preset:v:{number}", "veryfast", f"-pix_fmt:v:{number}", "yuv420p"]
            warnings.append(f"the video ({stream.get('codec_name')}) cannot be copied into MP4 and was re-encoded "
                            f"to H.264 (CRF {REENCODE_CRF}); use --container mkv to keep it as it is")
        else:
            codecs += [f"-c:v:{number}", "copy"]
    for number, stream in enumerate(audios):
        if container == "mp4" and stream.get("codec_name") not in _MP4_AUDIO:
            codecs += aac_encoding(stream, number)
            warnings.append(f"the original sound ({stream.get('codec_name')}) cannot be copied into MP4 and was "
                            "re-encoded to AAC (use --container mkv to keep it as it is)")
        else:
            codecs += [f"-c:a:{number}", "copy"]
    codecs += _aac_args(mix, ad)
    meta = _tags(f"a:{ad}", code, audio_title(language), container)
    # The described track is never the default unless asked (or unless it is the only sound).
    meta += [f"-disposition:a:{ad}", ("default+" if ad_default or not audios else "") + "descriptions+visual_impaired"]
    if ad_default:
        meta += [arg for number in range(len(audios)) for arg in (f"-disposition:a:{number}", "-default")]

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".mux-", dir=target.parent) as scratch:
        subtitles = 0
        for cue in cues:
            if not (0 <= cue.start < cue.end):
                raise InputError(f"description text at {cue.start:.2f}-{cue.end:.2f} s: times out of order")
        if cues:
            ordered = sorted(cues, key=lambda c: (c.start, c.end))
            # WebVTT in both cases: its `&amp;` and `&lt;` carry a literal & and < through ffmpeg's
            # decoder (an SRT `<...>` would be taken for a formatting tag and dropped).
            text = Path(scratch) / "descriptions.vtt"
            text.write_text(to_vtt(ordered), encoding="utf-8")
            args += ["-i", str(text)]
            maps += ["-map", "2:s:0"]
            codecs += ["-c:s:0", "mov_text" if container == "mp4" else "copy"]
            meta += _tags("s:0", code, text_title(language), container)
            meta += ["-disposition:s:0", "descriptions"]
            subtitles = 1
        # The source's own subtitles stay, after the description text: all of them (and the fonts
        # they use) in Matroska; in MP4 only those already in MP4's text format.
        own = [s for s in streams if s.get("codec_type") == "subtitle"
               and (container == "mkv" or s.get("codec_name") == "mov_text")]
        left_out = [s for s in subtitle_streams(streams) if s not in own]
        if left_out:
            kinds = ", ".join(sorted({s.get("codec_name", "?") for s in left_out}))
            warnings.append(f"{len(left_out)} subtitle track{'s' if len(left_out) != 1 else ''} of the source "
                            f"({kinds}) cannot go into MP4 and {'were' if len(left_out) != 1 else 'was'} left out: "
                            "use --container mkv to keep them")
        for number, stream in enumerate(own, start=subtitles):
            maps += ["-map", f"0:{stream['index']}"]
            codecs += [f"-c:s:{number}", "copy"]
        if container == "mkv" and any(s.get("codec_type") == "attachment" for s in streams):
            maps += ["-map", "0:t"]
            codecs += ["-c:t", "copy"]
        with atomic_path(target) as tmp:
            ffmpeg.run([*args, *maps, *codecs, *meta,
                        "-f", "mp4" if container == "mp4" else "matroska", "-y", str(tmp)],
                       what=f"writing {target.name}")
    return warnings


def _tags(spec: str, code: str, title: str, container: str = "mp4") -> list[str]:
    # MP4 keeps a track's name in its handler ('hdlr'), which is what players list (ffmpeg also
    # writes `title` to the track's 'udta/name' box, but reads it back only as handler_name);
    # Matroska keeps `title` as the track's name.
    tags = [f"-metadata:s:{spec}", f"language={code}", f"-metadata:s:{spec}", f"title={title}"]
    if container == "mp4":
        tags += [f"-metadata:s:{spec}", f"handler_name={title}"]
    return tags


def _aac_args(mix: Path, number: int) -> list[str]:
    """Encode the mix (mono, stereo, 5.1 or 7.1) to AAC, or copy it when it is AAC already (an M4A
    from `write_m4a`): the encoder is the slowest part of muxing, so the render step encodes once."""
    streams = [s for s in streams_of(mix) if s.get("codec_type") == "audio"]
    if not streams:
        raise InputError(f"{mix}: the described mix holds no sound")
    if streams[0].get("codec_name") == "aac":
        return [f"-c:a:{number}", "copy"]
    return [*aac_encoding(streams[0], number), f"-ar:a:{number}", "48000"]


def aac_encoding(stream: dict, number: int) -> list[str]:
    """ffmpeg options encoding output audio stream `number` to AAC from `stream` (ffprobe's dict of
    the input): at AAC_BITRATE_PER_CHANNEL (up to 5.1's six), in a layout AAC has a configuration
    for, and without perceptual noise substitution or intensity stereo. Those two tools replace
    noise-like bands by generated noise and fold channels together, which on dense, loud sound
    raised the true peak of a mix by up to 10 dB (-6.6 to +4.0 dBTP, pink noise at -14 LUFS), more
    than any limiter margin; without them the same mix overshoots by about 1.4 dB."""
    channels = min(int(stream.get("channels") or 2), 6)
    args = [f"-c:a:{number}", "aac", f"-b:a:{number}", f"{AAC_BITRATE_PER_CHANNEL * channels}k",
            f"-aac_pns:a:{number}", "0", f"-aac_is:a:{number}", "0"]
    layout = _AAC_LAYOUT.get(stream.get("channel_layout", ""))
    return args + ([f"-ch_layout:a:{number}", layout] if layout else [])


def subtitle_streams(streams: list[dict]) -> list[dict]:
    return [s for s in streams if s.get("codec_type") == "subtitle"]


def streams_of(path: Path) -> list[dict]:
    """ffprobe's stream list for `path`."""
    proc = subprocess.run([ffmpeg.binary("ffprobe"), "-v", "error", "-show_streams", "-of", "json", str(path)],
                          capture_output=True)
    if proc.returncode != 0:
        raise InputError(f"{path}: not a readable media file ({ffmpeg.last_line(proc.stderr)})")
    return json.loads(proc.stdout or b"{}").get("streams", [])
