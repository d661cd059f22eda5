"""Writing WebVTT files (captions, chapters, thumbnail tracks)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


def timestamp(seconds: float) -> str:
    """``HH:MM:SS.mmm``, the form every WebVTT reader takes."""
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def build(cues: Iterable[Cue]) -> str:
    """A WebVTT file; cue text has blank lines and ``-->`` removed (they would end the cue)."""
    blocks = ["WEBVTT"]
    for cue in cues:
        text = "\n".join(line for line in cue.text.replace("-->", "→").splitlines() if line.strip())
        blocks.append(f"{timestamp(cue.start)} --> {timestamp(max(cue.end, cue.start))}\n{text}")
    return "\n\n".join(blocks) + "\n"
