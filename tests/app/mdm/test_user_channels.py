"""Shared iPad user channels: commands on a user's own queue, from the CLI and the REST API, pushed
with their device's wake-up and again by the scheduler."""

from __future__ import annotations

import datetime as dt
import plistlib

import pytest
from sqlalchemy import func, select

from app.models import AuditEvent, Command, Device
from app.models.base import utcnow
from app.models.devices import DeviceUser
from app.services.access import Role
from app.services.mdm import push
from tests.app.mdm.test_cli import answer_everything
from tests.support import people

SHARED_USER = {"UserID": "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF", "UserShortName": "elev1@bergvik.no",
               "UserLongName": "Elev En"}


def test_a_shared_ipad_user_gets_a_command_on_its_own_channel(cli, db, shared_ipad, transport, fake_apns):
    enrolled, user = shared_ipad, {"UDID": shared_ipad.udid, **SHARED_USER}
    fake_apns.reset()

    result = cli("command", "send", enrolled.udid, "ProfileList", "--user", "elev1@bergvik.no")
    assert result.exit_code == 0, result.output
    assert "Queued ProfileList as" in result.output and "Push: 2 sent." in result.output
    assert fake_apns.wait_for(2)
    assert {(p.token, p.push_magic) for p in fake_apns.pushes} == {
        (enrolled.push_token.hex(), enrolled.push_magic), ("02" * 32, "USER-MAGIC")}
    assert enrolled.idle(transport).command is None  # the device's own queue stays empty
    offered = enrolled.send(transport, plistlib.dumps({"Status": "Idle", **user}))
    assert offered.request_type == "ProfileList"
    assert "elev1@bergvik.no  last seen" in cli("device", "show", enrolled.udid).output


def test_user_channel_commands_are_refused_clearly(cli, db, shared_ipad):
    enrolled = shared_ipad
    with db.session() as session:
        before = session.scalar(select(func.count()).select_from(Command))
    unknown = cli("command", "send", enrolled.udid, "ProfileList", "--user", "elev2@bergvik.no")
    assert unknown.exit_code == 1 and "has no user 'elev2@bergvik.no'" in unknown.output
    erase = cli("command", "send", enrolled.udid, "EraseDevice", "--user", "elev1@bergvik.no", "--reason", "stolen")
    assert erase.exit_code == 1 and "EraseDevice goes to the device, not to a user channel" in erase.output
    school = cli("command", "send", "school:nordby", "ProfileList", "--user", "elev1@bergvik.no")
    assert school.exit_code == 1 and "name exactly one device" in school.output
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Command)) == before


def test_a_user_channel_waiting_is_pushed_again_by_the_scheduler(cli, db, shared_ipad):
    enrolled = shared_ipad
    assert cli("command", "send", enrolled.udid, "ProfileList", "--user", "elev1@bergvik.no").exit_code == 0
    with db.session() as session:
        device_id = session.scalar(select(Device.id).where(Device.udid == enrolled.udid))
        later = utcnow() + dt.timedelta(hours=1)
        assert push.due_for_push(session, now=later) == [device_id]


def test_an_unregistered_user_channel_token_is_marked_and_not_pushed_again(cli, db, shared_ipad, fake_apns):
    enrolled = shared_ipad
    fake_apns.reset()
    fake_apns.script("02" * 32, 410)
    sent = cli("command", "send", enrolled.udid, "ProfileList", "--user", "elev1@bergvik.no")
    assert sent.exit_code == 0 and "1 invalid token" in sent.output.replace("_", " "), sent.output
    with db.session() as session:
        assert session.scalar(select(DeviceUser.push_token_invalid_at)) is not None
        assert session.scalar(select(AuditEvent.action).where(AuditEvent.action == "device_user.push_token_invalid"))
    fake_apns.reset()
    again = cli("command", "send", enrolled.udid, "SecurityInfo", "--user", "elev1@bergvik.no")
    assert "Push: 1 sent." in again.output  # the device only; the user channel waits for a new TokenUpdate
    assert {p.token for p in fake_apns.pushes} == {enrolled.push_token.hex()}


