"""Per-tenant keys of signed transform URLs (the URL recipe itself is ``urlsigning``)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from mediahub import crypto
from mediahub.images.models import SigningKey
from tenants.models import Tenant

# After a rotation the previous key keeps verifying this long, so pages in caches keep working.
ROTATION_GRACE = timedelta(hours=24)


def key_secret(key: SigningKey) -> str:
    return crypto.decrypt(key.secret_encrypted.encode()).decode()


def current_key(tenant: Tenant) -> SigningKey:
    """The tenant's current signing key, created on first use."""
    key = SigningKey.objects.for_tenant(tenant).filter(retired_at__isnull=True).first()
    if key is not None:
        return key
    try:
        with transaction.atomic():
            return _new_key(tenant)
    except IntegrityError:  # a concurrent request created it first
        return SigningKey.objects.for_tenant(tenant).get(retired_at__isnull=True)


def rotate_key(tenant: Tenant) -> SigningKey:
    """A new current key; the previous one keeps verifying for ``ROTATION_GRACE``."""
    with transaction.atomic():
        Tenant.objects.select_for_update().filter(pk=tenant.pk).first()
        SigningKey.objects.for_tenant(tenant).filter(retired_at__isnull=True).update(
            retired_at=timezone.now() + ROTATION_GRACE
        )
        return _new_key(tenant)


def _new_key(tenant: Tenant) -> SigningKey:
    secret = "mhsk_" + secrets.token_urlsafe(32)
    return SigningKey.objects.create(
        id=secrets.token_urlsafe(9), tenant=tenant, secret_encrypted=crypto.encrypt(secret.encode()).decode()
    )


def find_key(key_id: str) -> SigningKey | None:
    """A key that still verifies (current, or retired less than the grace period ago)."""
    key = SigningKey.objects.select_related("tenant").filter(id=key_id).first()
    if key is None or (key.retired_at is not None and key.retired_at <= timezone.now()):
        return None
    return key
