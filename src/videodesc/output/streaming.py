"""The described programme packaged for streaming: HLS and MPEG-DASH folders a web server can serve.

Both packages hold the same pieces: the picture (one rendition, copied when streaming players
take its codec), the original sound, the described mix as a second, flagged choice of sound (its
AAC copied from the M4A that `render` wrote: no second encoding), and the description text as
WebVTT. A player lists the described sound beside the original, and the accessibility settings of
the viewer's device (Apple's "Prefer audio descriptions", a TV's audio description switch) can
pick it by its flags:

- HLS (RFC 8216): the sounds are members of one audio rendition group, the described one with
  `CHARACTERISTICS="public.accessibility.describes-video"` (Apple's tag for audio description).
  The text is a SUBTITLES rendition, with no characteristic: Apple defines the accessibility
  characteristics of text for transcribed dialogue and sounds, which descriptions are not, and
  it is neither DEFAULT nor AUTOSELECT so that it never appears as the viewer's subtitles unasked.
- DASH (ISO/IEC 23009-1): each sound is an AdaptationSet. The original has the Role `main`; the
  described one the Role `description` (ISO/IEC 23009-1 Table 22: "an audio description describing
  a visual component") and also `alternate` (DVB-DASH, ETSI TS 103 285, marks a broadcast-mix
  description, a complete sound meant instead of the main one, by that role), with the
  Accessibility descriptors that DVB-DASH reads (`urn:tva:metadata:cs:AudioPurposeCS:2007`, value
  1: "audio description for the visually impaired") and that ATSC 3.0 and DASH-IF read (the role
  scheme's `description`). The text is a WebVTT sidecar file (mimeType text/vtt, named by a
  BaseURL: the way dash.js and Shaka Player take side-loaded WebVTT) in an AdaptationSet with
  the Role `description`, which the same Table 22 defines for text too: "a textual description
  (intended for audio synthesis)", which is what these descriptions are.

ffmpeg cuts the segments, for all renditions in one run, so that they share one timeline (AAC's
priming samples make ffmpeg move every stream by the same few milliseconds). What ffmpeg writes
around the segments is not kept as it is: its HLS master playlist has no language, names or
characteristics, and lists every sound as a variant of its own, so ours is written here; its
WebVTT segments leave a cue that spans a segment boundary out of the later segment (RFC 8216
section 3.5 asks for every cue shown during a segment) and lack the X-TIMESTAMP-MAP that places
them on the media's timeline, so the text is segmented here as well; and its MPD is given the
roles, languages and the text AdaptationSet.

Each package is a folder written atomically: built in a hidden folder beside the target and renamed
onto it when complete, replacing an older package; a failure leaves nothing behind.
"""

from __future__ import annotations

import math
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from defusedxml.ElementTree import parse as parse_xml

from videodesc.errors import InputError, VideodescError
from videodesc.media import ffmpeg
from videodesc.render.mux import (
    LANGUAGES, REENCODE_CRF, aac_encoding, audio_title, language_code, streams_of, text_title,
)
from videodesc.workfolder import atomic_path

SEGMENT_SECONDS = 6  # Apple's recommended HLS segment length, used for DASH too
DESCRIBES_VIDEO = "public.accessibility.describes-video"
# The pictures streaming players decode from fMP4 segments: HLS players take H.264 and HEVC,
# DASH players (browsers' Media Source Extensions) also VP9 and AV1. Others are re-encoded.
HLS_VIDEO = {"h264", "hevc"}
DASH_VIDEO = {"h264", "hevc", "vp9", "av1"}
# The AAC profiles players decode, as ffprobe names them, and their MPEG-4 audio object types
# (the N of the codec string `mp4a.40.N`). Other original sound is re-encoded to AAC LC.
AAC_OBJECT_TYPES = {"LC": 2, "HE-AAC": 5, "HE-AACv2": 29}
AUDIO_GROUP, TEXT_GROUP = "audio", "text"

