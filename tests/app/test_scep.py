"""/scep in Flokk: challenge from the school's profile, records, audit, renewal, bad input."""

from __future__ import annotations

import base64
import datetime as dt
import os
import plistlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import AttributeOID, NameOID
from sqlalchemy import select, update

from app.models import AuditEvent, EnrollmentToken
from app.models.pki import EnrollmentChallenge, IssuedCertificate
from app.services.access import cli_principal
from app.services.pki import certificates
from mdm_protocol import cms
from mdm_protocol.scep import messages
from mdm_protocol.scep.messages import FailInfo, MessageType, PKIStatus
from tests.support import count_rows
from tests.support.pki import prepare_enrollment

CLIENT_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def ready(db, tmp_path):
    return prepare_enrollment(db, tmp_path, max_uses=3)


def challenge_from_profile(client, secret) -> str:
    profile = plistlib.loads(cms.verify(client.get(f"/enroll/{secret}").data).content)
    (scep,) = [p for p in profile["PayloadContent"] if p["PayloadType"] == "com.apple.security.scep"]
    return scep["PayloadContent"]["Challenge"]


def signer(key=CLIENT_KEY) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "SCEP SIGNER")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256())
    )
    return certificate, key


SIGNER = signer()


def request_der(ca_certificate, challenge: str | None, *, message_type=MessageType.PKCS_REQ, signed_by=None,
                key=CLIENT_KEY, transaction_id="tx-1") -> bytes:
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "asked-for-by-device")])
    )
    if challenge is not None:
        builder = builder.add_attribute(AttributeOID.CHALLENGE_PASSWORD, challenge.encode())
    certificate, signing_key = signed_by or SIGNER
    return messages.build_request(
        builder.sign(key, hashes.SHA256()),
        message_type=message_type,
        signer_certificate=certificate,
        signer_key=signing_key,
        recipients=[ca_certificate],
        transaction_id=transaction_id,
    )


def post(client, der: bytes):
    return client.post("/scep?operation=PKIOperation", data=der, content_type="application/x-pki-message")


def cert_rep(response, signed_by=None):
    certificate, key = signed_by or SIGNER
    assert response.status_code == 200, response.data
    assert response.content_type == "application/x-pki-message"
    return messages.read_cert_rep(response.data, certificate=certificate, private_key=key)


def audit_actions(db) -> list[tuple[str, str]]:
    with db.session() as session:
        return [(e.action, e.outcome) for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def test_get_ca_caps_and_ca_cert(client, ready):
    caps = client.get("/scep?operation=GetCACaps")
    assert caps.status_code == 200
    for needed in ("POSTPKIOperation", "SHA-256", "AES", "SCEPStandard", "Renewal"):
        assert needed in caps.get_data(as_text=True).split()
    ca = client.get("/scep?operation=GetCACert")
    assert ca.content_type == "application/x-x509-ca-cert"
    assert x509.load_der_x509_certificate(ca.data) == ready.ca_certificate


def test_the_profiles_challenge_gets_a_certificate_for_the_tokens_school(client, ready, db):
    challenge = challenge_from_profile(client, ready.secret)
    rep = cert_rep(post(client, request_der(ready.ca_certificate, challenge)))
    assert rep.status is PKIStatus.SUCCESS
    (issued,) = rep.certificates
    issued.verify_directly_issued_by(ready.ca_certificate)
    # Flokk decides the subject, not the device
    assert issued.subject.rfc4514_string() == "CN=Flokk device,OU=linde,O=Bergvik kommune"
    with db.session() as session:
        record = session.scalars(select(IssuedCertificate)).one()
        assert (record.school_id, record.enrollment_token_id, record.device_id) == (ready.school_id, ready.token_id, None)
        assert record.serial == format(issued.serial_number, "x")
        assert record.transaction_id == "tx-1"
        assert session.get(EnrollmentToken, ready.token_id).use_count == 1
        assert session.scalars(select(EnrollmentChallenge)).one().used_at is not None
        identity = certificates.identify(session, issued)
        assert (identity.school_id, identity.device_id) == (ready.school_id, None)
    assert audit_actions(db)[-1] == ("scep.issue", "success")


def test_a_challenge_works_once(client, ready, db):
    challenge = challenge_from_profile(client, ready.secret)
    assert cert_rep(post(client, request_der(ready.ca_certificate, challenge))).status is PKIStatus.SUCCESS
    again = cert_rep(post(client, request_der(ready.ca_certificate, challenge, transaction_id="tx-2")))
    assert (again.status, again.fail_info) == (PKIStatus.FAILURE, FailInfo.BAD_REQUEST)
    assert "used already" in again.fail_info_text
    assert count_rows(db, "issued_certificates") == 1


def expect_refusal(client, db, ready, der, reason):
    before = audit_actions(db)
    rep = cert_rep(post(client, der))
    assert (rep.status, rep.fail_info) == (PKIStatus.FAILURE, FailInfo.BAD_REQUEST)
    assert reason in rep.fail_info_text
    assert count_rows(db, "issued_certificates") == 0
    with db.session() as session:
        assert session.get(EnrollmentToken, ready.token_id).use_count == 0
        assert all(row.used_at is None for row in session.scalars(select(EnrollmentChallenge)))
        event = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert (event.action, event.outcome) == ("scep.refuse", "denied")
        assert reason in event.details["reason"]
    assert len(audit_actions(db)) == len(before) + 1


def test_wrong_challenge_is_refused_with_bad_request(client, ready, db):
    challenge_from_profile(client, ready.secret)
    expect_refusal(client, db, ready, request_der(ready.ca_certificate, "not-the-challenge"), "wrong")


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"revoked_at": dt.datetime.now(dt.UTC)}, "revoked"),
        ({"expires_at": dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)}, "expired"),
        ({"max_uses": 1, "use_count": 1}, "used up"),
    ],
)
def test_challenge_of_a_token_revoked_expired_or_used_up_since_the_download(client, ready, db, change, reason):
    challenge = challenge_from_profile(client, ready.secret)
    with db.unit_of_work() as session:
        session.execute(update(EnrollmentToken).where(EnrollmentToken.id == ready.token_id).values(**change))
    rep = cert_rep(post(client, request_der(ready.ca_certificate, challenge)))
    assert (rep.status, rep.fail_info) == (PKIStatus.FAILURE, FailInfo.BAD_REQUEST)
    assert reason in rep.fail_info_text
    assert count_rows(db, "issued_certificates") == 0
    with db.session() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "scep.refuse")).one()
        assert event.school_id == ready.school_id


