"""Requests for actions that need a second central admin: destructive or bulk commands."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, CreatedAt


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"  # and the action was carried out
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"  # withdrawn by the requester


class ApprovalRequest(CreatedAt, Base):
    """A command for some devices, waiting for a central admin other than the requester.

    ``school_id`` is None when the devices belong to several schools (only
    central IT sees such a request).
    """

    __tablename__ = "approval_requests"
    __table_args__ = (Index("ix_approval_requests_status", "status", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"), index=True)
    request_type: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    device_ids: Mapped[list[Any]] = mapped_column()
    device_count: Mapped[int]
    reason: Mapped[str] = mapped_column(Text)
    #: Why approval is needed: "destructive" or "bulk".
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=ApprovalStatus.PENDING)
    requested_by: Mapped[str] = mapped_column(String(255))
    #: The requester's principal (kind, id): nobody approves their own request.
    requester_kind: Mapped[str] = mapped_column(String(16))
    requester_id: Mapped[int | None]
    expires_at: Mapped[dt.datetime]
    decided_by: Mapped[str | None] = mapped_column(String(255))
    decided_at: Mapped[dt.datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)
    #: How many devices the approved action was carried out for (commands queued, devices removed).
    queued_count: Mapped[int | None]
