"""Audio/video probing: ffprobe's JSON when the binary exists, else PyAV, normalised to one shape.

Every run is fenced (``mediahub.media.ffmpeg_input``): while inspecting, only self-contained A/V
demuxers may claim the file; afterwards the demuxer inspection decided is named.

The shape (stored in ``Media.probe``)::

    {"format": str, "demuxer": str, "duration": float|None, "bit_rate": int|None, "codecs": [str],
     "streams": [{"index", "type", "codec", "bit_rate", ...video: "width", "height", "sar",
                  "rotation", "frame_rate", "attached_pic", "profile", "level", "pix_fmt";
                  audio: "sample_rate", "channels"}]}
"""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction
from pathlib import Path
from typing import Any

from django.conf import settings

from mediahub.media import ffmpeg_input

PROBE_TIMEOUT_SECONDS = 60


class ProbeError(Exception):
    """The file is not a media container ffprobe/PyAV can read."""


def probe_file(path: Path, demuxer: str | None = None) -> dict[str, Any]:
    """Probe the tenant file at ``path`` with ``demuxer`` (the one recorded in ``Media.probe``), or,
    while inspecting (``None``), with whichever allowed demuxer claims it. ``ProbeError`` otherwise."""
    try:
        if settings.FFPROBE_BINARY:
            info = _probe_with_ffprobe(path, demuxer)
        else:
            info = _probe_with_pyav(path, demuxer)
        info["demuxer"] = demuxer or ffmpeg_input.demuxer_from_format(info["format"])
    except ffmpeg_input.RefusedInput as exc:
        raise ProbeError(str(exc)) from exc
    return info


