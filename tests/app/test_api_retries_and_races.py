"""Scripts retry and admins work at the same time: an ``Idempotency-Key`` keeps a retried command
from being queued twice, and ``ETag``/``If-Match`` keeps two admins from overwriting each other's
policy change unseen."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from app.models import Command, IdempotencyKey, PolicyVersion
from app.services import idempotency
from app.services.access import Role, cli_principal
from app.services.pki import certificate_authority
from tests.support import factories, people
from tests.support.pki import shared_ca


@pytest.fixture
def world(db):
    with db.session() as session:
        certificate_authority.import_ca(session, cli_principal(), shared_ca().certificate_pem(), shared_ca().key_pem())
        nordby = factories.school(session, "nordby", "Nordby skole")
        ipad = factories.device(session, nordby)
        central = people.api_token(session, [(Role.CENTRAL_ADMIN, None)], name="central")
        other = people.api_token(session, [(Role.CENTRAL_ADMIN, None)], name="other")
        ict = people.api_token(session, [(Role.SCHOOL_ICT, nordby.id)], name="kari")
        session.commit()
        return {"central": people.bearer(central), "other": people.bearer(other), "ict": people.bearer(ict), "ipad": ipad.id}


def _count(db, model) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_a_retried_command_with_the_same_key_is_queued_once(client, db, world):
    body = {"request_type": "ProfileList", "device_ids": [world["ipad"]]}
    headers = {**world["central"], "Idempotency-Key": "3f1c0d2e-retry-1"}
    first = client.post("/api/v1/commands", json=body, headers=headers)
    again = client.post("/api/v1/commands", json=body, headers=headers)
    assert first.status_code == again.status_code == 201, (first.get_json(), again.get_json())
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert _count(db, Command) == 1
    # The key is the caller's own: another token with the same key queues its own command.
    other = client.post("/api/v1/commands", json=body, headers={**world["other"], "Idempotency-Key": "3f1c0d2e-retry-1"})
    assert other.status_code == 201 and _count(db, Command) == 2
    # Without a key every request is its own.
    assert client.post("/api/v1/commands", json=body, headers=world["central"]).status_code == 201
    assert _count(db, Command) == 3


def test_a_key_reused_for_another_request_is_refused_and_changes_nothing(client, db, world):
    headers = {**world["central"], "Idempotency-Key": "key-1"}
    assert client.post("/api/v1/commands", json={"request_type": "ProfileList", "device_ids": [world["ipad"]]},
                       headers=headers).status_code == 201
    refused = client.post("/api/v1/commands", json={"request_type": "SecurityInfo", "device_ids": [world["ipad"]]}, headers=headers)
    assert refused.status_code == 422 and "Idempotency-Key" in refused.get_json()["details"]
    assert _count(db, Command) == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "with space", "nul\x01"])
def test_a_malformed_key_is_a_422(client, db, world, key):
    response = client.post("/api/v1/commands", json={"request_type": "ProfileList", "device_ids": [world["ipad"]]},
                           headers={**world["central"], "Idempotency-Key": key})
    assert response.status_code == 422 and _count(db, Command) == 0


def test_a_failed_request_is_not_remembered(client, db, world):
    headers = {**world["central"], "Idempotency-Key": "key-2"}
    body = {"request_type": "ProfileList", "device_ids": [2_000_000]}
    assert client.post("/api/v1/commands", json=body, headers=headers).status_code == 404
    assert _count(db, IdempotencyKey) == 0


def test_keys_are_forgotten_after_a_day(db, world, client):
    client.post("/api/v1/commands", json={"request_type": "ProfileList", "device_ids": [world["ipad"]]},
                headers={**world["central"], "Idempotency-Key": "old"})
    with db.session() as session:
        assert idempotency.purge_expired(session, now=dt.datetime.now(dt.UTC) + dt.timedelta(hours=23)) == 0
        assert idempotency.purge_expired(session, now=dt.datetime.now(dt.UTC) + dt.timedelta(hours=25)) == 1
        session.commit()


def _set(client, headers, length, **extra):
    return client.post("/api/v1/policy/layers/school:nordby/changes", headers={**headers, **extra},
                       json={"changes": [{"action": "set", "payload": "passcode", "key": "minLength", "value": length}]})


def test_two_admins_cannot_overwrite_each_other_unseen(client, db, world):
    read = client.get("/api/v1/policy/layers/school:nordby", headers=world["ict"])
    assert read.status_code == 200 and read.headers["ETag"] == '"v0"'
    tag = read.headers["ETag"]
    # Central IT saves first ...
    first = _set(client, world["central"], 8, **{"If-Match": tag})
    assert first.status_code == 200 and first.headers["ETag"] == '"v1"'
    # ... so the ICT contact's change, made on what they read before, is refused and saves nothing.
    late = _set(client, world["ict"], 10, **{"If-Match": tag})
    assert late.status_code == 412 and late.mimetype == "application/problem+json"
    assert late.get_json()["error"] == "precondition_failed" and "version 1" in late.get_json()["message"]
    assert _count(db, PolicyVersion) == 1
    # Reading again gives the new tag, and the change goes through.
    fresh = client.get("/api/v1/policy/layers/school:nordby", headers=world["ict"]).headers["ETag"]
    assert _set(client, world["ict"], 10, **{"If-Match": fresh}).status_code == 200
    assert _count(db, PolicyVersion) == 2


@pytest.mark.parametrize("if_match", ['W/"v0"', '"0"', "garbage", '"v99"'])
def test_a_tag_that_names_no_current_version_is_refused(client, db, world, if_match):
    assert _set(client, world["ict"], 8, **{"If-Match": if_match}).status_code == 412
    assert _count(db, PolicyVersion) == 0


def test_without_if_match_or_with_a_star_a_change_goes_through(client, db, world):
    assert _set(client, world["ict"], 8).status_code == 200
    assert _set(client, world["ict"], 9, **{"If-Match": "*"}).status_code == 200
    assert _set(client, world["ict"], 10, **{"If-Match": '"v1", "v2"'}).status_code == 200


def test_restore_honours_if_match(client, db, world):
    assert _set(client, world["ict"], 8).status_code == 200
    assert _set(client, world["ict"], 9).status_code == 200
    path = "/api/v1/policy/layers/school:nordby/versions/1/restore"
    assert client.post(path, headers={**world["ict"], "If-Match": '"v1"'}).status_code == 412
    restored = client.post(path, headers={**world["ict"], "If-Match": '"v2"'})
    assert restored.status_code == 200 and restored.headers["ETag"] == '"v3"'
