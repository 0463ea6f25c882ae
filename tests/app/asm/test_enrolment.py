"""After the profile URL: ADE flags at Authenticate, DeviceConfigured while Setup Assistant waits, the bypass code."""

from __future__ import annotations

import plistlib

import pytest
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.models import Command, Device
from app.models.asm import AsmDevice, AsmToken
from app.models.audit import AuditEvent
from app.models.base import utcnow
from app.services.access import Role, system_principal
from app.services.asm import enrolment
from app.services.mdm import commands as command_queue
from tests.support import people
from tests.support.ipad import FlaskTransport, SimulatedIpad

CODE = "J0KQ-8H7T-2P4X-6WME-3RNV-9YDU"
ENGLISH = {"Accept-Language": "en"}


@pytest.fixture
def transport(client):
    return FlaskTransport(client)


@pytest.fixture
def new_ipad(db, world, flokk_ca):
    """An iPad with an identity for Nordby; ``ade=True``: ASM expects it at Nordby, class 5A, and its
    verified MachineInfo named this UDID (as the profile URL records it)."""

    def make(*, ade: bool) -> SimulatedIpad:
        ipad = SimulatedIpad()
        with db.unit_of_work() as session:
            ipad.issue_identity(session, world.nordby.id, authority=flokk_ca)
            if ade:
                token = AsmToken(consumer_key_hash=ipad.udid[:64], credentials_sealed=b"-", imported_by="test",
                                 imported_at=utcnow(), sync_state="ok")
                session.add(token)
                session.flush()
                session.add(AsmDevice(token_id=token.id, serial_number=ipad.serial, school_id=world.nordby.id,
                                      group_id=world.class_5a.id, enrolling_udid=ipad.udid, first_seen_at=utcnow(),
                                      updated_at=utcnow(), profile_served_at=utcnow()))
        return ipad

    return make


def device(db, udid) -> Device:
    with db.session() as session:
        return session.scalar(select(Device).options(joinedload(Device.group)).where(Device.udid == udid))


def queue(db, udid) -> list[tuple[str, str]]:
    with db.session() as session:
        found = session.scalar(select(Device.id).where(Device.udid == udid))
        return [(row.request_type, row.status) for row in
                session.scalars(select(Command).where(Command.device_id == found).order_by(Command.id))]


def answer_everything(ipad, transport, *, code: str | None = CODE) -> list[str]:
    delivered = []
    answer = ipad.idle(transport)
    while answer.command:
        delivered.append(answer.request_type)
        extra = {"ActivationLockBypassCode": code} if answer.request_type == "ActivationLockBypassCode" and code else {}
        answer = ipad.report(transport, "Acknowledged", answer.command_uuid, **extra)
    return delivered


def test_an_ade_ipad_is_supervised_in_its_class_and_released_from_setup_assistant_last(db, new_ipad, transport, fake_apns):
    ipad = new_ipad(ade=True)
    assert ipad.checkin(transport, ipad.authenticate_message()).status == 200
    assert ipad.checkin(transport, {**ipad.token_update_message(), "AwaitingConfiguration": True}).status == 200
    found = device(db, ipad.udid)
    assert found.ade_enrolled and found.supervised and found.awaiting_configuration and found.group.name == "5A"
    kinds = [kind for kind, _ in queue(db, ipad.udid)]
    assert kinds[-2:] == ["ActivationLockBypassCode", "DeviceConfigured"]
    assert answer_everything(ipad, transport)[-1] == "DeviceConfigured"
    found = device(db, ipad.udid)
    assert not found.awaiting_configuration and found.bypass_code_escrowed_at is not None
    with db.session() as session:
        actions = set(session.scalars(select(AuditEvent.action)))
    assert {"device.bypass_code_escrow", "device.configured"} <= actions


def test_an_ipad_still_waiting_later_is_told_again_once(db, new_ipad, transport, fake_apns):
    ipad = new_ipad(ade=True)
    ipad.checkin(transport, ipad.authenticate_message())
    waiting = {**ipad.token_update_message(), "AwaitingConfiguration": True}
    ipad.checkin(transport, waiting)
    with db.unit_of_work() as session:  # the first DeviceConfigured expired unanswered
        session.execute(Command.__table__.update().where(Command.request_type == "DeviceConfigured").values(status="expired"))
    ipad.checkin(transport, waiting)
    ipad.checkin(transport, waiting)
    assert queue(db, ipad.udid).count(("DeviceConfigured", "queued")) == 1


