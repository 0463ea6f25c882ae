"""What devices report about their apps, kept in rows the reconciler and the pages can query.

ManagedApplicationList (a dictionary by bundle id of ``Status``,
``HasConfiguration``, ``ExternalVersionIdentifier``...) replaces the
device's managed rows. InstalledApplicationList adds apps installed without
being managed, for Apps and Books apps only (a pupil's own apps are not
Flokk's business, and would be tens of rows per iPad). Device input is read
tolerantly: entries of the wrong shape are skipped, text is cut to its column.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from app.models.apps import AppAsset, DeviceApp, DeviceAppReport
from app.models.base import utcnow
from app.models.devices import Device

#: Inventory sections (``mdm_protocol.reports.INVENTORY_QUERIES``) this module keeps.
MANAGED_SECTION = "managed_applications"
INSTALLED_SECTION = "applications"
#: The inventory sections ``store`` keeps (any other section is none of its business).
SECTIONS = frozenset({MANAGED_SECTION, INSTALLED_SECTION})


def store(session: Session, device: Device, section: str, value: Any) -> bool:
    """Keep an app report; True for a ManagedApplicationList (the caller then reconciles the device)."""
    if section == MANAGED_SECTION and isinstance(value, Mapping):
        _store_managed(session, device, value)
        return True
    if section == INSTALLED_SECTION and isinstance(value, list):
        _store_installed(session, device, value)
    return False


def _store_managed(session: Session, device: Device, apps: Mapping[str, Any]) -> None:
    now = utcnow()
    rows: dict[str, dict[str, Any]] = {}
    for bundle_id, entry in apps.items():
        if not isinstance(bundle_id, str) or not bundle_id or not isinstance(entry, Mapping):
            continue
        status = entry.get("Status")
        version = entry.get("ExternalVersionIdentifier")
        rows[bundle_id[:255]] = {
            "device_id": device.id, "school_id": device.school_id, "bundle_id": bundle_id[:255], "managed": True,
            "status": status[:32] if isinstance(status, str) else None,
            "has_configuration": entry.get("HasConfiguration") is True,
            "version": str(version)[:64] if isinstance(version, (int, str)) and not isinstance(version, bool) else None,
            "reported_at": now,
        }
    session.execute(delete(DeviceApp).where(DeviceApp.device_id == device.id, DeviceApp.managed.is_(True)))
    if rows:
        session.execute(delete(DeviceApp).where(DeviceApp.device_id == device.id, DeviceApp.bundle_id.in_(list(rows))))
        session.execute(insert(DeviceApp), list(rows.values()))
    _mark(session, device, managed=now)


def _store_installed(session: Session, device: Device, apps: list[Any]) -> None:
    now = utcnow()
    installed: dict[str, str | None] = {}
    for entry in apps:
        if isinstance(entry, Mapping) and isinstance(entry.get("Identifier"), str) and entry["Identifier"]:
            version = entry.get("ShortVersion") or entry.get("Version")
            installed[entry["Identifier"][:255]] = str(version)[:64] if isinstance(version, str) else None
    session.execute(delete(DeviceApp).where(DeviceApp.device_id == device.id, DeviceApp.managed.is_(False)))
    if installed:
        known = set(session.scalars(select(AppAsset.bundle_id).where(AppAsset.bundle_id.in_(sorted(installed)))))
        managed = set(session.scalars(select(DeviceApp.bundle_id).where(DeviceApp.device_id == device.id)))
        rows = [{"device_id": device.id, "school_id": device.school_id, "bundle_id": bundle_id, "managed": False,
                 "status": None, "has_configuration": False, "version": installed[bundle_id], "reported_at": now}
                for bundle_id in sorted(known - managed)]
        if rows:
            session.execute(insert(DeviceApp), rows)
    _mark(session, device, installed=now)


def _mark(session: Session, device: Device, *, managed=None, installed=None) -> None:
    report = session.get(DeviceAppReport, device.id)
    if report is None:
        report = DeviceAppReport(device_id=device.id)
        session.add(report)
    if managed is not None:
        report.managed_reported_at = managed
    if installed is not None:
        report.installed_reported_at = installed
    session.flush()
