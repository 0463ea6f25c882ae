"""Inventory sync: every Chromebook of the domain into the device table, page by page, resumable.

``chromeosdevices.list`` is read 200 devices a page. After each page the
devices and the cursor (Google's ``nextPageToken``) are committed together
(``checkpoint``), so a failure in the middle leaves a cursor, not half a
fleet: the next run resumes at that page, and devices are matched by
Google's ``deviceId`` (unique), so nothing is counted twice or lost.

A *full* run (the first, then at least daily) reads every device and marks
those Google no longer lists as gone (never deleted); an *incremental* run
reads those that synced with Google since the last run
(``query=sync:DATE..``). A Chromebook belongs to the school and group of
the nearest mapped organisational unit above it, so a move made in Google's
console moves it in Flokk at the next sync. Recent users are read and kept
only when central IT enabled it for the connection.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from app.models.base import utcnow
from app.models.devices import Device, EnrollmentState, Platform
from app.models.google import Chromebook, GoogleConnection
from app.models.tenancy import School
from app.services import audit
from app.services.access import Permission, Principal, require_central
from app.services.bulk import id_in
from app.services.fleet import schools
from app.services.google import client_for, refused, require_connection
from app.services.google.org_units import OuIndex, Place, units
from mdm_protocol.google import errors
from mdm_protocol.google.devices import ChromeDevice

PAGE_SIZE = 200
#: A full run at least this often; incremental runs in between.
FULL_EVERY = dt.timedelta(hours=24)
#: Google keeps a device's lastSync to the day in queries: look one day back.
OVERLAP = dt.timedelta(days=1)
#: Statuses of devices that no longer take policy or commands.
_GONE_STATUSES = frozenset({"DEPROVISIONED"})
FULL, INCREMENTAL = "full", "incremental"
GONE_NOTE = "gone from Google"
OUTSIDE_NOTE = "outside the schools' organisational units"


@dataclass
class SyncReport:
    kind: str = FULL
    resumed: bool = False
    pages: int = 0
    seen: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    finished: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "resumed": self.resumed, "pages": self.pages, "seen": self.seen,
                "finished": self.finished, **dict(sorted(self.counts.items()))}

    def summary(self) -> str:
        parts = [f"{count} {name.replace('_', ' ')}" for name, count in sorted(self.counts.items()) if count]
        state = "done" if self.finished else "stopped"
        return f"{self.kind} sync {state}: {self.seen} Chromebooks read in {self.pages} pages" + (
            f" ({', '.join(parts)})" if parts else "")


Checkpoint = Callable[[], None]
Progress = Callable[[SyncReport], None]


def sync(
    session: Session,
    principal: Principal,
    *,
    full: bool = False,
    checkpoint: Checkpoint | None = None,
    progress: Progress | None = None,
    organisation: str | None = None,
    max_pages: int | None = None,
) -> SyncReport:
    """Run (or resume) a sync; ``checkpoint`` commits after each page. Raises after recording
    Google's failure; the next call resumes where it stopped."""
    require_central(principal, Permission.COMMAND)
    organisation_id = schools.organisation_for(session, organisation).id
    connection = require_connection(session, organisation_id)
    commit = checkpoint or session.flush
    report = _start(connection, full)
    commit()
    client = client_for(session, connection)
    index = OuIndex(units(session, organisation_id))
    school_ids = list(session.scalars(select(School.id).where(School.organisation_id == organisation_id)))
    restarted = False
    while max_pages is None or report.pages < max_pages:
        try:
            page = client.device_page(page_token=connection.sync_cursor, query=connection.sync_query,
                                      max_results=PAGE_SIZE, with_recent_users=connection.store_recent_users)
        except errors.InvalidArgument as error:
            if connection.sync_cursor and not restarted:  # Google no longer knows the page token: start the run again
                restarted = True
                connection.sync_cursor, connection.sync_pages, connection.sync_seen = None, 0, 0
                report.counts["restarted"] += 1
                continue
            raise _failed(session, connection, report, error, commit) from None
        except errors.GoogleError as error:
            raise _failed(session, connection, report, error, commit) from None
        _apply(session, connection, index, page.devices, report)
        report.counts["unreadable"] += page.unreadable
        report.pages += 1
        report.seen += len(page.devices)
        connection.sync_pages += 1
        connection.sync_seen += len(page.devices)
        connection.sync_cursor = page.next_page_token
        if page.next_page_token is None:
            _finish(session, principal, connection, report, school_ids)
        commit()
        if progress:
            progress(report)
        if report.finished:
            break
    return report


