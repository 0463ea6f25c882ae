"""Certificates Flokk issued: the record of each, revocation, and "whose certificate is this?".

``identify`` is what the MDM check-in uses on every request: the client
certificate (or the Mdm-Signature signer) must be one Flokk issued, not
revoked, within its validity. ``bind_device`` ties a certificate to the
device that first authenticated with it, so later check-ins with it can only
speak for that device.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import DriverStatement
from app.errors import Conflict, FlokkError, InvalidInput, NotFound
from app.models.base import utcnow
from app.models.pki import CertificateAuthorityRecord, IssuedCertificate
from app.models.tenancy import School
from app.services import audit
from app.services.access import Permission, Principal, require_central, scoped
from mdm_protocol.certificates import fingerprint


class UntrustedCertificate(FlokkError):
    """A certificate that Flokk did not issue, revoked, expired, or another device's."""

    status = 403
    code = "untrusted_certificate"


@dataclass(frozen=True)
class BoundDevice:
    """The bound device's columns the MDM hot path needs, read in the same query as the certificate
    (so an Idle check-in loads no Device object)."""

    id: int
    udid: str | None
    school_id: int
    enrollment_state: str
    last_seen_at: dt.datetime | None
    push_attempts: int
    next_push_at: dt.datetime | None
    has_bypass_code: bool


@dataclass(frozen=True)
class CertificateIdentity:
    """Who a trusted certificate speaks for: its school, the token's group, and its device once bound."""

    certificate_id: int
    serial: str
    fingerprint: str
    school_id: int
    group_id: int | None
    device_id: int | None
    not_after: dt.datetime
    #: The bound device as it was when the certificate was identified (None: unbound, or not read).
    device: BoundDevice | None = field(default=None, compare=False)


def serial_hex(certificate: x509.Certificate) -> str:
    return format(certificate.serial_number, "x")


def identify(session: Session, certificate: x509.Certificate, *, now: dt.datetime | None = None) -> CertificateIdentity:
    """Check that ``certificate`` was issued by Flokk's CA and is usable now; say whose it is.

    The lookup is by SHA-256 fingerprint of the whole certificate, so only the
    exact certificate Flokk issued matches. Raises :class:`UntrustedCertificate`.
    """
    # Every MDM request: one Core statement (compiled once) reads the certificate's state, its
    # token's group and the bound device's hot columns. Nothing of it is cached between requests,
    # so a revocation or a re-binding (re-enrolment) in any worker counts from the next request on.
    session.flush()  # a revocation made in this unit of work counts (the statement bypasses autoflush)
    row = _identify_statement().execute(session, {"b_fingerprint": fingerprint(certificate)}).first()
    if row is None:
        raise UntrustedCertificate("the certificate was not issued by Flokk")
    moment = now or utcnow()
    if row.revoked_at is not None and row.revoked_at <= moment:
        raise UntrustedCertificate("the certificate has been revoked")
    if row.not_after <= moment:
        raise UntrustedCertificate("the certificate has expired")
    if row.not_before > moment:
        raise UntrustedCertificate("the certificate is not valid yet")
    device = None
    if row.device_id is not None and row.bound_id is not None:
        device = BoundDevice(row.bound_id, row.udid, row.device_school_id, row.enrollment_state, row.last_seen_at,
                             row.push_attempts or 0, row.next_push_at, bool(row.has_bypass_code))
    return CertificateIdentity(
        certificate_id=row.id, serial=row.serial, fingerprint=row.fingerprint, school_id=row.school_id,
        group_id=row.group_id, device_id=row.device_id, not_after=row.not_after.astimezone(dt.UTC), device=device,
    )


@lru_cache(maxsize=None)
def _identify_statement() -> DriverStatement:
    from sqlalchemy import bindparam

    from app.models.devices import Device
    from app.models.enrollment import EnrollmentToken

    certificates_ = IssuedCertificate.__table__
    tokens = EnrollmentToken.__table__
    devices = Device.__table__
    return DriverStatement(
        select(
            certificates_.c.id, certificates_.c.serial, certificates_.c.fingerprint, certificates_.c.school_id,
            certificates_.c.device_id, certificates_.c.not_before, certificates_.c.not_after,
            certificates_.c.revoked_at, tokens.c.group_id,
            devices.c.id.label("bound_id"), devices.c.udid, devices.c.school_id.label("device_school_id"),
            devices.c.enrollment_state, devices.c.last_seen_at, devices.c.push_attempts, devices.c.next_push_at,
            devices.c.activation_lock_bypass_code.is_not(None).label("has_bypass_code"),
        )
        .select_from(
            certificates_.outerjoin(tokens, tokens.c.id == certificates_.c.enrollment_token_id)
            .outerjoin(devices, devices.c.id == certificates_.c.device_id)
        )
        .where(certificates_.c.fingerprint == bindparam("b_fingerprint"))
    )


