"""Business rules of embeddings: requesting them, storing vectors, the embedding status."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import QuerySet, prefetch_related_objects
from django.utils import timezone

from mediahub.events.models import Event
from mediahub.events.outbox import emit, emit_many
from mediahub.media.models import Media
from mediahub.media.serializers import event_data
from mediahub.media.tasktypes import named_media
from mediahub.search.embedder import get_embedder
from mediahub.search.models import Embedding
from mediahub.search.text import build_text, text_hash
from tasks.errors import PermanentError
from tasks.models import Task
from tasks.services import create_task
from tenants.models import Tenant

TASK_TYPE = "EmbeddingGeneration"
Status = Embedding.Status


def auto_embed(tenant: Tenant) -> bool:
    return bool(tenant.effective_settings["auto_embed"])


def request_embedding(*, media: Media) -> Task:
    """Queue an ``EmbeddingGeneration`` task for ``media`` (its embedding becomes ``pending``).

    The stable entry point for anything that changes what a media's text is made of (a PATCH, a
    plugin that stored a transcript). A task already waiting for the media is reused: it builds the
    text when it runs, so it will see the change.
    """
    with transaction.atomic():
        media.embedding, _ = Embedding.objects.update_or_create(
            media=media, defaults={"tenant_id": media.tenant_id, "status": Status.PENDING}
        )
        waiting = _waiting_tasks([media.pk]).first()
        if waiting is not None:
            return waiting
        return create_task(
            tenant=media.tenant, type_name=TASK_TYPE, payload={"media_id": str(media.pk)}, media=media
        )


def on_media_created(event: Event) -> None:
    """Outbox subscriber: a new media is embedded when its tenant has ``auto_embed`` on."""
    media = _event_media(event)
    if media is not None and auto_embed(media.tenant):
        request_embedding(media=media)


def on_media_updated(event: Event) -> None:
    """Outbox subscriber: its title, description or metadata changed; embed it again
    (``auto_embed``), else mark its embedding ``stale``."""
    media = _event_media(event)
    if media is None:
        return
    if auto_embed(media.tenant):
        request_embedding(media=media)
    else:
        Embedding.objects.filter(media=media, status=Status.CURRENT).update(
            status=Status.STALE, updated_at=timezone.now()
        )


def _event_media(event: Event) -> Media | None:
    media = named_media(event.tenant, event.data.get("id"))
    if media is not None:
        media.tenant = event.tenant
    return media


def _waiting_tasks(media_ids: Sequence[Any] | None = None) -> QuerySet[Task]:
    """Embedding tasks not yet started (of these media, or of any)."""
    waiting = Task.objects.filter(type=TASK_TYPE, status__in=[Task.Status.PENDING, Task.Status.SCHEDULED])
    return (
        waiting.filter(media__isnull=False) if media_ids is None else waiting.filter(media_id__in=media_ids)
    )


def embed_media(*, media: Sequence[Media]) -> list[dict[str, Any] | Exception]:
    """Embed every media of the list with ONE model call and store text and vectors; returns one
    outcome per media, in order (a result, or the exception for that media alone).

    A media whose text did not change keeps its vector (it costs no model call); one without any
    text completes with a result that says so. A media named twice is embedded once.
    """
    unique = list({item.pk: item for item in media}.values())
    outcomes = dict(zip([item.pk for item in unique], _embed_unique(unique), strict=True))
    return [outcomes[item.pk] for item in media]


def _embed_unique(media_list: list[Media]) -> list[dict[str, Any] | Exception]:
    embedder = get_embedder()
    # One query for the batch, not one per media: the transcript source and event_data read them.
    prefetch_related_objects(media_list, "plugin_results")
    records = Embedding.objects.in_bulk([m.pk for m in media_list])
    texts: dict[Any, str] = {}
    outcomes: dict[Any, dict[str, Any] | Exception] = {}
    for media in media_list:
        try:
            texts[media.pk] = build_text(media)
        except Exception as exc:  # e.g. storage unreachable for a document: that media retries
            outcomes[media.pk] = exc
    hashes = {pk: text_hash(text) for pk, text in texts.items()}
    to_embed = [pk for pk, text in texts.items() if text and not _unchanged(records.get(pk), hashes[pk])]
    vectors = (
        dict(zip(to_embed, embedder.embed([texts[pk] for pk in to_embed]), strict=True)) if to_embed else {}
    )

    rows: list[Embedding] = []
    now = timezone.now()
    with transaction.atomic():
        present = set(
            Media.objects.select_for_update().filter(pk__in=list(texts)).values_list("pk", flat=True)
        )
        # A task still waiting for the media will embed it again: it stays pending until then.
        awaited = set(_waiting_tasks(list(texts)).values_list("media_id", flat=True))
        for media in media_list:
            if media.pk not in texts:
                continue
            if media.pk not in present:
                outcomes[media.pk] = PermanentError("The media no longer exists.")
                continue
            text, previous = texts[media.pk], records.get(media.pk)
            row = Embedding(media=media, tenant_id=media.tenant_id, text=text, text_hash=hashes[media.pk])
            if media.pk in vectors:
                row.vector, row.embedded_at = vectors[media.pk], now
                row.model, row.dimensions = embedder.name, embedder.dimensions
                outcome = {"embedded": True, "model": embedder.name, "dimensions": embedder.dimensions}
            elif text:
                row.vector, row.embedded_at = previous.vector, previous.embedded_at
                row.model, row.dimensions = previous.model, previous.dimensions
                outcome = {"embedded": False, "reason": "unchanged", "model": previous.model}
            else:
                outcome = {
                    "embedded": False,
                    "reason": "no_text",
                    "message": "The media has no text to embed.",
                }
            row.status = Status.PENDING if media.pk in awaited else Status.CURRENT if text else Status.NONE
            row.updated_at = now
            rows.append(row)
            outcomes[media.pk] = outcome
        Embedding.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["media"], update_fields=[*_STORED_FIELDS]
        )
        for row in rows:
            row.media.embedding = row
        emit_many(
            [
                (row.media.tenant, "embedding.completed", event_data(row.media))
                for row in rows
                if row.media_id in vectors
            ]
        )
    return [outcomes[media.pk] for media in media_list]


_STORED_FIELDS = (
    "status",
    "model",
    "dimensions",
    "vector",
    "text",
    "text_hash",
    "error",
    "embedded_at",
    "updated_at",
)


def _unchanged(record: Embedding | None, hash_: str) -> bool:
    return (
        record is not None
        and record.vector is not None
        and record.text_hash == hash_
        and record.model == get_embedder().name
    )


def embedding_failed(*, media: Media, error: str) -> None:
    """The task gave up (inside its terminal transaction): status ``failed``, ``embedding.failed``."""
    Embedding.objects.update_or_create(
        media=media, defaults={"tenant_id": media.tenant_id, "status": Status.FAILED, "error": error}
    )
    emit(media.tenant, "embedding.failed", event_data(media))


def embedding_cancelled(*, media: Media) -> None:
    """Nothing will embed it now: a pending embedding is back to what it was (stale if it has an
    older vector, none if it never had one)."""
    if not _waiting_tasks([media.pk]).exists():
        Embedding.objects.filter(media=media, status=Status.PENDING, vector__isnull=False).update(
            status=Status.STALE, updated_at=timezone.now()
        )
        Embedding.objects.filter(media=media, status=Status.PENDING, vector__isnull=True).update(
            status=Status.NONE, updated_at=timezone.now()
        )


def queue_missing(*, tenant: Tenant | None = None) -> int:
    """Queue an embedding for every media without a current vector of the configured model (the
    backfill behind ``manage.py embed_missing``); returns how many were queued."""
    current = Embedding.objects.filter(status=Status.CURRENT, model=get_embedder().name)
    media = Media.objects.exclude(pk__in=current.values("media_id")).exclude(
        pk__in=_waiting_tasks().values("media_id")
    )
    if tenant is not None:
        media = media.filter(tenant=tenant)
    queued = 0
    for item in media.select_related("tenant").order_by("created_at").iterator(chunk_size=500):
        request_embedding(media=item)
        queued += 1
    return queued
