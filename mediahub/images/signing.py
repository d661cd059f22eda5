"""Signed public transform URLs, for ``<img>`` tags and CDNs (no header needed).

    payload   = "{media_id}/{expires}/{ops}"          expires: unix seconds, 0 = never
    token     = base64url(payload), no "=" padding
    signature = base64url(HMAC-SHA256(secret, "{key_id}/{token}")), no "=" padding
    url       = "{base}/api/v1/img/{key_id}/{signature}/{token}"

``key_id`` and ``secret`` are the tenant's signing key (``GET /image-signing-key``): a tenant can
compute URLs itself, in templates, without an API call per image (README "Signed image URLs").
The URL names neither the tenant nor any storage key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from mediahub import crypto
from mediahub.images.models import SigningKey
from tenants.models import Tenant

# After a rotation the previous key keeps verifying this long, so pages in caches keep working.
ROTATION_GRACE = timedelta(hours=24)
PATH_PREFIX = "/api/v1/img/"


@dataclass(frozen=True)
class SignedRequest:
    media_id: uuid.UUID
    expires: int
    ops: str


class BadSignature(Exception):
    pass


class Expired(Exception):
    pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signature(secret: str, key_id: str, token: str) -> str:
    return _b64(hmac.new(secret.encode(), f"{key_id}/{token}".encode(), hashlib.sha256).digest())


def sign_path(key_id: str, secret: str, media_id: uuid.UUID | str, ops: str, expires: int = 0) -> str:
    token = _b64(f"{media_id}/{expires}/{ops}".encode())
    return f"{PATH_PREFIX}{key_id}/{signature(secret, key_id, token)}/{token}"


def verify(secret: str, key_id: str, sig: str, token: str, now: float | None = None) -> SignedRequest:
    """The signed request, or ``BadSignature`` / ``Expired``."""
    if not hmac.compare_digest(signature(secret, key_id, token), sig):
        raise BadSignature
    try:
        media_id, expires, ops = _unb64(token).decode().split("/", 2)
        request = SignedRequest(uuid.UUID(media_id), int(expires), ops)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BadSignature from exc  # signed, yet not ours: a key used for something else
    if request.expires and request.expires < (now or time.time()):
        raise Expired
    return request


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
