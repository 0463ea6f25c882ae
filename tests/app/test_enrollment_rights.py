"""Who may create, see and revoke enrollment tokens and certificates; whose certificate is whose."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from app.errors import Forbidden, NotFound
from app.models.pki import CertificateAuthorityRecord
from app.services.access import Grant, Principal, Role, cli_principal
from app.services.mdm import enrollment
from app.services.pki import certificate_authority, certificates
from app.services.pki.certificates import UntrustedCertificate
from tests.support import factories
from tests.support.pki import shared_ca

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def admin(role: Role, school_id: int | None) -> Principal:
    return Principal("admin", 7, f"admin:{role}", (Grant(role, school_id),))


@pytest.fixture
def two_schools(session):
    certificate_authority.import_ca(session, cli_principal(), shared_ca().certificate_pem(), shared_ca().key_pem())
    return factories.school(session, code="north"), factories.school(session, code="south")


def test_school_ict_manages_tokens_of_its_own_school_only(session, two_schools):
    north, south = two_schools
    ict = admin(Role.SCHOOL_ICT, north.id)
    created = enrollment.create_token(session, ict, school_code="north")
    assert created.token.school_id == north.id and created.token.created_by == "admin:school_ict"
    with pytest.raises(NotFound):  # the other school does not even exist for them
        enrollment.create_token(session, ict, school_code="south")
    theirs = enrollment.create_token(session, cli_principal(), school_code="south").token
    assert [t.school_id for t in enrollment.list_tokens(session, ict)] == [north.id]
    with pytest.raises(NotFound):
        enrollment.revoke_token(session, ict, theirs.id)
    with pytest.raises(NotFound):
        enrollment.url_of(session, ict, theirs.id)
    assert enrollment.url_of(session, ict, created.token.id) == created.url


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.CENTRAL_HELPDESK])
def test_read_only_roles_cannot_create_or_revoke_tokens(session, two_schools, role):
    north, _ = two_schools
    token = enrollment.create_token(session, cli_principal(), school_code="north").token
    watcher = admin(role, None)
    with pytest.raises(Forbidden):
        enrollment.create_token(session, watcher, school_code="north")
    with pytest.raises(Forbidden):
        enrollment.revoke_token(session, watcher, token.id)
    with pytest.raises(Forbidden):
        enrollment.url_of(session, watcher, token.id)
    assert [t.id for t in enrollment.list_tokens(session, watcher)] == [token.id]


def issue(session, school, *, lifetime=dt.timedelta(days=30)) -> x509.Certificate:
    authority = certificate_authority.load_ca(session)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Flokk device")])
    certificate = authority.issue(KEY.public_key(), subject, lifetime=lifetime)
    record = session.query(CertificateAuthorityRecord).one()
    certificates.record_issued(session, certificate, authority=record, school_id=school.id)
    return certificate


def test_identify_and_bind_a_device_once(session, two_schools):
    north, _ = two_schools
    certificate = issue(session, north)
    identity = certificates.identify(session, certificate)
    assert (identity.school_id, identity.device_id, identity.group_id) == (north.id, None, None)
    device = factories.device(session, north)
    other = factories.device(session, north)
    bound = certificates.bind_device(session, identity, device.id)
    assert bound.device_id == device.id
    assert certificates.identify(session, certificate).device_id == device.id
    assert certificates.bind_device(session, bound, device.id).device_id == device.id  # idempotent
    with pytest.raises(UntrustedCertificate, match="another device"):
        certificates.bind_device(session, bound, other.id)


def test_identify_refuses_foreign_revoked_and_expired_certificates(session, two_schools):
    north, _ = two_schools
    from mdm_protocol.ca import CertificateAuthority

    lookalike = CertificateAuthority.create(shared_ca().certificate.subject.rfc4514_string(), key_size=2048)
    foreign = lookalike.issue(KEY.public_key(), x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Flokk device")]))
    with pytest.raises(UntrustedCertificate, match="not issued by Flokk"):
        certificates.identify(session, foreign)
    revoked = issue(session, north)
    certificates.revoke(session, cli_principal(), format(revoked.serial_number, "X"), reason="stolen")
    with pytest.raises(UntrustedCertificate, match="revoked"):
        certificates.identify(session, revoked)
    old = issue(session, north, lifetime=dt.timedelta(days=1))
    with pytest.raises(UntrustedCertificate, match="expired"):
        certificates.identify(session, old, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=2))


def test_only_central_it_revokes_and_school_ict_sees_own_certificates(session, two_schools):
    north, south = two_schools
    mine, theirs = issue(session, north), issue(session, south)
    ict = admin(Role.SCHOOL_ICT, north.id)
    assert [c.school_id for c in certificates.list_issued(session, ict)] == [north.id]
    with pytest.raises(Forbidden):
        certificates.revoke(session, ict, format(mine.serial_number, "x"), reason="lost")
    with pytest.raises(NotFound):
        certificates.revoke(session, cli_principal(), "abc123", reason="typo")
    revoked = certificates.revoke(session, cli_principal(), format(theirs.serial_number, "x"), reason="lost")
    assert revoked.revoked_at is not None and revoked.revocation_reason == "lost"
