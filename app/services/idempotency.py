"""Idempotency keys: a request sent again with the same ``Idempotency-Key`` gets the first answer
again instead of being performed twice (a client that lost the answer to "queue this command"
may retry without queueing it twice).

The answer is stored in the same unit of work as what the request did, so
either both are committed or neither. Two identical requests at the same
moment both run, but only one can store its key (unique per caller): the
other's unit of work fails with a conflict and is rolled back whole. Keys are
kept for :data:`RETENTION` and then purged by the scheduler.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.errors import InvalidInput
from app.models.base import utcnow
from app.models.operations import IdempotencyKey
from app.services.access import Principal

RETENTION = dt.timedelta(hours=24)
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\n".join((method.encode(), path.encode(), body))).hexdigest()


def checked_key(key: str) -> str:
    if not _KEY.match(key):
        raise InvalidInput("invalid Idempotency-Key", details={"Idempotency-Key": ["Use 1 to 255 visible ASCII characters."]})
    return key


def caller(principal: Principal) -> str:
    return f"{principal.kind}:{principal.id}"


def find(session: Session, principal: Principal, key: str, request_fingerprint: str) -> IdempotencyKey | None:
    """The stored answer for this caller's key; InvalidInput when the key came with another request."""
    stored = session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.principal == caller(principal), IdempotencyKey.key == key)
    )
    if stored is not None and stored.fingerprint != request_fingerprint:
        raise InvalidInput(
            "this Idempotency-Key was used for another request",
            details={"Idempotency-Key": ["Already used with a different method, path or body; use a new key."]},
        )
    return stored


def remember(session: Session, principal: Principal, key: str, request_fingerprint: str, status: int, body: Any) -> None:
    """Store the answer with the unit of work (flushed now, so a concurrent twin fails here)."""
    session.add(IdempotencyKey(principal=caller(principal), key=key, fingerprint=request_fingerprint, status=status, response=body))
    session.flush()


def purge_expired(session: Session, *, now: dt.datetime | None = None) -> int:
    """Forget keys older than the retention (a scheduler job)."""
    cutoff = (now or utcnow()) - RETENTION
    result = session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff).execution_options(synchronize_session=False))
    return result.rowcount or 0
