"""Policy through the REST API: read layers in context, preview, save, history, restore, refusals.

Central IT locks the camera in the baseline; Nordby's ICT contact previews and
saves a school passcode, cannot touch the locked camera, and every bad request
is a clear 4xx that saves nothing (the version count stays put).
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.models import Command, PolicyVersion
from app.services.access import Role, cli_principal
from app.services.pki import certificate_authority
from tests.support import factories, people
from tests.support.pki import shared_ca

PASSCODE = "test.flokk.flokk.policy.passcode"  # profile identifier under https://flokk.test
WIFI_PASSWORD = "korrekt-hest-batteri"


@pytest.fixture
def world(db):
    with db.session() as session:
        certificate_authority.import_ca(session, cli_principal(), shared_ca().certificate_pem(), shared_ca().key_pem())
        nordby, sorby = factories.school(session, "nordby", "Nordby skole"), factories.school(session, "sorby", "Sørby skole")
        class_5a = factories.group(session, nordby, "5A")
        ipads = [factories.device(session, nordby, group=class_5a), factories.device(session, nordby), factories.device(session, sorby)]
        central = people.api_token(session, [(Role.CENTRAL_ADMIN, None)], name="central")
        ict = people.api_token(session, [(Role.SCHOOL_ICT, nordby.id)], name="kari")
        helpdesk = people.api_token(session, [(Role.CENTRAL_HELPDESK, None)], name="helpdesk")
        session.commit()
        return {"central": people.bearer(central), "ict": people.bearer(ict), "helpdesk": people.bearer(helpdesk),
                "ipads": [ipad.id for ipad in ipads], "serials": [ipad.serial_number for ipad in ipads]}


def versions(db) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(PolicyVersion))


def change(client, headers, layer, changes, **more):
    return client.post(f"/api/v1/policy/layers/{layer}/changes", json={"changes": changes, **more}, headers=headers)


def lock_the_camera(client, world):
    response = change(client, world["central"], "baseline", [
        {"action": "set", "payload": "restrictions", "key": "allowCamera", "value": False, "lock": True},
        {"action": "set", "payload": "passcode", "key": "minLength", "value": 6},
    ])
    assert response.status_code == 200, response.json
    return response


def test_central_it_locks_and_the_ict_contact_sees_it_in_context(client, world):
    saved = lock_the_camera(client, world).json
    assert (saved["layer"], saved["saved"], saved["version"]) == ("baseline", True, 1)
    assert saved["devices"]["install"] == [
        {"school": "nordby", "profile": PASSCODE, "devices": 2},
        {"school": "nordby", "profile": "test.flokk.flokk.policy.restrictions", "devices": 2},
        {"school": "sorby", "profile": PASSCODE, "devices": 1},
        {"school": "sorby", "profile": "test.flokk.flokk.policy.restrictions", "devices": 1},
    ]
    shown = client.get("/api/v1/policy/layers/school:nordby", headers=world["ict"])
    assert shown.status_code == 200, shown.json
    assert shown.json["layer"] == {"layer": "school:nordby", "version": 0, "updated_by": None, "settings": []}
    (baseline,) = shown.json["above"]
    camera = next(item for item in baseline["settings"] if item["key"] == "allowCamera")
    assert camera == {"payload": "restrictions", "payload_type": "com.apple.applicationaccess", "key": "allowCamera",
                      "value": False, "locked": True, "locked_by": camera["set_by"], "set_by": camera["set_by"]}
    assert camera["locked_by"].startswith("token:central#")
    effective = {item["key"]: item for item in shown.json["effective"]}
    assert (effective["allowCamera"]["layer"], effective["allowCamera"]["locked_in"]) == ("baseline", "baseline")
    assert (effective["minLength"]["value"], effective["minLength"]["locked"]) == (6, False)
    group = client.get("/api/v1/policy/layers/group:nordby/5A", headers=world["ict"]).json
    assert [layer["layer"] for layer in group["above"]] == ["baseline", "school:nordby"]


def test_the_ict_contact_previews_saves_and_restores_a_school_setting(client, db, world):
    lock_the_camera(client, world)
    wanted = [{"action": "set", "payload": "passcode", "key": "minLength", "value": 8}]
    with db.session() as session:
        commands_before = session.scalar(select(func.count()).select_from(Command))
    preview = change(client, world["ict"], "school:nordby", wanted, dry_run=True)
    assert preview.status_code == 200, preview.json
    assert (preview.json["saved"], preview.json["version"]) == (False, None)
    assert preview.json["changes"] == ["+ com.apple.mobiledevice.passwordpolicy minLength = 8"]
    assert preview.json["devices"]["install"] == [{"school": "nordby", "profile": PASSCODE, "devices": 2}]
    assert preview.json["devices"]["dry_run"] is True
    assert versions(db) == 1
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Command)) == commands_before

    saved = change(client, world["ict"], "school:nordby", wanted, note="ny rutine")
    assert (saved.status_code, saved.json["version"], saved.json["devices"]["queued"]) == (200, 1, 2)
    again = change(client, world["ict"], "school:nordby", wanted)
    assert (again.status_code, again.json["saved"], again.json["changes"]) == (200, False, [])
    history = client.get("/api/v1/policy/layers/school:nordby/versions", headers=world["ict"]).json
    assert history["layer"] == "school:nordby"
    assert [(v["number"], v["note"], v["changes"]) for v in history["versions"]] == [
        (1, "ny rutine", ["+ com.apple.mobiledevice.passwordpolicy minLength = 8"])
    ]
    device = client.get(f"/api/v1/devices/{world['ipads'][0]}/policy", headers=world["ict"]).json
    length = next(item for item in device["settings"] if item["key"] == "minLength")
    assert (length["value"], length["layer"], length["overrides"]) == (8, "school:nordby", [{"layer": "baseline", "value": 6}])
    assert {row["identifier"] for row in device["profiles"]} >= {PASSCODE}

    restored = client.post("/api/v1/policy/layers/school:nordby/versions/0/restore", headers=world["ict"])
    assert (restored.status_code, restored.json["version"]) == (200, 2), restored.json
    assert restored.json["changes"] == ["- com.apple.mobiledevice.passwordpolicy minLength (was 8)"]
    assert client.get("/api/v1/policy/layers/school:nordby/versions", headers=world["ict"]).json["versions"][-1]["restored_from"] == 0
    assert client.post("/api/v1/policy/layers/school:nordby/versions/9/restore", headers=world["ict"]).status_code == 404


def test_a_locked_key_is_refused_naming_the_key_and_who_locked_it(client, db, world):
    lock_the_camera(client, world)
    refused = change(client, world["ict"], "school:nordby", [
        {"action": "set", "payload": "passcode", "key": "minLength", "value": 8},
        {"action": "set", "payload": "restrictions", "key": "allowCamera", "value": True},
    ])
    assert refused.status_code == 422
    (reason,) = refused.json["details"]["allowCamera"]
    assert reason.startswith("is locked in baseline by token:central#")
    assert list(refused.json["details"]) == ["allowCamera"] and "nothing saved" in refused.json["message"]
    assert versions(db) == 1, "the passcode in the same request is not saved either"
    removal = change(client, world["ict"], "school:nordby", [{"action": "remove", "payload": "restrictions"}])
    assert removal.status_code == 422 and "allowCamera is locked in baseline" in removal.json["details"]["com.apple.applicationaccess"][0]
    assert change(client, world["ict"], "baseline", [{"action": "unlock", "payload": "restrictions", "key": "allowCamera"}]).status_code == 403
    assert change(client, world["helpdesk"], "school:nordby", [{"action": "unset", "payload": "passcode"}]).status_code == 403
    assert versions(db) == 1


SET = {"action": "set", "payload": "passcode", "key": "minLength"}
BAD_CHANGES = [
    ("unknown payload", [{**SET, "payload": "teleporter", "value": 1}], "changes.0.payload", "teleporter"),
    ("unknown key", [{**SET, "key": "minLenght", "value": 8}], "minLenght", "is not a key Apple's schema knows"),
    ("wrong type", [{**SET, "value": "eight"}], "minLength", "must be an integer"),
    ("out of range", [{**SET, "value": 17}], "minLength", "must be at most 16"),
    ("set without value", [{**SET}], "changes.0.value", "Give the value"),
    ("value with unset", [{"action": "unset", "payload": "passcode", "value": 3}], "changes.0.value", "takes no value"),
    ("unknown action", [{**SET, "action": "delete", "value": 8}], "changes.0.action", "Must be one of"),
    ("unknown field", [{**SET, "value": 8, "colour": "red"}], "changes.0.colour", "Unknown field"),
    ("no changes", [], "changes", "Length must be between 1 and 200"),
    ("too many changes", [{**SET, "value": 8}] * 201, "changes", "Length must be between 1 and 200"),
    ("Flokk's own marker as a value", [{**SET, "value": {"$flokk": "removed"}}], "changes.0.value", "use the actions remove or lock"),
    ("bad base64", [{**SET, "key": "minLength", "value": {"$data": "not base64!!"}}], "changes.0.value", "base64"),
    ("nested too deeply", [{**SET, "payload": "homescreen", "key": "Pages", "value": [[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]}],
     "changes.0.value", "Nested deeper than 16 levels"),
    ("bad instance name", [{"action": "set", "payload": "wifi:Eduroam Net!", "key": "SSID_STR", "value": "x"}],
     "com.apple.wifi.managed:Eduroam Net!", "instance names are 1-63 lowercase letters"),
]


@pytest.mark.parametrize(("case", "changes", "field", "reason"), BAD_CHANGES, ids=[row[0] for row in BAD_CHANGES])
def test_bad_changes_are_a_clear_422_and_save_nothing(client, db, world, case, changes, field, reason):
    lock_the_camera(client, world)
    response = change(client, world["ict"], "school:nordby", changes)
    assert response.status_code == 422, response.json
    assert field in response.json["details"], response.json
    assert any(reason in text for text in response.json["details"][field]), response.json
    assert versions(db) == 1


def test_malformed_and_huge_bodies_are_refused_and_save_nothing(client, app, db, world):
    lock_the_camera(client, world)
    url = "/api/v1/policy/layers/school:nordby/changes"
    headers = {**world["ict"], "Content-Type": "application/json"}
    malformed = client.post(url, data='{"changes": [', headers=headers)
    assert malformed.status_code == 422 and "JSON object" in malformed.json["message"]
    assert client.post(url, data="[1, 2]", headers=headers).status_code == 422
    deep = client.post(url, data='{"changes": ' + "[" * 5000 + "]" * 5000 + "}", headers=headers)
    assert deep.status_code == 422 and "nested too deeply" in deep.json["message"]
    assert client.post(url, json={"changes": "all of them"}, headers=world["ict"]).status_code == 422
    assert client.post(url, json={"changes": [SET | {"value": 8}], "dry_run": "maybe"}, headers=world["ict"]).status_code == 422
    huge = b'{"changes": [], "note": "' + b"x" * (app.extensions["flokk"].settings.max_body_bytes + 1) + b'"}'
    too_big = client.post(url, data=huge, headers=headers)
    assert too_big.status_code == 413 and too_big.json["error"]
    # A version keeps at most 500 characters of note: longer is a 422, not PostgreSQL refusing it at commit.
    long_note = client.post(url, json={"changes": [SET | {"value": 8}], "note": "x" * 501}, headers=world["ict"])
    assert long_note.status_code == 422 and "note" in long_note.json["details"]
    assert client.get("/api/v1/policy/layers/classroom:5A", headers=world["ict"]).status_code == 404
    assert client.get("/api/v1/policy/layers/school:nowhere", headers=world["ict"]).status_code == 404
    assert client.post("/api/v1/policy/layers/school:nordby/versions/-1/restore", headers=world["ict"]).status_code == 404
    assert versions(db) == 1


def test_secrets_are_masked_in_layers_effective_policy_and_history(client, world):
    wifi = [
        {"action": "set", "payload": "wifi:nordby", "key": "SSID_STR", "value": "Nordby"},
        {"action": "set", "payload": "wifi:nordby", "key": "EncryptionType", "value": "WPA2"},
        {"action": "set", "payload": "wifi:nordby", "key": "Password", "value": WIFI_PASSWORD},
    ]
    assert change(client, world["ict"], "school:nordby", wifi).status_code == 200
    for path in ("/api/v1/policy/layers/school:nordby", "/api/v1/policy/layers/school:nordby/versions",
                 f"/api/v1/devices/{world['ipads'][1]}/policy", f"/api/v1/policy/layers/device:{world['serials'][1]}"):
        response = client.get(path, headers=world["ict"])
        assert response.status_code == 200, path
        text = response.get_data(as_text=True)
        assert WIFI_PASSWORD not in text and "********" in text, path
