"""The ``FFmpegCommand`` task type: a tenant's own ffmpeg arguments (or a command preset), fenced
and sandboxed; the output becomes a new media."""

from __future__ import annotations

from typing import Any

from mediahub.commands.planning import CommandInvalid, input_ids, plan_command
from mediahub.commands.runner import run_plan
from mediahub.commands.wildcards import MAX_INPUTS
from mediahub.errors import Invalid
from mediahub.media.models import Media
from mediahub.media.tasktypes import named_media
from tasks.context import TaskContext
from tasks.errors import PermanentError
from tasks.registry import register
from tasks.types import TaskType
from tenants.models import Tenant


@register
class FFmpegCommand(TaskType):
    name = "FFmpegCommand"
    queue = "ffmpeg_commands"
    payload_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "command": {
                "oneOf": [
                    {"type": "string", "minLength": 1, "maxLength": 65536},
                    {"type": "array", "minItems": 1, "maxItems": 256, "items": {"type": "string"}},
                ]
            },
            "preset": {"type": "string", "minLength": 1, "maxLength": 64},
            "params": {
                "type": "object",
                "maxProperties": 16,
                "additionalProperties": {"type": ["string", "number"]},
            },
            "input_media_id": {"type": "string"},
            "input_media_ids": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_INPUTS,
                "items": {"type": "string"},
            },
            "output_name": {"type": "string", "minLength": 1, "maxLength": 200},
            "auto_transcode": {"type": "boolean"},
        },
        "not": {"required": ["input_media_id", "input_media_ids"]},
    }
    default_timeout_seconds = 3600
    default_max_retries = 1
    max_per_tenant = 4

    def media_for(self, tenant: Tenant, payload: dict[str, Any]) -> Media | None:
        """The first input: deleting it cancels the command."""
        ids = input_ids(payload)
        return named_media(tenant, ids[0], lock=True) if ids else None

    def validate_payload(self, tenant: Tenant, payload: dict[str, Any], media: Media | None) -> None:
        try:
            plan_command(tenant=tenant, payload=payload)
        except CommandInvalid as exc:
            raise Invalid({"payload": {exc.field: [str(exc)]}}) from exc

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        try:
            plan = plan_command(tenant=ctx.tenant, payload=ctx.payload)
        except CommandInvalid as exc:  # an input or the preset changed since the task was created
            raise PermanentError(str(exc)) from exc
        return run_plan(ctx, plan)
