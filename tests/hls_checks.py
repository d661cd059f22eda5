"""Checks of a published HLS stream in the spirit of Apple's ``mediastreamvalidator``: playlists
parse (``m3u8``), carry what players need, and every segment is fetched over HTTP and read by
ffprobe."""

from __future__ import annotations

import json
import math
import subprocess
import tempfile
from pathlib import Path

import m3u8
import requests
from django.conf import settings

SEGMENT_CONTENT_TYPES = {"mpegts": "video/mp2t", "fmp4": "video/iso.segment"}


def ffprobe_streams(url_or_path: str) -> list[dict]:
    completed = subprocess.run(
        [settings.FFPROBE_BINARY, "-v", "error", "-show_entries", "stream=codec_type,width,height",
         "-of", "json", str(url_or_path)],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    return json.loads(completed.stdout or b"{}").get("streams", [])


def check_hls(master_url: str, *, segment_type: str, expected_variants: int, duration: float) -> None:
    response = requests.get(master_url, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/vnd.apple.mpegurl")
    master = m3u8.loads(response.text)
    assert master.is_variant and len(master.playlists) == expected_variants
    assert master.version == (7 if segment_type == "fmp4" else 3)
    for variant in master.playlists:
        info = variant.stream_info
        assert info.bandwidth > 0 and info.codecs and info.resolution, variant
        assert variant.uri.startswith("http")
        _check_media_playlist(variant.uri, segment_type, duration)


def _check_media_playlist(url: str, segment_type: str, duration: float) -> None:
    playlist = m3u8.loads(requests.get(url, timeout=10).text)
    assert playlist.playlist_type == "vod" and playlist.is_endlist
    assert playlist.media_sequence in (None, 0)
    assert playlist.segments
    # Every EXTINF, rounded, fits in the target duration (RFC 8216 4.3.3.1).
    assert all(round(s.duration) <= playlist.target_duration for s in playlist.segments)
    assert math.isclose(sum(s.duration for s in playlist.segments), duration, abs_tol=1.0)
    init = b""
    if segment_type == "fmp4":
        assert playlist.version == 7
        [segment_map] = playlist.segment_map
        response = requests.get(segment_map.uri, timeout=10)
        assert response.status_code == 200 and response.headers["Content-Type"] == "video/mp4"
        init = response.content
    else:
        assert not playlist.segment_map
    for segment in playlist.segments:
        response = requests.get(segment.uri, timeout=10)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == SEGMENT_CONTENT_TYPES[segment_type]
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / ("segment.mp4" if init else "segment.ts")
            path.write_bytes(init + response.content)
            assert ffprobe_streams(path), f"ffprobe cannot read {segment.uri}"
