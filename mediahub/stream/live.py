"""Live delivery of a tenant's events to its open streams: one Redis pub/sub channel per tenant.

Outbox events are published after their transaction commits (the outbox row stays the truth: a
stream that missed a message replays it from the table); ``task.progress`` is published straight
from the running task and never stored. Publishing is best effort: Redis being down must not fail
the change that emitted the event. This module is a leaf (Redis only), so the task engine can use it.
"""

from __future__ import annotations

import functools
import json
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from redis.client import PubSub
from redis.exceptions import RedisError

from mediahub import redis

if TYPE_CHECKING:
    from mediahub.events.models import Event

logger = logging.getLogger(__name__)


def channel(tenant_id: object) -> str:
    return redis.key("events", tenant_id)


def message(
    event_type: str, data: dict[str, Any], at: datetime, event_id: object | None = None
) -> dict[str, Any]:
    """The body a stream sends (a webhook delivery's body plus the event id when it has one)."""
    timestamp = at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    body: dict[str, Any] = {"type": event_type, "timestamp": timestamp, "data": data}
    if event_id is not None:
        body["id"] = str(event_id)
    return body


def publish_on_commit(events: list[Event]) -> None:
    """The outbox subscriber (``"*"``, many at once): open streams hear of the events once they are
    committed (they replay them from the outbox if they miss one)."""
    messages = [(e.tenant_id, message(e.type, e.data, e.created_at, e.id)) for e in events]
    transaction.on_commit(functools.partial(publish_many, messages))


def publish(tenant_id: object, body: dict[str, Any]) -> None:
    publish_many([(tenant_id, body)])


def publish_many(messages: list[tuple[object, dict[str, Any]]]) -> None:
    """One round trip to Redis however many events a transaction committed."""
    try:
        pipeline = redis.get_redis().pipeline(transaction=False)
        for tenant_id, body in messages:
            pipeline.publish(channel(tenant_id), json.dumps(body, cls=DjangoJSONEncoder))
        pipeline.execute()
    except RedisError as exc:
        logger.warning("live events not published (streams will replay them on resume): %s", exc)


def subscribe(tenant_id: object) -> PubSub:
    """A subscription on its own connection; the caller closes it."""
    pubsub = redis.get_redis().pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel(tenant_id))
    return pubsub
