import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from mediahub.events.models import Event
from tenants.models import TenantOwned


class Endpoint(TenantOwned):
    """A tenant's receiver URL with the events it wants and its (encrypted) signing secrets."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    url = models.URLField(max_length=2000)
    # Event type names, or ["*"] for every event.
    events = ArrayField(models.CharField(max_length=64), default=list)
    description = models.CharField(max_length=500, blank=True, default="")
    active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=500, blank=True, default="")
    # Fernet tokens (see ``mediahub.webhooks.signing``); the plain secret is never stored.
    secret_encrypted = models.TextField()
    # After a rotation the old secret keeps signing too, until ``previous_secret_expires_at``.
    previous_secret_encrypted = models.TextField(blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # Health: the disabling rule looks at ``failing_since`` (first failure after the last success).
    last_success_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "active"])]

    def __str__(self) -> str:
        return self.url


class Delivery(TenantOwned):
    """One event to one endpoint; its attempts share the event id as ``webhook-id``."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Attempts made so far; the claim increments it, so it also fences a stale worker's result.
    attempt = models.PositiveIntegerField(default=0)
    # When a pending delivery may be claimed next; while an attempt runs it is the claim's lease.
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    # When the latest broker message for it was due; the sweep re-rings only long-silent ones.
    queued_for = models.DateTimeField(null=True, blank=True)
    # Outcome of the latest attempt.
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(fields=["endpoint", "-created_at"]),
            # The sweep's due deliveries, and a draining worker's next one for its endpoint.
            models.Index(
                fields=["next_attempt_at"], name="webhooks_delivery_due", condition=models.Q(status="pending")
            ),
            models.Index(
                fields=["endpoint", "next_attempt_at"],
                name="webhooks_delivery_endpoint_due",
                condition=models.Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id} ({self.status})"


class DeliveryAttempt(TenantOwned):
    """The log of one HTTP request made for a delivery."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    # At most ``RESPONSE_BODY_LIMIT`` bytes of what the receiver answered, decoded leniently.
    response_body = models.TextField(blank=True, default="")
    duration_ms = models.PositiveIntegerField()
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="webhooks_attempt_unique")]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}"
