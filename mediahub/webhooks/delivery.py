"""Delivering events: fan-out, one attempt (claim, sign, send, record), retries and the sweep.

The ``Delivery`` row is the truth and a broker message only rings its doorbell: a lost or duplicate
message costs nothing, because an attempt first claims the row (pending and due) and the periodic
sweep rings again for due deliveries whose doorbell went silent. Waits longer than a minute live only
in ``next_attempt_at``; RabbitMQ would otherwise hold the delayed message unacknowledged for hours.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from uuid import UUID

import dramatiq
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from mediahub.webhooks import signing, transport
from mediahub.webhooks.models import Delivery, DeliveryAttempt, Endpoint, Event
from mediahub.webhooks.slots import Slots
from tenants.models import Tenant

logger = logging.getLogger(__name__)

USER_AGENT = "mediahub-webhooks/1.0"
ACTOR_NAME = "deliver_webhook"
# A claimed attempt owns its delivery this long; a worker that died is retried after it.
LEASE_MARGIN = timedelta(seconds=60)
# Retry waits up to this long ride on a delayed broker message; longer ones wait for the sweep.
BROKER_DELAY_LIMIT = timedelta(seconds=60)
# The sweep rings again for a due delivery whose last doorbell was due longer ago than this.
SWEEP_GRACE = timedelta(seconds=60)
SWEEP_BATCH = 1000
PURGE_BATCH = 1000
# One doorbell keeps its worker on the endpoint's due deliveries this long, so a burst drains
# without a broker round trip per delivery (the endpoint's slots still bound the workers on it).
DRAIN_WINDOW = timedelta(seconds=10)
# ``last_success_at`` of a healthy endpoint may lag by this much.
HEALTH_RESOLUTION = timedelta(seconds=1)
# Retry waits vary by this fraction either way, so failures of a burst do not retry in lockstep.
RETRY_JITTER = 0.2


def subscribed_endpoints(tenant: Tenant, event_type: str) -> QuerySet[Endpoint]:
    return (
        Endpoint.objects.for_tenant(tenant)
        .filter(active=True)
        .filter(Q(events__contains=[event_type]) | Q(events__contains=["*"]))
    )


def subscribed_endpoints_of_many(
    keys: Iterable[tuple[UUID, str]],
) -> dict[tuple[UUID, str], list[Endpoint]]:
    """``subscribed_endpoints`` for many (tenant id, event type) pairs in one query."""
    keys = set(keys)
    found: dict[tuple[UUID, str], list[Endpoint]] = {}
    candidates = Endpoint.objects.filter(tenant_id__in={tenant for tenant, _ in keys}, active=True).filter(
        events__overlap=["*", *{event_type for _, event_type in keys}]
    )
    for endpoint in candidates:
        for tenant, event_type in keys:
            if tenant == endpoint.tenant_id and ("*" in endpoint.events or event_type in endpoint.events):
                found.setdefault((tenant, event_type), []).append(endpoint)
    return found


def deliver_to_subscribers(events: list[Event]) -> None:
    """The outbox subscriber (``"*"``, many at once): a delivery to each active endpoint subscribed
    to the event's type; one lookup and one INSERT for all the events."""
    endpoints = subscribed_endpoints_of_many({(event.tenant_id, event.type) for event in events})
    fan_out_many([(event, endpoints.get((event.tenant_id, event.type), ())) for event in events])


def fan_out(event: Event, endpoints: Iterable[Endpoint]) -> list[Delivery]:
    """A pending delivery of ``event`` per endpoint, rung once the caller's transaction commits."""
    return fan_out_many([(event, endpoints)])


def fan_out_many(pairs: Iterable[tuple[Event, Iterable[Endpoint]]]) -> list[Delivery]:
    """``fan_out`` of many events with one INSERT and one doorbell callback."""
    now = timezone.now()
    deliveries = Delivery.objects.bulk_create(
        Delivery(
            tenant_id=event.tenant_id, endpoint=endpoint, event=event, next_attempt_at=now, queued_for=now
        )
        for event, endpoints in pairs
        for endpoint in endpoints
    )
    if deliveries:
        ids = [delivery.id for delivery in deliveries]
        transaction.on_commit(lambda: ring(ids))
    return deliveries


def ring(delivery_ids: list[UUID], delay_ms: int = 0) -> None:
    """Send the doorbell message of each delivery.

    Runs after commit, inside whatever request or task made the change, so a broker outage must not
    raise: the deliveries are marked as having no doorbell and the sweep rings them later.
    """
    for index, delivery_id in enumerate(delivery_ids):
        try:
            # Found by name: the actor (``webhooks/actors.py``) is declared on the broker at start-up.
            actor = dramatiq.get_broker().get_actor(ACTOR_NAME)
            actor.send_with_options(args=(str(delivery_id),), delay=delay_ms or None)
        except Exception:  # any broker error; the row is the truth and the sweep recovers
            logger.warning(
                "broker unavailable: %d webhook deliveries left to the sweep", len(delivery_ids) - index
            )
            Delivery.objects.filter(pk__in=delivery_ids[index:], status=Delivery.Status.PENDING).update(
                queued_for=None
            )
            return


