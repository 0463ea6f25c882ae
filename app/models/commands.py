"""The persistent per-device (and per-user-channel) MDM command queue."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, CreatedAt
from app.models.devices import Device


class CommandStatus(StrEnum):
    """The lifecycle in DESIGN.md: queued → sent → acknowledged | error | not_now | expired | cancelled."""

    QUEUED = "queued"
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    ERROR = "error"
    NOT_NOW = "not_now"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


#: Statuses in which a command still waits for the device's answer.
OPEN_STATUSES = (CommandStatus.QUEUED, CommandStatus.SENT, CommandStatus.NOT_NOW)
#: Statuses after which a command is never offered again.
FINAL_STATUSES = frozenset(
    {CommandStatus.ACKNOWLEDGED, CommandStatus.ERROR, CommandStatus.EXPIRED, CommandStatus.CANCELLED}
)


class Command(CreatedAt, Base):
    __tablename__ = "commands"
    __table_args__ = (
        Index("ix_commands_queue", "device_id", "status", "id"),
        # The expiry job: commands still open whose time ran out.
        Index("ix_commands_status_expires_at", "status", "expires_at"),
        # The retention job: finished commands older than FLOKK_COMMAND_RETENTION_DAYS.
        Index("ix_commands_completed_at", "completed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(64), unique=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    #: Set for commands on a user channel (Shared iPad); None for the device channel.
    device_user_id: Mapped[int | None] = mapped_column(ForeignKey("device_users.id", ondelete="CASCADE"))
    request_type: Mapped[str] = mapped_column(String(64))
    #: The command exactly as sent: a plist with CommandUUID and Command.
    body: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default=CommandStatus.QUEUED)
    #: Who queued it: an audit actor label ("admin:…", "token:…", "system:…").
    created_by: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    delivery_count: Mapped[int] = mapped_column(default=0)
    not_now_count: Mapped[int] = mapped_column(default=0)
    completed_at: Mapped[dt.datetime | None]
    #: The device's report (plist) for Acknowledged, Error or CommandFormatError.
    result: Mapped[bytes | None] = mapped_column(LargeBinary)
    error_chain: Mapped[list[Any] | None]

    device: Mapped[Device] = relationship()
