"""Inventory sync: paging, schools from units, moves made in Google, gone devices, resuming after a failure."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.db import commit
from app.errors import FlokkError
from app.models.audit import AuditEvent
from app.models.devices import Device, EnrollmentState
from app.models.google import Chromebook, GoogleConnection
from app.services.google import inventory


def _devices(db) -> dict[str, tuple[str, int, str]]:
    with db.session() as session:
        rows = session.execute(select(Device.google_device_id, Device.school_id, Device.enrollment_state, Device.serial_number)
                               .where(Device.platform == "chromeos")).all()
    return {row.google_device_id: (row.serial_number, row.school_id, row.enrollment_state) for row in rows}


def _sync(db, principal, **options):
    with db.unit_of_work() as session:
        return inventory.sync(session, principal, checkpoint=lambda: commit(session), **options)


def test_every_chromebook_lands_in_its_schools_device_list(db, domain, principal):
    report = _sync(db, principal)
    assert report.finished and report.kind == "full" and report.counts["added"] == 9
    found = _devices(db)
    assert set(found) == set(domain.google.devices)
    by_school = {code: sum(1 for _, school_id, _ in found.values() if school_id == school.id) for code, school in domain.schools.items()}
    assert by_school == {"nordby": 4, "sorby": 3, "vestby": 2}
    with db.session() as session:
        device = session.scalar(select(Device).where(Device.serial_number.like("NO%")).limit(1))
        inventory_row = session.get(Chromebook, device.id)
        source = domain.google.devices[device.google_device_id]
        assert (device.model, device.os_version, device.platform) == (source["model"], source["osVersion"], "chromeos")
        assert inventory_row.org_unit_path == "/Skoler/Nordby" and inventory_row.status == "ACTIVE"
        assert str(inventory_row.auto_update_expiration) == "2031-06-30"
        assert inventory_row.annotated_asset_id == source["annotatedAssetId"]
        assert inventory_row.recent_users is None  # privacy: only when central IT enables it


def test_pages_are_what_google_allows(db, domain, principal):
    domain.google.add_devices(450, "/Skoler/Nordby")
    before = len(domain.google.calls(r"/devices/chromeos$"))  # the connection test listed one
    report = _sync(db, principal)
    lists = domain.google.calls(r"/devices/chromeos$")[before:]
    assert report.seen == 459 and len(lists) == report.pages == 3
    assert {item.query["maxResults"][0] for item in lists} == {"200"}
    assert "recentUsers" not in lists[0].query["fields"][0]
    assert len(_devices(db)) == 459


def test_recent_users_only_when_enabled(db, domain, principal):
    with db.unit_of_work() as session:
        session.scalar(select(GoogleConnection)).store_recent_users = True
    _sync(db, principal)
    with db.session() as session:
        users = session.scalars(select(Chromebook.recent_users)).all()
    assert all(found and found[0].endswith("@bergvik.no") for found in users)


def test_a_move_in_googles_console_is_picked_up(db, domain, principal):
    _sync(db, principal)
    moved = next(iter(domain.google.devices))
    domain.google.move_in_console(moved, "/Skoler/Vestby")
    report = _sync(db, principal, full=True)
    assert report.counts["moved"] == 1
    assert _devices(db)[moved][1] == domain.schools["vestby"].id
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "device.move")) == 1


def test_devices_gone_from_google_are_marked_not_deleted(db, domain, principal):
    _sync(db, principal)
    gone = next(iter(domain.google.devices))
    del domain.google.devices[gone]
    report = _sync(db, principal, full=True)
    assert report.counts["gone_from_google"] == 1
    assert _devices(db)[gone][2] == EnrollmentState.UNENROLLED
    with db.session() as session:
        assert session.scalar(select(Chromebook.note).join(Device, Device.id == Chromebook.device_id)
                              .where(Device.google_device_id == gone)) == inventory.GONE_NOTE


def test_devices_outside_the_schools_units_are_not_taken(db, domain, principal):
    domain.google.add_devices(5, "/Ansatte")
    report = _sync(db, principal)
    assert report.counts["outside_the_schools"] == 5 and len(_devices(db)) == 9


def test_incremental_after_full(db, domain, principal):
    _sync(db, principal)
    report = _sync(db, principal)
    assert report.kind == "incremental"
    assert domain.google.calls(r"/devices/chromeos$")[-1].query["query"][0].startswith("sync:")


def test_transient_500_is_retried_within_the_page(db, domain, principal, quick_retries):
    domain.google.fail(r"/devices/chromeos$", 500, times=2)
    report = _sync(db, principal)
    assert report.finished and len(_devices(db)) == 9
    assert len(quick_retries) == 2


def test_a_500_in_the_middle_resumes_without_duplicates_or_losses(db, domain, principal):
    domain.google.add_devices(991, "/Skoler/Sorby")  # 1,000 Chromebooks: five pages
    domain.google.fail(r"/devices/chromeos$", 500, times=4, after=2)  # page 3 fails past all four tries
    with pytest.raises(FlokkError, match="stopped at page 3"):
        _sync(db, principal)
    assert len(_devices(db)) == 400  # the two committed pages
    with db.session() as session:
        connection = session.scalar(select(GoogleConnection))
        assert connection.sync_cursor and connection.sync_pages == 2 and "page 3" in connection.last_sync_error
    report = _sync(db, principal)
    assert report.resumed and report.finished and report.pages == 3
    found = _devices(db)
    assert len(found) == 1000 and set(found) == set(domain.google.devices)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Chromebook)) == 1000
        assert session.scalar(select(GoogleConnection.sync_cursor)) is None
