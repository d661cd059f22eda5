"""Starting a URL import: a media in ``importing`` and its ``ImportMedia`` task, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from django.db import transaction

from mediahub import outbound
from mediahub.errors import Invalid
from mediahub.media.models import Media
from mediahub.media.uploads import safe_filename
from tasks.models import Task
from tasks.services import create_task
from tenants.models import Tenant

IMPORT_TASK = "ImportMedia"


@dataclass(frozen=True)
class Started:
    media: Media
    task: Task


def filename_from_url(url: str) -> str:
    name = PurePosixPath(unquote(urlsplit(url).path)).name
    return safe_filename(name) if name else "import"


def start_import(
    *,
    tenant: Tenant,
    url: str,
    title: str = "",
    description: str = "",
    metadata: dict[str, Any] | None = None,
    auto_transcode: bool | None = None,
) -> Started:
    """``Invalid`` (``url``) for a URL the outbound guard refuses before any request is made."""
    try:
        outbound.check_url(url)
    except outbound.OutboundRefused as exc:
        raise Invalid({"url": [str(exc)]}) from exc
    payload: dict[str, Any] = {"url": url}
    if auto_transcode is not None:
        payload["auto_transcode"] = auto_transcode
    with transaction.atomic():
        # The type is decided from the content once it is fetched.
        media = Media.objects.create(
            tenant=tenant,
            type="",
            status=Media.Status.IMPORTING,
            filename=filename_from_url(url),
            title=title,
            description=description,
            metadata=metadata or {},
        )
        task = create_task(
            tenant=tenant, type_name=IMPORT_TASK, payload={"media_id": str(media.id), **payload}, media=media
        )
    return Started(media, task)