def run_delivery(delivery_id: str) -> None:
    """The actor's work: attempt ``delivery_id`` if it is still pending and due, then keep draining
    its endpoint's due deliveries (oldest first) for up to ``DRAIN_WINDOW``."""
    endpoint_id = (
        Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.PENDING)
        .values_list("endpoint_id", flat=True)
        .first()
    )
    if endpoint_id is None:
        return  # finished already: a duplicate or stale doorbell
    with _endpoint_slots(endpoint_id).hold() as acquired:
        if not acquired:
            # Every slot is held by a worker draining this endpoint: one of them sends this delivery,
            # or rings for it after letting go of its slot (below). This worker serves other endpoints.
            return
        drain_until = time.monotonic() + DRAIN_WINDOW.total_seconds()
        delivery = claim(pk=delivery_id)
        while delivery is not None:
            attempt(delivery)
            delivery = claim(endpoint_id=endpoint_id) if time.monotonic() < drain_until else None
    # Deliveries that fell due while the slots were full (their doorbells gave up) or remain after the
    # drain window: hand the endpoint on to a fresh doorbell.
    next_due = _due(endpoint_id=endpoint_id).values_list("id", flat=True).first()
    if next_due is not None:
        ring([next_due])


def _due(**lookup: object) -> QuerySet[Delivery]:
    """Pending deliveries matching ``lookup`` whose next attempt may start now."""
    return Delivery.objects.filter(
        **lookup, status=Delivery.Status.PENDING, next_attempt_at__lte=timezone.now()
    )


def _endpoint_slots(endpoint_id: UUID) -> Slots:
    """Bounds the requests in flight to one endpoint across all workers; a slot outlives no drain."""
    hold = DRAIN_WINDOW.total_seconds() + settings.WEBHOOKS_TIMEOUT_SECONDS + LEASE_MARGIN.total_seconds()
    return Slots(f"webhook-endpoint:{endpoint_id}", settings.WEBHOOKS_ENDPOINT_CONCURRENCY, hold)


def claim(**lookup: object) -> Delivery | None:
    """Take the next attempt of the oldest pending, due delivery matching ``lookup`` (with its event
    and endpoint), or None."""
    with transaction.atomic():
        delivery = (
            _due(**lookup)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("event", "endpoint")
            .order_by("next_attempt_at")
            .first()
        )
        if delivery is None:
            return None
        refusal = _reason_not_to_send(delivery)
        if refusal:
            delivery.status = Delivery.Status.FAILED
            delivery.error = refusal
            delivery.next_attempt_at = None
            delivery.save(update_fields=["status", "error", "next_attempt_at", "updated_at"])
            return None
        delivery.attempt += 1
        lease = timedelta(seconds=settings.WEBHOOKS_TIMEOUT_SECONDS) + LEASE_MARGIN
        delivery.next_attempt_at = timezone.now() + lease
        delivery.save(update_fields=["attempt", "next_attempt_at", "updated_at"])
    return delivery


def attempt(delivery: Delivery) -> None:
    """Send one claimed attempt and record its outcome."""
    started_at = timezone.now()
    try:
        outcome = send(delivery)
    except Exception as exc:  # a bug, or a secret the current key cannot decrypt
        # Still a failed attempt, so the retry schedule runs out instead of re-ringing forever.
        logger.exception("webhook delivery %s could not be sent", delivery.pk)
        outcome = transport.Outcome(None, "", 0, f"Not sent: internal error ({type(exc).__name__}).")
    record(delivery, started_at, outcome)


def _reason_not_to_send(delivery: Delivery) -> str:
    if not delivery.endpoint.active:
        return "Not sent: the endpoint is disabled."
    if delivery.attempt > len(settings.WEBHOOKS_RETRY_SCHEDULE):
        # Only attempts whose worker died leave a delivery pending with every attempt used.
        return "Given up: every attempt was used (the last one ended with its worker)."
    return ""


def event_body(event: Event) -> bytes:
    """The payload of API.md: ``{"type", "timestamp", "data"}``, identical on every attempt."""
    timestamp = event.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    payload = {"type": event.type, "timestamp": timestamp, "data": event.data}
    return json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":")).encode()


def signing_secrets(endpoint: Endpoint, now: datetime) -> list[str]:
    """The current secret, plus the previous one while a rotation's overlap lasts."""
    secrets = [signing.decrypt_secret(endpoint.secret_encrypted)]
    if endpoint.previous_secret_encrypted and endpoint.previous_secret_expires_at > now:  # type: ignore[operator]
        secrets.append(signing.decrypt_secret(endpoint.previous_secret_encrypted))
    return secrets