def test_expired_challenge(client, ready, db):
    challenge = challenge_from_profile(client, ready.secret)
    with db.unit_of_work() as session:
        session.execute(update(EnrollmentChallenge).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    expect_refusal(client, db, ready, request_der(ready.ca_certificate, challenge), "expired")


def test_max_uses_counts_certificates(client, ready, db):
    for number in range(3):
        challenge = challenge_from_profile(client, ready.secret)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        identity = signer(key)
        der = request_der(ready.ca_certificate, challenge, key=key, signed_by=identity, transaction_id=f"t{number}")
        assert cert_rep(post(client, der), identity).status is PKIStatus.SUCCESS
    assert client.get(f"/enroll/{ready.secret}").status_code == 410


def test_renewal_with_a_flokk_certificate_keeps_school_and_device(client, ready, db):
    challenge = challenge_from_profile(client, ready.secret)
    (first,) = cert_rep(post(client, request_der(ready.ca_certificate, challenge))).certificates
    with db.unit_of_work() as session:
        from app.models import School
        from tests.support import factories

        device = factories.device(session, session.get(School, ready.school_id))
        certificates.bind_device(session, certificates.identify(session, first), device.id)
        device_id = device.id
    new_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = request_der(ready.ca_certificate, None, message_type=MessageType.RENEWAL_REQ,
                      signed_by=(first, CLIENT_KEY), key=new_key, transaction_id="renew-1")
    rep = cert_rep(post(client, der), (first, CLIENT_KEY))
    assert rep.status is PKIStatus.SUCCESS
    (renewed,) = rep.certificates
    assert renewed.subject == first.subject
    with db.session() as session:
        record = session.scalars(select(IssuedCertificate).where(IssuedCertificate.transaction_id == "renew-1")).one()
        assert (record.school_id, record.device_id) == (ready.school_id, device_id)
        assert record.renewed_from_id is not None


def test_renewal_with_a_revoked_certificate_is_refused(client, ready, db):
    challenge = challenge_from_profile(client, ready.secret)
    (first,) = cert_rep(post(client, request_der(ready.ca_certificate, challenge))).certificates
    with db.unit_of_work() as session:
        certificates.revoke(session, cli_principal(), format(first.serial_number, "x"), reason="lost iPad")
    der = request_der(ready.ca_certificate, None, message_type=MessageType.RENEWAL_REQ, signed_by=(first, CLIENT_KEY))
    rep = cert_rep(post(client, der), (first, CLIENT_KEY))
    assert rep.status is PKIStatus.FAILURE and "revoked" in rep.fail_info_text
    assert count_rows(db, "issued_certificates") == 1


def test_get_pki_operation_with_base64(client, ready, db):
    challenge = challenge_from_profile(client, ready.secret)
    message = base64.b64encode(request_der(ready.ca_certificate, challenge)).decode()
    response = client.get("/scep", query_string={"operation": "PKIOperation", "message": message})
    assert cert_rep(response).status is PKIStatus.SUCCESS


def assert_rejected(response, db, status, reason, challenges_before=0):
    assert response.status_code == status, response.data
    assert reason in response.get_data(as_text=True)
    assert count_rows(db, "issued_certificates") == 0
    with db.session() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action.like("scep.%"))).all()
        assert [(e.action, e.outcome) for e in events] == [("scep.reject", "denied")]
        assert reason in events[0].details["reason"] and events[0].details["http_status"] == status
        assert session.get(EnrollmentToken, 1) is None or session.get(EnrollmentToken, 1).use_count == 0
        assert all(row.used_at is None for row in session.scalars(select(EnrollmentChallenge)))


