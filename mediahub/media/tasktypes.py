"""What task types working on one media share: finding (and locking) it from ``payload["media_id"]``."""

from __future__ import annotations

import uuid
from typing import Any

from mediahub.media.models import Media
from tasks.types import TaskType
from tenants.models import Tenant


class MediaTaskType(TaskType):
    """Base of task types whose payload names a media in ``media_id``: the task is linked to the
    tenant's media (so ``?media=`` finds it) and ``validate_payload`` receives it, or None when the
    id names no media of this tenant."""

    def media_for(self, tenant: Tenant, payload: dict[str, Any]) -> Media | None:
        return named_media(tenant, payload.get("media_id"), lock=True)


def named_media(tenant: Tenant, media_id: Any, *, lock: bool = False) -> Media | None:
    """The tenant's media with id ``media_id`` (row-locked with ``lock``); None for any other
    value, a malformed id included."""
    try:
        pk = uuid.UUID(str(media_id))
    except ValueError:
        return None
    media = Media.objects.for_tenant(tenant).filter(pk=pk)
    return (media.select_for_update() if lock else media).first()
