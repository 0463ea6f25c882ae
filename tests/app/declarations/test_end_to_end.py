"""An OS update by a deadline, end to end: a running Flokk (`flokk serve`, two gunicorn workers, TLS) and an iPad that speaks DDM.

Central IT works with `flokk` commands, the school's ICT contact with the REST
API over HTTPS, the iPad over HTTPS with its SCEP identity: it enrols from
its school's profile, is told to speak declaratively, syncs (tokens,
declaration-items, each declaration, its legacy profile), and reports status
built from the real captures. The dashboard (the same database) then shows
the school's progress and the device's declarations.
"""

from __future__ import annotations

import json
import plistlib
import re
import urllib.error
import urllib.request

from sqlalchemy import select

from app import create_app
from app.models import Command, Device
from app.services.access import Role
from mdm_protocol import cms
from tests.app.mdm.test_commands import answer_for
from tests.app.mdm.test_end_to_end import flokk  # noqa: F401 - the running Flokk
from tests.support import people
from tests.support.ddm_ipad import DeclarativeIpad
from tests.support.ipad import PUSH_TOPIC, read_profile, scep_enrol

ENFORCEMENT = "com.apple.configuration.softwareupdate.enforcement.specific"
PASSCODE = "com.apple.configuration.passcode.settings"
DEADLINE, LATER = "2030-10-18 16:00", "2030-10-25 16:00"


