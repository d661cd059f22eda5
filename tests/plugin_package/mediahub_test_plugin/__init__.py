"""A third-party plugin: counts the words of a media's title and description; ``fail`` makes it
raise, to show that a plugin's error fails its task and nothing else."""

from typing import Any

from mediahub.plugins.base import Plugin, PluginContext


class WordCount(Plugin):
    name = "word_count"
    description = "Counts the words of the title and description (a test plugin)."
    media_types = ("video", "audio", "image", "document")
    run_on = ("media.created",)
    secret_fields = ("token",)
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "minimum_length": {"type": "integer", "minimum": 1, "default": 1},
            "token": {"type": "string", "minLength": 8},
            "fail": {"type": "boolean", "default": False},
        },
    }

    def run(self, ctx: PluginContext, media: Any, config: dict[str, Any]) -> dict[str, Any]:
        if config["fail"]:
            raise RuntimeError("word_count was told to fail")
        words = [
            w for w in f"{media.title} {media.description}".split() if len(w) >= config["minimum_length"]
        ]
        ctx.save_json("words.json", words)
        return {"words": len(words), "has_token": "token" in config, "files": ["words.json"]}
