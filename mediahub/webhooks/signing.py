"""Signing secrets (generation, encryption at rest) and Standard Webhooks signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

from mediahub import crypto

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def generate_secret() -> str:
    """``whsec_`` + base64 of random bytes, the format every Standard Webhooks library reads."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def encrypt_secret(secret: str) -> str:
    return crypto.encrypt(secret.encode()).decode()


def decrypt_secret(token: str) -> str:
    return crypto.decrypt(token.encode()).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "{msg_id}.{timestamp}.{body}">`` keyed by the decoded secret."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(signing_secrets: list[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """One signature per valid secret, space-separated (during a rotation: new and old)."""
    return " ".join(sign(secret, msg_id, timestamp, body) for secret in signing_secrets)


def signed_headers(signing_secrets: list[str], msg_id: str, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers of a JSON ``body`` sent now as message ``msg_id``."""
    timestamp = int(time.time())
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(signing_secrets, msg_id, timestamp, body),
    }
