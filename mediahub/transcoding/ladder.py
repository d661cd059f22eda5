"""Planning the HLS renditions of a source: which rungs of the ladder, at what exact size."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

AUDIO_ONLY_NAME = "audio"
DEFAULT_AUDIO_KBPS = 128
# The smallest rendition side ffmpeg/x264 and players handle comfortably.
MIN_SIDE = 16


@dataclass(frozen=True)
class Rendition:
    """One planned output: ``width``/``height`` are None for an audio-only rendition."""

    name: str
    width: int | None
    height: int | None
    video_kbps: int | None
    audio_kbps: int | None
    # Constant quality capped at ``video_kbps`` (a quality-mode ladder); None: capped VBR.
    crf: int | None = None

    def as_dict(self) -> dict[str, Any]:
        # Without crf when unset, so completion markers written before it existed still match.
        return {key: value for key, value in asdict(self).items() if key != "crf" or value is not None}


def _even(value: float) -> int:
    """Round down to an even number (H.264 with 4:2:0 chroma needs even sizes)."""
    return max(2, int(value) - int(value) % 2)


def plan_renditions(
    ladder: list[dict[str, Any]], source_size: tuple[int, int] | None, has_audio: bool
) -> list[Rendition]:
    """The renditions for a source of display size ``source_size`` (None: audio only).

    A rung's ``height`` is the short side of its picture, so a portrait source gets portrait
    renditions of the same rung names. Rungs above the source are dropped (never upscale); when none
    fits, one rendition at the source's own size is kept. The display aspect ratio is kept and every
    side is even.
    """
    audio_kbps = max((rung.get("audio_bitrate") or DEFAULT_AUDIO_KBPS for rung in ladder), default=128)
    if source_size is None:
        return [Rendition(AUDIO_ONLY_NAME, None, None, None, audio_kbps)]

    width, height = source_size
    short_side, long_side = min(width, height), max(width, height)
    portrait = height > width
    planned: list[Rendition] = []
    seen_sizes = set()
    for rung in sorted(ladder, key=lambda r: r["height"], reverse=True):
        if rung["height"] > short_side:
            continue
        size = _fit(rung["height"], short_side, long_side, portrait)
        if size in seen_sizes:
            continue
        seen_sizes.add(size)
        rung_audio = (rung.get("audio_bitrate") or DEFAULT_AUDIO_KBPS) if has_audio else None
        planned.append(Rendition(rung["name"], *size, rung["video_bitrate"], rung_audio, rung.get("crf")))

    if not planned:
        smallest = min(ladder, key=lambda r: r["height"])
        size = _fit(short_side, short_side, long_side, portrait)
        # The smallest rung's bitrate, scaled down with the picture area.
        kbps = max(100, round(smallest["video_bitrate"] * (short_side / smallest["height"]) ** 2))
        rung_audio = (smallest.get("audio_bitrate") or DEFAULT_AUDIO_KBPS) if has_audio else None
        planned.append(Rendition(f"{_even(short_side)}p", *size, kbps, rung_audio, smallest.get("crf")))
    return planned


def _fit(target_short: int, short_side: int, long_side: int, portrait: bool) -> tuple[int, int]:
    short = _even(max(MIN_SIDE, target_short))
    long = _even(max(MIN_SIDE, target_short * long_side / short_side))
    return (short, long) if portrait else (long, short)
