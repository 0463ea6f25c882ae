"""Chromebook commands: one history with the iPads, Google's states mapped, destructive ones through approval."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from app.db import commit
from app.errors import InvalidInput
from app.models.commands import Command
from app.models.devices import Device
from app.models.google import Chromebook
from app.services.access import Grant, Principal, Role, approvals
from app.services.google import commands, inventory, jobs, moves


@pytest.fixture
def synced(db, domain, principal):
    with db.unit_of_work() as session:
        inventory.sync(session, principal, checkpoint=lambda: commit(session))
    with db.session() as session:
        return {row.serial_number: row.id for row in session.scalars(select(Device).order_by(Device.serial_number))}


def _command(db, device_id: int) -> Command:
    with db.session() as session:
        return session.scalars(select(Command).where(Command.device_id == device_id).order_by(Command.id.desc())).first()


def _second_admin() -> Principal:
    return Principal("admin", 77, "admin:kari@bergvik.no", (Grant(Role.CENTRAL_ADMIN, None),))


def test_a_reboot_is_issued_followed_and_its_result_recorded(db, domain, principal, synced):
    device_id = synced["NO00000004"] if "NO00000004" in synced else next(iter(synced.values()))
    with db.unit_of_work() as session:
        submitted = approvals.submit(session, principal, [device_id], "REBOOT", {"user_session_delay_seconds": 60})
    assert submitted.approval is None
    command = _command(db, device_id)
    assert (command.request_type, command.status) == ("REBOOT", "sent")
    (issued,) = domain.google.calls(r":issueCommand$")
    assert issued.body == {"commandType": "REBOOT", "payload": json.dumps({"user_session_delay_seconds": 60})}
    domain.google.complete_commands()
    with db.unit_of_work() as session:
        from app.models.base import utcnow
        from app.models.google import ChromebookCommand

        session.get(ChromebookCommand, command.id).next_poll_at = utcnow()
    with db.unit_of_work() as session:
        assert commands.poll(session)["acknowledged"] == 1
    command = _command(db, device_id)
    assert command.status == "acknowledged" and command.completed_at is not None
    assert commands.result_of(command)["commandResult"]["result"] == "SUCCESS"


def test_powerwash_wipe_users_and_deprovision_wait_for_approval(db, domain, principal, synced):
    device_id = next(iter(synced.values()))
    ict = Principal("admin", 5, "admin:ikt", (Grant(Role.SCHOOL_ICT, _school_of(db, device_id)),))
    for request_type, params in (("REMOTE_POWERWASH", {}), ("WIPE_USERS", {}), ("DEPROVISION", {"reason": "retiring_device"})):
        with db.unit_of_work() as session:
            submitted = approvals.submit(session, ict, [device_id], request_type, params, reason="stolen from room 204")
        assert submitted.approval is not None and submitted.queued is None
    assert domain.google.calls(r":issueCommand$|:batchChangeStatus$") == []  # nothing reached Google
    with db.unit_of_work() as session:
        approvals.approve(session, _second_admin(), submitted.approval.id)
    (call,) = domain.google.calls(r":batchChangeStatus$")
    assert call.body["changeChromeOsDeviceStatusAction"] == "CHANGE_CHROME_OS_DEVICE_STATUS_ACTION_DEPROVISION"
    assert call.body["deprovisionReason"] == "DEPROVISION_REASON_RETIRING_DEVICE"
    assert _command(db, device_id).status == "acknowledged"
    with db.session() as session:
        assert session.get(Device, device_id).enrollment_state == "unenrolled"
        assert session.get(Chromebook, device_id).status == "DEPROVISIONED"


def test_status_changes_go_fifty_at_a_time(db, domain, principal, synced):
    domain.google.add_devices(61, "/Skoler/Nordby")
    with db.unit_of_work() as session:
        inventory.sync(session, principal, full=True, checkpoint=lambda: commit(session))
        ids = list(session.scalars(select(Device.id).where(Device.platform == "chromeos")))
    with db.unit_of_work() as session:
        approvals.submit(session, principal, ids, "DISABLE", reason="term is over")  # 70 devices: bulk approval
    with db.unit_of_work() as session:
        request = approvals.list_requests(session, principal, status="pending")[0]
        approvals.approve(session, _second_admin(), request.id)
    assert [len(call.body["deviceIds"]) for call in domain.google.calls(r":batchChangeStatus$")] == [50]
    with db.session() as session:  # a request sends 50 itself; the scheduler sends the rest
        assert session.scalar(select(func.count()).select_from(Command).where(Command.status == "queued")) == 20
    with db.unit_of_work() as session:
        jobs.follow_commands(session)
    calls = domain.google.calls(r":batchChangeStatus$")
    assert [len(call.body["deviceIds"]) for call in calls] == [50, 20]
    assert all(device["status"] == "DISABLED" for device in domain.google.devices.values())


def test_bad_parameters_and_wrong_devices_are_refused_before_google(db, domain, principal, synced):
    device_id = next(iter(synced.values()))
    for request_type, params, message in (
        ("SET_VOLUME", {"volume": 101}, "between 0 and 100"),
        ("SET_VOLUME", {}, "needs volume"),
        ("REBOOT", {"delay": 5}, "takes no parameter"),
        ("DEPROVISION", {"reason": "because"}, "must be one of"),
    ):
        with pytest.raises(InvalidInput, match=message):
            with db.unit_of_work() as session:
                approvals.submit(session, principal, [device_id], request_type, params, reason="a reason here")
    with db.unit_of_work() as session:
        from tests.support import factories

        ipad = factories.device(session, session.get(Device, device_id).school).id
    with pytest.raises(InvalidInput, match="not a Chromebook"):
        with db.unit_of_work() as session:
            approvals.submit(session, principal, [ipad], "REBOOT")
    assert domain.google.calls(r":issueCommand$") == []


def test_a_chromebook_google_does_not_know_fails_clearly(db, domain, principal, synced):
    device_id = next(iter(synced.values()))
    with db.session() as session:
        google_id = session.get(Device, device_id).google_device_id
    del domain.google.devices[google_id]
    with db.unit_of_work() as session:
        approvals.submit(session, principal, [device_id], "REBOOT")
    command = _command(db, device_id)
    assert command.status == "error" and "Google does not know this Chromebook" in command.error_chain[0]["LocalizedDescription"]
    with pytest.raises(InvalidInput, match="Google refused to move"):
        with db.unit_of_work() as session:
            moves.move_to_school(session, principal, device_id, "vestby")
    with db.session() as session:  # nothing half-applied: still at its school
        assert session.get(Device, device_id).school_id == _school_of(db, device_id)


def test_moving_a_chromebook_moves_it_in_google(db, domain, principal, synced):
    device_id = next(iter(synced.values()))
    with db.unit_of_work() as session:
        moved = moves.move_to_school(session, principal, device_id, "vestby")
        google_id = moved.google_device_id
    assert domain.google.devices[google_id]["orgUnitPath"] == "/Skoler/Vestby"
    assert _school_of(db, device_id) == domain.schools["vestby"].id


def _school_of(db, device_id: int) -> int:
    with db.session() as session:
        return session.get(Device, device_id).school_id
