"""The append-only audit log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow


class AuditEvent(Base):
    """Who did what, to which school's object, when, from where, with what outcome.

    ``school_id`` is a plain integer, not a foreign key: the trail outlives
    the rows it speaks of.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_school_time", "school_id", "occurred_at"),
        Index("ix_audit_events_time", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    school_id: Mapped[int | None]
    target_type: Mapped[str | None] = mapped_column(String(64))
    target_id: Mapped[str | None] = mapped_column(String(128))
    source: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class AuditPurgePermit(Base):
    """Lets the retention job delete events older than ``cutoff``, inside its own transaction.

    The audit table refuses UPDATE and DELETE by trigger; a DELETE passes only
    for events older than a permit row that the same transaction inserted
    (and removes again before committing).
    """

    __tablename__ = "audit_purge_permits"

    id: Mapped[int] = mapped_column(primary_key=True)
    cutoff: Mapped[dt.datetime]
