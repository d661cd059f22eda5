"""Private HLS playback: signed playback tokens and playlists rewritten with absolute, expiring URIs.

A presigned master URL would not carry its signature to the child playlists and segments, so
mediahub serves the playlists itself: the master's variant URIs point back to mediahub with a
playback token, and a variant playlist's segment URIs are presigned storage URLs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

from mediahub import crypto
from mediahub.media import storage
from mediahub.media.hls import build_master
from mediahub.media.models import Media

TOKEN_PURPOSE = "mediahub.media.playback"
_MAP_URI = re.compile(r'URI="([^"]+)"')
PLAYLIST_CONTENT_TYPE = "application/vnd.apple.mpegurl"


def base_url(request: HttpRequest | None) -> str:
    """Absolute base for links leaving the API: the request's own host, else ``PUBLIC_URL``."""
    if request is None:
        return settings.PUBLIC_URL
    return request.build_absolute_uri("/").rstrip("/")


def make_token(media: Media) -> str:
    """An opaque playback token (encrypted: its holder learns no tenant id)."""
    return crypto.seal({"m": str(media.id), "t": str(media.tenant_id)}, purpose=TOKEN_PURPOSE)


def read_token(token: str) -> dict[str, str] | None:
    """``{"m": media id, "t": tenant id}`` of a genuine, unexpired token, else None."""
    claims = crypto.unseal(token, purpose=TOKEN_PURPOSE, max_age=settings.PLAYBACK_URL_TTL_SECONDS)
    return claims if isinstance(claims, dict) else None


def master_url(media: Media, base: str, token: str | None = None) -> str:
    return f"{base}/api/v1/media/{media.id}/hls/master.m3u8?token={quote(token or make_token(media))}"


def variant_url(media: Media, rendition: str, base: str, token: str) -> str:
    return f"{base}/api/v1/media/{media.id}/hls/{quote(rendition)}/index.m3u8?token={quote(token)}"


@dataclass(frozen=True)
class SubtitleTrack:
    name: str  # in the track's URL
    label: str  # what players show
    language: str
    vtt_key: str
    duration: float


# Other domains (the transcription plugin) add caption tracks without media depending on them.
_subtitle_sources: list[Callable[[Media], list[SubtitleTrack]]] = []


def register_subtitle_source(source: Callable[[Media], list[SubtitleTrack]]) -> None:
    if source not in _subtitle_sources:
        _subtitle_sources.append(source)


def subtitle_tracks(media: Media) -> list[SubtitleTrack]:
    return [track for source in _subtitle_sources for track in source(media)]


# Where each segment type's timeline starts on the 90 kHz clock players align WebVTT cues with
# (``X-TIMESTAMP-MAP``): ffmpeg's MPEG-TS muxer starts at 1.4 s (its -muxdelay 0.7 s, twice), fMP4 at 0.
TIMELINE_START_90K = {"mpegts": 126000, "fmp4": 0}


def subtitles_url(media: Media, name: str, base: str, token: str) -> str:
    return f"{base}/api/v1/media/{media.id}/hls/subtitles/{quote(name)}.m3u8?token={quote(token)}"


def captions_url(media: Media, name: str, base: str, token: str) -> str:
    return f"{base}/api/v1/media/{media.id}/hls/subtitles/{quote(name)}.vtt?token={quote(token)}"


def playable_master(media: Media, base: str, token: str) -> str:
    subtitles = [
        {"name": t.label, "language": t.language, "uri": subtitles_url(media, t.name, base, token)}
        for t in subtitle_tracks(media)
    ]
    return build_master(
        media.hls["renditions"],  # type: ignore[index]
        lambda name: variant_url(media, name, base, token),
        segment_type=media.hls.get("segment_type", "mpegts"),  # type: ignore[union-attr]
        subtitles=subtitles,
    )


def find_rendition(media: Media, name: str) -> dict[str, Any] | None:
    """A rendition of the master, or one only an early master listed (players that loaded it
    keep playing after the ladder is published)."""
    listed = [*media.hls["renditions"], *media.hls.get("early", [])]  # type: ignore[index, union-attr]
    return next((r for r in listed if r["name"] == name), None)


def playable_subtitles(media: Media, track: SubtitleTrack, base: str, token: str) -> str:
    """A one-segment WebVTT media playlist: the whole caption file (``playable_captions``)."""
    return (
        "#EXTM3U\n#EXT-X-VERSION:3\n"
        f"#EXT-X-TARGETDURATION:{max(1, math.ceil(track.duration))}\n"
        "#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n"
        f"#EXTINF:{track.duration:.3f},\n{captions_url(media, track.name, base, token)}\n"
        "#EXT-X-ENDLIST\n"
    )


def playable_captions(media: Media, track: SubtitleTrack) -> str:
    """The track's WebVTT file with the ``X-TIMESTAMP-MAP`` header that aligns its cue times with
    the segments' timeline (Safari needs it; hls.js honours it)."""
    text = storage.get_store().read_bytes(track.vtt_key).decode()
    start = TIMELINE_START_90K.get(media.hls.get("segment_type", "mpegts"), 0)  # type: ignore[union-attr]
    first, _, rest = text.partition("\n")
    return f"{first}\nX-TIMESTAMP-MAP=MPEGTS:{start},LOCAL:00:00:00.000\n{rest}"


def playable_variant(media: Media, rendition: dict[str, Any], base: str) -> str:
    """The stored variant playlist with every segment URI (and fMP4's ``EXT-X-MAP`` initialisation
    segment) replaced by a presigned storage URL."""
    store = storage.get_store()
    playlist_key = rendition["playlist_key"]
    folder = playlist_key.rsplit("/", 1)[0]

    def signed(name: str) -> str:
        return store.url(
            f"{folder}/{name}",
            base_url=base,
            ttl=settings.PLAYBACK_URL_TTL_SECONDS,
            content_type=storage.content_type_for(name),
        )

    text = store.read_bytes(playlist_key).decode()
    lines = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            line = signed(line)
        elif line.startswith("#EXT-X-MAP:"):
            line = _MAP_URI.sub(lambda match: f'URI="{signed(match.group(1))}"', line)
        lines.append(line)
    return "\n".join(lines) + "\n"


def with_playback_cors(request: HttpRequest, response: HttpResponse, preflight: bool = False) -> HttpResponse:
    """These links carry their own signature (no cookie, no key), so pages on the origins in
    ``PLAYBACK_CORS_ORIGINS`` may fetch them: segments for hls.js, parts for browser uploads."""
    origin = request.headers.get("Origin")
    allowed = settings.PLAYBACK_CORS_ORIGINS
    if origin is None or ("*" not in allowed and origin not in allowed):
        return response
    response["Access-Control-Allow-Origin"] = "*" if "*" in allowed else origin
    response["Access-Control-Expose-Headers"] = "Content-Length, Content-Range, Accept-Ranges, ETag"
    if "*" not in allowed:
        patch_vary_headers(response, ["Origin"])
    if preflight:
        response["Access-Control-Allow-Methods"] = "GET, HEAD, PUT"
        response["Access-Control-Allow-Headers"] = "Range, Content-Type"
        response["Access-Control-Max-Age"] = "86400"
    return response