def _probe_with_ffprobe(path: Path, demuxer: str | None) -> dict[str, Any]:
    if demuxer is None:
        source = ffmpeg_input.inspection_probe_args(path)
    else:
        source = ffmpeg_input.input_args(path, demuxer)
    argv = [settings.FFPROBE_BINARY, "-v", "error", "-print_format", "json", "-show_format", "-show_streams"]
    argv += source
    try:
        completed = subprocess.run(argv, capture_output=True, timeout=PROBE_TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired as exc:
        raise ProbeError("probing took too long") from exc
    if completed.returncode != 0:
        message = completed.stderr.decode(errors="replace").strip().splitlines()
        raise ProbeError(
            ffmpeg_input.scrub_paths(message[-1]) if message else "ffprobe could not read the file"
        )
    raw = json.loads(completed.stdout or b"{}")
    fmt = raw.get("format") or {}
    streams = [_ffprobe_stream(s) for s in raw.get("streams", [])]
    return _summary(
        fmt.get("format_name", ""), _float(fmt.get("duration")), _int(fmt.get("bit_rate")), streams
    )


def _ffprobe_stream(raw: dict[str, Any]) -> dict[str, Any]:
    stream = {
        "index": raw.get("index"),
        "type": raw.get("codec_type", "unknown"),
        "codec": raw.get("codec_name", ""),
        "bit_rate": _int(raw.get("bit_rate")),
    }
    if stream["type"] == "video":
        rotation = _int((raw.get("tags") or {}).get("rotate")) or 0
        for side_data in raw.get("side_data_list") or []:
            if "rotation" in side_data:
                rotation = int(side_data["rotation"])
        stream.update(
            width=raw.get("width") or 0,
            height=raw.get("height") or 0,
            sar=raw.get("sample_aspect_ratio") if ":" in str(raw.get("sample_aspect_ratio")) else "1:1",
            rotation=rotation % 360,
            frame_rate=_rate(raw.get("avg_frame_rate")) or _rate(raw.get("r_frame_rate")),
            attached_pic=bool((raw.get("disposition") or {}).get("attached_pic")),
            profile=raw.get("profile", ""),
            level=_int(raw.get("level")),
            pix_fmt=raw.get("pix_fmt", ""),
        )
    elif stream["type"] == "audio":
        stream.update(sample_rate=_int(raw.get("sample_rate")), channels=raw.get("channels"))
    return stream


def _probe_with_pyav(path: Path, demuxer: str | None) -> dict[str, Any]:
    import av

    try:
        container = av.open(str(path), **ffmpeg_input.pyav_open_kwargs(demuxer))
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise ProbeError(ffmpeg_input.scrub_paths(str(exc))) from exc
    with container:
        streams = []
        for s in container.streams:
            stream = {
                "index": s.index,
                "type": s.type,
                "codec": s.codec_context.name if s.codec_context else "",
                "bit_rate": s.codec_context.bit_rate or None if s.codec_context else None,
            }
            if s.type == "video":
                sar = s.sample_aspect_ratio or Fraction(1)
                stream.update(
                    width=s.codec_context.width,
                    height=s.codec_context.height,
                    sar=f"{sar.numerator}:{sar.denominator}" if sar else "1:1",
                    rotation=_pyav_rotation(container, s),
                    frame_rate=float(s.average_rate) if s.average_rate else None,
                    attached_pic=bool(s.disposition & av.stream.Disposition.attached_pic),
                    profile=s.codec_context.profile or "",
                    level=s.codec_context.level if s.codec_context.level > 0 else None,
                    pix_fmt=s.codec_context.pix_fmt or "",
                )
            elif s.type == "audio":
                stream.update(
                    sample_rate=s.codec_context.sample_rate, channels=s.codec_context.layout.nb_channels
                )
            streams.append(stream)
        duration = container.duration / av.time_base if container.duration else None
        return _summary(container.format.name, duration, container.bit_rate or None, streams)


def _pyav_rotation(container, stream) -> int:
    """Quarter turns live in the stream's display matrix, which PyAV shows on decoded frames."""
    import av

    try:
        frame = next(container.decode(stream))
    except (StopIteration, av.FFmpegError):
        return 0
    return int(frame.rotation or 0) % 360


def _summary(fmt: str, duration: float | None, bit_rate: int | None, streams: list[dict]) -> dict[str, Any]:
    return {
        "format": fmt,
        "duration": duration,
        "bit_rate": bit_rate,
        "codecs": [s["codec"] for s in streams if s["codec"]],
        "streams": streams,
    }


def keyframe_times(path: Path, demuxer: str, *, within_seconds: float = 120.0) -> list[float]:
    """Times of the first video stream's keyframes in its first ``within_seconds``, read from the
    packets' flags (nothing is decoded, so this costs a fraction of a second). ``demuxer`` is the
    one inspection recorded; the input is fenced like every other run."""
    if settings.FFPROBE_BINARY:
        argv = [
            settings.FFPROBE_BINARY, "-v", "error", "-select_streams", "v:0",
            "-show_entries", "packet=pts_time,flags", "-of", "csv=p=0",
            "-read_intervals", f"%+{within_seconds:g}", *ffmpeg_input.input_args(path, demuxer),
        ]  # fmt: skip
        try:
            completed = subprocess.run(argv, capture_output=True, timeout=PROBE_TIMEOUT_SECONDS, check=False)
        except subprocess.TimeoutExpired as exc:
            raise ProbeError("probing took too long") from exc
        rows = (line.split(",") for line in completed.stdout.decode(errors="replace").splitlines())
        times = [_float(row[0]) for row in rows if len(row) >= 2 and "K" in row[1]]
        return sorted(t for t in times if t is not None)
    import av

    try:
        with av.open(str(path), **ffmpeg_input.pyav_open_kwargs(demuxer)) as container:
            stream = container.streams.video[0]
            times = []
            for packet in container.demux(stream):
                if packet.pts is None:
                    continue
                at = float(packet.pts * stream.time_base)
                if at > within_seconds:
                    break
                if packet.is_keyframe:
                    times.append(at)
    except (av.FFmpegError, OSError, ValueError, IndexError) as exc:
        raise ProbeError(ffmpeg_input.scrub_paths(str(exc))) from exc
    return sorted(times)  # type: ignore[arg-type]


def video_stream(probe: dict[str, Any]) -> dict[str, Any] | None:
    """The first real picture stream (cover art in audio files does not count)."""
    return next(
        (
            s
            for s in probe.get("streams", [])
            if s["type"] == "video" and not s.get("attached_pic") and s.get("width") and s.get("height")
        ),
        None,
    )


def audio_stream(probe: dict[str, Any]) -> dict[str, Any] | None:
    return next((s for s in probe.get("streams", []) if s["type"] == "audio"), None)


def display_size(stream: dict[str, Any]) -> tuple[int, int]:
    """Width and height as shown: sample aspect ratio applied, rotated by quarter turns."""
    num, _, den = stream.get("sar", "1:1").partition(":")
    sar = Fraction(int(num), int(den)) if num.isdigit() and den.isdigit() and int(num) and int(den) else 1
    width, height = round(stream["width"] * sar), stream["height"]
    if stream.get("rotation", 0) in (90, 270):
        width, height = height, width
    return width, height


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _rate(value: Any) -> float | None:
    try:
        rate = Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        return None
    return float(rate) if rate else None
