"""What a worker may keep between requests never outlives a revocation or a re-enrolment made elsewhere.

Two app instances with their own database connections play two gunicorn workers
sharing one database. Worker A has served the device (its certificate parsed, its
binding read, an API token's principal kept); the change is made through worker B
or the CLI; A's very next request sees it.
"""

from __future__ import annotations

import plistlib

import pytest

from app import create_app
from app.db import Database
from app.services.access import Role, cli_principal
from app.services.pki import certificates
from tests.support import people
from tests.support.ipad import FlaskTransport, SimulatedIpad


@pytest.fixture
def worker_b(settings, world):
    """A second worker: its own app and its own connection pool on the same database."""
    database = Database(settings)
    second = create_app(settings)
    second.config["TESTING"] = True
    second.extensions["flokk"].db = database
    yield second
    database.dispose()


def serial(ipad: SimulatedIpad) -> str:
    return format(ipad.certificate.serial_number, "x")


def test_a_certificate_revoked_elsewhere_is_refused_on_the_next_request(db, enrolled, transport, worker_b):
    other = FlaskTransport(worker_b.test_client())
    assert enrolled.idle(transport).status == 200  # worker A has seen the certificate and its binding
    assert enrolled.idle(other).status == 200
    with worker_b.extensions["flokk"].db.unit_of_work() as session:  # `flokk ca revoke`, another process
        certificates.revoke(session, cli_principal(), serial(enrolled), reason="stolen")
    answer = enrolled.idle(transport)
    assert answer.status == 403 and b"revoked" in answer.body
    assert enrolled.idle(other).status == 403


def test_the_old_certificate_of_a_re_enrolled_ipad_is_refused_on_the_next_request(
    db, enrolled, new_ipad, transport, worker_b
):
    assert enrolled.idle(transport).status == 200
    erased = new_ipad(udid=enrolled.udid)  # the same iPad, erased, enrols again through worker B
    assert erased.enrol(FlaskTransport(worker_b.test_client())).status == 200
    answer = enrolled.idle(transport)  # the old identity, at worker A
    assert answer.status == 403 and b"revoked" in answer.body
    assert erased.idle(transport).status == 200


def test_a_report_after_revocation_changes_nothing(db, enrolled, transport, worker_b):
    assert enrolled.idle(transport).status == 200
    with worker_b.extensions["flokk"].db.unit_of_work() as session:
        certificates.revoke(session, cli_principal(), serial(enrolled), reason="lost")
    body = plistlib.dumps({"Status": "Acknowledged", "UDID": enrolled.udid, "CommandUUID": "NOT-A-COMMAND"})
    assert enrolled.send(transport, body).status == 403


def test_an_api_token_revoked_at_another_worker_is_refused_on_the_next_request(db, client, worker_b):
    with db.session() as session:
        raw = people.api_token(session, [(Role.CENTRAL_ADMIN, None)], name="automation")
        session.commit()
    headers = people.bearer(raw)
    assert client.get("/api/v1/me", headers=headers).status_code == 200  # worker A keeps its principal
    other = worker_b.test_client()
    assert other.get("/api/v1/me", headers=headers).status_code == 200
    with db.session() as session:
        admin = people.api_token(session, [(Role.CENTRAL_ADMIN, None)], name="admin")
        session.commit()
    token_id = _token_id(db, "automation")
    assert other.post(f"/api/v1/tokens/{token_id}/revoke", headers=people.bearer(admin)).status_code == 200
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def _token_id(db, name: str) -> int:
    from sqlalchemy import select

    from app.models import ApiToken

    with db.session() as session:
        return session.scalar(select(ApiToken.id).where(ApiToken.name == name))
