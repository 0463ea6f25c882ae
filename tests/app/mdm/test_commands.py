"""The command channel over HTTP: delivery, answers, NotNow, repeats, expiry and inventory."""

from __future__ import annotations

import datetime as dt
import plistlib

from sqlalchemy import select, update
from sqlalchemy.orm import undefer

from app.models import Command, Device, InstalledProfile
from app.models.base import utcnow
from app.services.access import cli_principal
from app.services.mdm import commands as queue
from tests.mdm_protocol.conftest import fixture_bytes

CMDMNT = "cmdmnt+commandment/testdata/"
ANSWERS = {
    "DeviceInformation": CMDMNT + "DeviceInformation/iOS-11.3.1.xml",
    "SecurityInfo": CMDMNT + "SecurityInfo/iOS-11.3.1.xml",
    "ProfileList": CMDMNT + "ProfileList/iOS-11.3.1.xml",
    "InstalledApplicationList": CMDMNT + "InstalledApplicationList/iOS-12.1.xml",
}


def answer_for(ipad, command_uuid, request_type):
    message = plistlib.loads(fixture_bytes(ANSWERS[request_type]))
    message.update(CommandUUID=command_uuid, UDID=ipad.udid)
    return plistlib.dumps(message)


def rows(db, udid):
    with db.session() as session:
        device_id = session.scalar(select(Device.id).where(Device.udid == udid))
        return session.scalars(select(Command).where(Command.device_id == device_id).order_by(Command.id)).all()


def device_of(db, udid):
    with db.session() as session:
        return session.scalar(select(Device).options(undefer(Device.inventory)).where(Device.udid == udid))


def test_initial_inventory_round_trip_fills_the_device_record(db, enrolled, transport):
    answer = enrolled.idle(transport)
    delivered = []
    while answer.command:
        assert answer.status == 200
        delivered.append(answer.request_type)
        answer = enrolled.send(transport, answer_for(enrolled, answer.command_uuid, answer.request_type))
    assert answer.status == 200
    assert delivered == list(ANSWERS)
    device = device_of(db, enrolled.udid)
    assert (device.serial_number, device.model, device.os_version, device.name) == ("C00000000004", "iPad4,1", "11.3.1", "iPad")
    assert set(device.inventory) == {"device_information", "security_info", "profiles", "applications"}
    assert len(device.inventory["applications"]) == 12
    with db.session() as session:
        profiles = session.scalars(select(InstalledProfile)).all()
        expected = plistlib.loads(fixture_bytes(ANSWERS["ProfileList"]))["ProfileList"][0]
        assert [(p.identifier, p.uuid, p.school_id) for p in profiles] == [
            (expected["PayloadIdentifier"], expected["PayloadUUID"], device.school_id)]
    statuses = [(row.status, row.delivery_count) for row in rows(db, enrolled.udid)]
    assert statuses == [("acknowledged", 1)] * 4
    assert all(row.result and row.completed_at for row in rows(db, enrolled.udid))


def test_not_now_is_offered_again_on_the_next_connection_only(db, enrolled, transport):
    first = enrolled.idle(transport)
    second = enrolled.report(transport, "NotNow", first.command_uuid)
    assert second.command_uuid not in (None, first.command_uuid)  # the queue moves on
    answer = enrolled.report(transport, "Acknowledged", second.command_uuid)
    seen = [second.command_uuid]
    while answer.command:
        assert answer.command_uuid != first.command_uuid
        seen.append(answer.command_uuid)
        answer = enrolled.report(transport, "Acknowledged", answer.command_uuid)
    assert len(seen) == 3
    by_uuid = {row.uuid: row for row in rows(db, enrolled.udid)}
    assert (by_uuid[first.command_uuid].status, by_uuid[first.command_uuid].not_now_count) == ("not_now", 1)
    again = enrolled.idle(transport)  # next connection
    assert again.command_uuid == first.command_uuid and again.body == first.body
    assert enrolled.report(transport, "Acknowledged", first.command_uuid).body == b""
    assert {row.status for row in rows(db, enrolled.udid)} == {"acknowledged"}


def test_repeated_report_is_idempotent(db, enrolled, transport):
    first = enrolled.idle(transport)
    body = answer_for(enrolled, first.command_uuid, "DeviceInformation")
    enrolled.send(transport, body)
    before = rows(db, enrolled.udid)[0]
    changed = plistlib.loads(body)
    changed["QueryResponses"]["OSVersion"] = "99.9"
    again = enrolled.send(transport, plistlib.dumps(changed))
    assert again.status == 200 and again.request_type == "ProfileList"  # SecurityInfo went out before; next one
    contradiction = enrolled.report(transport, "Error", first.command_uuid, ErrorChain=[{"ErrorCode": 1}])
    assert contradiction.status == 200
    after = rows(db, enrolled.udid)[0]
    assert (after.status, after.result, after.completed_at, after.error_chain) == (
        before.status, before.result, before.completed_at, None)
    assert device_of(db, enrolled.udid).os_version == "11.3.1"


