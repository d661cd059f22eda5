"""The ``VideoTranscoding`` task type: a media's original → adaptive HLS (or AAC HLS for audio)."""

from __future__ import annotations

import uuid
from typing import Any

from rest_framework import serializers

from mediahub.media import services
from mediahub.media.models import Media
from mediahub.transcoding.pipeline import transcode
from tasks.context import TaskContext
from tasks.errors import PermanentError
from tasks.models import Task
from tasks.registry import register
from tasks.types import TaskType
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
class VideoTranscoding(TaskType):
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

    def validate_payload(self, tenant: Tenant, payload: dict[str, Any]) -> None:
        media = _media(tenant, payload["media_id"])
        if media is None:
            raise serializers.ValidationError({"payload": {"media_id": ["No such media."]}})
        if media.type not in services.TRANSCODABLE:
            raise serializers.ValidationError(
                {"payload": {"media_id": [f"A {media.type} cannot be transcoded to HLS."]}}
            )
        names = [rung["name"] for rung in payload.get("ladder") or []]
        if len(names) != len(set(names)):
            raise serializers.ValidationError({"payload": {"ladder": ["Rung names must be unique."]}})

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        media = _media(ctx.tenant, ctx.payload["media_id"])
        if media is None:
            raise PermanentError("The media no longer exists.")
        services.mark_processing(media)
        return transcode(ctx, media)

    def on_completed(self, task: Task) -> None:
        if task.media is not None:
            services.mark_ready(task.media, task.result["hls"], task.result["poster_key"])

    def on_failed(self, task: Task) -> None:
        if task.media is not None:
            services.mark_failed(task.media, task.error or "Transcoding failed.")

    def on_cancelled(self, task: Task) -> None:
        if task.media is not None:
            services.mark_transcoding_cancelled(task.media)


def _media(tenant: Tenant, media_id: str) -> Media | None:
    try:
        return Media.objects.for_tenant(tenant).filter(id=uuid.UUID(str(media_id))).first()
    except ValueError:
        return None
