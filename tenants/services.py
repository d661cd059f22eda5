"""Business rules for tenants and API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from mediahub.errors import Invalid
from tenants.defaults import DEFAULT_QUOTAS, merge_settings
from tenants.models import SCOPES, ApiKey, Tenant

KEY_PREFIX = "mh_live_"
# Characters of the random part kept in the clear as the lookup prefix (48 bits).
LOOKUP_CHARS = 8
# last_used_at is refreshed at most this often, so authentication is not a write per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    key: str  # the full secret, shown once


def hash_secret(key: str) -> str:
    # The key carries 256 random bits, so a fast hash is safe here (no dictionary to attack).
    return hashlib.sha256(key.encode()).hexdigest()


def create_tenant(*, name: str, slug: str | None = None) -> tuple[Tenant, IssuedKey]:
    """Create a tenant and its first admin key."""
    with transaction.atomic():
        tenant = Tenant.objects.create(name=name, slug=slug or _unique_slug(name))
        issued = issue_api_key(tenant=tenant, name="initial admin key", scopes=["admin"])
    return tenant, issued


def _unique_slug(name: str) -> str:
    base = slugify(name)[:90] or "tenant"
    slug, n = base, 1
    while Tenant.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def issue_api_key(
    *, tenant: Tenant, name: str, scopes: list[str], expires_at: datetime | None = None
) -> IssuedKey:
    unknown = set(scopes) - set(SCOPES)
    if unknown:
        raise ValueError(f"unknown scopes: {sorted(unknown)}")
    for _ in range(5):
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        try:
            with transaction.atomic():
                api_key = ApiKey.objects.create(
                    tenant=tenant,
                    name=name,
                    prefix=key[: len(KEY_PREFIX) + LOOKUP_CHARS],
                    secret_hash=hash_secret(key),
                    scopes=sorted(set(scopes), key=SCOPES.index),
                    expires_at=expires_at,
                )
        except IntegrityError:  # prefix collision: draw again
            continue
        return IssuedKey(api_key=api_key, key=key)
    raise RuntimeError("could not draw a unique API key prefix")


def revoke_api_key(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def authenticate_key(*, key: str) -> ApiKey | None:
    """The usable ApiKey for ``key`` (tenant loaded), or None."""
    if not key.startswith(KEY_PREFIX) or len(key) < len(KEY_PREFIX) + LOOKUP_CHARS:
        return None
    prefix = key[: len(KEY_PREFIX) + LOOKUP_CHARS]
    api_key = ApiKey.objects.select_related("tenant").filter(prefix=prefix).first()
    if api_key is None or not hmac.compare_digest(api_key.secret_hash, hash_secret(key)):
        return None
    now = timezone.now()
    if not api_key.is_usable(now):
        return None
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


def update_tenant_settings(*, tenant: Tenant, changes: dict[str, Any]) -> Tenant:
    """Merge validated ``changes`` (a partial settings document) into the tenant's overrides."""
    with transaction.atomic():
        tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
        tenant.settings = merge_settings(tenant.settings or {}, changes)
        tenant.save(update_fields=["settings"])
    return tenant


DEMO_TENANT_SLUG = "demo"
DEMO_KEY_NAME = "demo key (manage.py up)"


def issue_demo_key() -> IssuedKey:
    """A fresh admin key of the demo tenant (created on first use); earlier demo keys are revoked.

    Keys are stored only as hashes, so each start of ``manage.py up`` can show nothing but a new one.
    """
    with transaction.atomic():
        tenant, _ = Tenant.objects.get_or_create(slug=DEMO_TENANT_SLUG, defaults={"name": "Demo"})
        ApiKey.objects.for_tenant(tenant).filter(name=DEMO_KEY_NAME, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        return issue_api_key(tenant=tenant, name=DEMO_KEY_NAME, scopes=["admin"])


def set_quotas(*, tenant: Tenant, changes: dict[str, int | None]) -> Tenant:
    """Operator: set (or with ``None`` remove) quota overrides by dotted name
    (``max_upload_bytes.video``). ``Invalid`` for a name ``DEFAULT_QUOTAS`` does not have or a
    value that is not a positive whole number."""
    bad = {}
    for name, value in changes.items():
        default: Any = DEFAULT_QUOTAS
        for part in name.split("."):
            default = default.get(part) if isinstance(default, dict) else None
        if not isinstance(default, int):
            bad[name] = ["Unknown quota."]
        elif value is not None and (not isinstance(value, int) or value < 1):
            bad[name] = ["Must be a whole number of at least 1."]
    if bad:
        raise Invalid(bad)
    with transaction.atomic():
        tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
        quotas = dict(tenant.quotas or {})
        for name, value in changes.items():
            *parents, leaf = name.split(".")
            node = quotas
            for parent in parents:
                node = node.setdefault(parent, {})
            if value is None:
                node.pop(leaf, None)
            else:
                node[leaf] = value
        tenant.quotas = quotas
        tenant.save(update_fields=["quotas"])
    return tenant
