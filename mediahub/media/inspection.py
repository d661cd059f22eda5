"""Deciding what an uploaded file is from its content (magic bytes, then probing), and refusing
what the tenant's limits do not allow. Never trusts the file name or the client's content type."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from mediahub.errors import TooLarge, Unsupported
from mediahub.media import ffmpeg_input, probe

SNIFF_BYTES = 64 * 1024


class UnsupportedMedia(Unsupported):
    """Not a kind of file mediahub handles, or one that cannot be decoded."""


class MediaTooLarge(TooLarge):
    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(message, code=code, details=details)


@dataclass
class Inspection:
    type: str
    content_type: str
    duration_seconds: float | None = None
    width: int | None = None
    height: int | None = None
    probe: dict[str, Any] = field(default_factory=dict)


_IMAGE_MAGIC = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"GIF87a",
    b"GIF89a",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
)
_IMAGE_BRANDS = (b"heic", b"heix", b"mif1", b"msf1", b"avif", b"avis")
_AV_MAGIC = (
    b"\x1a\x45\xdf\xa3",  # Matroska / WebM
    b"OggS",
    b"fLaC",
    b"ID3",  # MP3 with tags
    b"FLV",
    b"\x00\x00\x01\xba",  # MPEG-PS
)


def sniff(head: bytes) -> str | None:
    """The likely type from the first bytes ("av" for audio/video containers), or None."""
    if head.startswith(_IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return "image"
    if head[4:8] == b"ftyp" and head[8:12] in _IMAGE_BRANDS:  # HEIF/AVIF stills share MP4's box format
        return "image"
    if head.startswith(b"%PDF-"):
        return "document"
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free") or head.startswith(_AV_MAGIC):
        return "av"
    if head[:4] == b"RIFF" and head[8:12] in (b"AVI ", b"WAVE"):
        return "av"
    if len(head) > 188 and head[0] == 0x47 and head[188] == 0x47:  # MPEG-TS packets
        return "av"
    if len(head) > 1 and head[0] == 0xFF and head[1] & 0xF6 in (0xF0, 0xF2):  # MP3 / ADTS frame sync
        return "av"
    if _is_text(head):
        return "document"
    return None


def _is_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut off at the end of the sample is still text.
        return exc.start >= len(head) - 3
    return True


def inspect_file(path: Path, limits: dict[str, Any], filename: str = "") -> Inspection:
    """Type, dimensions and probe of the file at ``path`` (``filename``: the client's name for it);
    raises ``UnsupportedMedia`` (415) or ``MediaTooLarge`` (413).

    Playlists, manifests, concat lists and stream descriptors are refused whatever their name:
    ffmpeg would read the files and addresses they name (see ``ffmpeg_input``)."""
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if not head:
        raise UnsupportedMedia("The file is empty.")
    try:
        ffmpeg_input.refuse_references(head, filename)
    except ffmpeg_input.RefusedInput as exc:
        raise UnsupportedMedia(str(exc)) from exc
    kind = sniff(head)
    if kind == "image":
        return _inspect_image(path, limits)
    if kind == "av":
        return _inspect_av(path, limits)
    if kind == "document":
        return _inspect_document(path, head)
    raise UnsupportedMedia("The file is not a supported video, audio, image or document format.")


def _inspect_av(path: Path, limits: dict[str, Any]) -> Inspection:
    try:
        info = probe.probe_file(path)
    except probe.ProbeError as exc:
        raise UnsupportedMedia(
            f"The file could not be decoded: {ffmpeg_input.scrub_paths(str(exc))}"
        ) from exc
    video = probe.video_stream(info)
    duration = info.get("duration")
    if video is not None:
        width, height = probe.display_size(video)
        _check_dimension(width, height, limits, "max_video_dimension")
        return Inspection("video", _av_content_type(info, "video"), duration, width, height, info)
    if probe.audio_stream(info) is not None:
        return Inspection("audio", _av_content_type(info, "audio"), duration, probe=info)
    raise UnsupportedMedia("The file has neither a video nor an audio stream.")


def _av_content_type(info: dict[str, Any], kind: str) -> str:
    fmt = info.get("format", "")
    if "mp4" in fmt or "mov" in fmt:
        return f"{kind}/mp4"
    for name, mime in (
        ("matroska", f"{kind}/x-matroska" if kind == "video" else "audio/x-matroska"),
        ("webm", f"{kind}/webm"),
        ("ogg", f"{kind}/ogg"),
        ("mpegts", "video/mp2t"),
        ("avi", "video/x-msvideo"),
        ("flv", "video/x-flv"),
        ("mp3", "audio/mpeg"),
        ("wav", "audio/wav"),
        ("flac", "audio/flac"),
        ("aac", "audio/aac"),
    ):
        if name in fmt:
            return mime
    return "application/octet-stream"


def _inspect_image(path: Path, limits: dict[str, Any]) -> Inspection:
    # Opening reads only the header, so dimensions are known before any pixel is decoded.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height, fmt = image.width, image.height, image.format
    except Image.DecompressionBombError as exc:
        raise MediaTooLarge(
            "image_too_large", f"The image has too many pixels: {ffmpeg_input.scrub_paths(str(exc))}"
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise UnsupportedMedia(f"The image could not be read: {ffmpeg_input.scrub_paths(str(exc))}") from exc
    max_pixels = limits["max_image_pixels"]
    if width * height > max_pixels:
        raise MediaTooLarge(
            "image_too_large",
            f"The image has {width}x{height} pixels; the limit is {max_pixels} pixels.",
            {"width": width, "height": height, "max_image_pixels": max_pixels},
        )
    _check_dimension(width, height, limits, "max_image_dimension")
    content_type = Image.MIME.get(fmt or "", "application/octet-stream")
    info = {"format": fmt}
    if fmt in ffmpeg_input.IMAGE_DEMUXERS:  # how ffmpeg may read it (video frames, plugins)
        info["demuxer"] = ffmpeg_input.IMAGE_DEMUXERS[fmt]
    return Inspection("image", content_type, width=width, height=height, probe=info)


def _check_dimension(width: int, height: int, limits: dict[str, Any], limit: str) -> None:
    longest = limits[limit]
    if max(width, height) > longest:
        raise MediaTooLarge(
            "dimensions_too_large",
            f"The media is {width}x{height}; the longest side may be at most {longest} pixels.",
            {"width": width, "height": height, limit: longest},
        )


def _inspect_document(path: Path, head: bytes) -> Inspection:
    if not head.startswith(b"%PDF-"):
        return Inspection("document", "text/plain", probe={"format": "text"})
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        pages = len(PdfReader(path).pages)
    except (PyPdfError, OSError, ValueError, KeyError, TypeError) as exc:
        raise UnsupportedMedia(f"The PDF could not be read: {ffmpeg_input.scrub_paths(str(exc))}") from exc
    return Inspection("document", "application/pdf", probe={"format": "pdf", "pages": pages})
