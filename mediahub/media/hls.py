"""Reading and writing HLS master playlists (the stream attributes players choose by): transcoding
writes them, playback rewrites them with signed URLs."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

_ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


def parse_master(text: str) -> list[dict[str, Any]]:
    """``[{"uri", "bandwidth", "width", "height", "codecs"}]`` of each ``EXT-X-STREAM-INF`` entry."""
    variants = []
    pending: dict[str, Any] | None = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#EXT-X-STREAM-INF:"):
            attributes = {k: v.strip('"') for k, v in _ATTRIBUTE.findall(line.split(":", 1)[1])}
            width, _, height = attributes.get("RESOLUTION", "").partition("x")
            pending = {
                "bandwidth": int(attributes.get("BANDWIDTH", 0)),
                "width": int(width) if width.isdigit() else None,
                "height": int(height) if height.isdigit() else None,
                "codecs": attributes.get("CODECS", ""),
            }
        elif line and not line.startswith("#") and pending is not None:
            variants.append({"uri": line, **pending})
            pending = None
    return variants


SUBTITLES_GROUP = "subs"


def build_master(
    renditions: list[dict[str, Any]],
    uri_for: Callable[[str], str],
    segment_type: str = "mpegts",
    subtitles: Sequence[dict[str, str]] = (),
) -> str:
    """A master playlist listing ``renditions``; ``uri_for(name)`` gives each variant's URI.
    fMP4 segments need HLS version 7 (``EXT-X-MAP`` in media playlists); MPEG-TS plays from 3.
    ``subtitles`` (``{"name", "language", "uri"}`` of WebVTT playlists) form one SUBTITLES group
    that every variant refers to."""
    version = 7 if segment_type == "fmp4" else 3
    lines = ["#EXTM3U", f"#EXT-X-VERSION:{version}", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for track in subtitles:
        lines.append(
            f'#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="{SUBTITLES_GROUP}",NAME="{track["name"]}",'
            f'LANGUAGE="{track["language"]}",DEFAULT=NO,AUTOSELECT=YES,URI="{track["uri"]}"'
        )
    for rendition in renditions:
        attributes = [f"BANDWIDTH={rendition['bandwidth']}"]
        if rendition.get("width") and rendition.get("height"):
            attributes.append(f"RESOLUTION={rendition['width']}x{rendition['height']}")
        if rendition.get("codecs"):
            attributes.append(f'CODECS="{rendition["codecs"]}"')
        if subtitles:
            attributes.append(f'SUBTITLES="{SUBTITLES_GROUP}"')
        lines += [f"#EXT-X-STREAM-INF:{','.join(attributes)}", uri_for(rendition["name"])]
    return "\n".join(lines) + "\n"