MPD_NS = "urn:mpeg:dash:schema:mpd:2011"
ROLE_SCHEME = "urn:mpeg:dash:role:2011"
AUDIO_PURPOSE_SCHEME = "urn:tva:metadata:cs:AudioPurposeCS:2007"
VISUALLY_IMPAIRED = "1"  # AudioPurposeCS: audio description for the visually impaired
for _prefix, _uri in (("", MPD_NS), ("xsi", "http://www.w3.org/2001/XMLSchema-instance"),
                      ("xlink", "http://www.w3.org/1999/xlink")):
    # Keep ffmpeg's prefixes when the MPD is written back (not ElementTree's ns0, ns1).
    ElementTree.register_namespace(_prefix, _uri)


@dataclass
class Cue:
    """One WebVTT cue block, kept as written, with its times in seconds."""

    start: float
    end: float
    block: str


@dataclass
class WebVTT:
    """A WebVTT file in blocks, kept as written, so that cue settings and markup pass through."""

    first: str  # the WEBVTT line and any header lines
    styles: list[str]  # STYLE and REGION blocks, which come before the cues
    cues: list[Cue]


@dataclass
class Programme:
    """What the packages are made of: probed streams and the checked input paths."""

    video_path: Path
    described_path: Path
    vtt: Path | None
    text: WebVTT | None  # what `vtt` holds
    video: dict  # ffprobe's record of the picture
    originals: list[dict]  # the original sound streams, in the video file's order
    described: dict  # the described mix's AAC stream


@dataclass
class MediaPlaylist:
    """An HLS media playlist (ffmpeg's, or the text's written here): its segments' durations and files."""

    path: Path
    init: Path | None  # the EXT-X-MAP of fMP4 renditions; WebVTT has none
    segments: list[tuple[float, Path]]

    def peak_bitrate(self) -> int:
        """The largest segment bit rate (RFC 8216's BANDWIDTH counts the peak), in bit/s."""
        return max((math.ceil(file.stat().st_size * 8 / duration) for duration, file in self.segments
                    if duration > 0), default=0)

    def average_bitrate(self) -> int:
        seconds = sum(duration for duration, _ in self.segments)
        return math.ceil(sum(file.stat().st_size for _, file in self.segments) * 8 / seconds) if seconds else 0


def package_hls(video: Path, described: Path, vtt: Path | None, language: str, target: Path) -> list[str]:
    """An HLS folder: `master.m3u8`, fMP4 (CMAF) media renditions, WebVTT segments.

    Layout: `video/`, `original-1/` (one folder per original sound), `described/` (each an
    `index.m3u8`, an init segment and ~6 s `.m4s` segments) and `text/` (an `index.m3u8` and
    `.vtt` segments cut at the video's segment boundaries).

    Args:
        video: the rendered `NAME.ad.mp4` or the source video. Its first picture and its original
            sound are used; an audio stream flagged `descriptions` or `visual_impaired` (the
            described track of a rendered MP4) is not original sound and is left out.
        described: the described mix as AAC in an M4A (`NAME.ad-mix.m4a`), copied.
        vtt: the description text as WebVTT (`descriptions.vtt`), or None for no text rendition.
        language: the descriptions' language, ISO 639-1 ('ko', 'en').
        target: the folder to write (`OUT/NAME.hls`); an existing one is replaced.

    Returns:
        Warnings: what could not be copied and was encoded (a picture other than H.264 or HEVC to
        H.264, original sound other than AAC to AAC).

    Raises:
        InputError: an input is missing or unusable, or `target` is a file.
    """
    target = Path(target)
    if "%" in str(target):
        # ffmpeg's HLS muxer reads `%` in its output paths as the start of a pattern.
        raise InputError(f"{target}: HLS output paths cannot contain '%'")
    programme = _programme(Path(video), Path(described), vtt, target)
    warnings: list[str] = []
    # One folder per rendition, named by ffmpeg's variant streams: `v:0` and each `a:N` apart.
    sounds = [f"original-{number}" for number in range(1, len(programme.originals) + 1)] + ["described"]
    names = ["video", *sounds]
    stream_map = " ".join(["v:0,name:video", *(f"a:{number},name:{name}" for number, name in enumerate(sounds))])
    with atomic_path(target) as folder:
        folder.mkdir()
        ffmpeg.run([*_stream_args(programme, HLS_VIDEO, "HLS", warnings),
                    "-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_playlist_type", "vod",
                    "-hls_segment_type", "fmp4", "-hls_flags", "independent_segments",
                    "-var_stream_map", stream_map,
                    "-hls_segment_filename", str(folder / "%v" / "segment-%05d.m4s"),
                    "-hls_fmp4_init_filename", "init.mp4", str(folder / "%v" / "index.m3u8")],
                   what=f"writing {target.name}")
        playlists = {name: _media_playlist(folder / name / "index.m3u8") for name in names}
        _check_complete(programme, sum(duration for duration, _ in playlists["video"].segments))
        # The picture as packaged (its size after any padding, where ffmpeg put it on the timeline).
        picture = streams_of(playlists["video"].path)[0]
        text = None
        if programme.text is not None:
            text = _write_hls_text(programme, picture, playlists["video"], folder / "text")
        (folder / "master.m3u8").write_text(_master_playlist(programme, picture, language, playlists, text, folder),
                                            encoding="utf-8")
    return warnings


