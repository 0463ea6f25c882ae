"""Writing the audit log: who, what, which school, when, from where, outcome.

Events join the caller's unit of work, so a change and its audit entry are
committed together. ``durable=True`` is for refusals (a wrong challenge, a
forged signature): they are written even though the change is rolled back.
Details must never hold secrets.
"""

from __future__ import annotations

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
        "actor": actor.label if isinstance(actor, Principal) else actor,
        "action": action,
        "outcome": outcome,
        "school_id": school_id,
        "target_type": target_type,
        "target_id": target_id,
        "source": origin.source,
        "request_id": origin.request_id,
        "details": details or {},
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
