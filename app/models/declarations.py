"""Declarative device management: a device's state in it, and what it reports about each declaration.

The declarations themselves are not stored: they follow from the policy
layers (``profiles.compile.declarations``). Stored is what cannot be
recomputed: when Flokk turned declarative management on and when the device
first answered it, the token the device was last told and since when, and
what the device reports by itself (status items, OS update progress, the
state of each declaration).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, JSONDocument


class DeclarativeDevice(Base):
    """One device's declarative management; no row: never turned on."""

    __tablename__ = "declarative_devices"

    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    #: When Flokk queued the DeclarativeManagement command that turns it on.
    enabled_at: Mapped[dt.datetime | None]
    #: When the device first made a declarative request: from then on its settings go as declarations.
    confirmed_at: Mapped[dt.datetime | None]
    #: The DeclarationsToken the device was last told (or fetched), and when it last changed.
    declarations_token: Mapped[str | None] = mapped_column(String(64))
    token_changed_at: Mapped[dt.datetime | None]
    #: The latest value of every status item the device reported, by name.
    status_items: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    #: Status items the device could not report in its latest report, with Apple's reasons.
    status_errors: Mapped[list[Any] | None] = mapped_column(JSONDocument)
    status_at: Mapped[dt.datetime | None]
    #: OS update progress from ``softwareupdate.*`` status items, kept in columns to count per school.
    update_state: Mapped[str | None] = mapped_column(String(16))
    update_pending_version: Mapped[str | None] = mapped_column(String(32))
    update_failure_count: Mapped[int] = mapped_column(default=0)
    update_failure_reason: Mapped[str | None] = mapped_column(String(500))
    update_reported_at: Mapped[dt.datetime | None]


class DeclarationReport(Base):
    """What a device last said about one of its declarations (``management.declarations``)."""

    __tablename__ = "declaration_reports"
    __table_args__ = (UniqueConstraint("device_id", "identifier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    identifier: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    server_token: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool]
    #: ``valid``, ``invalid`` or ``unknown``.
    valid: Mapped[str] = mapped_column(String(16))
    #: Apple's reasons (``code``, ``description``, ``details``), as reported.
    reasons: Mapped[list[Any]] = mapped_column(JSONDocument, default=list)
    reported_at: Mapped[dt.datetime]