def bind_device(session: Session, identity: CertificateIdentity, device_id: int) -> CertificateIdentity:
    """Tie a certificate to the device that authenticated with it (once; never to another)."""
    record = session.get(IssuedCertificate, identity.certificate_id, with_for_update=True)
    if record is None:
        raise UntrustedCertificate("the certificate was not issued by Flokk")
    if record.device_id is not None and record.device_id != device_id:
        raise UntrustedCertificate("the certificate belongs to another device")
    record.device_id = device_id
    session.flush()
    return _identity(record)


def record_issued(
    session: Session,
    certificate: x509.Certificate,
    *,
    authority: CertificateAuthorityRecord,
    school_id: int,
    enrollment_token_id: int | None = None,
    renewed_from_id: int | None = None,
    device_id: int | None = None,
    transaction_id: str | None = None,
) -> IssuedCertificate:
    record = IssuedCertificate(
        school_id=school_id,
        authority_id=authority.id,
        serial=serial_hex(certificate),
        fingerprint=fingerprint(certificate),
        subject=certificate.subject.rfc4514_string(),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        certificate_der=certificate.public_bytes(serialization.Encoding.DER),
        device_id=device_id,
        enrollment_token_id=enrollment_token_id,
        renewed_from_id=renewed_from_id,
        transaction_id=transaction_id,
    )
    session.add(record)
    session.flush()
    return record


@dataclass(frozen=True)
class PreviousIssue:
    certificate: x509.Certificate
    school_id: int


def previously_issued(
    session: Session, transaction_id: str, public_key: CertificatePublicKeyTypes, *, now: dt.datetime | None = None
) -> PreviousIssue | None:
    """The still-good certificate issued earlier for this SCEP transaction and this key, if any."""
    moment = now or utcnow()
    wanted = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    rows = session.scalars(
        select(IssuedCertificate)
        .where(
            IssuedCertificate.transaction_id == transaction_id,
            IssuedCertificate.revoked_at.is_(None),
            IssuedCertificate.not_after > moment,
            IssuedCertificate.renewed_from_id.is_(None),
        )
        .order_by(IssuedCertificate.id.desc())
    )
    for row in rows:
        certificate = x509.load_der_x509_certificate(row.certificate_der)
        spki = certificate.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if spki == wanted:
            return PreviousIssue(certificate, row.school_id)
    return None


def list_issued(
    session: Session, principal: Principal, *, school_code: str | None = None, include_revoked: bool = True
) -> list[IssuedCertificate]:
    statement = scoped(IssuedCertificate, principal, Permission.VIEW).order_by(IssuedCertificate.id)
    if school_code is not None:
        statement = statement.join(School, School.id == IssuedCertificate.school_id).where(
            School.code == school_code.lower()
        )
    if not include_revoked:
        statement = statement.where(IssuedCertificate.revoked_at.is_(None))
    return list(session.scalars(statement))


def revoke(session: Session, principal: Principal, serial: str, *, reason: str) -> IssuedCertificate:
    """Revoke a certificate by serial (hex, colons allowed). Central IT only."""
    require_central(principal)
    normalised = serial.replace(":", "").strip().lower().lstrip("0") or "0"
    if not all(char in "0123456789abcdef" for char in normalised):
        raise InvalidInput("the serial must be hexadecimal, as `flokk ca certificates` shows it")
    reason = reason.strip()
    if not reason:
        raise InvalidInput("say why the certificate is revoked")
    record = session.scalar(
        select(IssuedCertificate).where(IssuedCertificate.serial == normalised).with_for_update()
    )
    if record is None:
        raise NotFound(f"no certificate with serial {serial}")
    if record.revoked_at is not None:
        raise Conflict(f"certificate {normalised} was already revoked on {record.revoked_at:%Y-%m-%d}")
    record.revoked_at = utcnow()
    record.revocation_reason = reason[:200]
    audit.record(
        session,
        principal,
        "certificate.revoke",
        school_id=record.school_id,
        target=("certificate", record.serial),
        details={"reason": record.revocation_reason, "device_id": record.device_id},
    )
    return record


def _identity(record: IssuedCertificate) -> CertificateIdentity:
    token = record.enrollment_token
    return CertificateIdentity(
        certificate_id=record.id,
        serial=record.serial,
        fingerprint=record.fingerprint,
        school_id=record.school_id,
        group_id=token.group_id if token is not None else None,
        device_id=record.device_id,
        not_after=record.not_after,
    )
