"""Business rules for media: ingesting uploads, direct uploads, state changes, deletion."""

from __future__ import annotations

import logging
import math
import tempfile
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypedDict, Unpack

from botocore.exceptions import ClientError
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from mediahub.errors import ApplicationError, Conflict, NotFound
from mediahub.events.outbox import emit
from mediahub.images.originals import poster_placeholder, prepare_original
from mediahub.media import storage
from mediahub.media.inspection import MediaTooLarge, inspect_file
from mediahub.media.models import DirectUpload, Media
from mediahub.media.serializers import event_data
from mediahub.media.uploads import file_sha256, safe_filename
from tasks.models import Task
from tasks.services import cancel_task, create_task
from tenants.models import Tenant

logger = logging.getLogger(__name__)

TRANSCODABLE = (Media.Type.VIDEO, Media.Type.AUDIO)
TRANSCODING_TASK = "VideoTranscoding"


@dataclass(frozen=True)
class Ingested:
    media: Media
    duplicate: bool


@dataclass(frozen=True)
class MediaFields:
    """What the client says about a new media (never trusted for its type)."""

    filename: str
    title: str = ""
    description: str = ""
    metadata: dict[str, Any] | None = None
    auto_transcode: bool | None = None


class MediaChanges(TypedDict, total=False):
    """What ``PATCH /media/{id}`` may change."""

    title: str
    description: str
    metadata: dict[str, Any]


def upload_limits(*, tenant: Tenant) -> dict[str, int]:
    return tenant.effective_settings["limits"]["max_upload_bytes"]


def ingest_file(
    *,
    tenant: Tenant,
    path: Path,
    fields: MediaFields,
    sha256: str,
    size_bytes: int,
    stored_as: DirectUpload | None = None,
    derived_from: Media | None = None,
    importing: Media | None = None,
) -> Ingested:
    """Turn the file at ``path`` into a media of ``tenant``: detect and probe it, store it, create
    the row, start transcoding, emit ``media.created``. A file the tenant already has answers with
    the existing media. ``stored_as`` is a direct upload whose object already is in storage;
    ``derived_from`` the media an ffmpeg command made this one from; ``importing`` the media in
    ``importing`` that a URL import fills (it is removed if the tenant already has the file).
    """
    existing = Media.objects.for_tenant(tenant).filter(sha256=sha256).first()
    if existing is not None:
        _discard(stored_as)
        _drop_placeholder(importing)
        return Ingested(existing, duplicate=True)
    try:
        inspection = inspect_file(path, tenant.effective_settings["limits"], fields.filename)
        limit = upload_limits(tenant=tenant)[inspection.type]
        if size_bytes > limit:
            raise MediaTooLarge(
                "file_too_large",
                f"The {inspection.type} exceeds the upload limit of {limit} bytes.",
                {"limit_bytes": limit, "type": inspection.type},
            )
    except ApplicationError:
        _discard(stored_as)
        raise

    placeholder, rewritten = "", False
    if inspection.type == Media.Type.IMAGE:
        image = prepare_original(path, strip_metadata=tenant.effective_settings["strip_metadata"])
        placeholder, rewritten = image.placeholder, image.rewritten
        if rewritten:
            size_bytes, inspection.width, inspection.height = path.stat().st_size, image.width, image.height

    media_id = stored_as.media_id if stored_as else (importing.id if importing else uuid.uuid4())
    filename = safe_filename(fields.filename)
    key = stored_as.key if stored_as else storage.original_key(tenant.id, media_id, filename)
    if stored_as is None or rewritten:
        storage.get_store().upload_file(path, key, inspection.content_type)

    transcode = inspection.type in TRANSCODABLE and (
        tenant.effective_settings["auto_transcode"]
        if fields.auto_transcode is None
        else fields.auto_transcode
    )
    media = Media(
        id=media_id,
        tenant=tenant,
        type=inspection.type,
        status=_initial_status(inspection.type, transcode),
        filename=filename,
        content_type=inspection.content_type,
        size_bytes=size_bytes,
        sha256=sha256,
        title=fields.title,
        description=fields.description,
        metadata=fields.metadata or {},
        duration_seconds=inspection.duration_seconds,
        width=inspection.width,
        height=inspection.height,
        probe=inspection.probe,
        original_key=key,
        derived_from=derived_from,
        placeholder=placeholder,
    )
    if importing is not None:
        media.created_at = importing.created_at
    try:
        with transaction.atomic():
            if importing is not None and not _lock_placeholder(importing):
                storage.get_store().delete(key)
                raise NotFound("The media was deleted while it was being imported.")
            media.save(force_insert=importing is None, force_update=importing is not None)
            if stored_as is not None:
                stored_as.completed_at = timezone.now()
                stored_as.save(update_fields=["completed_at"])
            if transcode:
                create_task(
                    tenant=tenant,
                    type_name=TRANSCODING_TASK,
                    payload={"media_id": str(media.id)},
                    media=media,
                )
            emit(tenant, "media.created", event_data(media))
    except IntegrityError:
        # A concurrent upload of the same content won the race; its media is the answer.
        existing = Media.objects.for_tenant(tenant).filter(sha256=sha256).first()
        if existing is None:
            raise
        if stored_as is None:
            storage.get_store().delete(key)
        _discard(stored_as)
        _drop_placeholder(importing)
        return Ingested(existing, duplicate=True)
    return Ingested(media, duplicate=False)


