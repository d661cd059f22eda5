"""Emitting events into the outbox. Every producer calls ``emit`` inside its own transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import transaction

from mediahub.webhooks.delivery import (
    fan_out,
    fan_out_many,
    subscribed_endpoints,
    subscribed_endpoints_of_many,
)
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
    return event


def emit_many(events: Sequence[tuple[Tenant, str, dict[str, Any]]]) -> None:
    """``emit`` for many ``(tenant, event_type, data)`` at once: one INSERT of the events, one lookup
    of the subscribed endpoints and one INSERT of the deliveries, whatever their number."""
    if not events:
        return
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("emit_many() must be called inside the transaction that makes the change")
    for _, event_type, _ in events:
        if event_type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {event_type!r}")
    rows = Event.objects.bulk_create(
        Event(tenant=t, type=event_type, data=data) for t, event_type, data in events
    )
    endpoints = subscribed_endpoints_of_many({(e.tenant_id, e.type) for e in rows})
    fan_out_many([(event, endpoints.get((event.tenant_id, event.type), ())) for event in rows])
