"""Apps: the Apps and Books connection, its apps and licences, and what devices report about their apps.

Which apps a device should have is policy (``app:<id>`` settings in the
policy layers); these tables hold the rest. The content token is sealed with
the secrets box. A licence row is Flokk's intent and Apple's answer for one
app on one serial number (wanted → associating → associated → releasing),
so a sync or a roll-out interrupted half-way resumes where it stopped.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, CreatedAt, utcnow


class AppsToken(CreatedAt, Base):
    """An organisation's Apps and Books content token (one location of Apple School Manager)."""

    __tablename__ = "apps_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), unique=True)
    #: The sToken, sealed with the secrets box; never stored or logged in the clear.
    sealed_token: Mapped[bytes] = mapped_column(LargeBinary)
    organisation_name: Mapped[str] = mapped_column(String(200), default="")
    location_name: Mapped[str] = mapped_column(String(200), default="")
    #: Apple's id of the location (``uId``): notifications name it.
    location_uid: Mapped[str] = mapped_column(String(64), default="", index=True)
    country: Mapped[str] = mapped_column(String(8), default="")
    expires_at: Mapped[dt.datetime]
    #: Part of the notification URL Flokk gave Apple; a new claim gives a new one (and a new secret).
    notification_nonce: Mapped[str] = mapped_column(String(64))
    #: Where Apple sends notifications; None when Apple could not reach Flokk (Flokk then polls).
    notification_url: Mapped[str | None] = mapped_column(String(500))
    claimed_at: Mapped[dt.datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(255))
    #: Set when an answer from Apple names another MDM: Flokk stops using the token until it is claimed again.
    foreign_mdm: Mapped[str | None] = mapped_column(String(255))
    max_serial_numbers: Mapped[int] = mapped_column(default=1000)
    last_sync_at: Mapped[dt.datetime | None]
    #: An admin asked for a sync from the dashboard or the API; the scheduler runs it.
    sync_requested_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))


class AppAsset(Base):
    """An app (or book) the location owns, with its licence counts and store metadata."""

    __tablename__ = "app_assets"
    __table_args__ = (UniqueConstraint("token_id", "adam_id", "pricing_param"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("apps_tokens.id", ondelete="CASCADE"))
    adam_id: Mapped[str] = mapped_column(String(32), index=True)
    pricing_param: Mapped[str] = mapped_column(String(16))
    product_type: Mapped[str] = mapped_column(String(32), default="")
    device_assignable: Mapped[bool] = mapped_column(default=False)
    revocable: Mapped[bool] = mapped_column(default=False)
    platforms: Mapped[list[Any]] = mapped_column(default=list)
    total_count: Mapped[int] = mapped_column(default=0)
    assigned_count: Mapped[int] = mapped_column(default=0)
    available_count: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(255), default="")
    bundle_id: Mapped[str | None] = mapped_column(String(255), index=True)
    icon_url: Mapped[str | None] = mapped_column(String(1000))
    version: Mapped[str | None] = mapped_column(String(64))
    metadata_at: Mapped[dt.datetime | None]
    synced_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LicenceState(StrEnum):
    WANTED = "wanted"
    ASSOCIATING = "associating"
    ASSOCIATED = "associated"
    RELEASING = "releasing"


class AppLicence(Base):
    """One app's licence for one device (by serial number): Flokk's intent and Apple's answer."""

    __tablename__ = "app_licences"
    __table_args__ = (
        UniqueConstraint("token_id", "adam_id", "pricing_param", "serial_number"),
        Index("ix_app_licences_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("apps_tokens.id", ondelete="CASCADE"))
    adam_id: Mapped[str] = mapped_column(String(32))
    pricing_param: Mapped[str] = mapped_column(String(16))
    serial_number: Mapped[str] = mapped_column(String(64), index=True)
    #: The device it was assigned for (None for assignments found at Apple for unknown serials).
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id", ondelete="SET NULL"), index=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id", ondelete="SET NULL"), index=True)
    state: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str | None] = mapped_column(String(64), index=True)
    #: Why it still waits (no free licence, Apple's error), in words for admins.
    reason: Mapped[str | None] = mapped_column(String(500))
    next_attempt_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AppsEvent(Base):
    """An association or disassociation Flokk asked for; Apple processes it in the background."""

    __tablename__ = "apps_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("apps_tokens.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # ASSOCIATE or DISASSOCIATE
    adam_id: Mapped[str] = mapped_column(String(32))
    pricing_param: Mapped[str] = mapped_column(String(16))
    requested: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="PENDING", index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    checked_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    failures: Mapped[list[Any] | None]


class AppDelivery(Base):
    """An app command Flokk's policy queued (install, remove, configure, or a ManagedApplicationList query)."""

    __tablename__ = "app_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    command_uuid: Mapped[str] = mapped_column(ForeignKey("commands.uuid", ondelete="CASCADE"), unique=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    adam_id: Mapped[str | None] = mapped_column(String(32))
    #: The configuration version the command carries (install, configure).
    version: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DeviceApp(Base):
    """An app the device last reported: managed (ManagedApplicationList) or, for Apps and Books apps only,
    installed without being managed (InstalledApplicationList)."""

    __tablename__ = "device_apps"
    __table_args__ = (UniqueConstraint("device_id", "bundle_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    bundle_id: Mapped[str] = mapped_column(String(255))
    managed: Mapped[bool] = mapped_column(default=True)
    #: Apple's Status (Managed, Installing, Failed, ...) for managed apps.
    status: Mapped[str | None] = mapped_column(String(32))
    has_configuration: Mapped[bool] = mapped_column(default=False)
    version: Mapped[str | None] = mapped_column(String(64))
    reported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DeviceAppReport(Base):
    """When the device last answered ManagedApplicationList (an empty answer is an answer too)."""

    __tablename__ = "device_app_reports"

    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    managed_reported_at: Mapped[dt.datetime | None]
    installed_reported_at: Mapped[dt.datetime | None]


class AppsNotification(Base):
    """A notification from Apple already handled (Apple may send one more than once)."""

    __tablename__ = "apps_notifications"

    notification_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("apps_tokens.id", ondelete="CASCADE"), index=True)
    notification_type: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
