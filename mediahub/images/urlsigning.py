"""Signed public transform URLs, for ``<img>`` tags and CDNs (no header needed): the recipe alone,
with no Django import, so the CLI and SDKs sign exactly as the server verifies.

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
import re
import time
import uuid
from dataclasses import dataclass

PATH_PREFIX = "/api/v1/img/"
# The alphabet of key ids, signatures and tokens (the schema's pattern of the three path segments).
B64URL_PATTERN = r"^[A-Za-z0-9_-]+$"
_B64URL = re.compile(B64URL_PATTERN)


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


def well_formed(*segments: str) -> bool:
    """Whether each segment is base64url text, as every part of a signed URL is; anything else is
    a forgery, refused before it reaches the database (which refuses NUL) or the HMAC comparison."""
    return all(_B64URL.fullmatch(segment) for segment in segments)


def signature(secret: str, key_id: str, token: str) -> str:
    return _b64(hmac.new(secret.encode(), f"{key_id}/{token}".encode(), hashlib.sha256).digest())


def sign_path(key_id: str, secret: str, media_id: uuid.UUID | str, ops: str, expires: int = 0) -> str:
    token = _b64(f"{media_id}/{expires}/{ops}".encode())
    return f"{PATH_PREFIX}{key_id}/{signature(secret, key_id, token)}/{token}"


def verify(secret: str, key_id: str, sig: str, token: str, now: float | None = None) -> SignedRequest:
    """The signed request, or ``BadSignature`` / ``Expired``."""
    if not well_formed(sig, token):  # compare_digest refuses non-ASCII text
        raise BadSignature
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
