"""Reading the audit log: filtered search, CSV export per school, and the retention purge.

Reading needs the AUDIT right and goes through the choke point, so a
school-scoped auditor sees only their schools' events (central events such
as sign-ins and grant changes to all schools are for central auditors).
The log is append-only in the database; the purge is the only deletion it
allows, through a permit row inside its own transaction.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from app.db import context
from app.models.audit import AuditEvent, AuditPurgePermit
from app.models.base import utcnow
from app.services import audit
from app.services.access import Permission, Principal, require, require_anywhere, restrict
from app.services.fleet.schools import get_school_by_code

CSV_COLUMNS = ("id", "occurred_at", "school", "actor", "action", "outcome", "target_type", "target_id", "source", "request_id", "details")
_EXPORT_BATCH = 1000


@dataclass(frozen=True)
class AuditFilter:
    school: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    action: str | None = None  # exact, or a prefix ending in "." such as "approval."
    actor: str | None = None
    outcome: str | None = None


def _statement(session: Session, principal: Principal, where: AuditFilter):
    require_anywhere(principal, Permission.AUDIT)
    statement = restrict(select(AuditEvent), principal, Permission.AUDIT, AuditEvent.school_id)
    if where.school:
        school = get_school_by_code(session, principal, where.school)
        require(principal, Permission.AUDIT, school.id)
        statement = statement.where(AuditEvent.school_id == school.id)
    if where.since:
        statement = statement.where(AuditEvent.occurred_at >= where.since)
    if where.until:
        statement = statement.where(AuditEvent.occurred_at < where.until)
    if where.action:
        if where.action.endswith("."):
            statement = statement.where(AuditEvent.action.startswith(where.action, autoescape=True))
        else:
            statement = statement.where(AuditEvent.action == where.action)
    if where.actor:
        statement = statement.where(AuditEvent.actor == where.actor)
    if where.outcome:
        statement = statement.where(AuditEvent.outcome == where.outcome)
    return statement


def search(
    session: Session, principal: Principal, where: AuditFilter, *, limit: int = 100, before_id: int | None = None
) -> list[AuditEvent]:
    """Newest first; page with ``before_id`` (the last id of the previous page)."""
    statement = _statement(session, principal, where)
    if before_id is not None:
        statement = statement.where(AuditEvent.id < before_id)
    return list(session.scalars(statement.order_by(AuditEvent.id.desc()).limit(min(limit, 1000))))


def export_csv(session: Session, principal: Principal, where: AuditFilter) -> str:
    """The events as CSV (header first, oldest first); the export itself is audited.

    Without a school only a principal who may audit every school can export.
    """
    text = "".join(_csv_chunks(session, principal, where))
    school_id = get_school_by_code(session, principal, where.school).id if where.school else None
    audit.record(session, principal, "audit.export", school_id=school_id,
                 details={key: str(value) for key, value in vars(where).items() if value is not None})
    return text


def _csv_chunks(session: Session, principal: Principal, where: AuditFilter) -> Iterator[str]:
    statement = _statement(session, principal, where)
    if not where.school:
        require(principal, Permission.AUDIT, None)
    codes = _school_codes(session)
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    yield flush()
    last_id = 0
    while True:
        batch = list(session.scalars(statement.where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(_EXPORT_BATCH)))
        if not batch:
            return
        for event in batch:
            writer.writerow(
                (event.id, event.occurred_at.isoformat(), codes.get(event.school_id, event.school_id or ""), event.actor,
                 event.action, event.outcome, event.target_type or "", event.target_id or "", event.source or "",
                 event.request_id or "", json.dumps(event.details, sort_keys=True, default=str))
            )
        last_id = batch[-1].id
        yield flush()


def _school_codes(session: Session) -> dict[int, str]:
    from app.models.tenancy import School

    return {school_id: code for school_id, code in session.execute(select(School.id, School.code))}


def purge_expired(session: Session) -> int:
    """Scheduler job: delete events older than the retention period (and record that it did)."""
    cutoff = utcnow() - dt.timedelta(days=context(session).settings.audit_retention_days)
    permit = session.execute(insert(AuditPurgePermit).values(cutoff=cutoff).returning(AuditPurgePermit.id)).scalar_one()
    deleted = session.execute(delete(AuditEvent).where(AuditEvent.occurred_at < cutoff)).rowcount or 0
    session.execute(delete(AuditPurgePermit).where(AuditPurgePermit.id == permit))
    if deleted:
        audit.record(session, "system:audit-retention", "audit.purge", details={"deleted": deleted, "before": cutoff.isoformat()})
    return deleted
