"""Webhook events read from the audit log by the scheduler, and their deliveries created.

The audit log already holds every event a webhook tells of, written in the
unit of work that caused it, so nothing is added to any request. Each run
reads the entries after the cursor; the cursor only moves past entries older
than :data:`SETTLE`, so an entry whose unit of work committed after a later
one was read is still seen. A delivery is unique per webhook and event, so
reading an entry twice delivers it once.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AuditEvent, School, Webhook, WebhookCursor, WebhookDelivery
from app.models.base import utcnow
from app.services import audit
from app.services.webhooks import PENDING

log = logging.getLogger("flokk.webhooks")

SETTLE = dt.timedelta(minutes=2)
#: Audit entries read per run (the job runs again within seconds).
BATCH = 5000


def event_type(entry: AuditEvent) -> str | None:
    """The webhook event an audit entry is, if any."""
    action, outcome = entry.action, entry.outcome
    if action == "command.result":
        return "command.finished" if outcome == audit.SUCCESS else "command.failed"
    if action == "push_certificate.expiring":
        return "certificate.expiring"
    if outcome != audit.SUCCESS:
        return None  # refusals (a locked key, a wrong approver) are the audit log's, not events
    return {
        "device.enrol": "device.enrolled",
        "device.checkout": "device.checked_out",
        "approval.request": "approval.requested",
        "approval.approve": "approval.decided",
        "approval.reject": "approval.decided",
        "approval.expire": "approval.decided",
        "policy.change": "policy.changed",
        "policy.restore": "policy.changed",
    }.get(action)


_ACTIONS = ("command.result", "push_certificate.expiring", "device.enrol", "device.checkout", "approval.request",
            "approval.approve", "approval.reject", "approval.expire", "policy.change", "policy.restore")


def payload(entry: AuditEvent, kind: str, school_code: str | None) -> dict[str, Any]:
    """The JSON body receivers get (the audit log's details never hold secrets)."""
    decision = entry.action.split(".", 1)[1] if kind == "approval.decided" else None
    return {
        "id": message_id(entry.id),
        "type": kind,
        "occurred_at": entry.occurred_at.isoformat(),
        "school": school_code,
        "actor": entry.actor,
        "target": {"type": entry.target_type, "id": entry.target_id} if entry.target_type else None,
        "data": {**entry.details, **({"decision": decision} if decision else {})},
    }


def message_id(event_id: int) -> str:
    return f"flokk-event-{event_id}"


def dispatch(session: Session, *, now: dt.datetime | None = None) -> int:
    """Create the deliveries of new audit entries for the webhooks that want them (a scheduler job)."""
    now = now or utcnow()
    hooks = list(session.scalars(select(Webhook)))
    cursor = session.get(WebhookCursor, 1)
    if cursor is None:
        cursor = WebhookCursor(id=1, last_event_id=0)
        session.add(cursor)
    if not hooks:  # nobody listens: move the cursor on, read nothing
        cursor.last_event_id = max(cursor.last_event_id, session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)) or 0)
        return 0
    entries = list(session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action.in_(_ACTIONS), AuditEvent.id > cursor.last_event_id,
               AuditEvent.id > min(hook.after_event_id for hook in hooks))
        .order_by(AuditEvent.id).limit(BATCH)
    ))
    if not entries:
        return 0
    known = set(session.execute(
        select(WebhookDelivery.webhook_id, WebhookDelivery.event_id)
        .where(WebhookDelivery.event_id.in_([entry.id for entry in entries]))
    ).tuples().all())
    codes = dict(session.execute(select(School.id, School.code).where(
        School.id.in_({entry.school_id for entry in entries if entry.school_id is not None}))).tuples().all())
    created = 0
    for entry in entries:
        kind = event_type(entry)
        if kind is None:
            continue
        body = None
        for hook in hooks:
            if entry.id <= hook.after_event_id or kind not in hook.events or (hook.id, entry.id) in known:
                continue
            body = body or payload(entry, kind, codes.get(entry.school_id))
            session.add(WebhookDelivery(webhook_id=hook.id, event_id=entry.id, event_type=kind, payload=body,
                                        status=PENDING, next_attempt_at=now))
            created += 1
    for entry in entries:  # up to the first entry young enough to have a slower twin still committing
        if entry.occurred_at > now - SETTLE:
            break
        cursor.last_event_id = entry.id
    if created:
        log.info("%d webhook deliveries to make", created)
    return created
