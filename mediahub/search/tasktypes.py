"""The ``EmbeddingGeneration`` task type: a media's text → its vector, many media per model call."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from mediahub.errors import Invalid
from mediahub.media.models import Media
from mediahub.media.tasktypes import MediaTaskType, named_media
from mediahub.search import services
from tasks.context import TaskContext
from tasks.errors import PermanentError
from tasks.models import Task
from tasks.registry import register
from tenants.models import Tenant


@register
class EmbeddingGeneration(MediaTaskType):
    name = services.TASK_TYPE
    queue = "embeddings"
    payload_schema = {
        "type": "object",
        "required": ["media_id"],
        "additionalProperties": False,
        "properties": {"media_id": {"type": "string"}},
    }
    default_timeout_seconds = 300
    default_max_retries = 3
    # A worker claims up to this many runnable tasks and embeds them in one model call.
    batch_size = settings.EMBEDDING_BATCH_SIZE

    def validate_payload(self, tenant: Tenant, payload: dict[str, Any], media: Media | None) -> None:
        if media is None:
            raise Invalid({"payload": {"media_id": ["No such media."]}})

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        outcome = self.run_batch([ctx])[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def run_batch(self, ctxs: list[TaskContext]) -> list[dict[str, Any] | None | Exception]:
        media_or_errors: list[Media | Exception] = []
        for ctx in ctxs:
            try:
                ctx.check_cancelled()  # cancelled while it waited for the batch: not embedded
                media = _media(ctx)
                media_or_errors.append(media if media is not None else PermanentError("No such media."))
            except Exception as exc:
                media_or_errors.append(exc)
        found = [item for item in media_or_errors if isinstance(item, Media)]
        try:
            embedded = iter(services.embed_media(media=found))
        except Exception as exc:  # the model or the database failed: every task of the batch retries
            embedded = iter([exc] * len(found))
        return [next(embedded) if isinstance(item, Media) else item for item in media_or_errors]

    def on_failed(self, task: Task) -> None:
        if task.media is not None:
            services.embedding_failed(media=task.media, error=task.error or "Embedding failed.")

    def on_cancelled(self, task: Task) -> None:
        if task.media is not None:
            services.embedding_cancelled(media=task.media)


def _media(ctx: TaskContext) -> Media | None:
    media = named_media(ctx.tenant, ctx.payload["media_id"])
    if media is not None:
        media.tenant = ctx.tenant
    return media
