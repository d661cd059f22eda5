import uuid
from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from tenants.defaults import DEFAULT_QUOTAS, DEFAULT_TENANT_SETTINGS, merge_settings, within_quota

SCOPES = ("read", "write", "admin")


class Tenant(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    # Only the keys the tenant changed; defaults fill the rest (see ``effective_settings``).
    settings = models.JSONField(default=dict, blank=True)
    # Operator-set ceilings that differ from ``DEFAULT_QUOTAS``; never writable through the API.
    quotas = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    # The authenticated API caller *is* the tenant (``request.user``); DRF asks this.
    is_authenticated = True

    @property
    def quota(self) -> dict[str, Any]:
        return merge_settings(DEFAULT_QUOTAS, self.quotas or {})

    @property
    def effective_settings(self) -> dict[str, Any]:
        """Defaults, then the tenant's own settings; its ``limits`` never above its quota (also
        for preferences stored before the quota was lowered)."""
        merged = merge_settings(DEFAULT_TENANT_SETTINGS, self.settings or {})
        merged["limits"] = within_quota(merged["limits"], self.quota)
        return merged


class TenantOwnedQuerySet(models.QuerySet):
    def for_tenant(self, tenant: Tenant) -> "TenantOwnedQuerySet":
        return self.filter(tenant=tenant)


class TenantOwned(models.Model):
    """Base for every model a tenant owns; API views reach rows only through ``for_tenant``."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")

    objects = TenantOwnedQuerySet.as_manager()

    class Meta:
        abstract = True


class ApiKey(TenantOwned):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    # The first characters of the key, unique, used to find the row; the secret is only hashed.
    prefix = models.CharField(max_length=32, unique=True)
    secret_hash = models.CharField(max_length=64)
    scopes = ArrayField(models.CharField(max_length=16), default=list)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > now

    def has_scope(self, scope: str) -> bool:
        """``admin`` implies ``write`` implies ``read``."""
        granted = max((SCOPES.index(s) for s in self.scopes if s in SCOPES), default=-1)
        return granted >= SCOPES.index(scope)
