"""A device's status report, merged into what Flokk knows about the device.

What the device reports by itself replaces what the daily inventory would
ask: the OS version (and model and serial number) go to the device's
columns; every status item's latest value is kept by name (battery health,
passcode present and compliant, ...); OS update progress is kept in columns
so a school's progress can be counted; each declaration's state
(active, valid, reasons) goes to ``declaration_reports``. A full report
("safety sync") replaces the declaration states; an incremental one updates
those it names.
"""

from __future__ import annotations

import logging
from typing import Any

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import and_, delete, select
from sqlalchemy.orm import Session

from app.models.base import utcnow
from app.models.declarations import DeclarationReport, DeclarativeDevice
from app.models.devices import Device
from app.services.bulk import id_in
from mdm_protocol.declarative.status import CAPABILITIES_ITEM, StatusReport

log = logging.getLogger("flokk.mdm")

#: Status items promoted to device columns: (item, column, column length).
DEVICE_COLUMNS = (
    ("device.operating-system.version", "os_version", 32),
    ("device.model.identifier", "model", 64),
    ("device.identifier.serial-number", "serial_number", 64),
)
INSTALL_STATE = "softwareupdate.install-state"
PENDING_VERSION = "softwareupdate.pending-version"
FAILURE_REASON = "softwareupdate.failure-reason"
#: Failures counted at most (the column is a 32-bit integer; a device's count is never near it).
MAX_FAILURES = 1_000_000


def record(session: Session, device: Device, row: DeclarativeDevice, report: StatusReport) -> bool:
    """Store a report; True when the device's OS version changed."""
    now = utcnow()
    items = dict(report.items)
    # Kept out: a few kilobytes per device that say what Apple's schema already says for its OS version.
    items.pop(CAPABILITIES_ITEM, None)
    row.status_items = {**(row.status_items or {}), **items}
    row.status_errors = [{"item": error.item, "reasons": list(error.reasons)} for error in report.errors] or None
    row.status_at = now
    _update_progress(row, items, now)
    os_before = device.os_version
    for item, column, length in DEVICE_COLUMNS:
        value = items.get(item)
        if isinstance(value, str) and value:
            setattr(device, column, value[:length])
    if report.declarations is not None:
        _declarations(session, device, report, now)
    return device.os_version != os_before


def _update_progress(row: DeclarativeDevice, items: dict[str, Any], now) -> None:
    touched = False
    if INSTALL_STATE in items:
        row.update_state, touched = str(items[INSTALL_STATE])[:16], True
    if PENDING_VERSION in items:
        pending = items[PENDING_VERSION]
        row.update_pending_version, touched = (str(pending.get("os-version") or "")[:32] or None), True
    if FAILURE_REASON in items:
        failure = items[FAILURE_REASON]
        row.update_failure_count = min(int(failure.get("count") or 0), MAX_FAILURES)
        reason = failure.get("reason")
        row.update_failure_reason = str(reason)[:500] if reason and row.update_failure_count else None
        touched = True
    if touched:
        row.update_reported_at = now


def _declarations(session: Session, device: Device, report: StatusReport, now) -> None:
    assert report.declarations is not None
    reported = {item.identifier[:255]: item for item in report.declarations}
    stored = {
        found.identifier: found
        for found in session.scalars(select(DeclarationReport).where(DeclarationReport.device_id == device.id))
    }
    if report.full_report:
        gone = [identifier for identifier in stored if identifier not in reported]
        if gone:
            session.execute(delete(DeclarationReport).where(
                DeclarationReport.device_id == device.id, DeclarationReport.identifier.in_(gone)))
    for identifier, item in reported.items():
        row = stored.get(identifier)
        if row is None:
            row = DeclarationReport(device_id=device.id, identifier=identifier)
            session.add(row)
        row.school_id = device.school_id
        row.kind, row.server_token = item.kind, item.server_token[:255]
        row.active, row.valid = item.active, item.valid[:16]
        row.reasons, row.reported_at = [dict(reason) for reason in item.reasons], now
        if item.valid == "invalid":
            codes = ", ".join(str(reason.get("code")) for reason in item.reasons) or "no reason given"
            log.warning("device %s: declaration %s is invalid (%s)", device.udid, identifier[:80], codes)


def reporting(session: Session, device_ids: Sequence[int], *, since: dt.datetime) -> dict[int, tuple[str, str]]:
    """The devices among ``device_ids`` managed declaratively that reported status since ``since``,
    with their platform and OS version (which decide what they report)."""
    if not device_ids:
        return {}
    return {device_id: (platform, os_version or "") for device_id, platform, os_version in session.execute(
        select(DeclarativeDevice.device_id, Device.platform, Device.os_version)
        .join(Device, Device.id == DeclarativeDevice.device_id)
        .where(
            id_in(session, DeclarativeDevice.device_id, list(device_ids)),
            and_(DeclarativeDevice.confirmed_at.is_not(None), DeclarativeDevice.confirmed_at >= Device.enrolled_at),
            DeclarativeDevice.status_at >= since,
        )
    )}