@pytest.fixture
def shared_ipad(enrolled, transport):
    """An enrolled iPad with one signed-in user (its own push token), its first inventory answered."""
    user = {"UDID": enrolled.udid, **SHARED_USER}
    token = {"MessageType": "TokenUpdate", "Topic": enrolled.topic, "Token": b"\x02" * 32, "PushMagic": "USER-MAGIC"}
    assert enrolled.checkin(transport, {**token, **user}).status == 200
    answer_everything(enrolled, transport)
    return enrolled


def api_token(db, world, role=Role.SCHOOL_ICT, school=None):
    with db.session() as session:
        token = people.api_token(session, [(role, (school or world.school).id)])
        session.commit()
    return people.bearer(token)


def test_the_api_queues_on_a_users_channel_and_lists_the_users(client, db, world, shared_ipad, transport, fake_apns):
    headers = api_token(db, world)
    with db.session() as session:
        device_id = session.scalar(select(Device.id).where(Device.udid == shared_ipad.udid))
    shown = client.get(f"/api/v1/devices/{device_id}", headers=headers).json
    assert [(u["short_name"], u["push_token"]) for u in shown["users"]] == [("elev1@bergvik.no", "set")]
    fake_apns.reset()
    sent = client.post("/api/v1/commands", headers=headers,
                       json={"request_type": "ProfileList", "device_ids": [device_id], "user": "elev1@bergvik.no"})
    assert sent.status_code == 201, sent.json
    sent.close()  # the push goes out once the response is sent
    assert fake_apns.wait_for(2) and "USER-MAGIC" in {p.push_magic for p in fake_apns.pushes}
    offered = shared_ipad.send(transport, plistlib.dumps({"Status": "Idle", "UDID": shared_ipad.udid, **SHARED_USER}))
    assert offered.request_type == "ProfileList"


@pytest.mark.parametrize(("body", "status", "words"), [
    ({"request_type": "ProfileList", "user": "elev2@bergvik.no"}, 404, "has no user"),
    ({"request_type": "EraseDevice", "user": "elev1@bergvik.no", "reason": "stolen"}, 422, "goes to the device"),
    ({"request_type": "ProfileList", "user": ""}, 422, "user"),
])
def test_the_api_refuses_user_channel_commands_clearly(client, db, world, shared_ipad, body, status, words):
    headers = api_token(db, world)
    with db.session() as session:
        device_id = session.scalar(select(Device.id).where(Device.udid == shared_ipad.udid))
        before = session.scalar(select(func.count()).select_from(Command))
    answer = client.post("/api/v1/commands", headers=headers, json={**body, "device_ids": [device_id]})
    assert answer.status_code == status and words in answer.get_data(as_text=True), answer.json
    two = client.post("/api/v1/commands", headers=headers,
                      json={"request_type": "ProfileList", "device_ids": [device_id, device_id + 1000], "user": "elev1@bergvik.no"})
    assert two.status_code == 422 and "exactly one device" in two.get_data(as_text=True)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Command)) == before


def test_another_schools_contact_cannot_reach_the_users_channel(client, db, world, shared_ipad):
    headers = api_token(db, world, school=world.other_school)
    with db.session() as session:
        device_id = session.scalar(select(Device.id).where(Device.udid == shared_ipad.udid))
    sent = client.post("/api/v1/commands", headers=headers,
                       json={"request_type": "ProfileList", "device_ids": [device_id], "user": "elev1@bergvik.no"})
    assert sent.status_code == 404
    assert client.get(f"/api/v1/devices/{device_id}", headers=headers).status_code == 404


def test_the_device_page_lists_the_users_of_a_shared_ipad(client, db, world, shared_ipad):
    with db.session() as session:
        device_id = session.scalar(select(Device.id).where(Device.udid == shared_ipad.udid))
        admin = people.admin(session, [(Role.SCHOOL_ICT, world.school.id)])
        session.commit()
    people.sign_in(client, admin)
    page = client.get(f"/devices/{device_id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Users of this shared iPad" in page and "elev1@bergvik.no (Elev En)" in page
