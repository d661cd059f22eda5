"""The ``ImportMedia`` task type: fetch a URL into a media that waits in ``importing``, then type,
dedupe and (auto-)transcode it exactly like an upload."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from mediahub import outbound
from mediahub.errors import ApplicationError, Invalid
from mediahub.imports.fetch import fetch
from mediahub.media import services
from mediahub.media.models import Media
from mediahub.media.tasktypes import MediaTaskType, named_media
from tasks.context import TaskContext
from tasks.errors import PermanentError
from tasks.models import Task
from tasks.registry import register
from tenants.models import Tenant


@register
class ImportMedia(MediaTaskType):
    name = "ImportMedia"
    queue = "imports"
    payload_schema = {
        "type": "object",
        "required": ["media_id", "url"],
        "additionalProperties": False,
        "properties": {
            "media_id": {"type": "string"},
            "url": {"type": "string", "maxLength": 2000},
            "auto_transcode": {"type": "boolean"},
        },
    }
    default_timeout_seconds = 2 * 3600
    default_max_retries = 2

    def validate_payload(self, tenant: Tenant, payload: dict[str, Any], media: Media | None) -> None:
        if media is None or media.status != Media.Status.IMPORTING:
            raise Invalid({"payload": {"media_id": ["No media waiting for an import (POST /media/import)."]}})
        try:
            outbound.check_url(payload["url"])
        except outbound.OutboundRefused as exc:
            raise Invalid({"payload": {"url": [str(exc)]}}) from exc

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        media = named_media(ctx.tenant, ctx.payload["media_id"])
        if media is None or media.status != Media.Status.IMPORTING:
            raise PermanentError("The media waiting for this import is gone.")
        ctx.set_phase("running")
        path = ctx.workdir / "download"
        fetched = fetch(
            ctx,
            ctx.payload["url"],
            path,
            services.upload_limits(tenant=ctx.tenant),
            timeout=settings.IMPORT_TIMEOUT_SECONDS,
            redirects=settings.IMPORT_MAX_REDIRECTS,
        )
        ctx.set_phase("post_processing")
        fields = services.MediaFields(
            media.filename, media.title, media.description, media.metadata, ctx.payload.get("auto_transcode")
        )
        try:
            ingested = services.ingest_file(
                tenant=ctx.tenant,
                path=path,
                fields=fields,
                sha256=fetched.sha256,
                size_bytes=fetched.size_bytes,
                importing=media,
            )
        except ApplicationError as exc:  # not a media mediahub takes (type, size)
            raise PermanentError(exc.message) from exc
        return {
            "media_id": str(ingested.media.id),
            "duplicate": ingested.duplicate,
            "size_bytes": fetched.size_bytes,
        }

    def on_failed(self, task: Task) -> None:
        self._ended(task, task.error or "The import failed.")

    def on_cancelled(self, task: Task) -> None:
        self._ended(task, "The import was cancelled.")

    def _ended(self, task: Task, reason: str) -> None:
        media = task.media
        if media is not None and media.status == Media.Status.IMPORTING:
            services.mark_failed(media=media, reason=reason)