def package_dash(video: Path, described: Path, vtt: Path | None, language: str, target: Path) -> list[str]:
    """A DASH folder: `manifest.mpd`, fMP4 init and ~6 s media segments per stream, the WebVTT file.

    The MPD (isoff-live profile, SegmentTemplate with SegmentTimeline) has an AdaptationSet for the
    picture, one per original sound (Role `main` for the first), one for the described sound (Roles
    `description` and `alternate`, Accessibility AudioPurposeCS 1 and role `description`) and one
    for the text (`descriptions.vtt`, Role `description`). Arguments, return value and errors as for
    `package_hls`, except that VP9 and AV1 pictures are copied too.
    """
    target = Path(target)
    programme = _programme(Path(video), Path(described), vtt, target)
    warnings: list[str] = []
    with atomic_path(target) as folder:
        folder.mkdir()
        sets = " ".join(f"id={number},streams={number}" for number in range(len(programme.originals) + 2))
        manifest = folder / "manifest.mpd"
        ffmpeg.run([*_stream_args(programme, DASH_VIDEO, "DASH", warnings),
                    "-f", "dash", "-seg_duration", str(SEGMENT_SECONDS), "-use_template", "1", "-use_timeline", "1",
                    "-adaptation_sets", sets, "-init_seg_name", "init-$RepresentationID$.mp4",
                    "-media_seg_name", "segment-$RepresentationID$-$Number%05d$.m4s", str(manifest)],
                   what=f"writing {target.name}")
        if programme.vtt is not None:
            shutil.copyfile(programme.vtt, folder / "descriptions.vtt")
        _label_mpd(manifest, programme, language)
    return warnings


def _programme(video: Path, described: Path, vtt: Path | None, target: Path) -> Programme:
    """Check the inputs and probe them, before anything is written."""
    if not video.is_file():
        raise InputError(f"{video}: video missing")
    if not described.is_file():
        raise InputError(f"{described}: described mix missing")
    if vtt is not None:
        vtt = Path(vtt)
        if not vtt.is_file():
            raise InputError(f"{vtt}: description text (WebVTT) missing")
        text = _read_vtt(vtt)
    else:
        text = None
    if target.exists() and not target.is_dir():
        raise InputError(f"{target} is a file: give the path of the folder to write")
    streams = streams_of(video)
    pictures = [s for s in streams if s.get("codec_type") == "video"
                and not s.get("disposition", {}).get("attached_pic")]
    if not pictures:
        raise InputError(f"{video}: no video stream")
    originals = [s for s in streams if s.get("codec_type") == "audio" and not _is_described(s)]
    mix = [s for s in streams_of(described) if s.get("codec_type") == "audio"]
    if not mix:
        raise InputError(f"{described}: the described mix holds no sound")
    if mix[0].get("codec_name") != "aac" or mix[0].get("profile") not in AAC_OBJECT_TYPES:
        raise InputError(f"{described}: the described mix must be AAC (the .ad-mix.m4a that render writes), "
                         f"not {mix[0].get('codec_name')} {mix[0].get('profile') or ''}".rstrip())
    return Programme(video, described, vtt, text, pictures[0], originals, mix[0])


def _check_complete(programme: Programme, seconds: float) -> None:
    """Refuse a package whose picture stops short of the video's length.

    A truncated file (an interrupted copy or download) keeps the length its header promises,
    while ffmpeg copies what is there and stops without an error: the package would look
    complete and end half-way.
    """
    expected = float(programme.video.get("duration") or 0)  # absent in some containers: not checked
    if expected and seconds < expected - 1.0 - expected / 100:
        raise InputError(f"{programme.video_path}: the picture ends at {seconds:.1f} s of {expected:.1f} s "
                         "(is the file truncated?)")


