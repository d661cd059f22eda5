"""``Idempotency-Key`` on POST (API.md): a repeat within 24 h replays the first response.

The record is claimed (inserted) before the view runs, under a unique (tenant, key) constraint, so of
two concurrent duplicates exactly one runs; the other is answered ``409`` while the first is in
progress. Server errors (5xx) release the key so the client can retry with it.

A response that shows a secret once (a new API key, a webhook signing secret on create or rotate)
is marked with ``shown_once``; its replay has the same status but only ``{"id", "secret_omitted":
true}``: the secret itself is never stored, so a repeat cannot reveal it again (not even after the
key was revoked).
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.http import HttpResponse, HttpResponseBase
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from rest_framework.request import Request
from rest_framework.response import Response

from mediahub import crypto
from mediahub.api.models import IdempotencyRecord
from mediahub.errors import Conflict, Invalid
from tenants.models import Tenant

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
# A claim older than this was left by a crashed process; a repeat may take it over.
ABANDONED_AFTER = timedelta(minutes=10)
SHOWN_ONCE_ATTRIBUTE = "idempotent_replay_without_secret"


def shown_once(response: Response) -> Response:
    """Mark ``response`` (whose data has an ``id``) as showing a secret once: replays omit it."""
    setattr(response, SHOWN_ONCE_ATTRIBUTE, True)
    return response


class Replay(Exception):
    """Raised before the view runs when the stored response answers the request."""

    def __init__(self, record: IdempotencyRecord):
        self.record = record

    def response(self) -> HttpResponse:
        response = HttpResponse(
            crypto.decrypt(bytes(self.record.response_body)),  # type: ignore[arg-type]
            status=self.record.response_status,
            content_type=self.record.response_content_type or None,
        )
        response[REPLAYED_HEADER] = "true"
        return response


def validate_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise Invalid(
            {"header": HEADER},
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable characters.",
            code="invalid_idempotency_key",
        )
    return key


def request_fingerprint(request: Request) -> str:
    """sha256 over method, path, query and parsed body (uploaded files by content)."""
    digest = hashlib.sha256(f"{request.method} {request.get_full_path()}\n".encode())
    data = request.data
    if isinstance(data, MultiValueDict):
        data = dict(data.lists())
    digest.update(json.dumps(data, sort_keys=True, default=_canonical).encode())
    return digest.hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, UploadedFile):
        # Media uploads were hashed while streaming (``HashingUploadHandler``); don't read them twice.
        sha256 = getattr(value, "sha256", None)
        if sha256 is None:
            file_digest = hashlib.sha256()
            for chunk in value.chunks():
                file_digest.update(chunk)
            value.seek(0)
            sha256 = file_digest.hexdigest()
        return {"file": value.name, "sha256": sha256}
    return str(value)


def claim(tenant: Tenant, key: str, fingerprint: str) -> IdempotencyRecord:
    """Take ``key`` for this request, or raise ``Replay`` / ``Conflict`` when it was used before."""
    for _ in range(3):
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(tenant=tenant, key=key, fingerprint=fingerprint)
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.for_tenant(tenant).filter(key=key).first()
        if existing is None:  # expired and purged in between
            continue
        if _is_stale(existing):
            existing.delete()
            continue
        if existing.fingerprint != fingerprint:
            raise Conflict(
                f"This {HEADER} was already used with a different request.",
                code="idempotency_key_reused",
                details={"header": HEADER},
            )
        if existing.state == IdempotencyRecord.State.IN_PROGRESS:
            raise Conflict(
                f"A request with this {HEADER} is still in progress.",
                code="idempotency_request_in_progress",
                details={"header": HEADER},
            )
        raise Replay(existing)
    raise Conflict(f"Could not claim this {HEADER}; retry.", code="idempotency_request_in_progress")


def _is_stale(record: IdempotencyRecord) -> bool:
    age = timezone.now() - record.created_at
    if record.state == IdempotencyRecord.State.IN_PROGRESS:
        return age > ABANDONED_AFTER
    return age > timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)


def finish(record: IdempotencyRecord, response: HttpResponseBase) -> None:
    """Store the response for replays, or release the key after a server error."""
    if response.status_code >= 500 or response.streaming:
        IdempotencyRecord.objects.filter(pk=record.pk).delete()
        return
    if hasattr(response, "render"):
        response.render()
    body = response.content  # type: ignore[attr-defined]
    if getattr(response, SHOWN_ONCE_ATTRIBUTE, False) and response.status_code < 400:
        body = json.dumps({"id": str(response.data["id"]), "secret_omitted": True}).encode()  # type: ignore[attr-defined]
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        state=IdempotencyRecord.State.COMPLETED,
        response_status=response.status_code,
        response_content_type=response.get("Content-Type", ""),
        # Encrypted at rest all the same: responses may hold what a tenant does not want leaked.
        response_body=crypto.encrypt(body),
    )


def purge_expired() -> int:
    """Delete records past their replay window (run periodically)."""
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
