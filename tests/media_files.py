"""Tiny generated media for tests: lavfi testsrc2/sine clips, crafted images and hostile files."""

from __future__ import annotations

import struct
import subprocess
import zlib
from pathlib import Path

from django.conf import settings


def make_clip(
    path: Path,
    *,
    size: str = "320x180",
    seconds: float = 2,
    fps: int = 10,
    audio: bool = True,
    video: bool = True,
    extra: tuple[str, ...] = (),
) -> Path:
    argv = [settings.FFMPEG_BINARY, "-v", "error", "-y"]
    if video:
        argv += ["-f", "lavfi", "-i", f"testsrc2=s={size}:r={fps}:d={seconds}"]
    if audio:
        argv += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    if video:
        argv += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    if audio:
        argv += ["-c:a", "aac", "-b:a", "64k"]
    argv += [*extra, str(path)]
    subprocess.run(argv, check=True)
    return path


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def make_png_bomb(path: Path, side: int = 30_000) -> Path:
    """A valid 1-bit PNG of side×side zero pixels: ~100 KB on disk, 900 megapixels decoded."""
    row = b"\x00" * (1 + (side + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", data)
        + _png_chunk(b"IEND", b"")
    )
    return path