def _lock_placeholder(media: Media) -> bool:
    """Lock an import's media row; False if it was deleted meanwhile."""
    return Media.objects.select_for_update().filter(pk=media.pk, status=Media.Status.IMPORTING).exists()


def _drop_placeholder(media: Media | None) -> None:
    """An import of a file the tenant already has: its media (never announced) is removed."""
    if media is not None:
        Media.objects.filter(pk=media.pk, status=Media.Status.IMPORTING).delete()


def _initial_status(media_type: str, transcode: bool) -> str:
    if transcode:
        return Media.Status.PROCESSING
    if media_type in TRANSCODABLE:
        return Media.Status.UPLOADED
    return Media.Status.READY  # images and documents need no processing


def _discard(upload: DirectUpload | None) -> None:
    """Remove a direct upload's object that will not become a media."""
    if upload is not None:
        storage.get_store().delete(upload.key)
        upload.delete()


def update_media(*, media: Media, **changes: Unpack[MediaChanges]) -> Media:
    """Apply a PATCH; if anything changed, emit ``media.updated`` (search embeds the media again)."""
    changed = {field: value for field, value in changes.items() if getattr(media, field) != value}
    if not changed:
        return media
    with transaction.atomic():
        for field, value in changed.items():
            setattr(media, field, value)
        media.save(update_fields=[*changed, "updated_at"])
        emit(media.tenant, "media.updated", event_data(media))
    return media


def delete_media(*, media: Media) -> None:
    """Cancel the media's open tasks, delete it (``media.deleted``) and, once committed, every
    object stored under its prefix."""
    prefix = storage.media_prefix(media.tenant_id, media.id)
    with transaction.atomic():
        for task in Task.objects.filter(media=media, status__in=Task.OPEN).select_for_update():
            cancel_task(task=task, reason="The media was deleted.")
        data = event_data(media)
        media.delete()
        emit(media.tenant, "media.deleted", data)
        transaction.on_commit(lambda: storage.get_store().delete_prefix(prefix))


# --- state changes made by the transcoding task (inside the task engine's transactions) ---


def mark_processing(*, media: Media) -> None:
    Media.objects.filter(pk=media.pk).update(
        status=Media.Status.PROCESSING, error="", updated_at=timezone.now()
    )


def mark_playable(*, media: Media, hls: dict[str, Any]) -> None:
    """A first rendition plays while the rest of the ladder is encoded (``hls.complete`` false):
    publish it and emit ``media.playable`` (once: a rerun that finds it playable stays quiet)."""
    with transaction.atomic():
        current = Media.objects.select_for_update().filter(pk=media.pk).first()
        if current is None or current.status != Media.Status.PROCESSING:
            return  # deleted or cancelled meanwhile
        was_playable = current.hls is not None
        current.hls = hls
        current.save(update_fields=["hls", "updated_at"])
        if not was_playable:
            emit(current.tenant, "media.playable", event_data(current))


def mark_ready(*, media: Media, hls: dict[str, Any], poster_key: str) -> None:
    media.status, media.hls, media.poster_key, media.error = Media.Status.READY, hls, poster_key, ""
    media.placeholder = poster_placeholder(storage.get_store(), poster_key) if poster_key else ""
    media.save(update_fields=["status", "hls", "poster_key", "placeholder", "error", "updated_at"])
    emit(media.tenant, "media.ready", event_data(media))


def mark_failed(*, media: Media, reason: str) -> None:
    media.status, media.hls, media.error = Media.Status.FAILED, None, reason
    media.save(update_fields=["status", "hls", "error", "updated_at"])
    emit(media.tenant, "media.failed", event_data(media))


def mark_transcoding_cancelled(*, media: Media) -> None:
    """The original is intact; the media is back to ``uploaded`` and can be transcoded again."""
    media.status, media.hls, media.error = Media.Status.UPLOADED, None, "Transcoding was cancelled."
    media.save(update_fields=["status", "hls", "error", "updated_at"])


# --- direct uploads ---


@dataclass(frozen=True)
class DirectUploadTicket:
    upload: DirectUpload
    url: str | None
    parts: list[storage.PartUrl]


