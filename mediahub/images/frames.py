"""The picture of a video at a given time, as ffmpeg decodes it (lossless PNG on stdout)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from django.conf import settings

# The largest frame accepted from ffmpeg (a 16K frame as PNG is well below this).
MAX_FRAME_BYTES = 512 * 1024 * 1024


class FrameFailed(Exception):
    pass


def demuxer(probe_format: str) -> str:
    """The named demuxer for tenant input: ffprobe's first name of the container (``mov,mp4,…``)."""
    name = (probe_format or "").split(",")[0].strip()
    if not name.replace("_", "").isalnum():
        raise FrameFailed("The video's container is unknown.")
    return name


def extract_frame(source: Path, seconds: float, probe_format: str, timeout: float) -> bytes:
    # Tenant input: a named demuxer and only local files, so nothing inside the file can make
    # ffmpeg open another resource.
    argv = [
        settings.FFMPEG_BINARY, "-hide_banner", "-nostdin", "-v", "error",
        "-protocol_whitelist", "file,pipe", "-f", demuxer(probe_format),
        "-ss", f"{seconds:.3f}", "-i", str(source),
        "-map", "0:v:0", "-frames:v", "1", "-f", "image2pipe", "-c:v", "png", "pipe:1",
    ]  # fmt: skip
    try:
        done = subprocess.run(argv, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise FrameFailed("Extracting the frame took too long.") from exc
    if done.returncode != 0 or not done.stdout:
        tail = done.stderr.decode(errors="replace")[-300:]
        raise FrameFailed(f"No frame at {seconds:g} s: {tail or 'the time is past the end'}")
    if len(done.stdout) > MAX_FRAME_BYTES:
        raise FrameFailed("The frame is too large.")
    return done.stdout
