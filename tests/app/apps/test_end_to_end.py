"""The issue's walk-through: a token, 200 apps, an exam app central IT requires and locks, a reading app
school A adds for 3A, an iPad in 3A that gets both licences and both installs and answers with the real
ManagedApplicationList captures, and nothing more queued; moved to 4B, the reading app goes and its
licence is released.
"""

from __future__ import annotations

import datetime as dt
import plistlib
from pathlib import Path

from sqlalchemy import select

from app.models import Command, Device
from app.models.apps import AppLicence
from app.services.access import Role
from app.services.apps import jobs, licences
from tests.app.apps.conftest import EXAM_APP, READING_APP
from tests.support import factories, people

CAPTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mdm-fixtures" / "cmdmnt+commandment" / "testdata" / "ManagedApplicationList"


def capture(name: str) -> dict:
    return plistlib.loads((CAPTURES / name).read_bytes())["ManagedApplicationList"]


def commands_of(db, udid: str) -> list[Command]:
    with db.session() as session:
        device_id = session.scalar(select(Device.id).where(Device.udid == udid))
        return list(session.scalars(select(Command).where(Command.device_id == device_id).order_by(Command.id)))


def answer_everything(ipad, transport, answers: dict) -> list[tuple[str, dict]]:
    """Fetch and answer commands until the queue is empty; ``answers`` gives responses per RequestType."""
    seen = []
    answer = ipad.idle(transport)
    while answer.command:
        request_type = answer.request_type
        seen.append((request_type, answer.command["Command"]))
        response = answers.get(request_type, {})
        answer = ipad.report(transport, "Acknowledged", answer.command_uuid, **(response() if callable(response) else response))
    return seen


def test_licences_installs_captured_states_and_a_move_that_releases(
    db, cli, world, new_ipad, transport, fake_apns, fake_apps, location, token_file, notify_flokk, client, monkeypatch
):
    place, _ = location
    fake_apps.deliver = notify_flokk
    result = cli("apps", "token", "import", str(token_file))
    assert result.exit_code == 0, result.output
    assert "Bergvik skoler" in result.output
    assert place.mdm_info["name"] == "Flokk"
    assert [note[2]["notificationType"] for note in fake_apps.notifications] == ["TEST_NOTIFICATION"]

    result = cli("apps", "sync")
    assert result.exit_code == 0, result.output
    assert "200 apps and books (200 new, 0 gone), 200 looked up" in result.output
    assert len(fake_apps.requests_to("assets")) == 2  # two pages of 100

    with db.unit_of_work() as session:
        group_3a = factories.group(session, world.school, name="3A")
        group_4b = factories.group(session, world.school, name="4B")
        ict = people.api_token(session, [(Role.SCHOOL_ICT, world.school.id)])
    assert cli("apps", "set", "baseline", EXAM_APP.adam_id, "required", "--lock").exit_code == 0
    assert cli("apps", "set", "baseline", READING_APP.adam_id, "available").exit_code == 0
    response = client.post("/api/v1/apps/layers/group:nordby/3A", headers=people.bearer(ict),
                           json={"app": READING_APP.adam_id, "state": "required"})
    assert response.status_code == 200, response.get_json()
    # the school cannot undo central IT's lock on the exam app
    refused = client.post("/api/v1/apps/layers/group:nordby/3A", headers=people.bearer(ict),
                          json={"app": EXAM_APP.adam_id, "state": "removed"})
    assert refused.status_code == 422
    assert "locked in baseline" in str(refused.get_json()["details"])

    ipad = new_ipad()
    assert ipad.enrol(transport).status == 200
    with db.session() as session:
        device_id = session.scalar(select(Device.id).where(Device.udid == ipad.udid))
    assert client.put(f"/api/v1/devices/{device_id}/group", headers=people.bearer(ict), json={"group_id": group_3a.id}).status_code == 200
    with db.session() as session:
        wanted = {row.adam_id: row.state for row in session.scalars(select(AppLicence).where(AppLicence.device_id == device_id))}
    assert wanted == {EXAM_APP.adam_id: "wanted", READING_APP.adam_id: "wanted"}

    # the licence worker: one association per app, polled, then the device's installs are queued
    with db.unit_of_work() as session:
        round_ = licences.process(session)
    assert round_.assigned == 2
    assert {(adam, serial) for adam, _, serial in place.assignments} == {
        (EXAM_APP.adam_id, ipad.serial), (READING_APP.adam_id, ipad.serial)}
    installs = [plistlib.loads(c.body)["Command"] for c in commands_of(db, ipad.udid) if c.request_type == "InstallApplication"]
    assert sorted(item["iTunesStoreID"] for item in installs) == sorted([int(EXAM_APP.adam_id), int(READING_APP.adam_id)])
    assert all(item["ManagementFlags"] == 1 and item["Options"] == {"PurchaseMethod": 1} for item in installs)

    seen = answer_everything(ipad, transport, {})
    assert [name for name, _ in seen].count("InstallApplication") == 2

    # a little later the scheduler asks how the installs went: still installing (the real capture)
    monkeypatch.setattr(jobs, "AFTER_COMMAND", dt.timedelta(0))
    with db.unit_of_work() as session:
        assert jobs.refresh_app_states(session) == 1
    installing = {"com.apple.Numbers": capture("iOS-12.1-Installing.xml")["com.apple.Numbers"],
                  "com.apple.iWork.Keynote": capture("iOS-12.1-Installing.xml")["com.apple.Numbers"]}
    seen = answer_everything(ipad, transport, {"ManagedApplicationList": {"ManagedApplicationList": installing}})
    assert [name for name, _ in seen] == ["ManagedApplicationList"]
    before = len(commands_of(db, ipad.udid))
    with db.unit_of_work() as session:
        assert jobs.refresh_app_states(session) == 0  # reported less than ten minutes ago

    # later: both report Managed (the real capture's entry, for the second app under its bundle id)
    managed = capture("iOS-12.1-Managed.xml")
    cli("command", "send", ipad.serial, "ManagedApplicationList")
    seen = answer_everything(ipad, transport, {"ManagedApplicationList": {"ManagedApplicationList": {
        "com.apple.Numbers": managed["com.apple.Numbers"], "com.apple.iWork.Keynote": managed["com.apple.Numbers"]}}})
    assert [name for name, _ in seen] == ["ManagedApplicationList"]
    assert len(commands_of(db, ipad.udid)) == before + 1  # the query itself; the reconciler queued nothing

    # moved to 4B: the reading app leaves the iPad's list, is removed, and its licence is released
    assert client.put(f"/api/v1/devices/{device_id}/group", headers=people.bearer(ict), json={"group_id": group_4b.id}).status_code == 200
    fake_apps.settle()
    queued = [c for c in commands_of(db, ipad.udid) if c.status == "queued"]
    assert [(c.request_type, plistlib.loads(c.body)["Command"].get("Identifier")) for c in queued] == [
        ("RemoveApplication", "com.apple.iWork.Keynote")]
    with db.unit_of_work() as session:
        assert licences.process(session).freed == 1
    assert {(adam, serial) for adam, _, serial in place.assignments} == {(EXAM_APP.adam_id, ipad.serial)}
    with db.session() as session:
        held = {row.adam_id: row.state for row in session.scalars(select(AppLicence).where(AppLicence.device_id == device_id))}
    assert held == {EXAM_APP.adam_id: "associated"}
