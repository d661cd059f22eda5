"""Scene changes as chapters: ffmpeg's scene score (``select='gt(scene,T)'``), a thumbnail per
scene, a WebVTT chapters track and the same as JSON."""

from __future__ import annotations

import re
from typing import Any

from mediahub.media.models import Media
from mediahub.plugins import vtt
from mediahub.plugins.base import Plugin, PluginContext

CHAPTERS = "chapters.vtt"
SCENES = "scenes.json"
_FRAME = re.compile(r"pts_time:(\d+(?:\.\d+)?)")
_SCORE = re.compile(r"lavfi\.scene_score=(\d+(?:\.\d+)?)")


class Scenes(Plugin):
    name = "scenes"
    description = "Scene-change timestamps with a thumbnail each, as WebVTT chapters and JSON."
    media_types = ("video",)
    run_on = ("media.ready",)
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "threshold": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1, "default": 0.3},
            "thumbnail_width": {"type": "integer", "minimum": 32, "maximum": 1280, "default": 320},
            "max_scenes": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 200},
        },
    }

    def run(self, ctx: PluginContext, media: Media, config: dict[str, Any]) -> dict[str, Any]:
        (ctx.workdir / "scenes").mkdir()
        # The first frame opens the first chapter; the metadata filter logs each pick's time.
        picks = f"select='eq(n\\,0)+gt(scene\\,{config['threshold']})'"
        ctx.ffmpeg(
            ["-map", "0:v:0", "-vf", f"{picks},metadata=print:file=scenes/log.txt,"
             f"scale={config['thumbnail_width']}:-2", "-fps_mode", "vfr", "-q:v", "4",
             "-frames:v", str(config["max_scenes"]), "scenes/%04d.jpg"],
            progress=True,
        )  # fmt: skip
        log = (ctx.workdir / "scenes" / "log.txt").read_text()
        starts = [float(t) for t in _FRAME.findall(log)][: config["max_scenes"]]
        scores = [float(s) for s in _SCORE.findall(log)]
        duration = ctx.duration or (starts[-1] if starts else 0)
        scenes = []
        for index, start in enumerate(starts):
            ctx.check_cancelled()
            thumbnail = ctx.save_file(
                ctx.workdir / "scenes" / f"{index + 1:04d}.jpg", f"scene_{index + 1:04d}.jpg"
            )
            end = starts[index + 1] if index + 1 < len(starts) else duration
            scenes.append(
                {
                    "index": index + 1,
                    "start": round(start, 3),
                    "end": round(end, 3),
                    "score": round(scores[index], 4) if index < len(scores) else None,
                    "thumbnail": thumbnail,
                }
            )
        chapters = [vtt.Cue(s["start"], s["end"], f"Scene {s['index']}") for s in scenes]
        ctx.save_text(CHAPTERS, vtt.build(chapters))
        ctx.save_json(SCENES, scenes)
        return {"scenes": scenes, "files": [CHAPTERS, SCENES, *(s["thumbnail"] for s in scenes)]}
