from django.db import models
from django.utils import timezone

from tenants.models import TenantOwned


class SigningKey(TenantOwned):
    """A tenant's key for signed transform URLs. Its id travels in the URL (random: it names
    neither the tenant nor the media); the secret is stored encrypted, since the tenant may read it
    back to sign URLs itself. After a rotation the old key keeps verifying until ``retired_at``."""

    id = models.CharField(primary_key=True, max_length=32, editable=False)
    secret_encrypted = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One current key per tenant.
            models.UniqueConstraint(
                fields=["tenant"], condition=models.Q(retired_at__isnull=True), name="one_current_signing_key"
            )
        ]

    def __str__(self) -> str:
        return self.id