def _is_described(stream: dict) -> bool:
    disposition = stream.get("disposition", {})
    return bool(disposition.get("descriptions") or disposition.get("visual_impaired"))


def _stream_args(programme: Programme, copyable: set[str], package: str, warnings: list[str]) -> list[str]:
    """ffmpeg's arguments before the muxer's: the inputs, and the output streams with their codecs
    (the picture, then the original sounds, then the described mix).

    Appends to `warnings` what is encoded rather than copied.
    """
    video = programme.video
    args = ["-v", "error", "-i", str(programme.video_path), "-i", str(programme.described_path),
            "-map", f"0:{video['index']}"]
    args += [arg for stream in programme.originals for arg in ("-map", f"0:{stream['index']}")]
    args += ["-map", "1:a:0"]
    codec = video.get("codec_name")
    if codec in copyable:
        args += ["-c:v", "copy"]
        if codec == "hevc":
            # Apple's players take HEVC in fMP4 only with the `hvc1` sample entry (parameter sets
            # in the init segment), not ffmpeg's default `hev1`.
            args += ["-tag:v", "hvc1"]
    else:
        # A keyframe at every segment boundary, so that segments are as long as asked for; an odd
        # width or height gets a black line, as 4:2:0 H.264 has even sizes only.
        args += ["-c:v", "libx264", "-crf", str(REENCODE_CRF), "-preset", "veryfast", "-pix_fmt", "yuv420p",
                 "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2",
                 "-force_key_frames", f"expr:gte(t,n_forced*{SEGMENT_SECONDS})"]
        warnings.append(f"the video ({codec}) cannot be copied into {package} and was re-encoded "
                        f"to H.264 (CRF {REENCODE_CRF})")
    for number, stream in enumerate(programme.originals):
        if _plays_as_is(stream):
            args += [f"-c:a:{number}", "copy"]
        else:
            args += aac_encoding(stream, number)
            warnings.append(f"the original sound ({stream.get('codec_name')}) cannot be copied into {package} "
                            "and was re-encoded to AAC")
    args += [f"-c:a:{len(programme.originals)}", "copy"]
    return args


def _plays_as_is(stream: dict) -> bool:
    return stream.get("codec_name") == "aac" and stream.get("profile") in AAC_OBJECT_TYPES


# --- HLS ---------------------------------------------------------------------------------------

def _media_playlist(path: Path) -> MediaPlaylist:
    """Read back a media playlist ffmpeg wrote (EXT-X-MAP, then EXTINF and URI pairs)."""
    init, segments, duration = None, [], None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#EXT-X-MAP:"):
            init = path.parent / re.search(r'URI="([^"]+)"', line).group(1)
        elif line.startswith("#EXTINF:"):
            duration = float(line[len("#EXTINF:"):].split(",")[0])
        elif line and not line.startswith("#") and duration is not None:
            segments.append((duration, path.parent / line))
            duration = None
    if init is None or not segments:
        raise InputError(f"the {path.parent.name} rendition came out empty (is the input empty?)")
    return MediaPlaylist(path, init, segments)


_TIMESTAMP = re.compile(r"(?:(\d+):)?(\d{2}):(\d{2})\.(\d{3})")


def _read_vtt(path: Path) -> WebVTT:
    """A WebVTT file's blocks (NOTE blocks, comments, are dropped); checked before any work starts."""
    try:
        text = path.read_text(encoding="utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a WebVTT file (not UTF-8 text)") from None
    if not text.startswith("WEBVTT"):
        raise InputError(f"{path}: not a WebVTT file (it does not start with WEBVTT)")
    blocks = [block.strip("\n") for block in re.split(r"\n{2,}", text) if block.strip()]
    styles, cues = [], []
    for block in blocks[1:]:
        timing = next((line for line in block.splitlines() if "-->" in line), None)
        if timing is None:
            if not block.startswith("NOTE"):
                styles.append(block)
            continue
        start, end = (_TIMESTAMP.match(part.strip()) for part in timing.split("-->", 1))
        if start is None or end is None:
            raise InputError(f"{path}: bad cue timing '{timing}'")
        cues.append(Cue(_seconds(start), _seconds(end), block))
    return WebVTT(blocks[0], styles, cues)