def start_direct_upload(
    *, tenant: Tenant, fields: MediaFields, size_bytes: int, content_type: str, base_url: str
) -> DirectUploadTicket:
    """Reserve a media id and key and hand out presigned URLs for the client to PUT the bytes."""
    largest = max(upload_limits(tenant=tenant).values())
    if size_bytes > largest:
        raise MediaTooLarge(
            "file_too_large",
            f"The file exceeds the upload limit of {largest} bytes.",
            {"limit_bytes": largest},
        )
    store = storage.get_store()
    ttl = settings.DIRECT_UPLOAD_TTL_SECONDS
    upload = DirectUpload(
        tenant=tenant,
        filename=safe_filename(fields.filename),
        content_type=content_type,
        size_bytes=size_bytes,
        title=fields.title,
        description=fields.description,
        metadata=fields.metadata or {},
        auto_transcode=fields.auto_transcode,
        expires_at=timezone.now() + timedelta(seconds=ttl),
    )
    upload.key = storage.original_key(tenant.id, upload.media_id, upload.filename)
    url, parts = None, []
    # Part URLs die with their multipart upload at completion. A PUT URL would not: it writes to a
    # staging key that completion moves away from (see ``complete_direct_upload``).
    if store.supports_multipart() and upload.size_bytes > storage.DIRECT_MULTIPART_THRESHOLD:
        upload.part_size = storage.part_size_for(upload.size_bytes)
        upload.multipart_upload_id = store.start_multipart(upload.key, upload.content_type)  # type: ignore[attr-defined]
        parts = store.part_urls(  # type: ignore[attr-defined]
            upload.key, upload.multipart_upload_id, math.ceil(upload.size_bytes / upload.part_size), ttl
        )
    else:
        upload.key = storage.upload_staging_key(tenant.id, upload.id, upload.filename)
        url = store.presign_put(
            upload.key,
            base_url=base_url,
            ttl=ttl,
            content_type=upload.content_type,
            size_bytes=upload.size_bytes,
        )
    upload.save()
    return DirectUploadTicket(upload, url, parts)


def complete_direct_upload(*, upload: DirectUpload, parts: list[dict[str, Any]]) -> Ingested:
    """Check the uploaded object (its size by HEAD), then process it exactly like a form upload.

    The bytes hashed and inspected are one version of the object (its ETag), and only that version
    becomes the media's original: a single PUT's object is moved from its staging key to the
    original's, so a later PUT to the same URL cannot replace a stored, inspected original."""
    if upload.completed_at is not None:
        raise Conflict("This upload is already complete.", code="upload_completed")
    if upload.expires_at <= timezone.now():
        raise Conflict("This upload has expired; start a new one.", code="upload_expired")
    # Any body the schema allows may still not fit this upload (its kind, what was uploaded to it):
    # a 409 conflict with the upload's state, like "nothing uploaded yet", not a 400.
    store = storage.get_store()
    if upload.multipart_upload_id:
        if not parts:
            raise Conflict(
                "A multipart upload needs its parts.", code="parts_required", details={"parts": ["Required."]}
            )
        try:
            store.complete_multipart(upload.key, upload.multipart_upload_id, parts)  # type: ignore[attr-defined]
        except ClientError as exc:
            raise Conflict(f"The parts could not be assembled: {exc}", code="invalid_parts") from exc
    if not store.exists(upload.key):
        raise Conflict("Nothing was uploaded yet.", code="upload_missing")
    version = store.version(upload.key)
    stored_size = version.size
    if stored_size != upload.size_bytes:
        _discard(upload)
        raise Conflict(
            f"The uploaded object has {stored_size} bytes, not the {upload.size_bytes} announced.",
            code="size_mismatch",
            details={"size_bytes": [f"The stored object has {stored_size} bytes."]},
        )
    fields = MediaFields(
        upload.filename, upload.title, upload.description, upload.metadata, upload.auto_transcode
    )
    with tempfile.TemporaryDirectory(dir=settings.FILE_UPLOAD_TEMP_DIR) as folder:
        path = Path(folder) / "original"
        try:
            store.download_version(upload.key, path, version)
            final_key = storage.original_key(upload.tenant_id, upload.media_id, upload.filename)
            if upload.key != final_key:
                store.move_version(upload.key, final_key, version)
                upload.key = final_key
                upload.save(update_fields=["key"])
            if store.version(upload.key) != version:
                raise storage.ObjectChanged(upload.key)
        except storage.ObjectChanged as exc:
            raise Conflict(
                "The uploaded object changed while it was being completed; upload it again.",
                code="upload_changed",
            ) from exc
        return ingest_file(
            tenant=upload.tenant,
            path=path,
            fields=fields,
            sha256=file_sha256(path),
            size_bytes=stored_size,
            stored_as=upload,
        )
