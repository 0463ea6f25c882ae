"""An ICT contact of one school cannot see, count, search, export or command another school's things.

Through the REST API and the dashboard alike (the CLI acts as central IT). The
other school's serial number, group name and token label are unique strings,
so any leak into a page or a response shows.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from app.models import PolicyVersion
from app.services import policy
from app.services.access import Role, cli_principal, principal_for_admin, system_principal
from app.services.mdm import commands, enrollment
from app.services.pki import certificate_authority
from profiles import Change
from tests.support import factories, people
from tests.support.pki import shared_ca

SECRET_SERIAL = "SORBY-SECRET-SERIAL"
SECRET_GROUP = "Sorby secret class"
SECRET_LABEL = "sorby-secret-cart"
SECRET_SSID = "Sorby-secret-wifi"
CENTRAL_IT = "it@bergvik.no"


@pytest.fixture
def schools(db):
    with db.session() as session:
        nordby, sorby = factories.school(session, "nordby"), factories.school(session, "sorby")
        mine = factories.device(session, nordby)
        mine_group = factories.group(session, nordby, "7A")
        theirs_group = factories.group(session, sorby, SECRET_GROUP)
        theirs = factories.device(session, sorby, group=theirs_group)
        theirs.serial_number = SECRET_SERIAL
        theirs.name = "Sorby iPad"
        enrollment.create_token(session, system_principal(), school_code="sorby", label=SECRET_LABEL)
        commands.enqueue(session, system_principal(), [theirs.id], "SecurityInfo")
        token = people.api_token(session, [(Role.SCHOOL_ICT, nordby.id)])
        admin = people.admin(session, [(Role.SCHOOL_ICT, nordby.id)])
        _policy(session, theirs)
        session.commit()
    return {"mine": mine.id, "mine_group": mine_group.id, "theirs": theirs.id, "theirs_group": theirs_group.id,
            "token": token, "admin": admin}


def _policy(session, theirs) -> None:
    """Central IT locks the camera; Sørby has its own school, class and device layers."""
    certificate_authority.import_ca(session, cli_principal(), shared_ca().certificate_pem(), shared_ca().key_pem())
    central = principal_for_admin(people.admin(session, [(Role.CENTRAL_ADMIN, None)], email=CENTRAL_IT))
    policy.change(session, central, "baseline", [Change.set("restrictions", "allowCamera", False, lock=True)])
    policy.change(session, central, "school:sorby", [
        Change.set("wifi:sorby", "SSID_STR", SECRET_SSID), Change.set("wifi:sorby", "EncryptionType", "WPA2"),
        Change.set("wifi:sorby", "Password", "sorby-wifi-password"),
    ])
    policy.change(session, central, f"group:sorby/{SECRET_GROUP}", [Change.set("passcode", "minLength", 10)])
    policy.change(session, central, f"device:{SECRET_SERIAL}", [Change.set("passcode", "minLength", 12)])


THEIR_LAYERS = ("school:sorby", quote(f"group:sorby/{SECRET_GROUP}"), f"device:{SECRET_SERIAL}")


def policy_versions(db) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(PolicyVersion))


def test_through_the_api(client, schools):
    headers = people.bearer(schools["token"])

    def get(path):
        return client.get(path, headers=headers)

    listed = get("/api/v1/devices").json
    assert listed["total"] == 1 and [d["id"] for d in listed["devices"]] == [schools["mine"]]
    assert get(f"/api/v1/devices?search={SECRET_SERIAL}").json["total"] == 0
    assert get("/api/v1/devices?school=sorby").status_code == 404
    assert get(f"/api/v1/devices?group_id={schools['theirs_group']}").status_code == 404
    assert get(f"/api/v1/devices/{schools['theirs']}").status_code == 404
    assert get(f"/api/v1/devices/{schools['theirs']}/commands").status_code == 404
    assert [s["code"] for s in get("/api/v1/schools").json["schools"]] == ["nordby"]
    assert get("/api/v1/schools/sorby").status_code == 404
    assert [g["name"] for g in get("/api/v1/groups").json["groups"]] == ["7A"]
    assert get(f"/api/v1/groups/{schools['theirs_group']}").status_code == 404
    assert get("/api/v1/enrollment-tokens").json["enrollment_tokens"] == []
    assert get("/api/v1/enrollment-tokens?school=sorby").status_code == 404
    # Only Nordby's own commands (the baseline's profiles for its iPad), none of Sørby's.
    assert {c["device_id"] for c in get("/api/v1/commands").json["commands"]} == {schools["mine"]}
    assert get("/api/v1/commands?school=sorby").status_code == 404
    assert get("/api/v1/audit").status_code == 403
    assert get("/api/v1/audit/export.csv?school=sorby").status_code == 403

    def send(method, path, body):
        return client.open(path, method=method, json=body, headers=headers)

    assert send("POST", "/api/v1/commands", {"request_type": "ProfileList", "device_ids": [schools["theirs"]]}).status_code == 404
    assert send("POST", "/api/v1/commands",
                {"request_type": "ProfileList", "device_ids": [schools["mine"], schools["theirs"]]}).status_code == 404
    assert send("PUT", f"/api/v1/devices/{schools['mine']}/group", {"group_id": schools["theirs_group"]}).status_code == 404
    assert send("PUT", f"/api/v1/devices/{schools['theirs']}/group", {"group_id": None}).status_code == 404
    assert send("POST", "/api/v1/groups", {"school": "sorby", "name": "8B"}).status_code == 404
    assert send("DELETE", f"/api/v1/groups/{schools['theirs_group']}", None).status_code == 404
    assert send("POST", "/api/v1/enrollment-tokens", {"school": "sorby"}).status_code == 404
    for response in (get("/api/v1/devices"), get("/api/v1/groups"), get("/api/v1/enrollment-tokens"), get("/api/v1/commands"),
                     get("/api/v1/policy/layers/baseline"), get("/api/v1/policy/layers/school:nordby"),
                     get(f"/api/v1/devices/{schools['mine']}/policy")):
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        assert SECRET_SERIAL not in body and SECRET_GROUP not in body and SECRET_LABEL not in body and SECRET_SSID not in body


def test_policy_through_the_api(client, db, schools):
    headers = people.bearer(schools["token"])
    versions = policy_versions(db)
    change = {"changes": [{"action": "set", "payload": "passcode", "key": "minLength", "value": 4}]}
    for layer in THEIR_LAYERS:
        base = f"/api/v1/policy/layers/{layer}"
        for response in (
            client.get(base, headers=headers),
            client.get(f"{base}/versions", headers=headers),
            client.post(f"{base}/changes", json=change, headers=headers),
            client.post(f"{base}/changes", json={**change, "dry_run": True}, headers=headers),
            client.post(f"{base}/versions/1/restore", headers=headers),
        ):
            # Hidden by the policy service ("no school ...", "no device ..."), not a route that does not exist.
            assert response.status_code == 404 and response.json["message"].startswith("no "), (layer, response.json)
    assert client.get(f"/api/v1/devices/{schools['theirs']}/policy", headers=headers).status_code == 404
    assert client.get(f"/api/v1/policy/layers/device:%23{schools['theirs']}", headers=headers).status_code == 404
    assert client.post("/api/v1/policy/layers/baseline/changes", json=change, headers=headers).status_code == 403
    assert client.post("/api/v1/policy/layers/baseline/versions/1/restore", headers=headers).status_code == 403
    locked = client.post("/api/v1/policy/layers/school:nordby/changes", headers=headers,
                         json={"changes": [{"action": "set", "payload": "restrictions", "key": "allowCamera", "value": True}]})
    assert locked.status_code == 422
    assert locked.json["details"] == {"allowCamera": [f"is locked in baseline by admin:{CENTRAL_IT}"]}
    assert policy_versions(db) == versions


def test_through_the_dashboard(client, schools):
    people.sign_in(client, schools["admin"])
    pages = ["/", "/devices", "/groups", "/enrollment-tokens", "/commands", "/approvals", "/schools/nordby",
             f"/devices/{schools['mine']}", "/devices?search=SORBY-SECRET", "/policy", "/schools/nordby/policy",
             f"/groups/{schools['mine_group']}/policy", f"/devices/{schools['mine']}/policy"]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        body = response.get_data(as_text=True)
        for secret in (SECRET_SERIAL, SECRET_GROUP, SECRET_LABEL, SECRET_SSID, "sorby", "Sorby iPad"):
            assert secret not in body, f"{secret!r} leaks into {path}"
    for path in ("/schools/sorby", "/schools/sorby/policy", f"/devices/{schools['theirs']}", "/devices?school=sorby",
                 f"/devices?group_id={schools['theirs_group']}", "/commands?school=sorby"):
        assert client.get(path).status_code == 404, path
    assert client.get("/audit").status_code == 403
    assert client.get("/audit/export.csv?school=sorby").status_code == 403
    form = {"csrf_token": people.CSRF}
    assert client.post(f"/devices/{schools['theirs']}/commands", data={**form, "request_type": "ProfileList"}).status_code == 404
    assert client.post(f"/devices/{schools['mine']}/group", data={**form, "group_id": schools["theirs_group"]}).status_code == 404
    assert client.post("/groups", data={**form, "school": "sorby", "name": "8B"}).status_code == 404
    assert client.post(f"/groups/{schools['theirs_group']}/delete", data=form).status_code == 404
    assert client.post("/enrollment-tokens", data={**form, "school": "sorby"}).status_code == 404


def test_policy_through_the_dashboard(client, db, schools):
    people.sign_in(client, schools["admin"])
    versions = policy_versions(db)
    form = {"csrf_token": people.CSRF, "payload": "passcode", "key": "minLength", "value": "4", "intent": "save"}
    assert client.post("/schools/sorby/policy", data=form).status_code == 404
    assert client.post("/schools/sorby/policy", data={**form, "intent": "preview"}).status_code == 404
    assert client.post("/policy", data=form).status_code == 403
    assert client.post("/policy/versions/1/restore", data={"csrf_token": people.CSRF}).status_code == 403
    # Sørby's class: its page (with the history), a change, a preview and a restore are all hidden.
    theirs = f"/groups/{schools['theirs_group']}/policy"
    response = client.get(theirs)
    assert response.status_code == 404 and SECRET_GROUP not in response.get_data(as_text=True)
    assert client.post(theirs, data=form).status_code == 404
    assert client.post(theirs, data={**form, "intent": "preview"}).status_code == 404
    assert client.post(f"{theirs}/versions/1/restore", data={"csrf_token": people.CSRF}).status_code == 404
    assert client.post("/schools/sorby/policy/versions/1/restore", data={"csrf_token": people.CSRF}).status_code == 404
    response = client.get(f"/devices/{schools['theirs']}/policy")
    assert response.status_code == 404 and SECRET_SERIAL not in response.get_data(as_text=True)
    locked = client.post("/schools/nordby/policy", data={**form, "payload": "restrictions", "key": "allowCamera", "value": "true"})
    assert locked.status_code == 422
    page = locked.get_data(as_text=True)
    assert f"allowCamera</b>: is locked in baseline by admin:{CENTRAL_IT}" in page
    assert policy_versions(db) == versions
