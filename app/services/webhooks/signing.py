"""Signing webhook deliveries as the Standard Webhooks specification says (standardwebhooks.com).

Each delivery carries ``webhook-id`` (the event's id, the same on every retry,
so a receiver can drop duplicates), ``webhook-timestamp`` (Unix seconds of
this attempt, so a receiver can refuse old replays) and ``webhook-signature``:
``v1,`` and the base64 HMAC-SHA256 of ``{id}.{timestamp}.{body}`` keyed with
the secret's bytes. Secrets are ``whsec_`` and base64 of 32 random bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"
#: A receiver should refuse timestamps further than this from its clock.
TOLERANCE_SECONDS = 5 * 60


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(_key(secret), signed, hashlib.sha256).digest()).decode()


def headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, message_id, timestamp, body),
    }


def verify(secret: str, received: dict[str, str], body: bytes, *, now: int) -> bool:
    """What a receiver does (used by the tests' receiver): a matching signature on a fresh timestamp."""
    try:
        timestamp = int(received["webhook-timestamp"])
        message_id = received["webhook-id"]
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        return False
    expected = signature(secret, message_id, timestamp, body)
    return any(hmac.compare_digest(expected, offered) for offered in received.get("webhook-signature", "").split())