def test_a_web_enrolled_ipad_gets_no_device_configured_but_its_code_once_it_reports_supervision(db, new_ipad, transport, fake_apns):
    ipad = new_ipad(ade=False)
    ipad.checkin(transport, ipad.authenticate_message())
    ipad.checkin(transport, {**ipad.token_update_message(), "AwaitingConfiguration": True})
    found = device(db, ipad.udid)
    assert not found.ade_enrolled and not found.supervised and not found.awaiting_configuration
    assert "DeviceConfigured" not in dict(queue(db, ipad.udid)) and "ActivationLockBypassCode" not in dict(queue(db, ipad.udid))
    answer = ipad.idle(transport)
    assert answer.request_type == "DeviceInformation"
    report = {"Status": "Acknowledged", "UDID": ipad.udid, "CommandUUID": answer.command_uuid,
              "QueryResponses": {"IsSupervised": True, "SerialNumber": ipad.serial}}
    ipad.send(transport, plistlib.dumps(report))
    assert ("ActivationLockBypassCode", "queued") in queue(db, ipad.udid)
    answer_everything(ipad, transport, code=None)  # no code to give (Activation Lock not allowed)
    assert device(db, ipad.udid).supervised and device(db, ipad.udid).bypass_code_escrowed_at is None
    with db.unit_of_work() as session:  # the next day's inventory does not ask again
        found = session.scalar(select(Device.id).where(Device.udid == ipad.udid))
        command_queue.enqueue(session, system_principal(), [found], "DeviceInformation", {"Queries": ["IsSupervised"]})
    answer = ipad.idle(transport)
    ipad.send(transport, plistlib.dumps({**report, "CommandUUID": answer.command_uuid}))
    assert [kind for kind, _ in queue(db, ipad.udid)].count("ActivationLockBypassCode") == 1


def test_the_bypass_code_is_sealed_kept_from_the_command_and_shown_to_central_it_only(db, client, world, new_ipad, transport, fake_apns):
    ipad = new_ipad(ade=True)
    ipad.enrol(transport)
    answer_everything(ipad, transport)
    found = device(db, ipad.udid)
    assert CODE.encode() not in found.activation_lock_bypass_code
    with db.session() as session:
        stored = session.scalar(select(Command.result).where(Command.request_type == "ActivationLockBypassCode"))
    assert CODE.encode() not in stored and plistlib.loads(stored)["Status"] == "Acknowledged"
    with db.unit_of_work() as session:
        central = people.api_token(session, [(Role.CENTRAL_ADMIN, None)])
        helpdesk = people.api_token(session, [(Role.CENTRAL_HELPDESK, None)])
        ict = people.api_token(session, [(Role.SCHOOL_ICT, world.nordby.id)])
        admin = people.admin(session, [(Role.CENTRAL_ADMIN, None)])
        ict_admin = people.admin(session, [(Role.SCHOOL_ICT, world.nordby.id)])
    url = f"/api/v1/devices/{found.id}/activation-lock-bypass-code"
    shown = client.get(url, headers=people.bearer(central))
    assert shown.status_code == 200 and shown.get_json()["code"] == CODE
    assert client.get(url, headers=people.bearer(helpdesk)).status_code == 403
    assert client.get(url, headers=people.bearer(ict)).status_code == 403
    people.sign_in(client, ict_admin)
    assert "Show the bypass code" not in client.get(f"/devices/{found.id}", headers=ENGLISH).get_data(as_text=True)
    assert client.post(f"/devices/{found.id}/bypass-code", data={"csrf_token": people.CSRF}, headers=ENGLISH).status_code == 403
    people.sign_in(client, admin)
    assert "Show the bypass code" in client.get(f"/devices/{found.id}", headers=ENGLISH).get_data(as_text=True)
    assert CODE in client.post(f"/devices/{found.id}/bypass-code", data={"csrf_token": people.CSRF}, headers=ENGLISH).get_data(as_text=True)
    with db.session() as session:
        reads = session.scalars(select(AuditEvent).where(AuditEvent.action == "device.bypass_code_read")).all()
    assert len(reads) == 2 and all(CODE not in str(event.details) for event in reads)


def test_asm_assignment_is_the_expected_school_record(db, new_ipad, world):
    ipad = new_ipad(ade=True)
    with db.session() as session:
        assert enrolment.expected_school_id(session, ipad.serial.lower()) == world.nordby.id
        assert enrolment.expected_school_id(session, "C02NOSUCH") is None
        assert enrolment.expected_school_id(session, None) is None


def test_asm_vouches_for_a_move_only_to_the_expected_school_and_for_the_ade_udid(db, new_ipad, world):
    ipad = new_ipad(ade=True)
    with db.session() as session:
        assert enrolment.authorises_move(session, udid=ipad.udid, serial_number=ipad.serial, school_id=world.nordby.id)
        assert not enrolment.authorises_move(session, udid=ipad.udid, serial_number=ipad.serial, school_id=world.sorby.id)
        assert not enrolment.authorises_move(session, udid="ANOTHER-UDID", serial_number=ipad.serial, school_id=world.nordby.id)
        assert not enrolment.authorises_move(session, udid=ipad.udid, serial_number=None, school_id=world.nordby.id)
