"""One setting is never sent both ways: declarations to an iPad that speaks DDM, profiles to one that does not."""

from __future__ import annotations

import plistlib

from sqlalchemy import select

from app.models import Command, Device, InstalledProfile
from app.models.declarations import DeclarativeDevice
from app.services import policy
from mdm_protocol import cms
from profiles import Change
from tests.app.declarations.conftest import serve

PASSCODE = "com.apple.configuration.passcode.settings"
LEGACY = "com.apple.configuration.legacy"


def commands_of(db, udid):
    with db.session() as session:
        device_id = session.scalar(select(Device.id).where(Device.udid == udid))
        return [(row.request_type, row.status, row.body) for row in
                session.scalars(select(Command).where(Command.device_id == device_id).order_by(Command.id))]


def test_a_ddm_ipad_gets_passcode_as_a_declaration_and_never_as_a_profile(db, principal, world, ddm_ipad, new_ipad,
                                                                             transport, fake_apns):
    with db.unit_of_work() as session:
        policy.change(session, principal, "baseline", [Change.set("passcode", "minLength", 6),
                                                        Change.set("restrictions", "allowCamera", False)])
    ipad = ddm_ipad()
    assert ipad.enrol(transport).status == 200
    queued = [request_type for request_type, _, _ in commands_of(db, ipad.udid)]
    assert queued == ["DeviceInformation", "SecurityInfo", "ProfileList", "InstalledApplicationList",
                      "DeclarativeManagement", "InstallProfile", "InstallProfile"]
    delivered = serve(ipad, transport)
    # It answered declaratively before fetching the profiles: they were cancelled, never sent.
    assert "InstallProfile" not in delivered
    assert [status for request_type, status, _ in commands_of(db, ipad.udid) if request_type == "InstallProfile"] == \
        ["cancelled", "cancelled"]
    assert ipad.of_type(PASSCODE).payload == {"MinimumLength": 6}
    (restrictions,) = [held for held in ipad.held.values() if held.type == LEGACY]
    profile = plistlib.loads(cms.verify(ipad.fetch_profile(transport, restrictions.payload["ProfileURL"])).content)
    assert profile["PayloadIdentifier"].endswith(".declared.restrictions")
    assert profile["PayloadContent"][0]["allowCamera"] is False
    assert all(item["PayloadType"] != "com.apple.mobiledevice.passwordpolicy" for item in profile["PayloadContent"])

    # An iPad on iPadOS 14 in the same school keeps getting profiles, and is never asked to speak DDM.
    old = new_ipad()
    assert old.enrol(transport).status == 200
    queued = [request_type for request_type, _, _ in commands_of(db, old.udid)]
    assert queued.count("InstallProfile") == 2 and "DeclarativeManagement" not in queued


def test_an_ipad_updated_to_a_ddm_ipados_moves_its_settings_from_profiles_to_declarations(
        db, principal, world, ddm_ipad, transport, fake_apns):
    with db.unit_of_work() as session:
        policy.change(session, principal, "baseline", [Change.set("passcode", "minLength", 6)])
    ipad = ddm_ipad(os_version="14.8", build="18H17")  # enrols before its update: profiles by command
    assert ipad.enrol(transport).status == 200
    assert serve(ipad, transport)[-1] == "InstallProfile"
    (body,) = [body for request_type, _, body in commands_of(db, ipad.udid) if request_type == "InstallProfile"]
    installed = plistlib.loads(cms.verify(plistlib.loads(body)["Command"]["Payload"]).content)

    # Its next inventory says iPadOS 26 and lists the profile: Flokk turns DDM on.
    answer = _inventory(db, ipad, transport, "26.0", [installed])
    assert answer.request_type == "DeclarativeManagement" and ipad.command_data(answer) is None
    # It answers declaratively: the passcode profile is removed by command and comes back as a declaration.
    ipad.sync(transport)
    answer = ipad.report(transport, "Acknowledged", answer.command_uuid)
    assert answer.request_type == "RemoveProfile" and answer.command["Command"]["Identifier"] == installed["PayloadIdentifier"]
    assert ipad.report(transport, "Acknowledged", answer.command_uuid).command is None
    assert ipad.of_type(PASSCODE).payload == {"MinimumLength": 6}
    with db.session() as session:
        row = session.scalar(select(DeclarativeDevice))
        assert row.confirmed_at is not None and row.declarations_token == ipad.declarations_token


def _inventory(db, ipad, transport, os_version, profiles):
    """Queue and answer DeviceInformation and ProfileList as the daily inventory would; the answer to the last."""
    from app.services.access import cli_principal
    from app.services.mdm import commands as queue

    with db.unit_of_work() as session:
        device_id = session.scalar(select(Device.id).where(Device.udid == ipad.udid))
        queue.enqueue(session, cli_principal(), [device_id], "DeviceInformation", {"Queries": ["OSVersion"]})
        queue.enqueue(session, cli_principal(), [device_id], "ProfileList")
    answer = ipad.idle(transport)
    assert answer.request_type == "DeviceInformation"
    ipad.os_version = os_version
    answer = ipad.report(transport, "Acknowledged", answer.command_uuid, QueryResponses={"OSVersion": os_version})
    assert answer.request_type == "ProfileList"
    listed = [{"PayloadIdentifier": item["PayloadIdentifier"], "PayloadUUID": item["PayloadUUID"], "IsManaged": True}
              for item in profiles]
    answer = ipad.report(transport, "Acknowledged", answer.command_uuid, ProfileList=listed)
    with db.session() as session:
        assert session.scalar(select(InstalledProfile.identifier)) == profiles[0]["PayloadIdentifier"]
    return answer
