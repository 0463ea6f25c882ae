"""Check-in over HTTP: Authenticate, TokenUpdate, CheckOut, bootstrap tokens, user channels."""

from __future__ import annotations

import plistlib

from sqlalchemy import select

from app.models import AuditEvent, Command, Device, DeviceUser
from app.models.pki import IssuedCertificate

INITIAL = ["DeviceInformation", "SecurityInfo", "ProfileList", "InstalledApplicationList"]


def test_authenticate_then_token_update_enrols_and_queues_the_initial_inventory(db, world, new_ipad, transport, fake_apns):
    ipad = new_ipad()
    first = ipad.checkin(transport, ipad.authenticate_message())
    assert first.status == 200 and first.body == b""
    with db.session() as session:
        device = session.scalar(select(Device).where(Device.udid == ipad.udid))
        assert (device.enrollment_state, device.school_id, device.serial_number, device.model, device.os_version) == (
            "pending", world.school.id, ipad.serial, ipad.product, ipad.os_version)
        assert device.platform == "ipados"
        bound = session.scalar(select(IssuedCertificate.device_id).where(IssuedCertificate.serial == format(ipad.certificate.serial_number, "x")))
        assert bound == device.id
    second = ipad.checkin(transport, ipad.token_update_message())
    assert second.status == 200
    with db.session() as session:
        device = session.scalar(select(Device).where(Device.udid == ipad.udid))
        assert device.enrollment_state == "enrolled" and device.enrolled_at is not None
        assert device.push_token == ipad.push_token.hex() and device.push_magic == ipad.push_magic
        assert ipad.unlock_token not in (device.unlock_token or b"")  # sealed, not stored in the clear
        queued = session.scalars(select(Command).where(Command.device_id == device.id).order_by(Command.id)).all()
        assert [c.request_type for c in queued] == INITIAL and {c.status for c in queued} == {"queued"}
        actions = {e.action for e in session.scalars(select(AuditEvent))}
        assert {"device.authenticate", "device.enrol", "device.identity_bound", "command.queue"} <= actions
    # woken after commit, at the fake APNs, with its PushMagic
    assert fake_apns.wait_for(1)
    (push,) = fake_apns.pushes
    assert (push.token, push.push_magic) == (ipad.push_token.hex(), ipad.push_magic)
    with db.session() as session:
        device = session.scalar(select(Device).where(Device.udid == ipad.udid))
        assert device.last_push_at is not None and device.push_attempts == 1


def test_token_update_again_queues_nothing_new(db, enrolled, transport, fake_apns):
    assert enrolled.checkin(transport, enrolled.token_update_message()).status == 200
    with db.session() as session:
        assert len(session.scalars(select(Command)).all()) == 4


def test_check_out_unenrols_cancels_the_queue_and_revokes_the_certificate(db, enrolled, transport):
    answer = enrolled.checkin(transport, {"MessageType": "CheckOut", "Topic": enrolled.topic, "UDID": enrolled.udid})
    assert answer.status == 200
    with db.session() as session:
        device = session.scalar(select(Device).where(Device.udid == enrolled.udid))
        assert device.enrollment_state == "unenrolled" and device.push_token is None
        assert {c.status for c in session.scalars(select(Command))} == {"cancelled"}
        assert session.scalar(select(IssuedCertificate.revoked_at)) is not None
    refused = enrolled.idle(transport)
    assert refused.status == 403


def test_bootstrap_token_is_escrowed_sealed_and_returned(db, enrolled, transport):
    get = {"MessageType": "GetBootstrapToken", "UDID": enrolled.udid}
    assert enrolled.checkin(transport, get).body == b""
    set_ = {"MessageType": "SetBootstrapToken", "UDID": enrolled.udid, "BootstrapToken": b"bootstrap-secret"}
    assert enrolled.checkin(transport, set_).status == 200
    with db.session() as session:
        stored = session.scalar(select(Device.bootstrap_token))
        assert stored and b"bootstrap-secret" not in stored
    answer = enrolled.checkin(transport, get)
    assert plistlib.loads(answer.body) == {"BootstrapToken": b"bootstrap-secret"}


def test_shared_ipad_user_channel(db, enrolled, transport):
    user = {"UDID": enrolled.udid, "UserID": "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
            "UserShortName": "elev1@bergvik.no", "UserLongName": "Elev En"}
    answer = enrolled.checkin(transport, {"MessageType": "UserAuthenticate", **user})
    assert plistlib.loads(answer.body) == {"DigestChallenge": ""}
    token = {"MessageType": "TokenUpdate", "Topic": enrolled.topic, "Token": b"\x01" * 32, "PushMagic": "USER-MAGIC"}
    assert enrolled.checkin(transport, {**token, **user}).status == 200
    with db.session() as session:
        (channel,) = session.scalars(select(DeviceUser)).all()
        assert (channel.user_id, channel.short_name, channel.push_magic) == ("elev1@bergvik.no", "elev1@bergvik.no", "USER-MAGIC")
    # the user channel's queue is its own: nothing for it, even though the device has four queued
    reply = enrolled.send(transport, plistlib.dumps({"Status": "Idle", **user}))
    assert reply.status == 200 and reply.body == b""


def test_unsupported_message_type_is_a_clear_400(db, enrolled, transport):
    answer = enrolled.checkin(transport, {"MessageType": "GetToken", "UDID": enrolled.udid, "TokenServiceType": "com.apple.maid"})
    assert answer.status == 400 and b"GetToken" in answer.body and b"not supported" in answer.body


def test_every_captured_check_in_replays_over_http(db, world, new_ipad, transport):
    """The captures' UDIDs differ; each is re-signed by an iPad whose identity is still unbound."""
    from tests.mdm_protocol.test_checkin import CAPTURES, REDACTED_INVALID
    from tests.mdm_protocol.conftest import FIXTURES

    for path in CAPTURES:
        raw = path.read_bytes()
        message = plistlib.loads(raw) if str(path.relative_to(FIXTURES)) not in REDACTED_INVALID else None
        ipad = new_ipad(udid=(message or {}).get("UDID", "x"))
        if message is None:
            assert ipad.checkin(transport, {}, raw=raw).status == 400
            continue
        if message["MessageType"] != "Authenticate":
            assert ipad.checkin(transport, ipad.authenticate_message()).status == 200
        answer = ipad.checkin(transport, message, raw=raw)
        assert answer.status == 200, (path, answer.body)


def test_a_long_managed_apple_id_keeps_one_user_channel(db, enrolled, transport):
    long_id = "elev." + "x" * 80 + "@bergvik.no"
    user = {"UDID": enrolled.udid, "UserID": "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF", "UserShortName": long_id,
            "UserLongName": "Elev"}
    token = {"MessageType": "TokenUpdate", "Topic": enrolled.topic, "Token": b"\x01" * 32, "PushMagic": "M"}
    for _ in range(2):
        assert enrolled.checkin(transport, {**token, **user}).status == 200
    assert enrolled.send(transport, plistlib.dumps({"Status": "Idle", **user})).status == 200
    with db.session() as session:
        (channel,) = session.scalars(select(DeviceUser)).all()
        assert channel.user_id.startswith("sha256:") and len(channel.user_id) == 64
        assert channel.short_name == long_id
