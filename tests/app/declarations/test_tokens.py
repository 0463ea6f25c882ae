"""Token semantics: derived from the declarations, stable until they change, and only the changed devices are told."""

from __future__ import annotations

import json

from sqlalchemy import select

from app.models import Command, Device
from app.services import policy
from app.services.mdm import push
from profiles import Change
from tests.app.declarations.conftest import serve
from tests.support.ddm_ipad import command_tokens


def queued(db, ipad, request_type="DeclarativeManagement"):
    with db.session() as session:
        device_id = session.scalar(select(Device.id).where(Device.udid == ipad.udid))
        return [row.body for row in session.scalars(select(Command).where(
            Command.device_id == device_id, Command.request_type == request_type, Command.status == "queued"))]


def tokens(ipad, transport):
    answer = ipad.declarative(transport, "tokens")
    assert answer.status == 200
    return json.loads(answer.body)["SyncTokens"]


def test_tokens_are_the_same_until_the_set_changes(db, principal, world, declarative, transport):
    with db.unit_of_work() as session:
        policy.change(session, principal, "baseline", [Change.set("passcode", "minLength", 6)])
    ipad = declarative()
    first, second = tokens(ipad, transport), tokens(ipad, transport)
    assert first == second and first["DeclarationsToken"] == ipad.declarations_token
    items = [ipad.declarative(transport, "declaration-items").body for _ in range(2)]
    assert items[0] == items[1]
    # Another school's change leaves this iPad's set as it is: same token, not told.
    with db.unit_of_work() as session:
        policy.change(session, principal, "school:sorby", [Change.set("passcode", "minLength", 8)])
    assert queued(db, ipad) == [] and tokens(ipad, transport) == first
    # A setting added and taken away again: told twice, and back to the very same token (it is the content's).
    with db.unit_of_work() as session:
        policy.change(session, principal, "baseline", [Change.set("restrictions", "allowCamera", False)])
        policy.change(session, principal, "baseline", [Change.unset("restrictions", "allowCamera")])
    assert serve(ipad, transport) == ["DeclarativeManagement", "DeclarativeManagement"]
    assert tokens(ipad, transport)["DeclarationsToken"] == first["DeclarationsToken"]


def test_one_schools_change_retokens_and_wakes_only_that_schools_ipads(db, principal, world, declarative, transport, fake_apns):
    with db.unit_of_work() as session:
        policy.change(session, principal, "baseline", [
            Change.set("osupdate", "TargetOSVersion", "26.1"), Change.set("osupdate", "TargetLocalDateTime", "2030-10-16 16:00")])
    nordby = [declarative(), declarative()]
    sorby = declarative(world.other_school)
    before = {ipad.udid: tokens(ipad, transport) for ipad in [*nordby, sorby]}
    fake_apns.reset()

    with db.unit_of_work() as session:
        result = policy.change(session, principal, "school:nordby", [Change.set("osupdate", "TargetLocalDateTime", "2030-10-23 16:00")])
        wakes = push.take_wakes(session)
    push.wake_committed(db, wakes)  # as the request boundary does after the commit
    assert result.report.declarations.told == {world.school.id: 2}

    for ipad in nordby:
        (body,) = queued(db, ipad)
        told = command_tokens(body)["SyncTokens"]
        now = tokens(ipad, transport)
        assert told == now and now["DeclarationsToken"] != before[ipad.udid]["DeclarationsToken"]
        assert ipad.sync(transport).fetched == ["test.flokk.flokk.declaration.osupdate"]  # only what changed
        assert ipad.of_type("com.apple.configuration.softwareupdate.enforcement.specific").payload[
            "TargetLocalDateTime"] == "2030-10-23T16:00:00"
    assert queued(db, sorby) == [] and tokens(sorby, transport) == before[sorby.udid]
    pushed = {request.token for request in fake_apns.pushes}
    assert pushed == {ipad.push_token.hex() for ipad in nordby}


def test_the_preview_counts_the_devices_it_would_tell_and_tells_nobody(db, principal, world, declarative, transport):
    ipad = declarative()
    with db.unit_of_work() as session:
        preview = policy.change(session, principal, "school:nordby", [Change.set("passcode", "minLength", 8)], dry_run=True)
    assert preview.report.declarations.told == {world.school.id: 1}
    assert queued(db, ipad) == [] and tokens(ipad, transport)["DeclarationsToken"] == ipad.declarations_token
