"""Devices, their user channels and what they report about themselves."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, CreatedAt
from app.models.tenancy import Group, School


class Platform(StrEnum):
    IOS = "ios"
    IPADOS = "ipados"
    MACOS = "macos"
    CHROMEOS = "chromeos"


class EnrollmentState(StrEnum):
    PENDING = "pending"  # Authenticate seen, no TokenUpdate yet
    ENROLLED = "enrolled"
    UNENROLLED = "unenrolled"  # CheckOut, or removed by an admin


class Device(CreatedAt, Base):
    __tablename__ = "devices"
    # The device list's orders (app.services.fleet.devices.SORTS): a school's devices by name (the default, for
    # central IT too), by name, OS version, last check-in; each with the id, so a page of ids is read from the
    # index alone however deep it is. last_seen_at is written at check-in, which a device does a few times a
    # day: the index costs those updates little, and saves sorting 100,000 rows per page.
    __table_args__ = (
        Index("ix_devices_school_id_name_id", "school_id", "name", "id"),
        Index("ix_devices_name_id", "name", "id"),
        Index("ix_devices_os_version_id", "os_version", "id"),
        Index("ix_devices_last_seen_at_id", "last_seen_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    #: Apple's UDID (or EnrollmentID for user enrollment); Chromebooks have none.
    udid: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: Google's deviceId for a Chromebook.
    google_device_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    serial_number: Mapped[str | None] = mapped_column(String(64), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    model: Mapped[str | None] = mapped_column(String(64))
    os_version: Mapped[str | None] = mapped_column(String(32))
    enrollment_state: Mapped[str] = mapped_column(String(16), default=EnrollmentState.PENDING)
    supervised: Mapped[bool] = mapped_column(default=False)
    enrolled_at: Mapped[dt.datetime | None]
    last_seen_at: Mapped[dt.datetime | None]
    #: The latest answers to inventory commands, by RequestType. Deferred: it can
    #: be tens of kilobytes and the check-in hot path never reads it.
    inventory: Mapped[dict[str, Any]] = mapped_column(default=dict, deferred=True)
    # APNs wake-up: the device's push token (hex) and PushMagic from TokenUpdate.
    push_topic: Mapped[str | None] = mapped_column(String(255))
    push_token: Mapped[str | None] = mapped_column(String(200))
    push_magic: Mapped[str | None] = mapped_column(String(100))
    push_token_invalid_at: Mapped[dt.datetime | None]
    # Wake-up bookkeeping (app.services.mdm.push): when Flokk last pushed, how many
    # pushes since the device last connected, and when the next retry is due.
    last_push_at: Mapped[dt.datetime | None]
    push_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_push_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    # Sealed with the secrets box (app.crypto): never stored in the clear.
    unlock_token: Mapped[bytes | None] = mapped_column(LargeBinary)
    bootstrap_token: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Automated Device Enrollment (app.services.asm): enrolled through Apple School Manager, waiting in
    # Setup Assistant for DeviceConfigured, and the Activation Lock bypass code (sealed; central IT only).
    ade_enrolled: Mapped[bool] = mapped_column(default=False, server_default=false())
    awaiting_configuration: Mapped[bool] = mapped_column(default=False, server_default=false())
    activation_lock_bypass_code: Mapped[bytes | None] = mapped_column(LargeBinary)
    bypass_code_escrowed_at: Mapped[dt.datetime | None]

    school: Mapped[School] = relationship()
    group: Mapped[Group | None] = relationship()


class DeviceUser(CreatedAt, Base):
    """A user channel on a device (Shared iPad, macOS users): its own queue and push token."""

    __tablename__ = "device_users"
    __table_args__ = (UniqueConstraint("device_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    #: Apple's UserID (or EnrollmentUserID).
    user_id: Mapped[str] = mapped_column(String(64))
    short_name: Mapped[str | None] = mapped_column(String(200))
    long_name: Mapped[str | None] = mapped_column(String(200))
    push_token: Mapped[str | None] = mapped_column(String(200))
    push_magic: Mapped[str | None] = mapped_column(String(100))
    push_token_invalid_at: Mapped[dt.datetime | None]
    last_seen_at: Mapped[dt.datetime | None]

    device: Mapped[Device] = relationship()


class InstalledProfile(Base):
    """A configuration profile the device reported in its latest ProfileList."""

    __tablename__ = "installed_profiles"
    __table_args__ = (
        UniqueConstraint("device_id", "identifier"),
        Index("ix_installed_profiles_school_id", "school_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    identifier: Mapped[str] = mapped_column(String(255))
    uuid: Mapped[str | None] = mapped_column(String(64))
    display_name: Mapped[str | None] = mapped_column(String(255))
    organization: Mapped[str | None] = mapped_column(String(255))
    removal_disallowed: Mapped[bool] = mapped_column(default=False)
    is_managed: Mapped[bool] = mapped_column(default=True)
    reported_at: Mapped[dt.datetime]


class DeviceTransfer(CreatedAt, Base):
    """A device expected at another school: its next enrolment there may move it.

    A new identity certificate from school B's enrollment link may only take
    over a device enrolled in school A when such a record (made by central IT,
    and later by an Apple School Manager assignment) says B expects it. It is
    used up by that enrolment; the audit log keeps who allowed it and when.
    """

    __tablename__ = "device_transfers"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: One pending transfer per device: a new one replaces the old.
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), unique=True)
    #: The school that expects the device (the one it moves to).
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    #: Who allowed it (a principal label, or the Apple School Manager sync).
    allowed_by: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(String(500))
    expires_at: Mapped[dt.datetime]

    device: Mapped[Device] = relationship()
    school: Mapped[School] = relationship()


class SeenSignature(Base):
    """A signed MDM message already accepted: the same signature is refused again (replay).

    ``digest`` identifies the signer and exactly the bytes it signed
    (``mdm_protocol.cms.SignedMessage.signature_id``). Rows older than the
    replay window are deleted by the scheduler. UNLOGGED on PostgreSQL (see
    migration 0010): no WAL flush per request; empty again after a crash.
    """

    __tablename__ = "mdm_seen_signatures"

    digest: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    seen_at: Mapped[dt.datetime] = mapped_column(index=True)
