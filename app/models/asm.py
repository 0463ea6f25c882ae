"""Apple School Manager: the key pair ASM encrypts to, server tokens, the devices ASM assigned
to Flokk (before and after they arrive), assignment rules and the ADE profiles defined at Apple."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, CreatedAt
from app.models.devices import Device
from app.models.tenancy import Group, School


class SyncState(StrEnum):
    """What the last sync of a token says central IT must know."""

    NEVER = "never"
    OK = "ok"
    TERMS_NOT_SIGNED = "terms_not_signed"  # accept Apple's new terms in ASM
    TOKEN_REJECTED = "token_rejected"  # expired, revoked or replaced: import a new token
    UNAVAILABLE = "unavailable"  # 429/5xx/no connection after retries: tried again later
    ERROR = "error"


class AsmKey(CreatedAt, Base):
    """The key pair central IT's ASM encrypts server tokens to (the public certificate is uploaded to ASM)."""

    __tablename__ = "asm_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_pem: Mapped[str] = mapped_column(Text)
    #: PKCS #8 PEM sealed with the secrets box (label "asm-key").
    key_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    not_after: Mapped[dt.datetime]
    created_by: Mapped[str] = mapped_column(String(255))


class AsmToken(CreatedAt, Base):
    """One ASM device management server (an ASM instance or region): its sealed credentials and sync state."""

    __tablename__ = "asm_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: SHA-256 of the consumer key: importing the same credentials again renews this row.
    consumer_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: Apple's identifier of the device management server, known after the first sync (``GET /account``);
    #: a new token for a server Flokk already has replaces that token's credentials then.
    server_uuid: Mapped[str | None] = mapped_column(String(64), unique=True)
    server_name: Mapped[str | None] = mapped_column(String(255))
    org_name: Mapped[str | None] = mapped_column(String(255))
    org_email: Mapped[str | None] = mapped_column(String(255))
    admin_id: Mapped[str | None] = mapped_column(String(255))
    #: The four OAuth credentials as JSON, sealed (label "asm-token").
    credentials_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    access_token_expiry: Mapped[dt.datetime | None]
    imported_by: Mapped[str] = mapped_column(String(255))
    imported_at: Mapped[dt.datetime]
    #: Cursor for ``/devices/sync`` once a full fetch has finished, and when Apple gave it (valid 7 days).
    sync_cursor: Mapped[str | None] = mapped_column(String(1000))
    sync_cursor_at: Mapped[dt.datetime | None]
    #: A full fetch in progress: the cursor of the next page (a failed sync resumes here), and when it began
    #: (devices not seen since then are no longer assigned to Flokk).
    fetch_cursor: Mapped[str | None] = mapped_column(String(1000))
    fetch_started_at: Mapped[dt.datetime | None]
    last_sync_at: Mapped[dt.datetime | None]
    last_full_sync_at: Mapped[dt.datetime | None]
    sync_state: Mapped[str] = mapped_column(String(32), default=SyncState.NEVER)
    sync_message: Mapped[str | None] = mapped_column(String(500))
    #: Set by "sync now" (dashboard, API): the scheduler syncs at its next minute.
    sync_requested_at: Mapped[dt.datetime | None]

    @property
    def label(self) -> str:
        return self.server_name or self.org_name or f"token {self.id}"


