import uuid

from django.db import models
from django.utils import timezone

from tenants.models import TenantOwned


class Event(TenantOwned):
    """The outbox: one row per thing that happened, written in the transaction that caused it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=64)
    data = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        # The table predates this app (it began in ``webhooks``); only the model moved.
        db_table = "webhooks_event"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["tenant", "type", "-created_at"], name="webhooks_ev_tenant__a2f4d9_idx")
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"
