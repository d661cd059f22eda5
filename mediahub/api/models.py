from django.db import models
from django.utils import timezone

from tenants.models import TenantOwned


class IdempotencyRecord(TenantOwned):
    """The outcome of one ``POST`` sent with an ``Idempotency-Key``, kept for replays (24 h)."""

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress"
        COMPLETED = "completed"

    key = models.CharField(max_length=255)
    # sha256 of method, path and body: the same key with another request is a conflict.
    fingerprint = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=State.choices, default=State.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_content_type = models.CharField(max_length=100, blank=True)
    response_body = models.BinaryField(null=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key"], name="idempotency_key_unique_per_tenant")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.state})"
