"""Each 500 the outside probe found in the API and the dashboard is now a clear 4xx with nothing written.

NUL in path parts and forms (PostgreSQL cannot store it), lone UTF-16 surrogates
in JSON (not encodable as UTF-8), numbers past a row id in a policy layer,
control characters in command parameters (no plist can hold them), Unicode
digits in ids ("１" was read as 1), and the device count of central IT (the
count query lost its table without a filter, so it said 1).
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from app.models import ApiToken, ApprovalRequest, AuditEvent, Command, Group, School, SsoGrantRule
from app.models.accounts import AdminUser
from app.services.access import Role
from tests.support import factories, people


@pytest.fixture
def world(db):
    with db.session() as session:
        nordby = factories.school(session, "nordby")
        ipad = factories.device(session, nordby)
        token = people.api_token(session, [(Role.CENTRAL_ADMIN, None)], name="central")
        admin = people.admin(session, [(Role.CENTRAL_ADMIN, None)])
        session.commit()
    return {"ipad": ipad.id, "token": token, "admin": admin, "headers": people.bearer(token)}


def rows(db, model) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_nul_in_a_path_part_is_a_404(client, world):
    headers = world["headers"]
    for path in ("/api/v1/schools/%00", "/api/v1/schools/nord%00by", "/api/v1/policy/layers/school:%00",
                 "/api/v1/policy/layers/device:%23%00", "/api/v1/policy/layers/group:nordby/7%00A"):
        response = client.get(path, headers=headers)
        assert response.status_code == 404 and response.json["error"] == "not_found", path
    people.sign_in(client, world["admin"])
    for path in ("/schools/%00", "/schools/a%01b", "/login/%00"):
        assert client.get(path).status_code == 404, path


def test_nul_in_the_sign_in_form_is_refused_without_counting_a_failure(client, db, world):
    response = client.post("/login", data={"email": "a\x00b", "password": "x", "csrf_token": _csrf(client)})
    assert response.status_code == 422 and "NUL" in response.get_data(as_text=True)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "auth.login_failed")) == 0


def _csrf(client) -> str:
    import re

    return re.search(rb'name="csrf_token" value="([^"]+)"', client.get("/login").data).group(1).decode()


SURROGATE = '"a\\ud800b"'  # JSON text with a lone surrogate escape


@pytest.mark.parametrize(
    ("path", "template", "model"),
    [
        ("/api/v1/groups", '{"school": "nordby", "name": %s}', Group),
        ("/api/v1/admins", '{"email": "x@skole.test", "display_name": %s, "grants": [{"role": "auditor"}]}', AdminUser),
        ("/api/v1/sso-rules", '{"provider": "feide", "claim_value": %s, "role": "auditor"}', SsoGrantRule),
        ("/api/v1/schools", '{"name": %s, "code": "ny"}', School),
        ("/api/v1/tokens", '{"name": %s, "grants": [{"role": "auditor"}]}', ApiToken),
        ("/api/v1/commands", '{"request_type": "EraseDevice", "device_ids": [IPAD], "reason": %s}', ApprovalRequest),
    ],
)
def test_a_lone_surrogate_in_json_is_a_422(client, db, world, path, template, model):
    before = rows(db, model)
    body = template.replace("IPAD", str(world["ipad"])) % SURROGATE
    response = client.post(path, data=body, content_type="application/json", headers=world["headers"])
    assert response.status_code == 422, response.json
    assert "surrogate" in str(response.json["details"])
    assert rows(db, model) == before


def test_a_lone_surrogate_in_an_approval_note_is_a_422(client, db, world):
    with db.session() as session:
        requester = people.api_token(session, [(Role.SCHOOL_ICT, session.scalar(select(School.id)))], name="ict")
        session.commit()
    requested = client.post("/api/v1/commands", headers=people.bearer(requester),
                            json={"request_type": "EraseDevice", "device_ids": [world["ipad"]], "reason": "stolen bag"})
    approval = requested.json["approval"]["id"]
    for decision in ("approve", "reject"):
        response = client.post(f"/api/v1/approvals/{approval}/{decision}", data='{"note": %s}' % SURROGATE,
                               content_type="application/json", headers=world["headers"])
        assert response.status_code == 422
    assert client.get(f"/api/v1/approvals/{approval}", headers=world["headers"]).json["status"] == "pending"


def test_nan_infinity_and_huge_numbers_in_json_are_422(client, db, world):
    layer = "/api/v1/policy/layers/school:nordby/changes"
    for value in ("NaN", "Infinity", "-Infinity", "1e400", "123456789012345678901234567890"):
        body = '{"changes": [{"action": "set", "payload": "passcode", "key": "minLength", "value": %s}]}' % value
        response = client.post(layer, data=body, content_type="application/json", headers=world["headers"])
        assert response.status_code == 422, (value, response.json)
        assert rows(db, Command) == 0


def test_a_device_id_past_any_row_in_a_policy_layer_is_a_404(client, world):
    for reference in ("%2399999999999999999999", "%23%EF%BC%91", "%23%C2%B2", "99999999999999999999"):
        response = client.get(f"/api/v1/policy/layers/device:{reference}", headers=world["headers"])
        assert response.status_code == 404, (reference, response.json)


def test_control_characters_in_command_parameters_are_a_422(client, db, world):
    body = {"request_type": "DeviceLock", "device_ids": [world["ipad"]], "params": {"Message": "a\u0001b"}}
    response = client.post("/api/v1/commands", json=body, headers=world["headers"])
    assert response.status_code == 422 and "control characters" in str(response.json["details"])
    people.sign_in(client, world["admin"])
    form = {"request_type": "DeviceLock", "message": "Lever\u0007 til IT", "csrf_token": people.CSRF}
    assert client.post(f"/devices/{world['ipad']}/commands", data=form).status_code == 422
    assert rows(db, Command) == 0
    fine = {"request_type": "DeviceLock", "message": "Lever til IT\nrom 204", "csrf_token": people.CSRF}
    assert client.post(f"/devices/{world['ipad']}/commands", data=fine).status_code == 302


def test_the_cli_refuses_control_characters_in_a_parameter(cli, world):
    result = cli("command", "send", str(world["ipad"]), "DeviceLock", "-p", "Message=a\x01b")
    assert result.exit_code == 1 and "control character" in result.output


def test_an_id_in_unicode_digits_names_nothing(client, db, world):
    """/api/v1/tokens/１/revoke (a fullwidth 1) revoked token 1."""
    with db.session() as session:
        first = session.scalar(select(ApiToken.id).order_by(ApiToken.id))
    for zero in (0xFF10, 0x0660, 0x09E6):  # fullwidth, Arabic-Indic and Bengali digits
        token_digits = quote("".join(chr(zero + int(digit)) for digit in str(first)))
        device_digits = quote("".join(chr(zero + int(digit)) for digit in str(world["ipad"])))
        response = client.post(f"/api/v1/tokens/{token_digits}/revoke", headers=world["headers"])
        assert response.status_code == 404, token_digits
        assert client.get(f"/api/v1/devices/{device_digits}", headers=world["headers"]).status_code == 404
    with db.session() as session:
        assert session.get(ApiToken, first).revoked_at is None
    assert client.get("/api/v1/devices", query_string={"group_id": "１"}, headers=world["headers"]).status_code == 422
    people.sign_in(client, world["admin"])
    moved = client.post(f"/devices/{world['ipad']}/group", data={"group_id": "²", "csrf_token": people.CSRF})
    assert moved.status_code == 422


def test_central_it_counts_every_device(client, db, world):
    with db.session() as session:
        schools = [session.scalar(select(School)), factories.school(session)]
        for number in range(119):
            factories.device(session, schools[number % 2])
        session.commit()
    listed = client.get("/api/v1/devices", headers=world["headers"]).json
    assert listed["total"] == 120 and len(listed["devices"]) == 100
    assert client.get("/api/v1/devices?offset=100", headers=world["headers"]).json["total"] == 120
    people.sign_in(client, world["admin"])
    assert "120" in client.get("/devices").get_data(as_text=True)


def test_the_cli_refuses_control_characters_in_a_policy_value(cli, world):
    result = cli("policy", "set", "baseline", "wifi:guest", "SSID_STR", "Gjest\x01")
    assert result.exit_code == 1 and "control characters" in result.output


@pytest.mark.parametrize("limit", [1, 9, 10, 99, 100, 305, 1000, 2**31 - 1])
def test_the_row_id_pattern_takes_exactly_the_numbers_up_to_the_limit(limit):
    import random
    import re

    from app.http.converters import decimal_at_most

    pattern = re.compile(decimal_at_most(limit))
    numbers = [*range(0, 2100), limit - 1, limit, limit + 1, *(random.randrange(2**34) for _ in range(2000))]
    assert [n for n in numbers if bool(pattern.fullmatch(str(n))) != (0 <= n <= limit)] == []
    assert not pattern.fullmatch("01") and not pattern.fullmatch("１") and not pattern.fullmatch("")
