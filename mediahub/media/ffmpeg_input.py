"""The ffmpeg input fence: how every ffprobe/ffmpeg run opens a tenant's file.

A tenant's upload must be one self-contained file. Many ffmpeg demuxers read more than the file
they are given: HLS and DASH playlists, ``ffconcat``/concat lists, SDP/RTP descriptors and image
sequences name other files or network addresses, and the worker would read them (another tenant's
segments, ``/etc/passwd``, an internal HTTP service). So:

1. Inspection refuses such files outright (``refuse_references``: 415), whatever their name, and
   probes the rest with only the self-contained demuxers of ``AV_DEMUXERS`` allowed.
2. The demuxer inspection decided is stored in ``Media.probe["demuxer"]``.
3. Every later run on tenant input builds its input with ``input_args`` (or ``media_input_args``):
   ``-f <that demuxer>`` and ``-format_whitelist`` of it alone, ``-protocol_whitelist file,pipe``,
   external references off (mov ``-enable_drefs 0``), and the path as a ``file:`` URL.

Anything that runs ffprobe or ffmpeg on a tenant's media (transcoding, posters, plugins,
``FFmpegCommand``, frame extraction) must take its ``-i`` from here and nowhere else. This fences the
*input*; filters that open files (``movie``, ``subtitles``...) are the command validator's concern.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePath
from typing import Any

from mediahub.errors import Unsupported

PROTOCOL_WHITELIST = "file,pipe"

# Self-contained audio/video containers (ffmpeg demuxer names, as ffprobe's ``format_name`` starts).
AV_DEMUXERS = (
    "mov",  # mp4, m4a, 3gp, QuickTime; external data references are switched off
    "matroska",  # and webm
    "ogg",
    "flac",
    "mp3",
    "aac",
    "wav",
    "avi",
    "flv",
    "mpegts",
    "mpeg",  # MPEG program stream
)
# Single-image demuxers (one file, never the image2 sequence reader), by Pillow's format name.
IMAGE_DEMUXERS = {
    "PNG": "png_pipe",
    "JPEG": "jpeg_pipe",
    "GIF": "gif",
    "WEBP": "webp_pipe",
    "BMP": "bmp_pipe",
    "TIFF": "tiff_pipe",
}
ALLOWED_DEMUXERS = frozenset(AV_DEMUXERS) | frozenset(IMAGE_DEMUXERS.values())

# Names that ffmpeg (or players) treat as lists of other inputs.
REFERENCE_EXTENSIONS = {
    ".m3u": "M3U playlist",
    ".m3u8": "HLS playlist",
    ".pls": "PLS playlist",
    ".mpd": "DASH manifest",
    ".ffconcat": "ffconcat list",
    ".concat": "concat list",
    ".sdp": "SDP descriptor",
    ".ism": "Smooth Streaming manifest",
    ".ismc": "Smooth Streaming manifest",
}
# Signatures at the very start of a file (safe to look for in binary data too).
_REFERENCE_START = (
    (re.compile(rb"#EXTM3U", re.I), "HLS/M3U playlist"),
    (re.compile(rb"\[playlist\]", re.I), "PLS playlist"),
    (re.compile(rb"ffconcat\s+version", re.I), "ffconcat list"),
    (re.compile(rb"v=0\r?\n"), "SDP/RTP descriptor"),
    (
        re.compile(rb"(rtsps?|rtmp[a-z]*|rtp|srtp|udp|tcp|srt|mms[a-z]*|https?|file|ftp)://", re.I),
        "stream reference (RTSP/RTP/URL)",
    ),
)
# Lines that ffmpeg's probes or the concat demuxer act on anywhere in a text file.
_REFERENCE_LINES = (
    (re.compile(rb"^\s*#EXT-X-", re.I | re.M), "HLS playlist"),
    (re.compile(rb"^\s*file\s+\S", re.I | re.M), "concat list"),
    (re.compile(rb"^\s*c=IN\s+IP[46]", re.M), "SDP/RTP descriptor"),
    (re.compile(rb"<\s*(\w+:)?MPD[\s>]"), "DASH manifest"),
    (re.compile(rb"<\s*SmoothStreamingMedia[\s>]", re.I), "Smooth Streaming manifest"),
)


class RefusedInput(Unsupported):
    """The file is, or would be read as, something other than one self-contained media file
    (an ``Unsupported`` error: 415 in the API, a failure without retry in a task)."""


def refuse_references(head: bytes, filename: str = "") -> None:
    """Raise ``RefusedInput`` naming the format if the file's first bytes or its name say it is a
    playlist, manifest, concat list or stream descriptor."""
    kind = REFERENCE_EXTENSIONS.get(PurePath(filename.lower()).suffix)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")  # a byte order mark or blank lines hide nothing
    if kind is None:
        kind = next((name for pattern, name in _REFERENCE_START if pattern.match(text)), None)
    if kind is None and b"\x00" not in text:  # binary containers may hold such bytes by chance
        kind = next((name for pattern, name in _REFERENCE_LINES if pattern.search(text)), None)
    if kind is not None:
        raise RefusedInput(f"A {kind} refers to other files or addresses; upload the media file itself.")


def demuxer_from_format(format_name: str) -> str:
    """The allowed demuxer behind a probe's ``format_name`` (``"mov,mp4,m4a,…"`` → ``"mov"``)."""
    for name in format_name.split(","):
        if name in ALLOWED_DEMUXERS:
            return name
    raise RefusedInput(f"The {format_name or 'unknown'} format is not accepted as media input.")