def send(delivery: Delivery) -> transport.Outcome:
    """Sign and POST the delivery's event, Standard Webhooks style."""
    body = event_body(delivery.event)
    msg_id = str(delivery.event_id)  # the same on every attempt and redelivery: receivers dedupe on it
    headers = {
        **signing.signed_headers(signing_secrets(delivery.endpoint, timezone.now()), msg_id, body),
        "user-agent": USER_AGENT,
    }
    return transport.post(delivery.endpoint.url, body, headers, settings.WEBHOOKS_TIMEOUT_SECONDS)


def retry_delay(attempts_made: int) -> timedelta | None:
    """The jittered wait before the next attempt, or None when the schedule is used up."""
    schedule = settings.WEBHOOKS_RETRY_SCHEDULE
    if attempts_made > len(schedule):
        return None
    seconds = schedule[attempts_made - 1]
    return timedelta(seconds=seconds * random.uniform(1 - RETRY_JITTER, 1 + RETRY_JITTER))


def record(delivery: Delivery, started_at: datetime, outcome: transport.Outcome) -> None:
    """Log the attempt, then settle the delivery: succeeded, retry later, or failed for good."""
    now = timezone.now()
    delay = None if outcome.succeeded else retry_delay(delivery.attempt)
    if outcome.succeeded:
        status, next_attempt_at = Delivery.Status.SUCCEEDED, None
    elif delay is None:
        status, next_attempt_at = Delivery.Status.FAILED, None
    else:
        status, next_attempt_at = Delivery.Status.PENDING, now + delay
    rides_broker = delay is not None and delay <= BROKER_DELAY_LIMIT
    with transaction.atomic():
        # Fenced by the attempt number: a worker that outlived its lease does not overwrite a newer
        # attempt, and nothing is logged for a delivery deleted meanwhile (with its endpoint).
        settled = Delivery.objects.filter(
            pk=delivery.pk, attempt=delivery.attempt, status=Delivery.Status.PENDING
        ).update(
            status=status,
            next_attempt_at=next_attempt_at,
            queued_for=next_attempt_at if rides_broker else F("queued_for"),
            response_status=outcome.response_status,
            duration_ms=outcome.duration_ms,
            error=outcome.error,
            updated_at=now,
        )
        if not settled:
            return
        DeliveryAttempt.objects.create(
            tenant_id=delivery.tenant_id,
            delivery=delivery,
            number=delivery.attempt,
            started_at=started_at,
            response_status=outcome.response_status,
            response_body=outcome.response_body,
            duration_ms=outcome.duration_ms,
            error=outcome.error,
        )
        _record_endpoint_health(delivery.endpoint_id, outcome.succeeded, now)
        if rides_broker:
            delay_ms = int(delay.total_seconds() * 1000)  # type: ignore[union-attr]
            transaction.on_commit(lambda: ring([delivery.pk], delay_ms=delay_ms))


def _record_endpoint_health(endpoint_id: UUID, succeeded: bool, now: datetime) -> None:
    endpoints = Endpoint.objects.filter(pk=endpoint_id)
    if succeeded:
        # A healthy endpoint's row is written at most once per HEALTH_RESOLUTION: during a burst every
        # worker would otherwise queue on its row lock.
        endpoints.exclude(consecutive_failures=0, last_success_at__gt=now - HEALTH_RESOLUTION).update(
            last_success_at=now, consecutive_failures=0, failing_since=None
        )
        return
    endpoints.update(
        consecutive_failures=F("consecutive_failures") + 1, failing_since=Coalesce("failing_since", now)
    )
    disable_after = timedelta(days=settings.WEBHOOKS_DISABLE_AFTER_DAYS)
    endpoints.filter(active=True, failing_since__lte=now - disable_after).update(
        active=False,
        disabled_reason=f"Disabled on {now:%Y-%m-%d %H:%M} UTC: every delivery failed for "
        f"{settings.WEBHOOKS_DISABLE_AFTER_DAYS:g} days.",
    )


def sweep_deliveries() -> int:
    """Ring for due deliveries whose doorbell is missing or long overdue; returns how many."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            _due()
            .select_for_update(skip_locked=True)
            .filter(Q(queued_for__isnull=True) | Q(queued_for__lte=now - SWEEP_GRACE))
            .order_by("next_attempt_at")
            .values_list("id", flat=True)[:SWEEP_BATCH]
        )
        Delivery.objects.filter(pk__in=ids).update(queued_for=now)
        if ids:
            transaction.on_commit(lambda: ring(ids))
    return len(ids)


def purge_old_events() -> int:
    """Delete events (with their delivery logs) older than the retention, unless still being sent."""
    cutoff = timezone.now() - timedelta(days=settings.WEBHOOKS_EVENT_RETENTION_DAYS)
    purged = 0
    while True:
        batch = list(
            Event.objects.filter(created_at__lt=cutoff)
            .exclude(deliveries__status=Delivery.Status.PENDING)
            .values_list("id", flat=True)[:PURGE_BATCH]
        )
        if not batch:
            return purged
        Event.objects.filter(pk__in=batch).delete()
        purged += len(batch)
