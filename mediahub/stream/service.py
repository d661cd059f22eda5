"""``GET /events/stream``: a tenant's events as Server-Sent Events.

A stream subscribes to the tenant's live channel first, then replays from the outbox table what the
client missed (``Last-Event-ID``), then relays live messages, skipping any the replay already sent.
Outbox events carry their id (``id:`` line), so a reconnecting client resumes after the last one it
saw; ``task.progress`` is ephemeral (no id, never replayed: the task row holds the latest progress).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.db.models import Q, QuerySet
from redis.client import PubSub
from redis.exceptions import RedisError

from mediahub.errors import Gone, Invalid, RateLimited, Unavailable
from mediahub.events.models import Event
from mediahub.events.outbox import EVENT_TYPES
from mediahub.stream import live
from mediahub.webhooks.slots import Slots
from tenants.models import Tenant

PROGRESS = "task.progress"
# How long a client waits before reconnecting after the stream ends (SSE ``retry:``), in ms.
RECONNECT_MS = 1000
# Retry-After of a refused stream (no slot free, Redis down).
RETRY_AFTER_SECONDS = 5
# Replayed ids kept to skip their live copies: only events this recent can still arrive live.
_DEDUPE_SECONDS = 60


@dataclass(frozen=True)
class Filters:
    """``?types=`` (names, ``prefix.*`` or ``*``) and ``?media=``; empty means everything."""

    types: tuple[str, ...] = ()
    media: str | None = None

    def wants_type(self, event_type: str) -> bool:
        return not self.types or any(_type_matches(pattern, event_type) for pattern in self.types)

    def wants(self, event_type: str, data: dict[str, Any]) -> bool:
        return self.wants_type(event_type) and (
            self.media is None or media_of(event_type, data) == self.media
        )


def _type_matches(pattern: str, event_type: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


def media_of(event_type: str, data: dict[str, Any]) -> str | None:
    """The media an event is about: the object itself for ``media.*``, else its ``media`` field."""
    if event_type.startswith("media."):
        return data.get("id")
    return data.get("media") or data.get("media_id")


def _type_filters() -> tuple[str, ...]:
    known = (*EVENT_TYPES, PROGRESS)
    prefixes = {".".join(t.split(".")[:n]) + ".*" for t in known for n in range(1, t.count(".") + 1)}
    return ("*", *sorted(prefixes), *known)


# What ``?types=`` may list (comma-separated): every event type, ``media.*``-style prefixes, ``*``.
TYPE_FILTERS = _type_filters()


def parse_filters(types: str | None, media: str | None) -> Filters:
    names = tuple(name.strip() for name in (types or "").split(",") if name.strip())
    unknown = [name for name in names if name not in TYPE_FILTERS]
    if unknown:
        raise Invalid(
            {"types": [f"Not an event type: {name}" for name in unknown]},
            f"Unknown event type: {', '.join(unknown)}.",
        )
    if media is not None:
        try:
            media = str(uuid.UUID(media))
        except ValueError:
            raise Invalid({"media": ["Not a UUID."]}, "media must be a UUID.") from None
    return Filters(types=names, media=media)


def resume_point(tenant: Tenant, last_event_id: str | None) -> Event | None:
    """The event a reconnecting client saw last, or None for a fresh stream."""
    if not last_event_id:
        return None
    try:
        event_id = uuid.UUID(last_event_id)
    except ValueError:
        raise Invalid(
            {"last_event_id": ["Not an event id."]}, "Last-Event-ID must be the id of an event."
        ) from None
    event = Event.objects.for_tenant(tenant).filter(id=event_id).first()
    if event is None:
        raise Gone(
            "The Last-Event-ID event is unknown or older than the retention window; "
            "reconnect without it (events in between cannot be replayed).",
            code="event_expired",
            details={"retention_days": settings.WEBHOOKS_EVENT_RETENTION_DAYS},
        )
    return event


def _media_q(media: str) -> Q:
    return Q(type__startswith="media.", data__id=media) | Q(data__media=media) | Q(data__media_id=media)


def missed_events(tenant: Tenant, after: Event, filters: Filters) -> QuerySet[Event]:
    """Outbox events since ``after`` (from a little before it: see the overlap setting), oldest first."""
    since = after.created_at - timedelta(seconds=settings.EVENTS_STREAM_RESUME_OVERLAP_SECONDS)
    events = Event.objects.for_tenant(tenant).filter(created_at__gte=since).exclude(id=after.id)
    if filters.types:
        type_q = Q()
        for pattern in filters.types:
            if pattern == "*":
                type_q = Q()
                break
            type_q |= Q(type__startswith=pattern[:-1]) if pattern.endswith(".*") else Q(type=pattern)
        events = events.filter(type_q)
    if filters.media:
        events = events.filter(_media_q(filters.media))
    return events.order_by("created_at", "id")


def event_message(event: Event) -> dict[str, Any]:
    return live.message(event.type, event.data, event.created_at, event.id)


def frame(body: dict[str, Any]) -> bytes:
    """One SSE frame; ``id:`` only for outbox events, so a progress tick never moves the cursor."""
    lines = [f"id: {body['id']}"] if "id" in body else []
    lines += [
        f"event: {body['type']}",
        "data: " + json.dumps(body, cls=DjangoJSONEncoder, separators=(",", ":")),
    ]
    return ("\n".join(lines) + "\n\n").encode()


class Capacity:
    """The caps that keep streams from taking every gunicorn thread: per process and per tenant."""

    _lock = threading.Lock()
    _open = 0

    def __init__(self, tenant: Tenant) -> None:
        self.tenant_slots = Slots(
            f"events-stream:{tenant.pk}",
            settings.EVENTS_STREAM_MAX_PER_TENANT,
            settings.EVENTS_STREAM_MAX_SECONDS + 60,
        )
        self.token: str | None = None

    def acquire(self) -> None:
        with Capacity._lock:
            if Capacity._open >= settings.EVENTS_STREAM_MAX_PER_PROCESS:
                raise Unavailable(
                    "This server has no free stream slot; retry shortly.",
                    code="stream_capacity",
                    retry_after=RETRY_AFTER_SECONDS,
                )
            Capacity._open += 1
        try:
            self.token = self.tenant_slots.acquire()
        except RedisError:
            self._leave_process()
            raise Unavailable("The events stream is unavailable.", code="service_unavailable") from None
        if self.token is None:
            self._leave_process()
            limit = settings.EVENTS_STREAM_MAX_PER_TENANT
            raise RateLimited(
                f"At most {limit} event streams may be open per tenant.",
                code="too_many_streams",
                retry_after=RETRY_AFTER_SECONDS,
            )

    def release(self) -> None:
        if self.token is not None:
            self.tenant_slots.release(self.token)
            self.token = None
            self._leave_process()

    @staticmethod
    def _leave_process() -> None:
        with Capacity._lock:
            Capacity._open -= 1


def open_stream(tenant: Tenant, filters: Filters, after: Event | None) -> Iterator[bytes]:
    """Take a slot and subscribe now (so errors are answered as JSON, before streaming begins);
    the returned iterator gives the frames and frees both when closed."""
    capacity = Capacity(tenant)
    capacity.acquire()
    try:
        pubsub = live.subscribe(tenant.pk)
    except RedisError:
        capacity.release()
        raise _unavailable() from None
    return _frames(tenant, filters, after, pubsub, capacity)


def _unavailable() -> Unavailable:
    return Unavailable(
        "The events stream is unavailable (Redis).",
        code="service_unavailable",
        retry_after=RETRY_AFTER_SECONDS,
    )


def _frames(
    tenant: Tenant, filters: Filters, after: Event | None, pubsub: PubSub, capacity: Capacity
) -> Iterator[bytes]:
    started = time.monotonic()
    try:
        yield f"retry: {RECONNECT_MS}\n: connected\n\n".encode()
        replayed: set[str] = set()
        if after is not None:
            recent = time.time() - _DEDUPE_SECONDS
            for event in missed_events(tenant, after, filters).iterator(chunk_size=500):
                if event.created_at.timestamp() >= recent:
                    replayed.add(str(event.id))
                yield frame(event_message(event))
        # Live messages need no database: hand the connection back while the stream idles.
        connection.close()
        heartbeat = settings.EVENTS_STREAM_HEARTBEAT_SECONDS
        next_beat = time.monotonic() + heartbeat
        while time.monotonic() - started < settings.EVENTS_STREAM_MAX_SECONDS:
            try:
                message = pubsub.get_message(timeout=max(0.0, next_beat - time.monotonic()))
            except RedisError:
                return  # the client reconnects with Last-Event-ID and the outbox fills the gap
            if message is not None:
                body = json.loads(message["data"])
                if body.get("id") not in replayed and filters.wants(body["type"], body["data"]):
                    yield frame(body)
                    next_beat = time.monotonic() + heartbeat
            if time.monotonic() >= next_beat:
                yield b": heartbeat\n\n"
                next_beat = time.monotonic() + heartbeat
    finally:
        pubsub.close()
        capacity.release()