def media_demuxer(probe: dict[str, Any]) -> str:
    """The demuxer recorded by inspection in ``Media.probe`` (derived from its ``format`` for media
    inspected before it was recorded); ``RefusedInput`` when there is none ffmpeg may use."""
    demuxer = probe.get("demuxer")
    if demuxer:
        if demuxer not in ALLOWED_DEMUXERS:
            raise RefusedInput(f"The {demuxer} demuxer is not allowed for media input.")
        return demuxer
    fmt = probe.get("format") or ""
    return IMAGE_DEMUXERS.get(fmt) or demuxer_from_format(fmt)


def input_args(path: Path | str, demuxer: str) -> list[str]:
    """ffmpeg/ffprobe arguments that open ``path`` (a local file) with exactly ``demuxer``:
    ``-f``, ``-format_whitelist``, ``-protocol_whitelist file,pipe``, references off, ``-i file:…``.

    Put them where the input goes in the command line (input options precede ``-i``)."""
    if demuxer not in ALLOWED_DEMUXERS:
        raise RefusedInput(f"The {demuxer} demuxer is not allowed for media input.")
    args = ["-f", demuxer, "-format_whitelist", demuxer, "-protocol_whitelist", PROTOCOL_WHITELIST]
    if demuxer == "mov":
        args += ["-enable_drefs", "0"]
    return [*args, "-i", f"file:{Path(path).resolve()}"]


def media_input_args(probe: dict[str, Any], path: Path | str) -> list[str]:
    """``input_args`` for a stored media's local copy at ``path``, given its ``Media.probe``."""
    return input_args(path, media_demuxer(probe))


def inspection_probe_args(path: Path | str) -> list[str]:
    """ffprobe input arguments for a file whose demuxer is not decided yet (inspection): only the
    self-contained A/V demuxers may claim it. ffprobe tolerates ``-enable_drefs`` for non-mov input."""
    return [
        "-format_whitelist", ",".join(AV_DEMUXERS),
        "-protocol_whitelist", PROTOCOL_WHITELIST,
        "-enable_drefs", "0",
        "-i", f"file:{Path(path).resolve()}",
    ]  # fmt: skip


def pyav_open_kwargs(demuxer: str | None) -> dict[str, Any]:
    """The same fence for ``av.open`` (the prober used where there is no ffprobe binary)."""
    if demuxer is not None and demuxer not in ALLOWED_DEMUXERS:
        raise RefusedInput(f"The {demuxer} demuxer is not allowed for media input.")
    options = {
        "format_whitelist": demuxer or ",".join(AV_DEMUXERS),
        "protocol_whitelist": PROTOCOL_WHITELIST,
        "enable_drefs": "0",
    }
    return {"format": demuxer, "options": options}


_PATH = re.compile(r"(?<![\w.~-])(?:file:)?(?:/[^\s'\":,;()\[\]]+)+")


def scrub_paths(message: str) -> str:
    """A tool's message (ffmpeg, ffprobe, Pillow, pypdf) fit to show a tenant: server paths such as
    a temporary upload or a task's work folder become ``<file>``."""
    return _PATH.sub("<file>", message)