def _start(connection: GoogleConnection, full: bool) -> SyncReport:
    if connection.sync_run is not None:
        return SyncReport(kind=connection.sync_kind or FULL, resumed=True)
    now = utcnow()
    due_full = connection.last_full_sync_at is None or now - connection.last_full_sync_at >= FULL_EVERY
    kind = FULL if full or connection.sync_requested_full or due_full or connection.last_sync_at is None else INCREMENTAL
    connection.sync_run = str(uuid.uuid4())
    connection.sync_kind = kind
    connection.sync_query = None if kind == FULL else f"sync:{(connection.last_sync_at - OVERLAP).date().isoformat()}.."
    connection.sync_cursor = None
    connection.sync_started_at = now
    connection.sync_pages = connection.sync_seen = 0
    connection.sync_requested_at, connection.sync_requested_full = None, False
    return SyncReport(kind=kind)


def _failed(session: Session, connection: GoogleConnection, report: SyncReport, error: errors.GoogleError,
            commit: Checkpoint) -> Exception:
    """Keep the cursor and say what went wrong; the error to raise."""
    connection.last_sync_error = f"{utcnow():%Y-%m-%d %H:%M} UTC, page {connection.sync_pages + 1}: {error.message}"[:2000]
    audit.record(session, "system:google", "google.sync", outcome=audit.FAILURE, target=("google_connection", connection.customer_id),
                 details={**report.as_dict(), "error": error.message[:500], "resumes_at_page": connection.sync_pages + 1})
    commit()
    return refused(error, f"the Chromebook sync stopped at page {connection.sync_pages + 1} (it resumes there next time)")


def _state(device: ChromeDevice) -> str:
    return EnrollmentState.UNENROLLED if device.status in _GONE_STATUSES else EnrollmentState.ENROLLED


def _apply(session: Session, connection: GoogleConnection, index: OuIndex, devices: list[ChromeDevice], report: SyncReport) -> None:
    if not devices:
        return
    now = utcnow()
    by_id = {device.device_id: device for device in devices}
    known = {row.google_device_id: row for row in session.scalars(select(Device).where(Device.google_device_id.in_(list(by_id))))}
    inventories = {row.device_id: row for row in session.scalars(
        select(Chromebook).where(id_in(session, Chromebook.device_id, [row.id for row in known.values()])))} if known else {}
    new_devices: list[dict[str, Any]] = []
    for google_id, item in by_id.items():
        place = index.place(item.org_unit_path)
        row = known.get(google_id)
        if row is None:
            if place is None:
                report.counts["outside_the_schools"] += 1
                continue
            new_devices.append(_new_device(item, place, now))
            continue
        moved = _update_device(session, row, item, place, index, report)
        inventory = inventories.get(row.id)
        if inventory is None:
            inventory = Chromebook(device_id=row.id, school_id=row.school_id, synced_at=now)
            session.add(inventory)
        _fill(inventory, item, connection, now)
        inventory.school_id = row.school_id
        inventory.note = OUTSIDE_NOTE if place is None else None
        if inventory.missing_since is not None:
            inventory.missing_since = None
            report.counts["back_in_google"] += 1
        report.counts["moved" if moved else "updated"] += 1
    if new_devices:
        created = session.execute(insert(Device).returning(Device.id, Device.google_device_id, Device.school_id), new_devices).all()
        for device_id, google_id, school_id in created:
            inventory = Chromebook(device_id=device_id, school_id=school_id, synced_at=now)
            _fill(inventory, by_id[google_id], connection, now)
            session.add(inventory)
        report.counts["added"] += len(created)
        for school_id, count in Counter(row.school_id for row in created).items():
            audit.record(session, "system:google", "device.add", school_id=school_id, target=("google_sync", connection.sync_run),
                         details={"platform": Platform.CHROMEOS, "devices": count})
    session.flush()


