"""The REST API as central IT scripts it: tokens, JSON errors, unknown keys refused, each change audited."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.models import ApiToken, AuditEvent
from app.models.base import utcnow
from app.services.access import Role
from tests.support import factories, people


def test_without_a_valid_token_the_api_answers_401(client, db):
    with db.session() as session:
        raw = people.api_token(session, [(Role.CENTRAL_ADMIN, None)], name="expired")
        session.scalar(select(ApiToken).where(ApiToken.name == "expired")).expires_at = utcnow() - dt.timedelta(seconds=1)
        session.commit()
    for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic dXNlcjpwYXNz"}, people.bearer(raw)):
        response = client.get("/api/v1/devices", headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.json["error"] == "unauthenticated"


def test_central_it_scripts_a_school_from_nothing(client, db):
    """Create a token on the CLI side, then: school, admin, group, enrollment link, command, audit."""
    with db.session() as session:
        factories.organisation(session)
        raw = people.api_token(session, [(Role.CENTRAL_ADMIN, None)], name="automation")
        session.commit()
    headers = people.bearer(raw)

    def call(method, path, body=None):
        return client.open(f"/api/v1{path}", method=method, json=body, headers=headers)

    assert call("GET", "/me").json["grants"] == [{"role": "central_admin", "school_id": None}]
    school = call("POST", "/schools", {"name": "Nordby skole", "code": "nordby"})
    assert school.status_code == 201, school.json
    admin = call("POST", "/admins", {"email": "Kari@Nordby.no", "grants": [{"role": "school_ict", "school": "nordby"}]})
    assert admin.status_code == 201 and len(admin.json["one_time_password"]) >= 12
    assert admin.json["grants"] == [{"id": admin.json["grants"][0]["id"], "role": "school_ict", "school": "nordby", "source": "manual"}]
    group = call("POST", "/groups", {"school": "nordby", "name": "7A", "kind": "class"})
    assert group.status_code == 201
    link = call("POST", "/enrollment-tokens", {"school": "nordby", "expires": "30d", "group": "7A", "label": "cart 1"})
    assert link.status_code == 201 and link.json["url"].startswith("https://flokk.test/enroll/")
    assert call("GET", f"/enrollment-tokens/{link.json['id']}/url").json["url"] == link.json["url"]
    with db.session() as session:
        device = factories.device(session, _school(session))
        session.commit()
    moved = call("PUT", f"/devices/{device.id}/group", {"group_id": group.json["id"]})
    assert moved.status_code == 200 and moved.json["group"] == "7A"
    queued = call("POST", "/commands", {"request_type": "ProfileList", "device_ids": [device.id]})
    assert queued.status_code == 201 and list(queued.json["commands"]) == [str(device.id)]
    assert call("GET", f"/commands?device_id={device.id}").json["commands"][0]["status"] == "queued"
    token = call("POST", "/tokens", {"name": "inventory", "grants": [{"role": "central_helpdesk"}], "expires_in_days": 7})
    assert token.status_code == 201 and token.json["token"].startswith("flk_")
    assert client.get("/api/v1/devices", headers=people.bearer(token.json["token"])).json["total"] == 1
    assert call("POST", f"/tokens/{token.json['id']}/revoke").json["status"] == "revoked"
    assert client.get("/api/v1/devices", headers=people.bearer(token.json["token"])).status_code == 401
    actions = [event["action"] for event in call("GET", "/audit?limit=100").json["events"]]
    for expected in ("school.create", "admin.create", "grant.add", "group.create", "enrollment_token.create",
                     "device.move", "command.queue", "api_token.create", "api_token.revoke", "api_token.use"):
        assert expected in actions, expected


def _school(session):
    from app.models import School

    return session.scalar(select(School).where(School.code == "nordby"))


def test_bad_input_is_a_clear_422_and_changes_nothing(client, db):
    with db.session() as session:
        school = factories.school(session, "nordby")
        raw = people.api_token(session, [(Role.CENTRAL_ADMIN, None)])
        session.commit()
    headers = people.bearer(raw)
    unknown = client.post("/api/v1/groups", json={"school": "nordby", "name": "7A", "colour": "red"}, headers=headers)
    assert unknown.status_code == 422 and "colour" in unknown.json["details"]
    not_json = client.post("/api/v1/groups", data="school=nordby", headers=headers)
    assert not_json.status_code == 422
    assert client.get("/api/v1/devices?colour=red", headers=headers).status_code == 422
    bad_role = client.post("/api/v1/admins", json={"email": "a@b.no", "grants": [{"role": "king"}]}, headers=headers)
    assert bad_role.status_code == 422 and "grants.0.role" in bad_role.json["details"]
    no_school = client.post("/api/v1/admins", json={"email": "a@b.no", "grants": [{"role": "school_ict", "school": "nowhere"}]},
                            headers=headers)
    assert no_school.status_code == 404
    command = client.post("/api/v1/commands", json={"request_type": "DeviceInformation", "device_ids": [1]}, headers=headers)
    assert command.status_code == 422
    with db.session() as session:
        assert session.scalar(select(AuditEvent).where(AuditEvent.action.in_(["group.create", "admin.create"]))) is None
    assert school.id


def test_the_last_central_admin_cannot_be_removed(client, db):
    with db.session() as session:
        only = people.admin(session, [(Role.CENTRAL_ADMIN, None)])
        raw = people.api_token(session, [(Role.CENTRAL_ADMIN, None)])
        session.commit()
    headers = people.bearer(raw)
    grant_id = client.get(f"/api/v1/admins/{only.id}", headers=headers).json["grants"][0]["id"]
    response = client.delete(f"/api/v1/admins/{only.id}/grants/{grant_id}", headers=headers)
    assert response.status_code == 409
    assert client.put(f"/api/v1/admins/{only.id}/active", json={"active": False}, headers=headers).status_code == 409
    assert client.get(f"/api/v1/admins/{only.id}", headers=headers).json["is_active"] is True
