"""Encryption at rest for secrets we must be able to read back (webhook signing secrets, plugin
secrets), and opaque tokens (playback, local file URLs). Values we only compare are hashed instead."""

from __future__ import annotations

import base64
import hashlib
import json
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


@cache
def _fernet() -> Fernet:
    key = settings.ENCRYPTION_KEY
    if not key:
        # Domain-separated so the derived key is not the SECRET_KEY (or anything else derived from it).
        digest = hashlib.sha256(b"mediahub.encryption-at-rest:" + settings.SECRET_KEY.encode()).digest()
        key = base64.urlsafe_b64encode(digest).decode()
    return Fernet(key)


def encrypt(data: bytes) -> bytes:
    return _fernet().encrypt(data)


def decrypt(token: bytes) -> bytes:
    """Raises ``cryptography.fernet.InvalidToken`` when the key changed or the token is corrupt."""
    return _fernet().decrypt(token)


def seal(value: Any, *, purpose: str) -> str:
    """An opaque, URL-safe token carrying ``value`` (JSON): encrypted and authenticated, so its
    holder can neither read (tenant ids, storage keys) nor change it. ``purpose`` separates uses."""
    return encrypt(json.dumps([purpose, value], separators=(",", ":")).encode()).decode().rstrip("=")


def unseal(token: str, *, purpose: str, max_age: int | None = None) -> Any | None:
    """The value of a genuine ``seal`` token for ``purpose`` no older than ``max_age`` seconds,
    else None."""
    try:
        padded = token + "=" * (-len(token) % 4)
        sealed_for, value = json.loads(_fernet().decrypt(padded.encode(), ttl=max_age))
    except (InvalidToken, ValueError, TypeError):
        return None
    return value if sealed_for == purpose else None