def _new_device(item: ChromeDevice, place: Place, now: dt.datetime) -> dict[str, Any]:
    state = _state(item)
    return {
        "school_id": place.school_id, "group_id": place.group_id, "platform": Platform.CHROMEOS,
        "google_device_id": item.device_id, "serial_number": item.serial_number, "name": item.annotated_asset_id,
        "model": item.model, "os_version": item.os_version, "enrollment_state": state,
        "enrolled_at": now if state == EnrollmentState.ENROLLED else None, "last_seen_at": item.last_sync,
    }


def _update_device(session: Session, row: Device, item: ChromeDevice, place: Place | None, index: OuIndex,
                   report: SyncReport) -> bool:
    """Refresh a known device; move it when Google has it under another school's or group's unit."""
    row.serial_number, row.model, row.os_version = item.serial_number, item.model, item.os_version
    row.name = item.annotated_asset_id
    row.last_seen_at = item.last_sync
    row.enrollment_state = _state(item)
    if place is None:
        report.counts["outside_the_schools"] += 1
        return False
    if place.group_unit:
        group_id = place.group_id
    elif place.school_id != row.school_id or row.group_id in index.group_units:
        group_id = None  # another school, or it left its group's unit in Google
    else:
        group_id = row.group_id  # a group Flokk keeps without a unit of its own
    if (place.school_id, group_id) == (row.school_id, row.group_id):
        return False
    audit.record(session, "system:google", "device.move", school_id=place.school_id, target=row,
                 details={"from_school_id": row.school_id, "from_group_id": row.group_id, "to_group_id": group_id,
                          "why": "moved in Google's Admin console", "ou_path": item.org_unit_path})
    row.school_id, row.group_id = place.school_id, group_id
    return True


def _fill(inventory: Chromebook, item: ChromeDevice, connection: GoogleConnection, now: dt.datetime) -> None:
    inventory.org_unit_path, inventory.org_unit_id = item.org_unit_path, item.org_unit_id
    inventory.status, inventory.last_sync = item.status, item.last_sync
    inventory.auto_update_expiration = item.auto_update_expiration
    inventory.annotated_asset_id, inventory.annotated_location = item.annotated_asset_id, item.annotated_location
    inventory.annotated_user, inventory.deprovision_reason = item.annotated_user, item.deprovision_reason
    inventory.recent_users = list(item.recent_users) if connection.store_recent_users and item.recent_users is not None else None
    inventory.seen_run, inventory.synced_at = connection.sync_run, now


def _finish(session: Session, principal: Principal, connection: GoogleConnection, report: SyncReport,
            school_ids: list[int]) -> None:
    now = utcnow()
    if connection.sync_kind == FULL and school_ids:
        gone = list(session.scalars(
            select(Chromebook.device_id).where(id_in(session, Chromebook.school_id, school_ids), Chromebook.missing_since.is_(None),
                                               (Chromebook.seen_run != connection.sync_run) | Chromebook.seen_run.is_(None))))
        if gone:
            session.execute(update(Chromebook).where(id_in(session, Chromebook.device_id, gone)).values(missing_since=now, note=GONE_NOTE))
            session.execute(update(Device).where(id_in(session, Device.id, gone)).values(enrollment_state=EnrollmentState.UNENROLLED))
        report.counts["gone_from_google"] += len(gone)
        connection.last_full_sync_at = connection.sync_started_at
    connection.last_sync_at = connection.sync_started_at
    report.finished = True
    connection.last_sync_result = {**report.as_dict(), "started_at": connection.sync_started_at.isoformat(),
                                   "finished_at": now.isoformat()}
    connection.last_sync_error = None
    connection.sync_run = connection.sync_cursor = connection.sync_query = None
    audit.record(session, principal, "google.sync", target=("google_connection", connection.customer_id),
                 details=connection.last_sync_result)


def sync_due(connection: GoogleConnection, every: dt.timedelta) -> bool:
    """Whether the scheduler should sync now: asked for, interrupted, or ``every`` since the last one."""
    if connection.sync_requested_at is not None or connection.sync_run is not None:
        return True
    return connection.last_sync_at is None or utcnow() - connection.last_sync_at >= every