def test_random_body(client, ready, db):
    assert_rejected(post(client, os.urandom(3000)), db, 400, "not a valid signed SCEP message")


def test_truncated_body(client, ready, db):
    challenge = challenge_from_profile(client, ready.secret)
    der = request_der(ready.ca_certificate, challenge)
    assert_rejected(post(client, der[: len(der) // 2]), db, 400, "not a valid signed SCEP message")


def test_csr_without_challenge(client, ready, db):
    challenge_from_profile(client, ready.secret)
    assert_rejected(post(client, request_der(ready.ca_certificate, None)), db, 400, "no challenge password")


def test_ten_megabyte_body(client, ready, db):
    assert_rejected(post(client, b"\x30" * (10 * 1024 * 1024)), db, 413, "larger than")


def test_broken_base64_in_get(client, ready, db):
    response = client.get("/scep", query_string={"operation": "PKIOperation", "message": "MIIB%%%not*base64"})
    assert_rejected(response, db, 400, "not valid base64")


def test_request_for_another_ca(client, ready, db):
    from mdm_protocol.ca import CertificateAuthority

    other = CertificateAuthority.create("Someone else's CA", key_size=2048)
    challenge = challenge_from_profile(client, ready.secret)
    assert_rejected(post(client, request_der(other.certificate, challenge)), db, 400, "not addressed")


def test_unknown_operation_is_400_without_audit(client, ready, db):
    response = client.get("/scep?operation=GetCRL")
    assert response.status_code == 400 and b"unknown SCEP operation" in response.data
    assert not [a for a in audit_actions(db) if a[0].startswith("scep.")]


def test_a_lost_reply_is_answered_again_with_the_same_certificate(client, ready, db):
    """The iPad's WiFi dropped after Flokk issued: it repeats the same request (same transactionID, key)."""
    challenge = challenge_from_profile(client, ready.secret)
    der = request_der(ready.ca_certificate, challenge)
    (first,) = cert_rep(post(client, der)).certificates
    again = cert_rep(post(client, request_der(ready.ca_certificate, challenge)))
    assert again.status is PKIStatus.SUCCESS and again.certificates == (first,)
    assert count_rows(db, "issued_certificates") == 1
    with db.session() as session:
        assert session.get(EnrollmentToken, ready.token_id).use_count == 1
    assert audit_actions(db)[-2:] == [("scep.issue", "success"), ("scep.reissue", "success")]
    # once revoked, a repeat is refused like any used challenge
    with db.unit_of_work() as session:
        certificates.revoke(session, cli_principal(), format(first.serial_number, "x"), reason="lost")
    refused = cert_rep(post(client, request_der(ready.ca_certificate, challenge)))
    assert refused.status is PKIStatus.FAILURE


def test_the_cert_rep_is_encrypted_with_aes(client, ready):
    from asn1crypto import cms as asn1_cms

    challenge = challenge_from_profile(client, ready.secret)
    response = post(client, request_der(ready.ca_certificate, challenge))
    envelope = cms.verify(response.data).content
    algorithm = asn1_cms.ContentInfo.load(envelope)["content"]["encrypted_content_info"]["content_encryption_algorithm"]
    assert algorithm["algorithm"].native == "aes128_cbc"


def test_the_scheduler_purges_challenges_a_day_after_they_expire(client, ready, db):
    from app.scheduler import jobs
    from app.services.mdm.enrollment import purge_expired_challenges

    assert "purge-expired-enrollment-challenges" in [job.name for job in jobs()]
    challenge_from_profile(client, ready.secret)
    challenge_from_profile(client, ready.secret)
    now = dt.datetime.now(dt.UTC)
    with db.unit_of_work() as session:
        assert purge_expired_challenges(session, now=now + dt.timedelta(hours=47)) == 0
        assert purge_expired_challenges(session, now=now + dt.timedelta(hours=49)) == 2
    assert count_rows(db, "enrollment_challenges") == 0


@pytest.mark.parametrize("transaction_id", ["tx\x00-1", "tx\x07"])
def test_a_transaction_id_with_nul_or_control_characters_is_a_400_and_audited(client, ready, db, transaction_id):
    """Before: PostgreSQL refused the NUL at commit (a 500) and the durable audit entry was lost too."""
    challenge = challenge_from_profile(client, ready.secret)
    response = post(client, request_der(ready.ca_certificate, challenge, transaction_id=transaction_id))
    assert response.status_code == 400 and b"transactionID" in response.data
    assert count_rows(db, "issued_certificates") == 0
    with db.session() as session:
        assert session.scalars(select(EnrollmentChallenge)).one().used_at is None
    assert audit_actions(db)[-1] == ("scep.reject", "denied")