def _seconds(match: re.Match) -> float:
    hours, minutes, seconds, millis = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds + millis / 1000


def _write_hls_text(programme: Programme, picture: dict, video: MediaPlaylist, folder: Path) -> MediaPlaylist:
    """WebVTT segments, one per video segment, each with every cue shown during it (RFC 8216 3.5).

    Each segment's X-TIMESTAMP-MAP places cue time 0 (the programme's start) where ffmpeg put the
    first picture on the media's timeline: ffmpeg moves all streams by the AAC priming delay.
    """
    folder.mkdir()
    text = programme.text
    shift = float(picture.get("start_time") or 0) - float(programme.video.get("start_time") or 0)
    # The map is a header line: it belongs to the first block, before the first blank line.
    header = "\n\n".join([f"{text.first}\nX-TIMESTAMP-MAP=MPEGTS:{round(shift * 90000)},LOCAL:00:00:00.000",
                          *text.styles])
    segments, start = [], 0.0
    for number, (duration, _) in enumerate(video.segments):
        # The last segment also takes cues that run past the picture's end.
        end = start + duration if number < len(video.segments) - 1 else math.inf
        shown = [cue.block for cue in text.cues if cue.start < end and cue.end > start]
        file = folder / f"segment-{number:05d}.vtt"
        file.write_text("\n\n".join([header, *shown]) + "\n", encoding="utf-8")
        segments.append((duration, file))
        start += duration
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{_target_duration(segments)}",
             "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-PLAYLIST-TYPE:VOD"]
    for duration, file in segments:
        lines += [f"#EXTINF:{duration:.6f},", file.name]
    lines.append("#EXT-X-ENDLIST")
    playlist = folder / "index.m3u8"
    playlist.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return MediaPlaylist(playlist, None, segments)


def _target_duration(segments: list[tuple[float, Path]]) -> int:
    # RFC 8216: every EXTINF, rounded to the nearest integer, is at most the target duration.
    return max(math.floor(duration + 0.5) for duration, _ in segments)


def _master_playlist(programme: Programme, picture: dict, language: str, playlists: dict[str, MediaPlaylist],
                     text: MediaPlaylist | None, folder: Path) -> str:
    """master.m3u8: the audio group (originals, then the described mix), the text, one variant."""
    def uri(playlist: MediaPlaylist) -> str:
        return playlist.path.relative_to(folder).as_posix()

    audio, taken = [], set()
    for number, stream in enumerate(programme.originals, start=1):
        code = _bcp47(stream.get("tags", {}).get("language", ""))
        name = _unique(_quoted(stream.get("tags", {}).get("title") or _original_name(code)), taken)
        audio.append(_media_tag("AUDIO", AUDIO_GROUP, name, code, default=number == 1, autoselect=True,
                                extra=f'CHANNELS="{stream.get("channels") or 2}"',
                                uri=uri(playlists[f"original-{number}"])))
    code = _bcp47(language)
    # The described sound is the default only when there is no other sound to play.
    channels = programme.described.get("channels") or 2
    audio.append(_media_tag("AUDIO", AUDIO_GROUP, _unique(_quoted(audio_title(language)), taken), code,
                            default=not programme.originals, autoselect=True,
                            extra=f'CHARACTERISTICS="{DESCRIBES_VIDEO}",CHANNELS="{channels}"',
                            uri=uri(playlists["described"])))
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS", *audio]
    if text is not None:
        lines.append(_media_tag("SUBTITLES", TEXT_GROUP, _quoted(text_title(language)), code,
                                default=False, autoselect=False, uri=uri(text)))

    video = playlists["video"]
    sounds = [playlist for name, playlist in playlists.items() if name != "video"]
    always = [video, *([text] if text is not None else [])]
    # BANDWIDTH: the largest sum of peak segment bit rates of any playable combination of
    # renditions (RFC 8216 4.3.4.2): the picture, the text and the heaviest sound.
    bandwidth = sum(p.peak_bitrate() for p in always) + max(p.peak_bitrate() for p in sounds)
    average = sum(p.average_bitrate() for p in always) + max(p.average_bitrate() for p in sounds)
    codecs = sorted({_audio_codec(s) for s in [*programme.originals, programme.described]})
    attributes = [f"BANDWIDTH={bandwidth}", f"AVERAGE-BANDWIDTH={average}",
                  f'CODECS="{",".join([_video_codec(video.init), *codecs])}"',
                  f"RESOLUTION={picture['width']}x{picture['height']}"]
    rate = _frame_rate(picture)
    if rate:
        attributes.append(f"FRAME-RATE={rate:.3f}")
    attributes.append(f'AUDIO="{AUDIO_GROUP}"')
    if text is not None:
        attributes.append(f'SUBTITLES="{TEXT_GROUP}"')
    lines += ["#EXT-X-STREAM-INF:" + ",".join(attributes), uri(video)]
    return "\n".join(lines) + "\n"


