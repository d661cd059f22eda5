"""The picture of a video at a given time, as ffmpeg decodes it (lossless PNG on stdout)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from django.conf import settings

from mediahub.media.ffmpeg_input import RefusedInput, media_input_args, scrub_paths

# The largest frame accepted from ffmpeg (a 16K frame as PNG is well below this).
MAX_FRAME_BYTES = 512 * 1024 * 1024


class FrameFailed(Exception):
    pass


def extract_frame(source: Path, seconds: float, probe: dict[str, Any], timeout: float) -> bytes:
    """``source`` is the local copy of a video whose ``Media.probe`` is ``probe``; its input goes
    through the ffmpeg input fence (named demuxer, local files only, references off)."""
    try:
        fenced_input = media_input_args(probe, source)
    except RefusedInput as exc:
        raise FrameFailed(str(exc)) from exc
    argv = [
        settings.FFMPEG_BINARY, "-hide_banner", "-nostdin", "-v", "error",
        "-ss", f"{seconds:.3f}", *fenced_input,
        "-map", "0:v:0", "-frames:v", "1", "-f", "image2pipe", "-c:v", "png", "pipe:1",
    ]  # fmt: skip
    try:
        done = subprocess.run(argv, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise FrameFailed("Extracting the frame took too long.") from exc
    if done.returncode != 0 or not done.stdout:
        tail = scrub_paths(done.stderr.decode(errors="replace")[-300:])
        raise FrameFailed(f"No frame at {seconds:g} s: {tail or 'the time is past the end'}")
    if len(done.stdout) > MAX_FRAME_BYTES:
        raise FrameFailed("The frame is too large.")
    return done.stdout
