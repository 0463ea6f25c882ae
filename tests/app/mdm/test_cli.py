"""`flokk device ...` and `flokk command ...` against a database with enrolled iPads."""

from __future__ import annotations

import json
import plistlib

from sqlalchemy import select

from app.models import Command, Device
from tests.app.mdm.test_commands import ANSWERS, answer_for


def answer_everything(ipad, transport):
    answer = ipad.idle(transport)
    while answer.command:
        request_type = answer.request_type
        if request_type in ANSWERS:
            answer = ipad.send(transport, answer_for(ipad, answer.command_uuid, request_type))
        else:
            answer = ipad.report(transport, "Acknowledged", answer.command_uuid)


def test_device_list_and_show(cli, enrolled, transport, world):
    answer_everything(enrolled, transport)
    listed = cli("device", "list", "--school", "nordby")
    assert listed.exit_code == 0, listed.output
    assert "C00000000004" in listed.output and "iPad4,1" in listed.output and "enrolled" in listed.output
    assert cli("device", "list", "--school", "sorby").output.strip() == "(none)"
    shown = cli("device", "show", "C00000000004")
    assert shown.exit_code == 0, shown.output
    for expected in ("Model:", "iPad4,1", "Os version:", "11.3.1", "Serial:", "C00000000004", "Installed profiles (1)",
                     "Installed apps: 12"):
        assert expected in shown.output
    as_json = json.loads(cli("device", "show", enrolled.udid, "--json").output)
    assert as_json["inventory"]["device_information"]["ModelName"] == "iPad"


def test_unknown_device_is_one_clear_line(cli, world):
    result = cli("device", "show", "NOPE")
    assert result.exit_code == 1 and result.output.strip() == "Error: no device NOPE"


def test_command_send_queues_and_pushes(cli, db, enrolled, transport, fake_apns):
    fake_apns.reset()
    result = cli("command", "send", enrolled.serial, "DeviceLock", "-p", "Message=Lever til IT", "-p", "PhoneNumber=+4712345678")
    assert result.exit_code == 0, result.output
    assert "Queued DeviceLock as" in result.output and "Push: 1 sent." in result.output
    assert fake_apns.wait_for(1) and fake_apns.pushes[0].push_magic == enrolled.push_magic
    with db.session() as session:
        lock = session.scalar(select(Command).where(Command.request_type == "DeviceLock"))
        assert plistlib.loads(lock.body)["Command"] == {
            "RequestType": "DeviceLock", "Message": "Lever til IT", "PhoneNumber": "+4712345678"}
    listed = cli("command", "list", enrolled.udid)
    assert "DeviceLock" in listed.output and "queued" in listed.output


def test_command_send_refuses_a_wrong_parameter_naming_it(cli, db, enrolled):
    result = cli("command", "send", enrolled.udid, "DeviceLock", "-p", "Mesage=x")
    assert result.exit_code == 1
    assert "Mesage" in result.output and "is not a parameter of DeviceLock" in result.output
    result = cli("command", "send", enrolled.udid, "ProfileList", "-p", "ManagedOnly=perhaps")
    assert result.exit_code == 1 and "ManagedOnly" in result.output
    result = cli("command", "send", enrolled.udid, "Teleport")
    assert result.exit_code == 1 and "Teleport" in result.output
    with db.session() as session:
        assert session.scalars(select(Command.request_type).order_by(Command.id)).all() == [
            "DeviceInformation", "SecurityInfo", "ProfileList", "InstalledApplicationList"]


def test_destructive_commands_wait_for_approval(cli, db, enrolled, fake_apns):
    refused = cli("command", "send", enrolled.udid, "EraseDevice")
    assert refused.exit_code == 1 and "needs a reason" in refused.output
    requested = cli("command", "send", enrolled.udid, "EraseDevice", "--reason", "stolen from the classroom")
    assert requested.exit_code == 0, requested.output
    assert "waits for a second central admin's approval (request" in requested.output
    with db.session() as session:
        assert session.scalar(select(Command).where(Command.request_type == "EraseDevice")) is None


def test_an_approved_command_is_pushed_after_commit(db, enrolled, fake_apns):
    from app.services.access import Grant, Principal, Role, approvals, cli_principal
    from app.services.mdm import push

    with db.unit_of_work() as session:
        device_id = session.scalar(select(Device.id))
        request = approvals.submit(session, cli_principal(), [device_id], "EraseDevice", {}, reason="lost on a trip")
        request_id = request.approval.id
    second = Principal("admin", 99, "admin:second@bergvik.no", (Grant(Role.CENTRAL_ADMIN, None),))
    with db.session() as session:
        approvals.approve(session, second, request_id)
        assert push.take_wakes(session) == [device_id]  # the boundary pushes these after its commit
        session.rollback()


def test_command_send_to_a_school(cli, db, new_ipad, transport, fake_apns, world):
    ipads = [new_ipad() for _ in range(3)]
    for ipad in ipads:
        ipad.enrol(transport)
    fake_apns.wait_for(3)
    fake_apns.reset()
    result = cli("command", "send", "school:nordby", "SecurityInfo")
    assert result.exit_code == 0, result.output
    assert "Queued SecurityInfo for 3 devices." in result.output and "3 sent" in result.output
    assert fake_apns.wait_for(3)
    assert {p.push_magic for p in fake_apns.pushes} == {ipad.push_magic for ipad in ipads}


def test_no_push_certificate_still_queues(cli, db, enrolled):
    with db.unit_of_work() as session:
        from app.models.base import utcnow
        from app.models.pki import PushCertificateRecord

        for record in session.scalars(select(PushCertificateRecord)):
            record.replaced_at = utcnow()
    result = cli("command", "send", enrolled.udid, "SecurityInfo")
    assert result.exit_code == 0
    assert "no Apple push certificate has been imported" in result.output and "Not pushed now" in result.output
    with db.session() as session:
        assert session.scalar(select(Device.last_push_at)) is not None  # from the enrolment push only