def test_unknown_command_uuid_is_logged_and_answered_with_the_next_command(db, enrolled, transport, caplog):
    answer = enrolled.report(transport, "Acknowledged", "00000000-0000-0000-0000-000000000000")
    assert answer.status == 200 and answer.request_type == "DeviceInformation"
    assert "unknown command 00000000-0000-0000-0000-000000000000" in caplog.text


def test_another_devices_command_uuid_is_unknown_here(db, enrolled, new_ipad, transport):
    other = new_ipad()
    other.enrol(transport)
    theirs = other.idle(transport)
    assert enrolled.report(transport, "Acknowledged", theirs.command_uuid).status == 200
    assert rows(db, other.udid)[0].status == "sent"  # untouched by the wrong device


def test_error_and_command_format_error_store_the_error_chain(db, enrolled, transport):
    first = enrolled.idle(transport)
    error = plistlib.loads(fixture_bytes(CMDMNT + "Errors/iOS-11.3.1-RemoveProfile-Unmanaged.xml"))
    error.update(CommandUUID=first.command_uuid, UDID=enrolled.udid)
    second = enrolled.send(transport, plistlib.dumps(error))
    enrolled.report(transport, "CommandFormatError", second.command_uuid)
    stored = rows(db, enrolled.udid)
    assert stored[0].status == "error" and stored[0].error_chain[0]["ErrorCode"] == 12013
    assert stored[1].status == "error" and stored[1].error_chain == []


def test_expired_commands_are_not_delivered(db, enrolled, transport):
    with db.unit_of_work() as session:
        session.execute(update(Command).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
    assert enrolled.idle(transport).body == b""
    from app.services.mdm import jobs as mdm_jobs

    with db.unit_of_work() as session:
        assert mdm_jobs.expire_commands(session) == 4
    assert {row.status for row in rows(db, enrolled.udid)} == {"expired"}


def test_a_late_answer_to_an_expired_command_is_still_recorded(db, enrolled, transport):
    first = enrolled.idle(transport)
    with db.unit_of_work() as session:
        session.execute(update(Command).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
        from app.services.mdm import jobs as mdm_jobs

        mdm_jobs.expire_commands(session)
    enrolled.send(transport, answer_for(enrolled, first.command_uuid, "DeviceInformation"))
    assert rows(db, enrolled.udid)[0].status == "acknowledged"
    assert rows(db, enrolled.udid)[1].status == "expired"  # never sent: stays expired


def test_finished_commands_are_purged_after_the_retention_period_and_open_ones_kept(db, enrolled, transport):
    from app.models import AuditEvent
    from app.services.mdm import jobs as mdm_jobs

    answer = enrolled.idle(transport)
    while answer.command:
        answer = enrolled.send(transport, answer_for(enrolled, answer.command_uuid, answer.request_type))
    long_ago, lately = utcnow() - dt.timedelta(days=100), utcnow() - dt.timedelta(days=10)
    with db.unit_of_work() as session:
        device = session.scalar(select(Device).where(Device.udid == enrolled.udid))
        queue.enqueue(session, cli_principal(), [device.id], "SecurityInfo")
        done = session.scalars(select(Command).where(Command.status == "acknowledged").order_by(Command.id)).all()
        for command, completed in zip(done, (long_ago, long_ago, lately, lately)):
            command.completed_at = completed
        session.execute(update(Command).where(Command.status == "queued").values(created_at=long_ago))
    with db.unit_of_work() as session:
        assert mdm_jobs.purge_finished_commands(session) == 2
    left = rows(db, enrolled.udid)
    assert [(row.request_type, row.status) for row in left] == [
        ("ProfileList", "acknowledged"), ("InstalledApplicationList", "acknowledged"), ("SecurityInfo", "queued")]
    assert device_of(db, enrolled.udid).inventory["device_information"]["SerialNumber"] == "C00000000004"
    with db.session() as session:
        purge = session.scalar(select(AuditEvent).where(AuditEvent.action == "command.purge"))
        assert purge.details["deleted"] == 2
    with db.unit_of_work() as session:
        assert mdm_jobs.purge_finished_commands(session) == 0


def test_a_lost_answer_is_redelivered_on_a_later_connection(db, enrolled, transport):
    first = enrolled.idle(transport)
    assert enrolled.idle(transport).command_uuid != first.command_uuid  # recently sent: not again
    with db.unit_of_work() as session:
        session.execute(update(Command).where(Command.uuid == first.command_uuid)
                        .values(sent_at=utcnow() - dt.timedelta(hours=1)))
    assert enrolled.idle(transport).command_uuid == first.command_uuid
    assert rows(db, enrolled.udid)[0].delivery_count == 2


def test_clear_passcode_carries_the_unlock_token_only_on_the_wire(db, enrolled, transport):
    with db.unit_of_work() as session:
        device_id = session.scalar(select(Device.id).where(Device.udid == enrolled.udid))
        session.execute(update(Command).values(status="acknowledged"))
        queue.enqueue(session, cli_principal(), [device_id], "ClearPasscode")
    (stored,) = [row for row in rows(db, enrolled.udid) if row.request_type == "ClearPasscode"]
    assert b"UnlockToken" not in stored.body
    delivered = enrolled.idle(transport).command
    assert delivered["Command"] == {"RequestType": "ClearPasscode", "UnlockToken": enrolled.unlock_token}
