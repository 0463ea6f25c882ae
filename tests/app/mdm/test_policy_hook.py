"""The check-in service hands new iPads and their ProfileList answers to the policy reconciler."""

from __future__ import annotations

import plistlib

from sqlalchemy import select

from app.models import Command, Device
from app.services import policy
from mdm_protocol import cms
from profiles import Change


def installs(db, udid):
    with db.session() as session:
        device_id = session.scalar(select(Device.id).where(Device.udid == udid))
        return session.scalars(
            select(Command).where(Command.device_id == device_id).order_by(Command.id)
        ).all()


def test_a_new_ipad_gets_its_policy_after_its_inventory_and_a_profile_list_queues_only_the_difference(
    db, principal, world, new_ipad, transport
):
    with db.unit_of_work() as session:
        policy.change(session, principal, "baseline", [Change.set("passcode", "minLength", 6)])
    ipad = new_ipad()
    ipad.enrol(transport)
    queued = installs(db, ipad.udid)
    assert [c.request_type for c in queued] == [
        "DeviceInformation", "SecurityInfo", "ProfileList", "InstalledApplicationList", "InstallProfile"]
    profile = plistlib.loads(cms.verify(plistlib.loads(queued[-1].body)["Command"]["Payload"]).content)

    installed: list[dict] = []

    def profile_list(command_uuid):
        return plistlib.dumps({"Status": "Acknowledged", "UDID": ipad.udid, "CommandUUID": command_uuid,
                               "ProfileList": installed})

    answer = ipad.idle(transport)
    while answer.command:  # ProfileList comes before the InstallProfile: the profile is not there yet
        if answer.request_type == "ProfileList":
            answer = ipad.send(transport, profile_list(answer.command_uuid))
        else:
            if answer.request_type == "InstallProfile":
                installed.append({"PayloadIdentifier": profile["PayloadIdentifier"],
                                  "PayloadUUID": profile["PayloadUUID"], "IsManaged": True})
            answer = ipad.report(transport, "Acknowledged", answer.command_uuid)
    after = installs(db, ipad.udid)
    assert len(after) == 5 and {c.status for c in after} == {"acknowledged"}  # the waiting install was not doubled

    # the daily inventory: ProfileList now lists the profile, and nothing more is queued
    with db.unit_of_work() as session:
        from app.services.access import cli_principal
        from app.services.mdm import commands as queue

        queue.enqueue(session, cli_principal(), [after[0].device_id], "ProfileList")
    answer = ipad.idle(transport)
    assert answer.request_type == "ProfileList"
    assert ipad.send(transport, profile_list(answer.command_uuid)).command is None
    assert len(installs(db, ipad.udid)) == 6
