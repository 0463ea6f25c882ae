"""What a SCEP server does with a request (RFC 8894 §3.3), free of any web framework.

The service decides; the app supplies the parts that know about schools,
tokens and storage through four small interfaces:

* :class:`IssuingAuthority` — the CA: decrypts requests, signs replies, issues;
* :class:`ChallengeVerifier` — is this challenge password good for a PKCSReq?
* :class:`RenewalVerifier` — may the holder of this certificate renew?
* :class:`IssuedCertificateStore` — remember every certificate issued.

Malformed input raises :class:`~mdm_protocol.scep.messages.ScepError` (the
HTTP layer answers 400). A well-formed request that is refused gets a signed
CertRep FAILURE, as RFC 8894 §3.3.2 asks, so a client can tell the user why.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes

from .. import csr as csr_module
from .messages import FailInfo, MessageType, PKIMessage, PKIStatus, ScepError, cert_rep, decrypt_request, parse_request

#: RFC 8894 §3.5.2. SHA-1 is announced as well because Apple devices sign
#: with it unless told otherwise; DES3 is not, so no client picks it.
CAPABILITIES = ("AES", "POSTPKIOperation", "Renewal", "SHA-1", "SHA-256", "SHA-512", "SCEPStandard")


class Refused(Exception):
    """A verifier's "no", with the reason written to the audit log and the failInfoText.

    ``context`` is the app's own (e.g. the school the refused token belongs
    to); it comes back in :attr:`Outcome.context`.
    """

    def __init__(self, reason: str, fail_info: FailInfo = FailInfo.BAD_REQUEST, *, context: object = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fail_info = fail_info
        self.context = context


@dataclass(frozen=True)
class Grant:
    """Permission to issue: what the certificate should say, plus the app's own context.

    ``context`` is opaque to the service (the app puts e.g. the school and the
    enrollment token there) and comes back in :meth:`IssuedCertificateStore.record`.
    ``subject`` overrides the subject the client asked for.
    """

    context: object = None
    subject: x509.Name | None = None
    lifetime: dt.timedelta | None = None


class IssuingAuthority(Protocol):
    """The CA as SCEP needs it (``mdm_protocol.ca.CertificateAuthority`` fits)."""

    @property
    def certificate(self) -> x509.Certificate: ...

    @property
    def private_key(self) -> rsa.RSAPrivateKey: ...

    def issue(
        self,
        public_key: CertificatePublicKeyTypes,
        subject: x509.Name,
        *,
        lifetime: dt.timedelta = ...,
        serial: int | None = None,
    ) -> x509.Certificate: ...


class ChallengeVerifier(Protocol):
    def verify_challenge(self, challenge: str, request: csr_module.CertificationRequest) -> Grant:
        """Return a grant for a good challenge; raise :class:`Refused` otherwise."""
        ...


class RenewalVerifier(Protocol):
    def verify_renewal(self, current: x509.Certificate, request: csr_module.CertificationRequest) -> Grant:
        """Return a grant if ``current`` (the signer) may be renewed; raise :class:`Refused` otherwise."""
        ...


class IssuedCertificateStore(Protocol):
    def record(self, certificate: x509.Certificate, grant: Grant, message: PKIMessage) -> None:
        """Store a newly issued certificate. Raising here means nothing was issued."""
        ...

    def reissue(self, message: PKIMessage, request: csr_module.CertificationRequest) -> x509.Certificate | None:
        """The certificate already issued for this transactionID and this public key, if any.

        RFC 8894 §3.3.1: a client that lost the CertRep repeats its request
        with the same transactionID; it gets the same certificate again
        instead of a refusal for its (now used) challenge. Asked for PKCSReq
        only: a repeated RenewalReq is simply authorised again. Return None
        for a certificate that was revoked or has expired.
        """
        ...


@dataclass(frozen=True)
class Outcome:
    """What happened to one PKIOperation: the reply to send and the facts to audit.

    ``context`` is the grant's context on SUCCESS and the refusal's on FAILURE.
    ``repeated`` marks a SUCCESS that re-sent an earlier certificate.
    """

    reply: bytes
    message_type: MessageType
    transaction_id: str
    status: PKIStatus
    fail_info: FailInfo | None = None
    reason: str | None = None
    certificate: x509.Certificate | None = None
    grant: Grant | None = None
    context: object = None
    repeated: bool = False
    request: csr_module.CertificationRequest | None = field(default=None, repr=False)


@dataclass
class ScepService:
    """An RFC 8894 SCEP server: GetCACaps, GetCACert, PKIOperation (PKCSReq, RenewalReq)."""

    authority: IssuingAuthority
    challenges: ChallengeVerifier
    store: IssuedCertificateStore
    renewals: RenewalVerifier | None = None
    capabilities: tuple[str, ...] = CAPABILITIES

    def get_ca_caps(self) -> str:
        caps = [cap for cap in self.capabilities if cap != "Renewal" or self.renewals is not None]
        return "\n".join(caps) + "\n"

    def get_ca_cert(self) -> bytes:
        """The CA certificate, DER (RFC 8894 §4.2.1.1: a single CA, no RA)."""
        return self.authority.certificate.public_bytes(serialization.Encoding.DER)

    def pki_operation(self, der: bytes) -> Outcome:
        """Answer one PKIOperation. Raises :class:`ScepError` for unreadable input."""
        message = parse_request(der)
        if message.message_type not in (MessageType.PKCS_REQ, MessageType.RENEWAL_REQ):
            return self._fail(message, FailInfo.BAD_REQUEST, f"{message.message_type.name} is not supported")
        request = decrypt_request(message, self.authority.certificate, self.authority.private_key)
        if message.message_type is MessageType.PKCS_REQ and not request.challenge_password:
            raise ScepError("the certificate request has no challenge password")
        try:
            request.check()
        except csr_module.CSRRejected as exc:
            fail = FailInfo.BAD_MESSAGE_CHECK if not request.signature_valid else FailInfo.BAD_REQUEST
            return self._fail(message, fail, str(exc), request)
        previous = self.store.reissue(message, request) if message.message_type is MessageType.PKCS_REQ else None
        if previous is not None:
            return self._success(message, previous, None, request)
        try:
            grant = self._authorize(message, request)
        except Refused as refusal:
            return self._fail(message, refusal.fail_info, refusal.reason, request, refusal.context)
        lifetime = {"lifetime": grant.lifetime} if grant.lifetime is not None else {}
        certificate = self.authority.issue(
            request.public_key, grant.subject if grant.subject is not None else request.subject, **lifetime
        )
        self.store.record(certificate, grant, message)
        return self._success(message, certificate, grant, request)

    def _success(
        self,
        message: PKIMessage,
        certificate: x509.Certificate,
        grant: Grant | None,
        request: csr_module.CertificationRequest,
    ) -> Outcome:
        reply = cert_rep(
            message,
            signer_certificate=self.authority.certificate,
            signer_key=self.authority.private_key,
            issued=certificate,
        )
        return Outcome(
            reply=reply,
            message_type=message.message_type,
            transaction_id=message.transaction_id,
            status=PKIStatus.SUCCESS,
            certificate=certificate,
            grant=grant,
            context=grant.context if grant is not None else None,
            request=request,
            repeated=grant is None,
        )

    def _authorize(self, message: PKIMessage, request: csr_module.CertificationRequest) -> Grant:
        if message.message_type is MessageType.PKCS_REQ:
            assert request.challenge_password is not None
            return self.challenges.verify_challenge(request.challenge_password, request)
        if self.renewals is None:
            raise Refused("renewal is not offered by this server")
        return self.renewals.verify_renewal(message.signer, request)

    def _fail(
        self,
        message: PKIMessage,
        fail_info: FailInfo,
        reason: str,
        request: csr_module.CertificationRequest | None = None,
        context: object = None,
    ) -> Outcome:
        reply = cert_rep(
            message,
            signer_certificate=self.authority.certificate,
            signer_key=self.authority.private_key,
            fail_info=fail_info,
            fail_info_text=reason,
        )
        return Outcome(
            reply=reply,
            message_type=message.message_type,
            transaction_id=message.transaction_id,
            status=PKIStatus.FAILURE,
            fail_info=fail_info,
            reason=reason,
            context=context,
            request=request,
        )
