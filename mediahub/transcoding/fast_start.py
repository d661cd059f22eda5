"""Fast first playback: which first rendition makes a video playable before its ladder is encoded.

"Standard" input (H.264 8-bit 4:2:0 up to High@4.2, AAC or no audio, keyframes close enough together)
is copied into a ``source`` rendition without re-encoding, which takes about a second. Anything else
gets the ladder's lowest rung first, encoded on its own at a fast preset.
"""

from __future__ import annotations

from typing import Any

from mediahub.media import probe

SOURCE_RENDITION = "source"
# x264 preset of the lowest rung when it is encoded ahead of the rest of the ladder.
FAST_PRESET = "superfast"
REMUX_PROFILES = {"Baseline": "4200", "Constrained Baseline": "42E0", "Main": "4D40", "High": "6400"}
REMUX_MAX_LEVEL = 42
REMUX_PIXEL_FORMATS = {"yuv420p", "yuvj420p"}
REMUX_AUDIO_CODECS = {"aac"}
# A copied segment can only start on a source keyframe: refuse sources whose keyframes are further
# apart than about twice the target segment (2.5: x264's default 250-frame GOP at 25-30 fps passes).
MAX_KEYFRAME_GAP_SEGMENTS = 2.5


def remux_refusal(
    info: dict[str, Any], keyframes: list[float], keyframes_read_seconds: float, segment_seconds: int
) -> str | None:
    """Why the source cannot be copied into HLS as it is; None when it can. ``keyframes`` are the
    video's keyframe times within its first ``keyframes_read_seconds``."""
    video, audio = probe.video_stream(info), probe.audio_stream(info)
    if video is None:
        return "no video stream"
    if video.get("codec") != "h264":
        return f"video codec {video.get('codec') or 'unknown'} is not H.264"
    if video.get("profile") not in REMUX_PROFILES:
        return f"H.264 profile {video.get('profile') or 'unknown'} is not High or lower"
    if not video.get("level") or video["level"] > REMUX_MAX_LEVEL:
        return f"H.264 level {video.get('level')} is above 4.2"
    if video.get("pix_fmt") not in REMUX_PIXEL_FORMATS:
        return f"pixel format {video.get('pix_fmt') or 'unknown'} is not 8-bit 4:2:0"
    if video.get("rotation"):
        return "the picture is rotated by metadata, which HLS segments do not carry"
    if audio is not None and audio.get("codec") not in REMUX_AUDIO_CODECS:
        return f"audio codec {audio.get('codec')} is not AAC"
    duration = info.get("duration")
    gap = max_keyframe_gap(keyframes, min(duration, keyframes_read_seconds) if duration else None)
    if gap is None or gap > MAX_KEYFRAME_GAP_SEGMENTS * segment_seconds:
        return "keyframes are too far apart for short segments"
    return None


def max_keyframe_gap(keyframes: list[float], end: float | None) -> float | None:
    """The longest stretch without a keyframe between the start and ``end`` (the duration, or the
    end of the stretch the keyframes were read from); None without any keyframe."""
    if not keyframes:
        return None
    points = [0.0, *keyframes]
    if end and end > keyframes[-1]:
        points.append(end)
    return max((b - a for a, b in zip(points, points[1:], strict=False)), default=0.0)


def source_codecs(info: dict[str, Any]) -> str:
    """The RFC 6381 ``CODECS`` of a copied source (ffmpeg writes none when it does not encode)."""
    video, audio = probe.video_stream(info), probe.audio_stream(info)
    codecs = []
    if video is not None:
        codecs.append(f"avc1.{REMUX_PROFILES[video['profile']]}{video['level']:02X}".lower())
    if audio is not None:
        codecs.append("mp4a.40.2")
    return ",".join(codecs)
