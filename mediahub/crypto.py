"""Encryption at rest for secrets we must be able to read back (webhook signing secrets, stored
idempotent responses that carry a freshly issued key). Values we only compare are hashed instead."""

from __future__ import annotations

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet
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
