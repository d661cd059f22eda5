"""Scrubbing previews: one sprite sheet of thumbnails every N seconds and a WebVTT track of
``sprite.jpg#xywh=x,y,w,h`` cues, the format Video.js and Vidstack thumbnail tracks read."""

from __future__ import annotations

import math
from typing import Any

from mediahub.media import probe
from mediahub.media.models import Media
from mediahub.plugins import vtt
from mediahub.plugins.base import Plugin, PluginContext

SPRITE = "sprite.jpg"
TRACK = "storyboard.vtt"


class Storyboard(Plugin):
    name = "storyboard"
    description = "A sprite sheet of thumbnails every N seconds and a WebVTT thumbnail track."
    media_types = ("video",)
    run_on = ("media.ready",)
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "interval_seconds": {"type": "number", "minimum": 0.5, "maximum": 600, "default": 5},
            "width": {"type": "integer", "minimum": 32, "maximum": 640, "default": 160},
            "columns": {"type": "integer", "minimum": 1, "maximum": 20, "default": 10},
            # Long videos get a wider interval rather than a giant sprite.
            "max_thumbnails": {"type": "integer", "minimum": 1, "maximum": 400, "default": 100},
        },
    }

    def run(self, ctx: PluginContext, media: Media, config: dict[str, Any]) -> dict[str, Any]:
        video = probe.video_stream(media.probe or {})
        if video is None:
            raise ValueError("The media has no video stream.")
        duration = ctx.duration
        if duration <= 0:
            raise ValueError("The media's duration is unknown.")
        interval = max(config["interval_seconds"], duration / config["max_thumbnails"])
        count = max(1, math.ceil(duration / interval - 1e-6))
        display_width, display_height = probe.display_size(video)
        width = config["width"] - config["width"] % 2
        height = max(2, round(width * display_height / display_width / 2) * 2)
        columns = min(config["columns"], count)
        rows = math.ceil(count / columns)
        # The first frame at or after each multiple of the interval; the tile is flushed at the end.
        pick = f"select='isnan(prev_selected_t)+gte(t-prev_selected_t\\,{interval:.3f})'"
        sprite = ctx.workdir / SPRITE
        ctx.ffmpeg(
            ["-map", "0:v:0", "-vf", f"{pick},scale={width}:{height},setsar=1,tile={columns}x{rows}"]
            + ["-frames:v", "1", "-q:v", "4", str(sprite)],
            progress=True,
        )
        cues = [
            vtt.Cue(
                i * interval,
                min((i + 1) * interval, duration),
                f"{SPRITE}#xywh={i % columns * width},{i // columns * height},{width},{height}",
            )
            for i in range(count)
        ]
        ctx.save_file(sprite)
        ctx.save_text(TRACK, vtt.build(cues))
        return {
            "interval_seconds": round(interval, 3),
            "thumbnails": count,
            "thumbnail_width": width,
            "thumbnail_height": height,
            "columns": columns,
            "rows": rows,
            "sprite_width": columns * width,
            "sprite_height": rows * height,
            "files": [SPRITE, TRACK],
        }
