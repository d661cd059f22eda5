"""The ``VideoTranscoding`` task type: a media's original → adaptive HLS (or AAC HLS for audio)."""

from __future__ import annotations

from typing import Any

from mediahub.errors import Invalid
from mediahub.media import services
from mediahub.media.models import Media
from mediahub.media.tasktypes import MediaTaskType, named_media
from mediahub.transcoding.pipeline import transcode
from tasks.context import TaskContext
from tasks.errors import PermanentError
from tasks.models import Task
from tasks.registry import register
from tenants.models import Tenant

RUNG_SCHEMA = {
    "type": "object",
    "required": ["name", "height", "video_bitrate"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,32}$"},
        "height": {"type": "integer", "minimum": 144, "maximum": 4320},
        "video_bitrate": {"type": "integer", "minimum": 100, "maximum": 100000},
        "audio_bitrate": {"type": "integer", "minimum": 32, "maximum": 512},
        "crf": {"type": "integer", "minimum": 0, "maximum": 51},
    },
}


@register
class VideoTranscoding(MediaTaskType):
    name = "VideoTranscoding"
    queue = "video_transcoding"
    payload_schema = {
        "type": "object",
        "required": ["media_id"],
        "additionalProperties": False,
        "properties": {
            "media_id": {"type": "string"},
            "ladder": {"type": "array", "minItems": 1, "maxItems": 8, "items": RUNG_SCHEMA},
        },
    }
    default_timeout_seconds = 3 * 3600
    default_max_retries = 3
    # One tenant's backlog cannot hold every transcode worker (TASK_TYPE_LIMITS overrides).
    max_per_tenant = 4

    def validate_payload(self, tenant: Tenant, payload: dict[str, Any], media: Media | None) -> None:
        if media is None:
            raise Invalid({"payload": {"media_id": ["No such media."]}})
        if media.type not in services.TRANSCODABLE:
            raise Invalid({"payload": {"media_id": [f"A {media.type} cannot be transcoded to HLS."]}})
        names = [rung["name"] for rung in payload.get("ladder") or []]
        if len(names) != len(set(names)):
            raise Invalid({"payload": {"ladder": ["Rung names must be unique."]}})

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        media = named_media(ctx.tenant, ctx.payload["media_id"])
        if media is None:
            raise PermanentError("The media no longer exists.")
        services.mark_processing(media=media)
        return transcode(ctx, media)

    def on_completed(self, task: Task) -> None:
        if task.media is not None and task.result is not None:
            services.mark_ready(
                media=task.media,
                hls=task.result["hls"],
                poster_key=task.result["poster_key"],
            )

    def on_failed(self, task: Task) -> None:
        if task.media is not None:
            services.mark_failed(media=task.media, reason=task.error or "Transcoding failed.")

    def on_cancelled(self, task: Task) -> None:
        if task.media is not None:
            services.mark_transcoding_cancelled(media=task.media)
