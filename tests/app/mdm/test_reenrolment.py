"""Re-enrolment and school moves: who may take a known device over with a new certificate.

The rules (README, Security): a new certificate from the device's own
school's link rebinds it (an erased iPad enrolling again); one from another
school's link is refused unless central IT said that school expects the
device (`flokk device transfer`); an Authenticate with the certificate the
device already uses resets nothing. Every rebinding and move is audited.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from app.models import AuditEvent, Command, Device, DeviceTransfer
from app.models.pki import IssuedCertificate
from app.services.access import cli_principal
from app.services.fleet import transfers
from tests.support.ipad import SimulatedIpad

INITIAL = ["DeviceInformation", "SecurityInfo", "ProfileList", "InstalledApplicationList"]


def serial_of(ipad) -> str:
    return format(ipad.certificate.serial_number, "x")


def state_of(db, udid):
    """Everything a takeover would change: school, group, state, the queue, the certificates."""
    with db.session() as session:
        device = session.scalar(select(Device).where(Device.udid == udid))
        commands = sorted((c.uuid, c.status) for c in session.scalars(select(Command).where(Command.device_id == device.id)))
        certificates = sorted((c.serial, c.device_id, c.revoked_at is not None) for c in session.scalars(select(IssuedCertificate)))
        return (device.school_id, device.group_id, device.enrollment_state, device.push_magic), commands, certificates


def actions(db, prefix="") -> list[str]:
    with db.session() as session:
        return [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id)) if e.action.startswith(prefix)]


def wearing(ipad, other) -> SimulatedIpad:
    """``other``'s certificate and key, claiming ``ipad``'s UDID (and its hardware facts)."""
    return SimulatedIpad(udid=ipad.udid, serial=ipad.serial, certificate=other.certificate, key=other.key)


def test_another_schools_link_cannot_take_over_an_enrolled_device(db, world, enrolled, new_ipad, transport):
    """Before: 200, the device moved to the other school, its queue was cancelled, its certificate revoked."""
    foreign = new_ipad(world.other_school)  # a certificate from sorby's link, never used
    before = state_of(db, enrolled.udid)
    answer = wearing(enrolled, foreign).checkin(transport, wearing(enrolled, foreign).authenticate_message())
    assert answer.status == 403 and b"another school" in answer.body
    assert state_of(db, enrolled.udid) == before  # nothing changed, the foreign certificate is not bound either
    with db.session() as session:
        (refusal,) = session.scalars(select(AuditEvent).where(AuditEvent.action == "mdm.identity_refused")).all()
        assert refusal.outcome == "denied" and refusal.target_id == enrolled.udid
        assert refusal.school_id == world.other_school.id and refusal.details["certificate"] == serial_of(foreign)
    assert enrolled.idle(transport).status == 200  # the real iPad carries on


def test_an_erased_ipad_enrols_again_in_its_own_school(db, world, enrolled, new_ipad, transport):
    first = enrolled.idle(transport)  # one command out, three waiting
    assert first.status == 200
    again = new_ipad()  # the same school's link, a new certificate: what an erased iPad gets
    erased = wearing(enrolled, again)
    assert erased.checkin(transport, erased.authenticate_message()).status == 200
    assert erased.checkin(transport, erased.token_update_message()).status == 200
    (school, _, state, _), commands, certificates = state_of(db, enrolled.udid)
    assert (school, state) == (world.school.id, "enrolled")
    with db.session() as session:
        device_id = session.scalar(select(Device.id).where(Device.udid == enrolled.udid))
        rows = session.scalars(select(Command).where(Command.device_id == device_id).order_by(Command.id)).all()
        assert [c.status for c in rows[:4]] == ["cancelled"] * 4  # the old enrolment's queue ends
        assert [c.request_type for c in rows[4:]] == INITIAL  # and it starts over
        bound = session.scalars(select(AuditEvent).where(AuditEvent.action == "device.identity_bound")
                                .order_by(AuditEvent.id)).all()[-1]
        assert bound.details["certificate"] == serial_of(again) and bound.details["superseded"] == [serial_of(enrolled)]
        authenticate = session.scalars(select(AuditEvent).where(AuditEvent.action == "device.authenticate")
                                       .order_by(AuditEvent.id)).all()[-1]
        assert authenticate.details["reenrolled_from"] == "enrolled" and authenticate.details["cancelled_commands"] == 4
    assert (serial_of(enrolled), device_id, True) in certificates  # the old identity is revoked
    assert enrolled.idle(transport).status == 403
    assert erased.idle(transport).request_type == "DeviceInformation"


def test_a_move_central_it_allowed_happens_when_the_device_enrols_there(db, world, enrolled, new_ipad, transport):
    with db.unit_of_work() as session:
        transfers.allow(session, cli_principal(), enrolled.udid, "sorby", reason="handed over to Sørby")
    assert state_of(db, enrolled.udid)[0][0] == world.school.id  # nothing moves before it enrols there
    moved = wearing(enrolled, new_ipad(world.other_school))
    assert moved.checkin(transport, moved.authenticate_message()).status == 200
    assert moved.checkin(transport, moved.token_update_message()).status == 200
    (school, group, state, _), _, _ = state_of(db, enrolled.udid)
    assert (school, group, state) == (world.other_school.id, None, "enrolled")
    with db.session() as session:
        assert session.scalars(select(DeviceTransfer)).all() == []  # used up
        (event,) = session.scalars(select(AuditEvent).where(AuditEvent.action == "device.moved")).all()
        assert (event.details["from_school_id"], event.details["to_school_id"]) == (world.school.id, world.other_school.id)
        assert event.details["allowed_by"] == cli_principal().label and event.details["reason"] == "handed over to Sørby"
    assert actions(db, "device.transfer") == ["device.transfer_allowed"]


def test_a_permission_for_another_school_or_an_expired_one_does_not_authorise(db, world, enrolled, new_ipad, transport):
    from tests.support import factories

    with db.unit_of_work() as session:
        factories.school(session, code="vestby")
        transfers.allow(session, cli_principal(), enrolled.udid, "vestby", reason="to Vestby")
    foreign = wearing(enrolled, new_ipad(world.other_school))
    before = state_of(db, enrolled.udid)
    assert foreign.checkin(transport, foreign.authenticate_message()).status == 403
    with db.unit_of_work() as session:
        transfers.allow(session, cli_principal(), enrolled.udid, "sorby", reason="to Sørby")
        session.execute(update(DeviceTransfer).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)))
    assert foreign.checkin(transport, foreign.authenticate_message()).status == 403
    assert state_of(db, enrolled.udid) == before


def test_authenticate_again_with_the_devices_own_certificate_resets_nothing(db, enrolled, transport, fake_apns):
    """A retried (or replayed, after the replay window) Authenticate: before, it cancelled the whole queue."""
    sent = enrolled.idle(transport)
    before = state_of(db, enrolled.udid)
    assert enrolled.checkin(transport, enrolled.authenticate_message()).status == 200
    assert state_of(db, enrolled.udid) == before  # still enrolled, the queue as it was
    assert enrolled.checkin(transport, enrolled.token_update_message()).status == 200
    assert state_of(db, enrolled.udid)[1] == before[1]  # not "enrolled for the first time" again
    assert enrolled.report(transport, "Acknowledged", sent.command_uuid).request_type == "SecurityInfo"


def test_moving_needs_central_it_and_a_reason(cli, db, world, enrolled):
    refused = cli("device", "transfer", enrolled.udid, "--to", "sorby")
    assert refused.exit_code == 1 and "reason" in refused.output
    assert cli("device", "transfer", enrolled.udid, "--to", "nordby", "--reason", "x").output.startswith(
        "Error: the device is already in nordby")
    allowed = cli("device", "transfer", enrolled.udid, "--to", "sorby", "--reason", "new school", "--expires", "3d")
    assert allowed.exit_code == 0 and "may enrol at sorby" in allowed.output
    assert "sorby (allowed until" in cli("device", "show", enrolled.udid).output
    assert cli("device", "transfer", enrolled.udid, "--cancel").exit_code == 0
    assert cli("device", "transfer", enrolled.udid, "--cancel").exit_code == 1
    assert actions(db, "device.transfer") == ["device.transfer_allowed", "device.transfer_cancelled"]


def test_a_school_ict_contact_cannot_allow_a_move(db, world, enrolled):
    import pytest

    from app.errors import Forbidden
    from tests.support import people

    with db.unit_of_work() as session:
        contact = people.principal(people.admin(session, [("school_ict", world.school.id)]))
        with pytest.raises(Forbidden):
            transfers.allow(session, contact, enrolled.udid, "sorby", reason="mine now")


def test_apple_school_manager_can_authorise_the_move(db, world, enrolled, new_ipad, transport):
    """ASM assigned the serial to Sørby and the iPad fetched its ADE profile with MachineInfo naming this UDID."""
    from app.models.asm import AsmDevice, AsmToken
    from app.models.base import utcnow

    with db.unit_of_work() as session:
        token = AsmToken(consumer_key_hash="test-token", credentials_sealed=b"-", imported_by="test",
                         imported_at=utcnow(), sync_state="ok")
        session.add(token)
        session.flush()
        session.add(AsmDevice(token_id=token.id, serial_number=enrolled.serial, school_id=world.other_school.id,
                              enrolling_udid=enrolled.udid, first_seen_at=utcnow(), updated_at=utcnow()))
    moved = wearing(enrolled, new_ipad(world.other_school))
    assert moved.checkin(transport, moved.authenticate_message()).status == 200
    assert state_of(db, enrolled.udid)[0][0] == world.other_school.id
    with db.session() as session:
        (event,) = session.scalars(select(AuditEvent).where(AuditEvent.action == "device.moved")).all()
        assert event.details["allowed_by"] == "asm"
