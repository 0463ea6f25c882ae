"""OS updates as central IT runs them: targets per layer with locks, previews, progress per school, CLI, API, dashboard."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models import Command
from app.services.access import Role
from app.services.declarations import updates
from app.services.declarations.updates import State
from tests.app.declarations.conftest import serve
from tests.support import people

ENFORCEMENT = "com.apple.configuration.softwareupdate.enforcement.specific"


@pytest.fixture
def tokens(db, world):
    """API tokens: central IT, and the ICT contact of world.school."""
    with db.unit_of_work() as session:
        return {"central": people.api_token(session, [(Role.CENTRAL_ADMIN, None)]),
                "nordby": people.api_token(session, [(Role.SCHOOL_ICT, world.school.id)])}


def post(client, token, layer, body):
    return client.post(f"/api/v1/updates/{layer}", json=body, headers=people.bearer(token))


def test_central_it_sets_a_locked_target_and_a_school_is_refused_a_later_deadline(db, client, tokens, world):
    answer = post(client, tokens["central"], "baseline",
                  {"version": "26.1", "build": "23B85", "deadline": "2030-10-16 16:00", "lock": True, "note": "Friday"})
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["change"]["saved"] and body["change"]["version"] == 1
    (nordby,) = [school for school in body["schools"] if school["school"] == "nordby"]
    assert nordby["target"]["deadline"]["value"] == "2030-10-16T16:00:00" and nordby["target"]["deadline"]["locked_in"] == "baseline"

    refused = post(client, tokens["nordby"], "school:nordby", {"deadline": "2030-10-23 16:00"})
    assert refused.status_code == 422
    (reason,) = refused.get_json()["details"]["TargetLocalDateTime"]
    assert reason.startswith("is locked in baseline by token:test token")
    # Nor may a school change central IT's baseline.
    assert post(client, tokens["nordby"], "baseline", {"deadline": "2030-10-23 16:00"}).status_code == 403


def test_a_school_gives_itself_a_later_deadline_where_it_is_not_locked(db, client, tokens, world):
    assert post(client, tokens["central"], "baseline", {"version": "26.1", "deadline": "2030-10-16 16:00"}).status_code == 200
    preview = post(client, tokens["nordby"], "school:nordby", {"deadline": "2030-10-23 16:00", "dry_run": True})
    assert preview.status_code == 200 and not preview.get_json()["change"]["saved"]
    saved = post(client, tokens["nordby"], "school:nordby", {"deadline": "2030-10-23 16:00"})
    assert saved.status_code == 200
    shown = client.get("/api/v1/updates", headers=people.bearer(tokens["central"])).get_json()["schools"]
    targets = {school["school"]: school["target"]["deadline"] for school in shown}
    assert targets["nordby"]["value"] == "2030-10-23T16:00:00" and targets["nordby"]["layer"] == "school:nordby"
    assert targets["sorby"]["value"] == "2030-10-16T16:00:00" and targets["sorby"]["layer"] == "baseline"
    # The other school is not the ICT contact's to change, nor to see.
    assert post(client, tokens["nordby"], "school:sorby", {"deadline": "2030-10-23 16:00"}).status_code == 404


@pytest.mark.parametrize(
    "body, field",
    [
        ({"version": "twenty-six", "deadline": "2030-10-16 16:00"}, "TargetOSVersion"),
        ({"version": "26.1", "deadline": "2020-10-16 16:00"}, "deadline"),
        ({"version": "26.1", "deadline": "on Friday"}, "deadline"),
        ({"build": "23 B85"}, "TargetBuildVersion"),
        ({"details_url": "ftp://example.org"}, "DetailsURL"),
        ({}, None),
        ({"unset": ["colour"]}, "unset.0"),
        ({"version": "26.1", "unset": ["version"]}, None),
    ],
)
def test_bad_targets_are_refused_naming_the_field_and_nothing_is_saved(db, client, tokens, body, field):
    answer = post(client, tokens["central"], "baseline", body)
    assert answer.status_code == 422, answer.get_json()
    if field:
        assert field in answer.get_json().get("details", {}), answer.get_json()
    assert client.get("/api/v1/updates", headers=people.bearer(tokens["central"])).get_json()["schools"][0]["target"] == {
        "version": None, "build": None, "deadline": None, "details_url": None}


def test_progress_per_school_and_device_from_what_the_ipads_report(db, client, principal, tokens, world, declarative,
                                                                    new_ipad, transport):
    assert post(client, tokens["central"], "baseline", {"version": "26.1", "build": "23B85", "deadline": "2030-10-16 16:00"}).status_code == 200
    done, downloading, failed, pending = (declarative() for _ in range(4))
    old = declarative(os_version="16.6", build="20G75")
    plain = new_ipad()
    assert plain.enrol(transport).status == 200
    assert done.installed(transport, "26.1", "23B85").status == 200
    assert downloading.update_progress(transport, "downloading", version="26.1", build="23B85").status == 200
    assert failed.update_progress(transport, "failed", version="26.1", build="23B85", failures=1,
                                  reason="Not enough free space").status == 200
    view = _overview(db, principal)
    assert view.counts == {State.DONE: 1, State.DOWNLOADING: 1, State.FAILED: 1, State.PENDING: 1, State.TOO_OLD: 1,
                           State.NOT_DECLARATIVE: 1}
    assert (view.done, view.pending, view.failed, view.unreachable, view.below_target) == (1, 2, 1, 2, 5)
    by_serial = {update.serial_number: update for update in view.devices}
    assert by_serial[failed.serial].reason == "Not enough free space"
    assert by_serial[downloading.serial].pending_version == "26.1"
    api = client.get("/api/v1/schools/nordby/os-update", headers=people.bearer(tokens["nordby"])).get_json()
    assert api["devices"]["by_state"] == {"done": 1, "downloading": 1, "failed": 1, "pending": 1, "too_old": 1,
                                          "not_declarative": 1}
    assert {device["serial_number"]: device["state"] for device in api["device_list"]}[pending.serial] == "pending"

    page = _dashboard(db, client, world).get("/schools/nordby/os-update")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "1 done" in text and "2 pending" in text and "1 failed" in text
    assert "Not enough free space" in text and "26.1" in text


def test_the_cli_sets_and_shows_targets(db, cli, world, declarative, transport):
    done = cli("updates", "set", "--version", "26.1", "--build", "23B85", "--deadline", "2030-10-16 16:00", "--lock",
               "--note", "all iPads by Friday")
    assert done.exit_code == 0, done.output
    assert "Saved baseline version 1" in done.output and "TargetOSVersion = 26.1 (locked)" in done.output
    refused = cli("updates", "set", "--school", "nordby", "--deadline", "2030-10-23 16:00")
    assert refused.exit_code == 1 and "Error:" in refused.output and "TargetLocalDateTime" in refused.output
    assert "locked in baseline" in refused.output
    ipad = declarative()
    assert ipad.of_type(ENFORCEMENT).payload["TargetLocalDateTime"] == "2030-10-16T16:00:00"
    shown = cli("updates", "show", "--school", "nordby", "--devices")
    assert shown.exit_code == 0, shown.output
    assert "26.1" in shown.output and "2030-10-16 16:00 (baseline)" in shown.output and ipad.serial in shown.output
    assert "not started" in shown.output or "pending" in shown.output
    unlocked = cli("policy", "unlock", "baseline", "osupdate", "TargetLocalDateTime")
    assert unlocked.exit_code == 0, unlocked.output
    later = cli("updates", "set", "--school", "nordby", "--deadline", "2030-10-23 16:00", "--dry-run")
    assert later.exit_code == 0 and "Preview of school:nordby" in later.output and "Would tell 1 device(s)" in later.output
    saved = cli("updates", "set", "--school", "nordby", "--deadline", "2030-10-23 16:00")
    assert saved.exit_code == 0 and "Told 1 device(s)" in saved.output
    serve(ipad, transport)
    assert ipad.of_type(ENFORCEMENT).payload["TargetLocalDateTime"] == "2030-10-23T16:00:00"


def test_the_dashboard_sets_a_target_and_shows_a_declaration_error_with_its_reason(db, client, world, declarative, transport):
    signed_in = _dashboard(db, client, world)
    form = {"version": "26.1", "deadline": "2030-10-16 16:00", "csrf_token": people.CSRF}
    preview = signed_in.post("/os-updates", data={**form, "intent": "preview"})
    assert preview.status_code == 200 and "Preview (nothing saved)" in preview.get_data(as_text=True)
    saved = signed_in.post("/os-updates", data={**form, "intent": "save", "lock": "1"})
    assert saved.status_code == 302
    ipad = declarative()
    identifier = next(name for name, held in ipad.held.items() if held.type == ENFORCEMENT)
    ipad.failures[identifier] = ("Error.ConfigurationCannotBeApplied", "Configuration cannot be applied",
                                 {"Error": "The requested version is not offered for this device"})
    assert ipad.report_status(transport).status == 200
    with db.session() as session:
        device_id = session.scalar(select(Command.device_id).limit(1))
    page = signed_in.get(f"/devices/{device_id}").get_data(as_text=True)
    assert "Error.ConfigurationCannotBeApplied" in page and "The requested version is not offered for this device" in page
    assert "declarations: the device reports by itself" in page
    school = signed_in.get("/schools/nordby/os-update").get_data(as_text=True)
    assert "Central IT locked the deadline" in school


def _overview(db, principal):
    with db.session() as session:
        (view,) = updates.overview(session, principal, school="nordby", with_devices=True)
        return view


def _dashboard(db, client, world):
    with db.unit_of_work() as session:
        admin = people.admin(session, [(Role.CENTRAL_ADMIN, None)])
    people.sign_in(client, admin)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client
