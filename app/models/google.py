"""Chromebooks through Google: the connected domain, its organisational units, each Chromebook's
Google inventory and each command's Google id.

A Chromebook is a row of ``devices`` (platform ``chromeos``, Google's
``deviceId`` in ``google_device_id``) like an iPad, plus a ``chromebooks``
row with what only Google knows. Its commands are rows of ``commands``
like an iPad's, plus a ``chromebook_commands`` row with Google's command id.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, CreatedAt
from app.models.tenancy import Group, School


class GoogleConnection(CreatedAt, Base):
    """One Google Workspace for Education domain per organisation, and where its sync stands."""

    __tablename__ = "google_connections"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), unique=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    domain: Mapped[str | None] = mapped_column(String(255))
    admin_email: Mapped[str] = mapped_column(String(254))
    client_email: Mapped[str] = mapped_column(String(254))
    client_id: Mapped[str] = mapped_column(String(64))
    project_id: Mapped[str] = mapped_column(String(100))
    key_id: Mapped[str] = mapped_column(String(64))
    #: The service account key file, sealed with the secrets box (app.crypto); never stored in the clear.
    sealed_key: Mapped[bytes] = mapped_column(LargeBinary)
    #: Keep each Chromebook's recent users (personal data): only when central IT chose to.
    store_recent_users: Mapped[bool] = mapped_column(default=False)
    connected_by: Mapped[str] = mapped_column(String(255))
    connected_at: Mapped[dt.datetime]
    # Inventory sync: a run in progress keeps its cursor (Google's nextPageToken) after every page.
    sync_run: Mapped[str | None] = mapped_column(String(36))
    sync_kind: Mapped[str | None] = mapped_column(String(16))
    sync_query: Mapped[str | None] = mapped_column(String(100))
    sync_cursor: Mapped[str | None] = mapped_column(Text)
    sync_started_at: Mapped[dt.datetime | None]
    sync_pages: Mapped[int] = mapped_column(default=0)
    sync_seen: Mapped[int] = mapped_column(default=0)
    last_sync_at: Mapped[dt.datetime | None]
    last_full_sync_at: Mapped[dt.datetime | None]
    last_sync_result: Mapped[dict[str, Any] | None]
    last_sync_error: Mapped[str | None] = mapped_column(Text)
    sync_requested_at: Mapped[dt.datetime | None]
    sync_requested_full: Mapped[bool] = mapped_column(default=False)


class GoogleOrgUnit(CreatedAt, Base):
    """An organisational unit Flokk manages: the parent of the schools (no school), a school's, or a group's.

    Also what Flokk last applied there (Chrome policy versions by identifier),
    the Wi-Fi networks it defined, and the drift the last resolve found.
    """

    __tablename__ = "google_org_units"
    __table_args__ = (UniqueConstraint("organisation_id", "ou_id"), UniqueConstraint("group_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    ou_path: Mapped[str] = mapped_column(String(500))
    ou_id: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(255))
    applied: Mapped[dict[str, Any]] = mapped_column(default=dict)
    applied_at: Mapped[dt.datetime | None]
    networks: Mapped[dict[str, Any]] = mapped_column(default=dict)
    resolved_at: Mapped[dt.datetime | None]
    drift: Mapped[list[Any]] = mapped_column(default=list)
    policy_error: Mapped[str | None] = mapped_column(Text)

    school: Mapped[School | None] = relationship()
    group: Mapped[Group | None] = relationship()

    @property
    def kind(self) -> str:
        return "group" if self.group_id else "school" if self.school_id else "parent"


class Chromebook(Base):
    """What Google says about one Chromebook, beyond the ``devices`` row."""

    __tablename__ = "chromebooks"
    __table_args__ = (Index("ix_chromebooks_seen_run", "seen_run"),)

    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    org_unit_path: Mapped[str | None] = mapped_column(String(500))
    org_unit_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str | None] = mapped_column(String(32))
    auto_update_expiration: Mapped[dt.date | None]
    last_sync: Mapped[dt.datetime | None]
    annotated_asset_id: Mapped[str | None] = mapped_column(String(200))
    annotated_location: Mapped[str | None] = mapped_column(String(200))
    annotated_user: Mapped[str | None] = mapped_column(String(200))
    #: Emails of recent users; None unless central IT enabled it for the connection.
    recent_users: Mapped[list[Any] | None]
    deprovision_reason: Mapped[str | None] = mapped_column(String(64))
    #: The sync run that last saw the device; a full run that misses it marks it gone.
    seen_run: Mapped[str | None] = mapped_column(String(36))
    synced_at: Mapped[dt.datetime]
    missing_since: Mapped[dt.datetime | None]
    #: The last sync's word on this device when it is not plain (outside the mapped units, gone from Google).
    note: Mapped[str | None] = mapped_column(String(200))


class ChromebookCommand(Base):
    """Google's side of a Chromebook command in ``commands``."""

    __tablename__ = "chromebook_commands"
    __table_args__ = (Index("ix_chromebook_commands_poll", "next_poll_at"),)

    command_id: Mapped[int] = mapped_column(ForeignKey("commands.id", ondelete="CASCADE"), primary_key=True)
    google_device_id: Mapped[str] = mapped_column(String(64))
    google_command_id: Mapped[str | None] = mapped_column(String(32))
    #: When to ask Google for the command's state again; None once final (or for status changes).
    next_poll_at: Mapped[dt.datetime | None]
    polls: Mapped[int] = mapped_column(default=0)