def api(flokk, token: str, path: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(f"{flokk.base_url}/api/v1{path}", data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, context=flokk.trust, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def page_of(client, device_id: int) -> str:
    return client.get(f"/devices/{device_id}").get_data(as_text=True)


def woken_and_served(ipad, transport, fake_apns, pushes: int) -> list[str]:
    """Wait for the push, then connect and answer every command; a DeclarativeManagement one by syncing first.

    The inventory is answered with the captured iOS answers, re-addressed to this iPad's OS and serial.
    """
    assert fake_apns.wait_for(pushes, timeout=30), "no push reached APNs"
    delivered = []
    answer = ipad.idle(transport)
    while answer.command:
        delivered.append(answer.request_type)
        if answer.request_type == "DeclarativeManagement":
            ipad.sync(transport)
            answer = ipad.report(transport, "Acknowledged", answer.command_uuid)
        elif answer.request_type == "DeviceInformation":
            message = plistlib.loads(answer_for(ipad, answer.command_uuid, "DeviceInformation"))
            message["QueryResponses"].update(OSVersion=ipad.os_version, BuildVersion=ipad.build,
                                             ProductName=ipad.product, SerialNumber=ipad.serial)
            answer = ipad.send(transport, plistlib.dumps(message))
        elif answer.request_type in ("SecurityInfo", "ProfileList", "InstalledApplicationList"):
            answer = ipad.send(transport, answer_for(ipad, answer.command_uuid, answer.request_type))
        else:
            answer = ipad.report(transport, "Acknowledged", answer.command_uuid)
    assert answer.status == 200
    return delivered


def test_an_os_update_by_a_deadline_from_central_it_to_a_done_ipad(flokk, fake_apns, db, settings):  # noqa: F811
    flokk.run("policy", "set", "baseline", "passcode", "minLength", "6")
    flokk.run("policy", "set", "baseline", "restrictions", "allowCamera", "false", "--lock")

    # The iPad enrols from its school's profile with its SCEP identity, and is asked to speak DDM.
    ipad = DeclarativeIpad(os_version="26.0", build="23A341")
    payloads = read_profile(flokk.fetch("GET", flokk.enrollment_url))
    scep_enrol(ipad, payloads.scep, flokk.fetch)
    transport = flokk.transport()
    assert ipad.checkin(transport, ipad.authenticate_message()).status == 200
    assert ipad.checkin(transport, ipad.token_update_message()).status == 200
    delivered = woken_and_served(ipad, transport, fake_apns, 1)
    assert "DeclarativeManagement" in delivered and "InstallProfile" not in delivered  # never both ways
    assert ipad.of_type(PASSCODE).payload == {"MinimumLength": 6} and ipad.of_type(ENFORCEMENT) is None
    (legacy,) = [identifier for identifier, held in ipad.held.items() if held.type.endswith(".legacy")]
    restrictions = plistlib.loads(cms.verify(ipad.fetch_profile(transport, ipad.held[legacy].payload["ProfileURL"])).content)
    assert restrictions["PayloadContent"][0]["allowCamera"] is False
    assert ipad.report_status(transport).status == 200

    # Central IT: all iPads to 26.1 by Friday 16:00, locked. The iPad is woken and fetches the declaration.
    shown = flokk.run("updates", "set", "--version", "26.1", "--build", "23B85", "--deadline", DEADLINE, "--lock")
    assert "Told 1 device(s)" in shown
    assert woken_and_served(ipad, transport, fake_apns, 2) == ["DeclarativeManagement"]
    enforcement = ipad.of_type(ENFORCEMENT).payload
    assert enforcement == {"TargetOSVersion": "26.1", "TargetBuildVersion": "23B85", "TargetLocalDateTime": "2030-10-18T16:00:00"}

    # The school's ICT contact asks for a week more: refused while the deadline is locked, accepted once it is not.
    token = re.search(r"Token:\s+(\S+)", flokk.run("token", "create", "nordby-ict", "--role", "school_ict",
                                                  "--school", "nordby")).group(1)
    status, refused = api(flokk, token, "/updates/school:nordby", {"deadline": LATER})
    assert status == 422 and "is locked in baseline" in refused["details"]["TargetLocalDateTime"][0]
    flokk.run("policy", "unlock", "baseline", "osupdate", "TargetLocalDateTime")
    assert fake_apns.wait_for(2, timeout=5) and woken_and_served(ipad, transport, fake_apns, 2) == []  # unlocking changes no set
    status, saved = api(flokk, token, "/updates/school:nordby", {"deadline": LATER})
    assert status == 200 and saved["change"]["devices"]["declarations"] == [{"school": "nordby", "told": 1, "enabled": 0}]
    assert woken_and_served(ipad, transport, fake_apns, 3) == ["DeclarativeManagement"]
    assert ipad.of_type(ENFORCEMENT).payload["TargetLocalDateTime"] == "2030-10-25T16:00:00"

    # The iPad reports its progress, a declaration it could not apply, then the new OS.
    assert ipad.update_progress(transport, "downloading", version="26.1", build="23B85").status == 200
    ipad.failures[legacy] = ("Error.ConfigurationCannotBeApplied", "Configuration cannot be applied",
                             {"Error": "Profile Installation Failed"})
    assert ipad.report_status(transport).status == 200
    assert ipad.update_progress(transport, "installing", version="26.1", build="23B85").status == 200
    assert "installing" in flokk.run("updates", "show", "--school", "nordby", "--devices")
    assert ipad.installed(transport, "26.1", "23B85").status == 200

    # The dashboard (on the same database and public URL): the school's iPads are done, and the device page
    # names the failed declaration and why.
    with db.unit_of_work() as session:
        admin = people.admin(session, [(Role.CENTRAL_ADMIN, None)])
        device_id = session.scalar(select(Device.id).where(Device.udid == ipad.udid))
    dashboard = create_app(settings.replace(public_url=flokk.base_url))
    client = dashboard.test_client()
    people.sign_in(client, admin)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    school = client.get("/schools/nordby/os-update").get_data(as_text=True)
    assert "1 done" in school and "0 pending" in school and "Every iPad is on the target." in school
    assert ">applied<" in page_of(client, device_id) and "an older version reported" not in page_of(client, device_id)
    assert "2030-10-25 16:00" in school and "school:nordby" in school
    page = client.get(f"/devices/{device_id}").get_data(as_text=True)
    assert "26.1" in page and "Profile Installation Failed" in page and "Error.ConfigurationCannotBeApplied" in page
    assert "to 26.1 by 2030-10-25 16:00: done" in page
    with db.session() as session:
        sent = {row.request_type for row in session.scalars(select(Command).where(Command.device_id == device_id))
                if row.status == "acknowledged"}
    assert "InstallProfile" not in sent and "ScheduleOSUpdate" not in sent
    assert PUSH_TOPIC == payloads.mdm["Topic"]
