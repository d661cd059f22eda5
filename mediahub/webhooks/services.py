"""Business rules for webhook endpoints: create, change, rotate the secret, test, redeliver."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypedDict, Unpack

from django.db import transaction
from django.utils import timezone

from mediahub.errors import Conflict
from mediahub.webhooks import signing
from mediahub.webhooks.delivery import fan_out
from mediahub.webhooks.models import Delivery, Endpoint, Event
from tenants.models import Tenant

# After a rotation deliveries carry a signature with the old secret too, for this long.
SECRET_OVERLAP = timedelta(hours=24)


class EndpointChanges(TypedDict, total=False):
    """What ``PATCH /webhooks/{id}`` may change."""

    url: str
    events: list[str]
    description: str
    active: bool


def create_endpoint(
    *, tenant: Tenant, url: str, events: list[str], description: str = ""
) -> tuple[Endpoint, str]:
    """The new endpoint and its signing secret (the only time the secret is available in clear)."""
    secret = signing.generate_secret()
    endpoint = Endpoint.objects.create(
        tenant=tenant,
        url=url,
        events=events,
        description=description,
        secret_encrypted=signing.encrypt_secret(secret),
    )
    return endpoint, secret


def update_endpoint(*, endpoint: Endpoint, **changes: Unpack[EndpointChanges]) -> Endpoint:
    """Apply validated ``changes`` (url, events, description, active)."""
    fields: dict[str, Any] = dict(changes)
    if changes.get("active"):
        # Switching an endpoint back on starts its health afresh, else the next failure disables it again.
        fields.update(disabled_reason="", failing_since=None, consecutive_failures=0)
    for field, value in fields.items():
        setattr(endpoint, field, value)
    # Only these fields: workers update the health fields concurrently.
    endpoint.save(update_fields=[*fields, "updated_at"])
    return endpoint


def rotate_secret(*, endpoint: Endpoint) -> tuple[Endpoint, str]:
    """A new secret; the current one keeps signing alongside it for ``SECRET_OVERLAP``."""
    secret = signing.generate_secret()
    with transaction.atomic():
        endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
        endpoint.previous_secret_encrypted = endpoint.secret_encrypted
        endpoint.previous_secret_expires_at = timezone.now() + SECRET_OVERLAP
        endpoint.secret_encrypted = signing.encrypt_secret(secret)
        endpoint.save(
            update_fields=[
                "secret_encrypted",
                "previous_secret_encrypted",
                "previous_secret_expires_at",
                "updated_at",
            ]
        )
    return endpoint, secret


def send_test_event(*, endpoint: Endpoint, data: dict[str, Any]) -> Delivery:
    """A ``webhook.test`` event delivered to this endpoint only, whatever events it subscribes to."""
    _require_active(endpoint)
    with transaction.atomic():
        # Written past ``emit``: a test ping is for this endpoint alone, not for subscribers.
        event = Event.objects.create(tenant=endpoint.tenant, type="webhook.test", data=data)
        fan_out(event, [endpoint])
    return event.deliveries.get()


def redeliver(*, delivery: Delivery) -> Delivery:
    """A fresh delivery of the same event (same ``webhook-id``) with a fresh retry schedule."""
    _require_active(delivery.endpoint)
    with transaction.atomic():
        (redelivery,) = fan_out(delivery.event, [delivery.endpoint])
    return redelivery


def _require_active(endpoint: Endpoint) -> None:
    if not endpoint.active:
        raise Conflict("The endpoint is disabled; enable it first.", code="endpoint_disabled")
