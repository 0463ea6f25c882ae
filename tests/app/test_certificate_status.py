"""Central IT sees on the front page when the Apple push certificate must be renewed, and the
scheduler says so in the log and the audit log; school ICT contacts are not bothered with it."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select

from app.models import AuditEvent
from app.scheduler import jobs
from app.services.access import Role, cli_principal
from app.services.pki import certificate_authority, push_certificates
from tests.support import factories, people
from tests.support.pki import push_certificate, push_key, shared_ca


def import_push(session, days_left: float) -> None:
    key = push_key()
    certificate = push_certificate(key, not_after=dt.datetime.now(dt.UTC) + dt.timedelta(days=days_left))
    push_certificates.import_push_certificate(
        session, cli_principal(), certificate.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )


@pytest.fixture
def people_of(db):
    with db.session() as session:
        school = factories.school(session, "nordby")
        certificate_authority.import_ca(session, cli_principal(), shared_ca().certificate_pem(), shared_ca().key_pem())
        central = people.admin(session, [(Role.CENTRAL_ADMIN, None)])
        ict = people.admin(session, [(Role.SCHOOL_ICT, school.id)])
        session.commit()
    return {"central": central, "ict": ict}


def front_page(client, admin) -> str:
    people.sign_in(client, admin)
    return client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_central_it_is_told_to_renew_an_expiring_push_certificate(client, db, people_of):
    with db.unit_of_work() as session:
        import_push(session, days_left=10)
    page = front_page(client, people_of["central"])
    assert "Apple push certificate" in page and "Renew it soon at identity.apple.com with the same Apple ID" in page
    assert "Bergvik kommune Flokk CA" in page
    ict_page = front_page(client, people_of["ict"])
    assert "Apple push certificate" not in ict_page and "Certificates" not in ict_page


def test_a_missing_push_certificate_is_said_plainly(client, people_of):
    assert "Not imported: iPads cannot enrol or be woken." in front_page(client, people_of["central"])


def test_a_push_certificate_far_from_expiry_is_no_news(client, db, people_of):
    with db.unit_of_work() as session:
        import_push(session, days_left=200)
        assert push_certificates.warn_before_expiry(session) is None
    page = front_page(client, people_of["central"])
    assert "valid until" in page and "Renew" not in page


def test_the_daily_job_warns_in_the_log_and_the_audit_log(db, people_of, caplog):
    with db.unit_of_work() as session:
        import_push(session, days_left=10)
        message = push_certificates.warn_before_expiry(session)
    assert "expires on" in message and "same Apple ID" in message
    assert any(record.levelname == "WARNING" and "expires on" in record.getMessage() for record in caplog.records)
    with db.session() as session:
        assert session.scalar(select(AuditEvent.action).where(AuditEvent.action == "push_certificate.expiring"))
    assert "pki.push_certificate_expiry" in {job.name for job in jobs()}