def _media_tag(kind: str, group: str, name: str, code: str | None, default: bool, autoselect: bool, uri: str,
               extra: str = "") -> str:
    attributes = [f"TYPE={kind}", f'GROUP-ID="{group}"', f'NAME="{name}"']
    if code:
        attributes.append(f'LANGUAGE="{code}"')
    attributes += [f"DEFAULT={'YES' if default else 'NO'}", f"AUTOSELECT={'YES' if autoselect else 'NO'}"]
    if extra:
        attributes.append(extra)
    attributes.append(f'URI="{uri}"')
    return "#EXT-X-MEDIA:" + ",".join(attributes)


def _quoted(text: str) -> str:
    # An HLS quoted-string cannot hold a double quote or a line break.
    return " ".join(text.replace('"', "'").split())


def _unique(name: str, taken: set[str]) -> str:
    # RFC 8216: the renditions of a group have different NAMEs (two untitled English originals).
    candidate, number = name, 2
    while candidate in taken:
        candidate, number = f"{name} {number}", number + 1
    taken.add(candidate)
    return candidate


def _original_name(code: str | None) -> str:
    english = LANGUAGES.get(code or "", (None, None))[1]
    return f"Original sound ({english})" if english else "Original sound"


def _bcp47(code: str) -> str | None:
    """The language tag playlists and MPDs use (RFC 5646: 'ko', 'en'), from a 639-1 or 639-2 code;
    None when unknown ('und')."""
    code = language_code(code)
    if code == "und":
        return None
    return next((short for short, (long, _) in LANGUAGES.items() if long == code), code)


def _video_codec(init: Path) -> str:
    """The RFC 6381 codec string of the picture, from the decoder configuration in its init segment.

    The init segment holds the exact profile, constraint flags and level (ffprobe names the profile
    but not the flags), which is what a player checks against its decoder.
    """
    data = init.read_bytes()
    at = data.find(b"avcC")
    if at >= 0:  # AVCDecoderConfigurationRecord: version, profile, constraint flags, level
        profile, constraints, level = data[at + 5:at + 8]
        return f"avc1.{profile:02x}{constraints:02x}{level:02x}"
    at = data.find(b"hvcC")
    if at >= 0:  # HEVCDecoderConfigurationRecord, written as ISO/IEC 14496-15 Annex E says
        record = data[at + 4:at + 17]
        space, tier, profile = record[1] >> 6, (record[1] >> 5) & 1, record[1] & 0x1F
        compatibility = int("{:032b}".format(int.from_bytes(record[2:6], "big"))[::-1], 2)
        constraints = record[6:12].rstrip(b"\0")
        return ".".join(["hvc1", f"{['', 'A', 'B', 'C'][space]}{profile}", f"{compatibility:X}",
                         f"{'H' if tier else 'L'}{record[12]}", *(f"{byte:X}" for byte in constraints)])
    # Only H.264 and HEVC are copied into HLS, and anything else is encoded to H.264.
    raise VideodescError(f"{init}: no H.264 or HEVC decoder configuration in the video's init segment")


def _audio_codec(stream: dict) -> str:
    # Sound that is not copied is encoded to AAC LC.
    return f"mp4a.40.{AAC_OBJECT_TYPES[stream['profile']] if _plays_as_is(stream) else 2}"


