"""An ICT contact of one school cannot see, count, search, export or command another school's things.

Through the REST API and the dashboard alike (the CLI acts as central IT). The
other school's serial number, group name and token label are unique strings,
so any leak into a page or a response shows.
"""

from __future__ import annotations

import pytest

from app.services import commands
from app.services import enrollment
from app.services.access import Role, system_principal
from tests.support import factories, people

SECRET_SERIAL = "SORBY-SECRET-SERIAL"
SECRET_GROUP = "Sorby secret class"
SECRET_LABEL = "sorby-secret-cart"


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
        session.commit()
    return {"mine": mine.id, "mine_group": mine_group.id, "theirs": theirs.id, "theirs_group": theirs_group.id,
            "token": token, "admin": admin}


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
    assert get("/api/v1/commands").json["commands"] == []
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
    for response in (get("/api/v1/devices"), get("/api/v1/groups"), get("/api/v1/enrollment-tokens"), get("/api/v1/commands")):
        body = response.get_data(as_text=True)
        assert SECRET_SERIAL not in body and SECRET_GROUP not in body and SECRET_LABEL not in body


def test_through_the_dashboard(client, schools):
    people.sign_in(client, schools["admin"])
    pages = ["/", "/devices", "/groups", "/enrollment-tokens", "/commands", "/approvals", "/schools/nordby",
             f"/devices/{schools['mine']}", "/devices?search=SORBY-SECRET"]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        body = response.get_data(as_text=True)
        for secret in (SECRET_SERIAL, SECRET_GROUP, SECRET_LABEL, "sorby", "Sorby iPad"):
            assert secret not in body, f"{secret!r} leaks into {path}"
    for path in ("/schools/sorby", f"/devices/{schools['theirs']}", "/devices?school=sorby",
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