class AsmDevice(Base):
    """A device ASM assigned to Flokk: expected at a school until it enrols; never deleted by a sync.

    ``school_id`` is the school it is expected at (None: not yet distributed);
    the tenancy choke point filters on it, so an ICT contact sees only their
    school's expected iPads.
    """

    __tablename__ = "asm_devices"
    __table_args__ = (
        Index("ix_asm_devices_school_id", "school_id"),
        Index("ix_asm_devices_token_id", "token_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("asm_tokens.id", ondelete="CASCADE"))
    serial_number: Mapped[str] = mapped_column(String(64), unique=True)
    model: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(200))
    color: Mapped[str | None] = mapped_column(String(64))
    asset_tag: Mapped[str | None] = mapped_column(String(64))
    os: Mapped[str | None] = mapped_column(String(32))
    device_family: Mapped[str | None] = mapped_column(String(32))
    #: Apple's view of the ADE profile: empty, assigned, pushed or removed, and which profile.
    profile_status: Mapped[str | None] = mapped_column(String(32))
    profile_uuid: Mapped[str | None] = mapped_column(String(64))
    device_assigned_by: Mapped[str | None] = mapped_column(String(255))
    device_assigned_date: Mapped[dt.datetime | None]
    #: The op_date of the newest change applied (sync may repeat a device; the latest op_date wins).
    op_date: Mapped[dt.datetime | None]
    #: Set when ASM no longer assigns the device to Flokk (sync op_type "deleted"); the row stays.
    deleted_at: Mapped[dt.datetime | None]
    first_seen_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    # --- where it is expected -----------------------------------------------------
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id", ondelete="SET NULL"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"))
    #: "rule:<id>", "manual:<actor>" or "csv:<actor>"; manual and CSV assignments are never overwritten by rules.
    assigned_via: Mapped[str | None] = mapped_column(String(255))
    assigned_at: Mapped[dt.datetime | None]
    # --- Flokk's ADE profile at Apple ---------------------------------------------
    #: The Apple profile Flokk assigned last (SUCCESS), and Apple's last answer for this serial.
    assigned_profile_uuid: Mapped[str | None] = mapped_column(String(64))
    assign_outcome: Mapped[str | None] = mapped_column(String(32))
    assign_checked_at: Mapped[dt.datetime | None]
    # --- enrolment ------------------------------------------------------------------
    #: The UDID from the last verified MachineInfo and when its enrollment profile was served.
    enrolling_udid: Mapped[str | None] = mapped_column(String(64))
    profile_served_at: Mapped[dt.datetime | None]
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id", ondelete="SET NULL"), index=True)

    token: Mapped[AsmToken] = relationship()
    school: Mapped[School | None] = relationship()
    group: Mapped[Group | None] = relationship()
    device: Mapped[Device | None] = relationship()


class AsmRule(CreatedAt, Base):
    """Expect devices whose ASM field matches a pattern at a school (first match by position wins)."""

    __tablename__ = "asm_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(default=100)
    #: "assigned_by", "description", "model", "color", "asset_tag" or "serial_number".
    field: Mapped[str] = mapped_column(String(32))
    #: Case-insensitive shell pattern (``*@nordby.bergvik.no``, ``C02*``).
    pattern: Mapped[str] = mapped_column(String(255))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("asm_tokens.id", ondelete="CASCADE"))
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"))
    created_by: Mapped[str] = mapped_column(String(255))

    school: Mapped[School] = relationship()
    group: Mapped[Group | None] = relationship()


class AsmSettings(Base):
    """Central IT's choices for every school's ADE profile (one row per organisation)."""

    __tablename__ = "asm_settings"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True)
    skip_setup_items: Mapped[list[Any]] = mapped_column(default=list)
    language: Mapped[str | None] = mapped_column(String(8))
    region: Mapped[str | None] = mapped_column(String(8))
    support_email: Mapped[str | None] = mapped_column(String(254))
    #: Put Flokk's CA in ``anchor_certs`` (when Flokk's TLS certificate comes from its own CA).
    anchor_flokk_ca: Mapped[bool] = mapped_column(default=True)
    updated_by: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[dt.datetime | None]


class AsmSchoolProfile(Base):
    """What a school's ADE profile tells the pupil in Setup Assistant: support phone and department."""

    __tablename__ = "asm_school_profiles"

    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True)
    support_phone: Mapped[str | None] = mapped_column(String(40))
    department: Mapped[str | None] = mapped_column(String(125))
    updated_by: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[dt.datetime | None]


class AsmDefinedProfile(Base):
    """A profile Flokk defined at Apple for one school on one token, and the definition's hash."""

    __tablename__ = "asm_defined_profiles"
    __table_args__ = (UniqueConstraint("token_id", "school_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("asm_tokens.id", ondelete="CASCADE"))
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    profile_uuid: Mapped[str] = mapped_column(String(64))
    definition_hash: Mapped[str] = mapped_column(String(64))
    defined_at: Mapped[dt.datetime]