def _frame_rate(stream: dict) -> float | None:
    for key in ("avg_frame_rate", "r_frame_rate"):
        numerator, _, denominator = str(stream.get(key) or "0/0").partition("/")
        if float(numerator or 0) > 0 and float(denominator or 1) > 0:
            return float(numerator) / float(denominator or 1)
    return None


# --- DASH --------------------------------------------------------------------------------------

def _label_mpd(manifest: Path, programme: Programme, language: str) -> None:
    """Give ffmpeg's MPD its languages, names, roles and accessibility flags, and the text."""
    tree = parse_xml(manifest)
    period = tree.getroot().find(f"{{{MPD_NS}}}Period")
    sets = {element.get("id"): element for element in period.findall(f"{{{MPD_NS}}}AdaptationSet")}
    seconds = _timeline_seconds(sets["0"])
    _check_complete(programme, seconds)
    sets["0"].attrib.pop("lang", None)  # a picture has no language (ffmpeg writes 'und')
    for number, stream in enumerate(programme.originals, start=1):
        code = _bcp47(stream.get("tags", {}).get("language", ""))
        _describe_set(sets[str(number)], code, stream.get("tags", {}).get("title") or _original_name(code),
                      roles=["main" if number == 1 else "alternate"])
    described = sets[str(len(programme.originals) + 1)]
    _describe_set(described, _bcp47(language), audio_title(language), roles=["description", "alternate"],
                  accessibility=((AUDIO_PURPOSE_SCHEME, VISUALLY_IMPAIRED), (ROLE_SCHEME, "description")))
    if programme.vtt is not None:
        text = ElementTree.SubElement(period, f"{{{MPD_NS}}}AdaptationSet",
                                      {"id": str(len(sets)), "contentType": "text", "mimeType": "text/vtt"})
        _describe_set(text, _bcp47(language), text_title(language), roles=["description"])
        size = (manifest.parent / "descriptions.vtt").stat().st_size
        representation = ElementTree.SubElement(text, f"{{{MPD_NS}}}Representation", {
            "id": str(len(sets)), "bandwidth": str(math.ceil(size * 8 / max(seconds, 1.0)))})
        ElementTree.SubElement(representation, f"{{{MPD_NS}}}BaseURL").text = "descriptions.vtt"
    for element in tree.iter():
        if element.text is not None and not element.text.strip():
            element.text = None  # ffmpeg's empty ProgramInformation, written back as <ProgramInformation />
    ElementTree.indent(tree, space="\t")
    tree.write(manifest, encoding="utf-8", xml_declaration=True)


def _timeline_seconds(adaptation_set: ElementTree.Element) -> float:
    """How long the segments of an AdaptationSet's SegmentTimeline last, in seconds."""
    template = adaptation_set.find(f".//{{{MPD_NS}}}SegmentTemplate")
    ticks = sum(int(s.get("d")) * (1 + int(s.get("r", 0))) for s in template.iter(f"{{{MPD_NS}}}S"))
    return ticks / int(template.get("timescale", 1))


def _describe_set(adaptation_set: ElementTree.Element, code: str | None, label: str, roles: list[str],
                  accessibility: tuple[tuple[str, str], ...] = ()) -> None:
    """Set an AdaptationSet's lang, Label, Accessibility and Role elements (replacing ffmpeg's)."""
    for old in [child for child in adaptation_set
                if child.tag in (f"{{{MPD_NS}}}Role", f"{{{MPD_NS}}}Accessibility", f"{{{MPD_NS}}}Label")]:
        adaptation_set.remove(old)
    if code:
        adaptation_set.set("lang", code)
    else:
        adaptation_set.attrib.pop("lang", None)
    # The MPD schema's order: Label (a RepresentationBase element), then Accessibility, then Role,
    # all before the Representations that ffmpeg wrote.
    elements = [ElementTree.Element(f"{{{MPD_NS}}}Label")]
    elements[0].text = label
    elements += [ElementTree.Element(f"{{{MPD_NS}}}Accessibility", {"schemeIdUri": scheme, "value": value})
                 for scheme, value in accessibility]
    elements += [ElementTree.Element(f"{{{MPD_NS}}}Role", {"schemeIdUri": ROLE_SCHEME, "value": role})
                 for role in roles]
    for position, element in enumerate(elements):
        adaptation_set.insert(position, element)

