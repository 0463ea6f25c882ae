"""Bad input around apps: expired, unknown and foreign tokens, a licence pool that runs out half-way through a
roll-out, an app that does not exist, Apple refusing or slow, and notifications that are not Apple's."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from app.models import Command
from app.models.apps import AppLicence, AppsToken
from app.services.access import Role, cli_principal
from app.services.apps import catalogue, connection, licences
from tests.app.apps.conftest import EXAM_APP, READING_APP, expired_token
from tests.fakes.apps_and_books import FakeAsset, make_token
from tests.support import factories, people


def _tokens(db) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(AppsToken))


def test_tokens_that_are_expired_unknown_or_not_tokens_are_refused_with_the_reason(db, cli, world, fake_apps, tmp_path):
    cases = {
        "expired.vpptoken": (expired_token(), "the content token expired on"),
        "unknown.vpptoken": (make_token(), "Apple does not accept the content token: Login required. (error 9601)"),
        "garbage.vpptoken": (b"\x00\xffnot a token", "not a content token"),
        "json.vpptoken": (b"eyJmb28iOiAxfQ==", "has no token"),
    }
    expired_at_apple = make_token()
    fake_apps.add_location(expired_at_apple).expired = True
    cases["apple-says-expired.vpptoken"] = (expired_at_apple, "Apple says the content token has expired")
    for name, (data, reason) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        result = cli("apps", "token", "import", str(path))
        assert result.exit_code == 1, (name, result.output)
        assert result.output.startswith("Error: ") and reason in result.output, (name, result.output)
    assert _tokens(db) == 0


def test_a_token_another_mdm_holds_is_not_taken_silently(db, cli, world, fake_apps, location, token_file):
    place, _ = location
    place.mdm_info = {"id": "other-mdm-42", "name": "Jamf School", "metadata": "bergvik.jamfcloud.com"}
    result = cli("apps", "token", "import", str(token_file))
    assert result.exit_code == 1
    assert "in use by another MDM (Jamf School, bergvik.jamfcloud.com)" in result.output and "--force" in result.output
    assert _tokens(db) == 0 and place.mdm_info["name"] == "Jamf School"

    result = cli("apps", "token", "import", str(token_file), "--force")
    assert result.exit_code == 0, result.output
    assert "Took the location over from Jamf School" in result.output
    assert place.mdm_info["name"] == "Flokk"

    # the other MDM claims it back: Flokk notices at the next answer and stops using the token
    place.mdm_info = {"id": "other-mdm-42", "name": "Jamf School", "metadata": "bergvik.jamfcloud.com"}
    result = cli("apps", "sync")
    assert result.exit_code == 1 and "another MDM (Jamf School, bergvik.jamfcloud.com)" in result.output
    shown = cli("apps", "token", "show").output
    assert "Taken over by: Jamf School" in shown
    with db.unit_of_work() as session:
        assert licences.process(session).requests == 0  # no licence is touched for another MDM's location


def test_a_licence_pool_that_runs_out_mid_roll_out_leaves_the_rest_waiting_with_the_reason(
    db, cli, world, fake_apps, location, token_file
):
    place, _ = location
    exam = place.assets[(EXAM_APP.adam_id, "STDQ")]
    exam.total = 5
    assert cli("apps", "token", "import", str(token_file)).exit_code == 0
    assert cli("apps", "sync").exit_code == 0
    with db.unit_of_work() as session:
        devices = [factories.device(session, world.school) for _ in range(8)]
    # someone assigns two licences in Apple School Manager after Flokk's sync: Flokk thinks 5 are free, 3 are
    place.assignments.update({(EXAM_APP.adam_id, "STDQ", "ELSEWHERE1"), (EXAM_APP.adam_id, "STDQ", "ELSEWHERE2")})
    assert cli("apps", "set", "baseline", EXAM_APP.adam_id, "required").exit_code == 0
    with db.unit_of_work() as session:
        first = licences.process(session)
    assert (first.requested, first.assigned, first.waiting) == (5, 0, 3)  # Apple refused the batch as a whole (9709)
    with db.session() as session:
        rows = list(session.scalars(select(AppLicence).where(AppLicence.adam_id == EXAM_APP.adam_id,
                                                             AppLicence.device_id.is_not(None))))
    assert len(rows) == 8 and {row.state for row in rows} == {"wanted"}  # nothing lost
    assert {row.reason for row in rows} == {"no free licence: all 5 licences of Numbers are in use; buy more in "
                                            "Apple School Manager or free some"}

    assert cli("apps", "sync").exit_code == 0  # the counts from Apple: 3 free
    with db.session() as session:
        installs = session.scalar(select(func.count()).select_from(Command).where(Command.request_type == "InstallApplication"))
        states = sorted(row.state for row in session.scalars(select(AppLicence).where(AppLicence.device_id.is_not(None))))
    assert states == ["associated"] * 3 + ["wanted"] * 5
    assert installs == 3
    shown = cli("apps", "list").output
    assert "Numbers" in shown and "5" in shown

    exam.total = 10  # bought more: the rest get theirs
    assert cli("apps", "sync").exit_code == 0
    with db.session() as session:
        states = sorted(row.state for row in session.scalars(select(AppLicence).where(AppLicence.device_id.is_not(None))))
        installs = session.scalar(select(func.count()).select_from(Command).where(Command.request_type == "InstallApplication"))
    assert states == ["associated"] * 8 and installs == 8
    assert all(serial in {s for _, _, s in place.assignments} for serial in (device.serial_number for device in devices))


def test_an_app_that_does_not_exist_or_is_not_allowed_is_refused_and_nothing_saved(
    db, cli, client, world, fake_apps, location, token_file
):
    assert cli("apps", "token", "import", str(token_file)).exit_code == 0
    assert cli("apps", "sync").exit_code == 0
    fake_apps.add_asset(location[0], FakeAsset("555555555", "Book", "", product_type="Book", device_assignable=False))
    assert cli("apps", "sync").exit_code == 0
    for app, reason in (("999999999", "is not one of the organisation's Apps and Books apps"),
                        ("555555555", "Apple does not allow assigning its licences to devices"),
                        ("abc", "an app is named by its App Store id"),
                        ("0123", "an app is named by its App Store id")):
        result = cli("apps", "set", "baseline", app, "required")
        assert result.exit_code == 1 and reason in result.output, (app, result.output)
    assert "has never been changed" in cli("policy", "history", "baseline").output

    with db.unit_of_work() as session:
        ict = people.api_token(session, [(Role.SCHOOL_ICT, world.school.id)])
    headers = people.bearer(ict)
    # a school picks only from what central IT allows
    refused = client.post("/api/v1/apps/layers/school:nordby", headers=headers, json={"app": READING_APP.adam_id, "state": "required"})
    assert refused.status_code == 422
    assert "not among the apps central IT allows" in refused.get_json()["details"][f"app:{READING_APP.adam_id}"][0]
    for body in ({"app": "12; DROP", "state": "required"}, {"app": READING_APP.adam_id, "state": "maybe"},
                 {"app": READING_APP.adam_id, "state": "required", "configuration": [1, 2]},
                 {"app": READING_APP.adam_id, "state": "required", "configuration": {"a": None}}):
        response = client.post("/api/v1/apps/layers/school:nordby", headers=headers, json=body)
        assert response.status_code == 422, (body, response.get_json())
    assert client.post("/api/v1/apps/layers/school:sorby", headers=headers,
                       json={"app": READING_APP.adam_id, "state": "required"}).status_code == 404


def test_apple_slow_or_refusing_is_retried_with_back_off_and_a_failure_is_a_clear_error(
    db, cli, world, fake_apps, location, token_file
):
    assert cli("apps", "token", "import", str(token_file)).exit_code == 0
    fake_apps.script("assets", (503, None, 0), (429, 9646, 0))
    result = cli("apps", "sync")
    assert result.exit_code == 0, result.output
    assert len(fake_apps.requests_to("assets")) == 4  # two refusals, then the two pages

    fake_apps.script("assets", *[(503, None, 0)] * 6)
    result = cli("apps", "sync")
    assert result.exit_code == 1 and "Apps and Books kept refusing" in result.output
    assert "Last error:    Apps and Books kept refusing" in cli("apps", "token", "show").output


def test_notifications_that_are_not_apples_change_nothing(db, client, world, fake_apps, location, notify_flokk):
    fake_apps.deliver = notify_flokk
    with db.unit_of_work() as session:
        token = connection.import_token(session, cli_principal(), location[1]).token
        catalogue.sync(session, cli_principal())
        nonce = token.notification_nonce
    secret = location[0].notification_token
    url = f"/apps/notifications/{nonce}"
    good = {"Authorization": f"Bearer {secret}"}
    count = {"notification": {"adamId": EXAM_APP.adam_id, "pricingParam": "STDQ", "countDelta": 7},
             "notificationId": "n-1", "notificationType": "ASSET_COUNT", "uId": location[0].uid}
    cases = [
        ({"Authorization": "Bearer wrong"}, json.dumps(count).encode(), 401),
        ({}, json.dumps(count).encode(), 401),
        (good, b"{not json", 422),
        (good, json.dumps({**count, "uId": "someone-else"}).encode(), 422),
        (good, json.dumps({**count, "notification": {"adamId": EXAM_APP.adam_id, "pricingParam": "STDQ",
                                                     "countDelta": "lots"}}).encode(), 422),
        (good, json.dumps({"notificationType": "ASSET_COUNT"}).encode(), 422),
        (good, b"x" * (1024 * 1024 + 10), 422),
    ]
    for headers, body, status in cases:
        response = client.post(url, data=body, headers={**headers, "Content-Type": "application/json"})
        assert response.status_code == status, (body[:80], response.get_json())
    assert client.post("/apps/notifications/unknown-nonce-0123456789", data=json.dumps(count),
                       headers=good).status_code == 401
    with db.session() as session:
        before = session.scalar(select(func.count()).select_from(AppLicence))
    # the real one, twice: counted once
    for _ in range(2):
        assert client.post(url, data=json.dumps(count), headers=good).status_code == 200
    shown = overview_total(db)
    assert shown == EXAM_APP.total + 7
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(AppLicence)) == before


def overview_total(db) -> int:
    from app.services.apps import overview

    with db.session() as session:
        found = overview.catalogue(session, cli_principal())
    return next(info.total for info in found.apps if info.adam_id == EXAM_APP.adam_id)
