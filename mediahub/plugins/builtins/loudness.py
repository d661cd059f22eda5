"""EBU R128 loudness through ffmpeg's ``ebur128`` filter."""

from __future__ import annotations

import re
from typing import Any

from mediahub.media.models import Media
from mediahub.plugins.base import NO_AUDIO, Plugin, PluginContext

_FIGURES = {
    "integrated_lufs": re.compile(r"^\s*I:\s+(-?[\d.]+|-inf) LUFS", re.M),
    "loudness_range_lu": re.compile(r"^\s*LRA:\s+(-?[\d.]+|-inf) LU", re.M),
    "true_peak_dbfs": re.compile(r"^\s*Peak:\s+(-?[\d.]+|-inf) dBFS", re.M),
}


class Loudness(Plugin):
    name = "loudness"
    description = "EBU R128 integrated loudness (LUFS), loudness range (LU) and true peak (dBFS)."
    media_types = ("audio", "video")
    needs_audio = True
    run_on = ("media.created",)

    def run(self, ctx: PluginContext, media: Media, config: dict[str, Any]) -> dict[str, Any]:
        if not ctx.has_audio():
            return NO_AUDIO
        # The summary is logged at info level once the input ends; per-frame lines stay quiet.
        summary = ctx.ffmpeg(
            ["-map", "0:a:0", "-af", "ebur128=peak=true:framelog=verbose", "-f", "null", "-"],
            progress=True,
            loglevel="info",
        ).stderr_tail
        summary = summary[summary.rfind("Summary:") :]
        return {"audio": True, **{key: _number(pattern.search(summary)) for key, pattern in _FIGURES.items()}}


def _number(match: re.Match | None) -> float | None:
    """The figure, or None for silence (``-inf``) or a missing line."""
    if match is None or match.group(1) == "-inf":
        return None
    return float(match.group(1))
