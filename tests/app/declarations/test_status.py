"""The status channel: reports merged into what Flokk knows, and the daily inventory cut to what DDM does not report."""

from __future__ import annotations

import plistlib

from sqlalchemy import select

from app.models import Command, Device
from app.models.declarations import DeclarationReport, DeclarativeDevice
from app.services import policy
from app.services.mdm import jobs
from profiles import Change
from tests.app.declarations.conftest import serve


def device_row(db, ipad):
    with db.session() as session:
        device = session.scalar(select(Device).where(Device.udid == ipad.udid))
        row = session.get(DeclarativeDevice, device.id)
        reports = {report.identifier: report for report in
                   session.scalars(select(DeclarationReport).where(DeclarationReport.device_id == device.id))}
        session.expunge_all()
        return device, row, reports


def test_a_full_report_fills_the_inventory_and_the_declarations_state(db, principal, world, declarative, transport):
    with db.unit_of_work() as session:
        policy.change(session, principal, "baseline", [Change.set("passcode", "minLength", 6),
                                                        Change.set("restrictions", "allowCamera", False)])
    ipad = declarative(os_version="26.0.1", build="23A355")
    (legacy,) = [identifier for identifier, held in ipad.held.items() if held.type.endswith(".legacy")]
    ipad.failures[legacy] = ("Error.ConfigurationCannotBeApplied", "Configuration cannot be applied",
                             {"Error": "Profile Installation Failed"})
    document = ipad.status_document({"passcode.is-compliant": False, "passcode.is-present": True,
                                     "device.power.battery-health": "unsupported"}, full=True)
    assert ipad.report_status(transport, document).status == 200
    device, row, reports = device_row(db, ipad)
    assert (device.os_version, device.model, device.serial_number) == ("26.0.1", ipad.product, ipad.serial)
    assert row.status_items["passcode.is-compliant"] is False
    assert row.status_items["device.power.battery-health"] == "unsupported"
    assert row.status_items["device.operating-system.build-version"] == "23A355"
    assert "management.client-capabilities" not in row.status_items  # Apple's schema says it for the OS version
    assert set(reports) == set(ipad.held)
    assert reports[legacy].valid == "invalid" and reports[legacy].reasons[0]["details"] == {"Error": "Profile Installation Failed"}
    assert all(report.valid == "valid" for identifier, report in reports.items() if identifier != legacy)

    # An incremental report changes only what it names; a later full report drops what is gone.
    ipad.failures.clear()
    incremental = {"StatusItems": {"passcode": {"is-compliant": True}}, "Errors": []}
    assert ipad.report_status(transport, incremental).status == 200
    _, row, reports = device_row(db, ipad)
    assert row.status_items["passcode.is-compliant"] is True and reports[legacy].valid == "invalid"
    del ipad.held[legacy]
    assert ipad.report_status(transport, ipad.status_document(full=True)).status == 200
    _, _, reports = device_row(db, ipad)
    assert legacy not in reports


def test_a_new_os_reported_by_status_can_bring_new_declarations(db, principal, world, declarative, transport):
    with db.unit_of_work() as session:
        policy.change(session, principal, "baseline", [
            Change.set("osupdate", "TargetOSVersion", "26.1"), Change.set("osupdate", "TargetLocalDateTime", "2030-10-16 16:00")])
    ipad = declarative(os_version="16.6", build="20G75")
    assert ipad.of_type("com.apple.configuration.softwareupdate.enforcement.specific") is None  # iPadOS 17 and later
    assert ipad.installed(transport, "17.6", "21G80").status == 200
    assert serve(ipad, transport) == ["DeclarativeManagement"]
    assert ipad.of_type("com.apple.configuration.softwareupdate.enforcement.specific").payload["TargetOSVersion"] == "26.1"


def test_the_daily_inventory_asks_a_reporting_ipad_only_what_it_does_not_report(db, world, declarative, new_ipad,
                                                                                 transport):
    reporting = declarative()
    assert reporting.report_status(transport).status == 200
    plain = new_ipad()
    assert plain.enrol(transport).status == 200
    serve(plain, transport)
    with db.unit_of_work() as session:
        session.execute(Command.__table__.delete())  # yesterday's inventory is long done
    with db.unit_of_work() as session:
        assert jobs.refresh_inventory(session) == 2
    with db.session() as session:
        queued = {}
        for row in session.scalars(select(Command).order_by(Command.id)):
            queued.setdefault(row.device.udid, []).append(row)
    assert [row.request_type for row in queued[plain.udid]] == [
        "DeviceInformation", "SecurityInfo", "ProfileList", "InstalledApplicationList"]
    assert [row.request_type for row in queued[reporting.udid]] == [
        "DeviceInformation", "ProfileList", "InstalledApplicationList"]
    queries = plistlib.loads(queued[reporting.udid][0].body)["Command"]["Queries"]
    assert "DeviceCapacity" in queries and "BatteryLevel" in queries
    assert not {"OSVersion", "BuildVersion", "SerialNumber", "ProductName", "UDID"} & set(queries)
