"""Writing the audit log: who, what, which school, when, from where, outcome.

Events join the caller's unit of work, so a change and its audit entry are
committed together. ``durable=True`` is for refusals (a wrong challenge, a
forged signature): they are written even though the change is rolled back.
Details must never hold secrets.

Refusals quote what the other side sent, so whatever a request held must be
storable: NUL characters and lone UTF-16 surrogates (which PostgreSQL's text
and JSONB refuse) become U+FFFD, and reals that are not numbers become null,
here, once, for every caller; otherwise the entry, and with a durable one the
only trace of the refusal, would be lost at commit.
"""

from __future__ import annotations

import math
import re
from typing import Any

from sqlalchemy.orm import Session

from app import request_context
from app.db import DURABLE_EVENTS
from app.models.audit import AuditEvent
from app.models.base import utcnow
from app.services.access import Principal

SUCCESS = "success"
DENIED = "denied"
FAILURE = "failure"

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def record(
    session: Session,
    actor: Principal | str,
    action: str,
    *,
    outcome: str = SUCCESS,
    school_id: int | None = None,
    target: Any = None,
    details: dict[str, Any] | None = None,
    durable: bool = False,
) -> AuditEvent:
    """Add an audit event to the unit of work (``actor``: a principal or a label like ``device:UDID``)."""
    origin = request_context.current()
    target_type, target_id = _target(target)
    values = {
        "occurred_at": utcnow(),
        "actor": storable(actor.label if isinstance(actor, Principal) else actor),
        "action": action,
        "outcome": outcome,
        "school_id": school_id,
        "target_type": target_type,
        "target_id": storable(target_id),
        "source": origin.source,
        "request_id": origin.request_id,
        "details": storable(details or {}),
    }
    event = AuditEvent(**values)
    session.add(event)
    if durable:
        session.info.setdefault(DURABLE_EVENTS, []).append(values)
    return event


def _target(target: Any) -> tuple[str | None, str | None]:
    if target is None:
        return None, None
    if isinstance(target, tuple):
        kind, identifier = target
        return kind, str(identifier)
    return type(target).__name__.lower(), str(getattr(target, "id", None))


def storable(value: Any) -> Any:
    """``value`` with every string (keys too) cleaned of what the database refuses, and NaN as None."""
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [storable(item) for item in value]
    return value
