"""Flokk's SCEP server: the framework-free `mdm_protocol.scep` service wired to the database.

The challenge is checked against the school's enrollment token (through the
one-time challenge in its profile); renewal needs a certificate Flokk issued
that is still good; every issued certificate is recorded. Every PKIOperation
leaves one audit entry, also when it is refused or unreadable (those entries
are durable: nothing else of the request is kept).
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from sqlalchemy.orm import Session

from app.models.pki import CertificateAuthorityRecord
from app.services import audit
from app.services.mdm import enrollment
from app.services.pki import certificate_authority, certificates
from app.services.pki.certificates import UntrustedCertificate
from mdm_protocol import csr
from mdm_protocol.scep import http as scep_http
from mdm_protocol.scep.messages import PKIMessage, PKIStatus
from mdm_protocol.scep.service import Grant, Refused, ScepService

ACTOR = "device:scep"


@dataclass(frozen=True)
class IssueContext:
    """What the grant carries to the store: where the new certificate belongs."""

    school_id: int
    enrollment_token_id: int | None = None
    renewed_from_id: int | None = None
    device_id: int | None = None


class DatabaseEnrollment:
    """ChallengeVerifier, RenewalVerifier and IssuedCertificateStore over one session."""

    def __init__(self, session: Session, authority_record: CertificateAuthorityRecord) -> None:
        self.session = session
        self.authority_record = authority_record

    def verify_challenge(self, challenge: str, request: csr.CertificationRequest) -> Grant:
        try:
            granted = enrollment.consume_challenge(self.session, challenge)
        except enrollment.ChallengeRefused as refusal:
            raise Refused(refusal.reason, context=refusal.school_id) from None
        return Grant(
            context=IssueContext(school_id=granted.school_id, enrollment_token_id=granted.enrollment_token_id),
            subject=enrollment.device_subject(granted.organisation, granted.school_code),
        )

    def verify_renewal(self, current: x509.Certificate, request: csr.CertificationRequest) -> Grant:
        try:
            identity = certificates.identify(self.session, current)
        except UntrustedCertificate as error:
            raise Refused(f"renewal refused: {error.message}") from None
        return Grant(
            context=IssueContext(
                school_id=identity.school_id,
                renewed_from_id=identity.certificate_id,
                device_id=identity.device_id,
            ),
            subject=current.subject,
        )

    def reissue(self, message: PKIMessage, request: csr.CertificationRequest) -> x509.Certificate | None:
        previous = certificates.previously_issued(self.session, message.transaction_id, request.public_key)
        return previous.certificate if previous is not None else None

    def record(self, certificate: x509.Certificate, grant: Grant, message: PKIMessage) -> None:
        issued = grant.context
        assert isinstance(issued, IssueContext)
        certificates.record_issued(
            self.session,
            certificate,
            authority=self.authority_record,
            school_id=issued.school_id,
            enrollment_token_id=issued.enrollment_token_id,
            renewed_from_id=issued.renewed_from_id,
            device_id=issued.device_id,
            transaction_id=message.transaction_id,
        )


def service(session: Session) -> ScepService:
    record = certificate_authority.active_record(session)
    authority = certificate_authority.load_ca(session)
    assert record is not None  # load_ca raised otherwise
    database = DatabaseEnrollment(session, record)
    return ScepService(authority, database, database, renewals=database)


def handle(
    session: Session,
    *,
    method: str,
    operation: str | None,
    message: str | None,
    body: bytes | None,
    declared_length: int | None = None,
) -> scep_http.HttpReply:
    """Answer one SCEP HTTP request and audit every PKIOperation."""
    reply = scep_http.handle(
        service(session),
        method=method,
        operation=operation,
        message=message,
        body=body,
        declared_length=declared_length,
    )
    if reply.operation == "PKIOperation":
        _audit(session, reply)
    return reply


def _audit(session: Session, reply: scep_http.HttpReply) -> None:
    outcome = reply.outcome
    if outcome is None:
        audit.record(
            session,
            ACTOR,
            "scep.reject",
            outcome=audit.DENIED,
            details={"http_status": reply.status, "reason": reply.error},
            durable=True,
        )
        return
    details = {"transaction_id": outcome.transaction_id[:100], "message_type": outcome.message_type.name}
    if outcome.status is PKIStatus.SUCCESS:
        assert outcome.certificate is not None
        serial = certificates.serial_hex(outcome.certificate)
        if outcome.repeated:
            previous = certificates.previously_issued(session, outcome.transaction_id, outcome.certificate.public_key())
            school_id = previous.school_id if previous is not None else None
        else:
            assert isinstance(outcome.context, IssueContext)
            school_id = outcome.context.school_id
        audit.record(
            session,
            ACTOR,
            "scep.reissue" if outcome.repeated else "scep.issue",
            school_id=school_id,
            target=("certificate", serial),
            details={**details, "subject": outcome.certificate.subject.rfc4514_string()},
        )
        return
    school_id = outcome.context if isinstance(outcome.context, int) else None
    audit.record(
        session,
        ACTOR,
        "scep.refuse",
        outcome=audit.DENIED,
        school_id=school_id,
        details={**details, "fail_info": outcome.fail_info.name if outcome.fail_info else None, "reason": outcome.reason},
        durable=True,
    )
