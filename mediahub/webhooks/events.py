"""Emitting events into the outbox. Every producer calls ``emit`` inside its own transaction."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from django.db import transaction

from mediahub.stream import live
from mediahub.webhooks.delivery import fan_out, subscribed_endpoints
from mediahub.webhooks.models import Endpoint, Event
from tenants.models import Tenant

EVENT_TYPES = (
    "media.created",
    "media.ready",
    "media.failed",
    "media.deleted",
    "task.created",
    "task.started",
    "task.completed",
    "task.failed",
    "task.cancelled",
    "task.retrying",
    "task.deleted",
    "batch.created",
    "batch.finished",
    "plugin.completed",
    "plugin.failed",
    "webhook.test",
)


def emit(
    tenant: Tenant, event_type: str, data: dict[str, Any], *, endpoints: Iterable[Endpoint] | None = None
) -> Event:
    """Record ``event_type`` with ``data`` (the full API representation of the object).

    Must run inside the caller's transaction so the event exists if and only if the change does; its
    deliveries (to ``endpoints``, by default every active endpoint subscribed to the type) are
    created in the same transaction, so no event can be lost between the outbox and the sender.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("emit() must be called inside the transaction that makes the change")
    event = Event.objects.create(tenant=tenant, type=event_type, data=data)
    fan_out(event, subscribed_endpoints(tenant, event_type) if endpoints is None else endpoints)
    # Open event streams hear of it once it is committed (they replay from this table if not).
    body = live.message(event.type, event.data, event.created_at, event.id)
    transaction.on_commit(functools.partial(live.publish, tenant.pk, body))
    return event
