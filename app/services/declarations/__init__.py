"""Declarative device management (DDM): devices that get their settings as declarations and report by themselves.

The package:

* ``sets``          a device's declaration set, from the policy cache the reconciler uses
* ``profile_urls``  the signed URLs of the profiles legacy-profile declarations carry
* ``sync``          after a reconciliation: tell devices whose declarations changed; turn DDM on
* ``store``         the DeclarativeManagement check-in (tokens, declarations, status) over SQL
* ``status``        a status report merged into what Flokk knows about the device
* ``updates``       OS updates by a deadline: targets, progress per school and device

This module: a device's declarative state as admins see it (dashboard, API, CLI).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models.declarations import DeclarationReport, DeclarativeDevice
from app.models.devices import Device
from app.services.access import Principal, get_for
from app.services.declarations import sets, updates
from mdm_protocol.declarative import support


class Mode(enum.StrEnum):
    DECLARATIVE = "declarative"  # gets its settings as declarations and reports by itself
    ASKED = "asked"  # sent DeclarativeManagement, has not answered yet
    PROFILES = "profiles"  # gets profiles and commands
    UNABLE = "unable"  # its OS predates declarative management (or is unknown)


@dataclass(frozen=True)
class DeclarationState:
    """One declaration of the device's set, and what the device last said about it."""

    identifier: str
    type: str
    #: ``applied``, ``invalid``, ``inactive``, ``unknown``, ``not_reported`` or ``older_version``.
    state: str
    reasons: tuple[dict[str, Any], ...] = ()
    reported_at: dt.datetime | None = None


@dataclass
class DeviceDeclarations:
    device: Device
    mode: Mode
    declarations: list[DeclarationState] = field(default_factory=list)
    status_items: dict[str, Any] = field(default_factory=dict)
    status_errors: list[Any] = field(default_factory=list)
    status_at: dt.datetime | None = None
    update: updates.DeviceUpdate | None = None
    left_out: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[DeclarationState]:
        return [item for item in self.declarations if item.state == "invalid"]


def for_device(session: Session, principal: Principal, device_id: int) -> DeviceDeclarations:
    """A device's declarative state; NotFound outside the principal's schools."""
    return describe(session, get_for(session, Device, device_id, principal))


def describe(session: Session, device: Device) -> DeviceDeclarations:
    """The same for a device the caller loaded through the access check."""
    row = session.get(DeclarativeDevice, device.id)
    found = sets.for_device(session, device.id)
    view = DeviceDeclarations(device, _mode(device, row, found))
    view.update = updates.device_update(session, device)
    if row is not None:
        view.status_items, view.status_errors, view.status_at = dict(row.status_items or {}), list(row.status_errors or []), row.status_at
    if found is None or found.declarations is None:
        return view
    reported = {
        report.identifier: report
        for report in session.scalars(select(DeclarationReport).where(DeclarationReport.device_id == device.id))
    }
    for declaration in sorted(found.declarations.declarations, key=lambda item: (item.kind, item.identifier)):
        view.declarations.append(_state(declaration.identifier, declaration.type, declaration.server_token,
                                        reported.get(declaration.identifier)))
    if found.policy is not None:
        view.left_out = [str(note) for note in found.policy.left_out]
    return view


def _mode(device: Device, row: DeclarativeDevice | None, found: sets.DeviceDeclarations | None) -> Mode:
    if found is not None and found.situation.declarative:
        return Mode.DECLARATIVE
    if row is not None and row.enabled_at is not None and (device.enrolled_at is None or row.enabled_at >= device.enrolled_at):
        return Mode.ASKED
    if support.speaks_declarative(device.platform, device.os_version):
        return Mode.PROFILES
    return Mode.UNABLE


def _state(identifier: str, declaration_type: str, server_token: str, report: DeclarationReport | None) -> DeclarationState:
    if report is None:
        return DeclarationState(identifier, declaration_type, "not_reported")
    reasons = tuple(reason for reason in report.reasons or () if isinstance(reason, dict))
    if report.server_token != server_token:
        return DeclarationState(identifier, declaration_type, "older_version", reasons, report.reported_at)
    if report.valid == "invalid":
        state = "invalid"
    elif report.valid == "unknown":
        state = "unknown"
    else:
        state = "applied" if report.active else "inactive"
    return DeclarationState(identifier, declaration_type, state, reasons, report.reported_at)
