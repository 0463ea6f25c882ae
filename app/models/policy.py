"""Policy: layers of settings with locks and versions, and the profile commands they queued.

The pure model lives in ``profiles``; these tables store it. A layer is the
organisation's baseline or one school, group or device; its settings are the
current entries; every saved change adds a version (who, when, diff, and a
snapshot to restore). Values holding secrets (Wi-Fi passwords) are sealed with
the secrets box and never stored in the clear.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, CreatedAt, JSONDocument, utcnow


class LayerLevel(StrEnum):
    BASELINE = "baseline"
    SCHOOL = "school"
    GROUP = "group"
    DEVICE = "device"


class PolicyLayer(CreatedAt, Base):
    """One layer of policy. ``scope_key`` is unique: ``baseline:<org>``, ``school:<id>``, ..."""

    __tablename__ = "policy_layers"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    level: Mapped[str] = mapped_column(String(16))
    scope_key: Mapped[str] = mapped_column(String(64), unique=True)
    #: None for the baseline, which belongs to the whole organisation.
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    #: Number of the latest saved version (0: never changed).
    version: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[dt.datetime | None]
    updated_by: Mapped[str | None] = mapped_column(String(255))

    settings: Mapped[list[PolicySetting]] = relationship(
        back_populates="layer", cascade="all, delete-orphan", order_by="PolicySetting.id"
    )


class PolicySetting(Base):
    """One current entry of a layer: a key's value, a removal, or a whole-payload lock."""

    __tablename__ = "policy_settings"
    __table_args__ = (UniqueConstraint("layer_id", "payload_type", "instance", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    layer_id: Mapped[int] = mapped_column(ForeignKey("policy_layers.id", ondelete="CASCADE"))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    payload_type: Mapped[str] = mapped_column(String(128))
    instance: Mapped[str] = mapped_column(String(64), default="")
    key: Mapped[str] = mapped_column(String(128))
    #: ``profiles.values.to_json`` of the value; None when the value is sealed.
    value: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    #: The JSON value sealed with the secrets box, for keys that hold secrets.
    sealed_value: Mapped[bytes | None] = mapped_column(LargeBinary)
    locked: Mapped[bool] = mapped_column(default=False)
    set_by: Mapped[str] = mapped_column(String(255))
    set_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    locked_by: Mapped[str | None] = mapped_column(String(255))

    layer: Mapped[PolicyLayer] = relationship(back_populates="settings")


class PolicyVersion(Base):
    """A saved state of a layer: who, when, what changed, and the entries to restore."""

    __tablename__ = "policy_versions"
    __table_args__ = (UniqueConstraint("layer_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    layer_id: Mapped[int] = mapped_column(ForeignKey("policy_layers.id", ondelete="CASCADE"))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(255))
    #: The layer's entries after this version (secret values sealed, base64).
    entries: Mapped[list[Any]] = mapped_column(default=list)
    #: Human-readable diff against the previous version, secrets masked.
    changes: Mapped[list[Any]] = mapped_column(default=list)
    restored_from: Mapped[int | None]
    note: Mapped[str | None] = mapped_column(String(500))


class DeliveryAction(StrEnum):
    INSTALL = "install"
    REMOVE = "remove"


class PolicyDelivery(Base):
    """A profile command the reconciler queued: which identifier and version it carries.

    Lets the reconciler count commands in flight without parsing command bodies.
    """

    __tablename__ = "policy_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    command_uuid: Mapped[str] = mapped_column(ForeignKey("commands.uuid", ondelete="CASCADE"), unique=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(8))
    identifier: Mapped[str] = mapped_column(String(255))
    version: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PolicyNamespace(Base):
    """The reverse-DNS prefix of an organisation's policy profiles, fixed on first use.

    Stored rather than derived each time: if it changed, every profile would
    get a new identifier and the old ones would no longer be recognised.
    """

    __tablename__ = "policy_namespaces"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True)
    identifier_prefix: Mapped[str] = mapped_column(String(200))
