"""GET /enroll/<token>: the signed profile for a good token, a page saying why for any other."""

from __future__ import annotations

import datetime as dt
import plistlib

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select, update

from app.models import AuditEvent, EnrollmentToken
from app.models.pki import EnrollmentChallenge
from app.services.mdm.enrollment import hash_secret
from mdm_protocol import cms, enrollment_profile
from tests.support import count_rows
from tests.support.pki import PUSH_TOPIC, openssl_runner, prepare_enrollment


@pytest.fixture
def ready(db, tmp_path):
    return prepare_enrollment(db, tmp_path)


def download(client, secret):
    return client.get(f"/enroll/{secret}")


def profile_of(response) -> dict:
    return plistlib.loads(cms.verify(response.data).content)


def payload(profile, payload_type):
    (found,) = [p for p in profile["PayloadContent"] if p["PayloadType"] == payload_type]
    return found


def test_good_token_gives_a_signed_profile_for_its_school(client, ready, db):
    response = download(client, ready.secret)
    assert response.status_code == 200
    assert response.content_type == "application/x-apple-aspen-config"
    assert response.headers["Content-Disposition"] == 'attachment; filename="flokk-linde.mobileconfig"'
    signed = cms.verify(response.data)
    assert signed.signer == ready.ca_certificate
    profile = plistlib.loads(signed.content)
    assert enrollment_profile.check(profile) == []
    mdm = payload(profile, "com.apple.mdm")
    scep = payload(profile, "com.apple.security.scep")
    root = payload(profile, "com.apple.security.root")
    assert mdm["ServerURL"] == "https://flokk.test/mdm/connect"
    assert mdm["CheckInURL"] == "https://flokk.test/mdm/checkin"
    assert mdm["Topic"] == PUSH_TOPIC
    assert mdm["IdentityCertificateUUID"] == scep["PayloadUUID"]
    assert mdm["SignMessage"] is True and mdm["CheckOutWhenRemoved"] is True and mdm["AccessRights"] == 8191
    assert scep["PayloadContent"]["URL"] == "https://flokk.test/scep"
    assert scep["PayloadContent"]["Keysize"] == 2048 and scep["PayloadContent"]["Key Usage"] == 5
    assert ["OU", "linde"] in [pair for rdn in scep["PayloadContent"]["Subject"] for pair in rdn]
    assert root["PayloadContent"] == ready.ca_certificate.public_bytes(serialization.Encoding.DER)
    assert profile["PayloadIdentifier"] == "test.flokk.flokk.enrollment.linde"
    # one fresh challenge per download, stored only as a hash
    with db.session() as session:
        (row,) = session.scalars(select(EnrollmentChallenge)).all()
        assert row.school_id == ready.school_id and row.used_at is None
        assert row.challenge_hash == hash_secret(scep["PayloadContent"]["Challenge"])
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "enrollment.profile")).one()
        assert (event.outcome, event.school_id) == ("success", ready.school_id)


def test_each_download_has_its_own_challenge(client, ready, db):
    first = payload(profile_of(download(client, ready.secret)), "com.apple.security.scep")
    second = payload(profile_of(download(client, ready.secret)), "com.apple.security.scep")
    assert first["PayloadContent"]["Challenge"] != second["PayloadContent"]["Challenge"]
    assert count_rows(db, "enrollment_challenges") == 2


def test_openssl_accepts_the_download_and_rejects_it_after_one_changed_byte(client, ready, tmp_path, openssl):
    data = download(client, ready.secret).data
    (tmp_path / "ca.pem").write_bytes(ready.ca_certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "good.mobileconfig").write_bytes(data)
    out = openssl("smime", "-verify", "-inform", "DER", "-in", "good.mobileconfig", "-CAfile", "ca.pem")
    assert b"com.apple.mdm" in out.stdout
    tampered = bytearray(data)
    tampered[data.index(b"https://flokk.test/mdm/connect") + 8] ^= 0x01
    (tmp_path / "bad.mobileconfig").write_bytes(bytes(tampered))
    result = openssl("cms", "-verify", "-inform", "DER", "-in", "bad.mobileconfig", "-CAfile", "ca.pem", check=False)
    assert result.returncode != 0


@pytest.fixture
def openssl(tmp_path):
    return openssl_runner(tmp_path)


def assert_page(response, status, words):
    assert response.status_code == status
    assert response.content_type.startswith("text/html")
    body = response.get_data(as_text=True)
    assert words in body
    assert "<plist" not in body and "com.apple.mdm" not in body


def test_unknown_and_malformed_tokens_get_404_pages(client, ready, db):
    for secret in ("A" * 32, "short", "x" * 65, "bad%20chars!!!!!!!!!!"):
        assert_page(client.get(f"/enroll/{secret}"), 404, "does not exist")
    assert count_rows(db, "enrollment_challenges") == 0


@pytest.mark.parametrize(
    "change, state",
    [
        ({"revoked_at": dt.datetime.now(dt.UTC)}, "revoked"),
        ({"expires_at": dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)}, "expired"),
        ({"max_uses": 2, "use_count": 2}, "used up"),
    ],
)
def test_revoked_expired_or_used_up_tokens_get_410_pages(client, ready, db, change, state):
    with db.unit_of_work() as session:
        session.execute(update(EnrollmentToken).where(EnrollmentToken.id == ready.token_id).values(**change))
    response = download(client, ready.secret)
    assert_page(response, 410, "no longer valid")
    assert state in response.get_data(as_text=True)
    assert count_rows(db, "enrollment_challenges") == 0
    with db.session() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "enrollment.profile")).one()
        assert (event.outcome, event.school_id, event.details["reason"]) == ("denied", ready.school_id, f"token {state}")


def test_without_a_push_certificate_central_it_is_told_and_no_profile_is_made(client, db, tmp_path):
    ready = prepare_enrollment(db, tmp_path, push=False)
    response = download(client, ready.secret)
    assert_page(response, 409, "not available yet")
    assert "flokk apns import" in response.get_data(as_text=True)
    assert count_rows(db, "enrollment_challenges") == 0
    with db.session() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "enrollment.profile")).one()
        assert event.outcome == "failure" and "push certificate" in event.details["reason"]


def test_the_token_never_reaches_the_log(client, ready, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="flokk.http"):
        assert download(client, ready.secret).status_code == 200
    lines = [record.getMessage() for record in caplog.records if record.name == "flokk.http"]
    assert "GET /enroll/<redacted> 200" in lines
    assert not [line for line in caplog.messages if ready.secret in line]
