"""SCEP PKI messages (RFC 8894 §3): read requests, write CertRep replies.

A SCEP request is a CMS SignedData, signed by the client, whose signed
attributes say what it is (messageType, transactionID, senderNonce) and whose
content is an EnvelopedData for the CA holding a PKCS #10 request (RFC 2986).
A reply (CertRep) is a SignedData from the CA echoing the transactionID and
the nonce, with the issued certificate in a certs-only SignedData encrypted to
the client's signing certificate.

The client side (:func:`build_request`, :func:`read_cert_rep`) is here too: it
is the same protocol knowledge, and it lets Flokk's tests speak SCEP without a
device.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Sequence
from dataclasses import dataclass

from asn1crypto import core
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .. import cms, csr

# RFC 8894 §3.2.1: the attributes, all under id-attribute (VeriSign's arc).
OID_MESSAGE_TYPE = "2.16.840.1.113733.1.9.2"
OID_PKI_STATUS = "2.16.840.1.113733.1.9.3"
OID_FAIL_INFO = "2.16.840.1.113733.1.9.4"
OID_SENDER_NONCE = "2.16.840.1.113733.1.9.5"
OID_RECIPIENT_NONCE = "2.16.840.1.113733.1.9.6"
OID_TRANSACTION_ID = "2.16.840.1.113733.1.9.7"
OID_FAIL_INFO_TEXT = "1.3.6.1.5.5.7.24.1"

#: RFC 8894 §3.5.2: "AES" means AES-128-CBC; every client that announces
#: AES support can read it. Replies are never encrypted with DES or 3DES.
REPLY_ENCRYPTION = "aes128_cbc"
REPLY_DIGEST = "sha256"
NONCE_SIZE = 16
MAX_TRANSACTION_ID = 256


class MessageType(enum.IntEnum):
    """RFC 8894 §3.2.1.2 messageType values."""

    CERT_REP = 3
    RENEWAL_REQ = 17
    UPDATE_REQ = 18  # removed by RFC 8894; recognised only to refuse it clearly
    PKCS_REQ = 19
    CERT_POLL = 20
    GET_CERT = 21
    GET_CRL = 22


class PKIStatus(enum.IntEnum):
    """RFC 8894 §3.2.1.3 pkiStatus values."""

    SUCCESS = 0
    FAILURE = 2
    PENDING = 3


class FailInfo(enum.IntEnum):
    """RFC 8894 §3.2.1.4 failInfo values."""

    BAD_ALG = 0
    BAD_MESSAGE_CHECK = 1
    BAD_REQUEST = 2
    BAD_TIME = 3
    BAD_CERT_ID = 4


class ScepError(ValueError):
    """A SCEP message cannot be read at all; the HTTP layer answers 4xx with this text."""


@dataclass(frozen=True)
class PKIMessage:
    """A signed SCEP request whose signature has been checked (RFC 8894 §3.2).

    ``signer`` is the certificate the client signed with: self-signed for
    PKCSReq, the current Flokk certificate for RenewalReq. The reply is
    encrypted to it. ``envelope`` is the still-encrypted pkcsPKIEnvelope.
    """

    message_type: MessageType
    transaction_id: str
    sender_nonce: bytes
    signer: x509.Certificate
    envelope: bytes
    digest_algorithm: str
    raw_transaction_id: bytes


@dataclass(frozen=True)
class CertRep:
    """A CertRep as a client reads it (RFC 8894 §3.3.2)."""

    status: PKIStatus
    transaction_id: str
    recipient_nonce: bytes
    sender_nonce: bytes
    fail_info: FailInfo | None
    fail_info_text: str | None
    certificates: tuple[x509.Certificate, ...]
    signer: x509.Certificate


# ------------------------------------------------------------ server side


def parse_request(der: bytes) -> PKIMessage:
    """Verify a client's signed request and read its SCEP attributes."""
    try:
        signed = cms.verify(der)
    except cms.CMSError as exc:
        raise ScepError(f"not a valid signed SCEP message: {exc}") from None
    raw_type = _required(signed, OID_MESSAGE_TYPE, "messageType")
    raw_transaction = _required(signed, OID_TRANSACTION_ID, "transactionID")
    raw_nonce = _required(signed, OID_SENDER_NONCE, "senderNonce")
    try:
        message_type = MessageType(int(_text(raw_type, "messageType")))
    except ValueError:
        raise ScepError("unknown SCEP messageType") from None
    transaction_id = _text(raw_transaction, "transactionID")
    if not transaction_id or len(transaction_id) > MAX_TRANSACTION_ID:
        raise ScepError("the transactionID must have 1 to 256 characters")
    if not transaction_id.isprintable():  # it is stored and audited; clients send hex or base64
        raise ScepError("the transactionID must be printable text (no NUL or other control characters)")
    nonce = _octets(raw_nonce, "senderNonce")
    if not 8 <= len(nonce) <= 64:
        raise ScepError("the senderNonce must have 8 to 64 bytes")
    return PKIMessage(
        message_type=message_type,
        transaction_id=transaction_id,
        sender_nonce=nonce,
        signer=signed.signer,
        envelope=signed.content,
        digest_algorithm=signed.digest_algorithm,
        raw_transaction_id=raw_transaction,
    )


def decrypt_request(
    message: PKIMessage, certificate: x509.Certificate, private_key: rsa.RSAPrivateKey
) -> csr.CertificationRequest:
    """Open the pkcsPKIEnvelope with the CA key and decode the PKCS #10 request inside."""
    try:
        der = cms.decrypt(message.envelope, certificate, private_key)
    except cms.CMSError as exc:
        raise ScepError(f"the request's envelope cannot be opened: {exc}") from None
    try:
        return csr.load(der)
    except csr.CSRError as exc:
        raise ScepError(f"the envelope does not hold a usable certificate request: {exc}") from None


def cert_rep(
    request: PKIMessage,
    *,
    signer_certificate: x509.Certificate,
    signer_key: rsa.RSAPrivateKey,
    issued: x509.Certificate | None = None,
    fail_info: FailInfo | None = None,
    fail_info_text: str | None = None,
) -> bytes:
    """Answer ``request`` with SUCCESS (``issued`` given) or FAILURE (``fail_info`` given).

    RFC 8894 §3.3.2: echo transactionID and the nonce, add our own nonce; on
    SUCCESS the content is the certificate, encrypted to the requester.
    """
    if (issued is None) == (fail_info is None):
        raise ValueError("a CertRep carries either an issued certificate or a failInfo")
    status = PKIStatus.SUCCESS if issued is not None else PKIStatus.FAILURE
    attributes = [
        cms.Attribute(OID_TRANSACTION_ID, (request.raw_transaction_id,)),
        cms.Attribute.of(OID_MESSAGE_TYPE, core.PrintableString(str(int(MessageType.CERT_REP)))),
        cms.Attribute.of(OID_PKI_STATUS, core.PrintableString(str(int(status)))),
        cms.Attribute.of(OID_RECIPIENT_NONCE, core.OctetString(request.sender_nonce)),
        cms.Attribute.of(OID_SENDER_NONCE, core.OctetString(os.urandom(NONCE_SIZE))),
    ]
    if issued is not None:
        content = cms.encrypt(cms.certificates_only([issued]), [request.signer], algorithm=REPLY_ENCRYPTION)
        return cms.sign(content, signer_certificate, signer_key, attributes=attributes, digest=REPLY_DIGEST)
    assert fail_info is not None
    attributes.append(cms.Attribute.of(OID_FAIL_INFO, core.PrintableString(str(int(fail_info)))))
    if fail_info_text:
        attributes.append(cms.Attribute.of(OID_FAIL_INFO_TEXT, core.UTF8String(fail_info_text[:200])))
    # A failure has no pkcsPKIEnvelope: the signed content is empty.
    return cms.sign(b"", signer_certificate, signer_key, attributes=attributes, detached=True, digest=REPLY_DIGEST)


# ------------------------------------------------------------ client side


def build_request(
    request: x509.CertificateSigningRequest,
    *,
    message_type: MessageType,
    signer_certificate: x509.Certificate,
    signer_key: rsa.RSAPrivateKey,
    recipients: Sequence[x509.Certificate],
    transaction_id: str,
    sender_nonce: bytes | None = None,
) -> bytes:
    """A PKCSReq or RenewalReq as a SCEP client sends it (RFC 8894 §3.3.1)."""
    envelope = cms.encrypt(request.public_bytes(serialization.Encoding.DER), recipients, algorithm=REPLY_ENCRYPTION)
    attributes = [
        cms.Attribute.of(OID_TRANSACTION_ID, core.PrintableString(transaction_id)),
        cms.Attribute.of(OID_MESSAGE_TYPE, core.PrintableString(str(int(message_type)))),
        cms.Attribute.of(OID_SENDER_NONCE, core.OctetString(sender_nonce or os.urandom(NONCE_SIZE))),
    ]
    return cms.sign(envelope, signer_certificate, signer_key, attributes=attributes)


def read_cert_rep(
    der: bytes, *, certificate: x509.Certificate, private_key: rsa.RSAPrivateKey
) -> CertRep:
    """Verify a CertRep and, on SUCCESS, decrypt the issued certificates."""
    try:
        # A FAILURE carries no content: its signature covers the empty string.
        signed = cms.verify(der, content=b"" if cms.is_detached(der) else None)
    except cms.CMSError as exc:
        raise ScepError(f"not a valid CertRep: {exc}") from None
    message_type = int(_text(_required(signed, OID_MESSAGE_TYPE, "messageType"), "messageType"))
    if message_type != MessageType.CERT_REP:
        raise ScepError(f"expected a CertRep, got messageType {message_type}")
    status = PKIStatus(int(_text(_required(signed, OID_PKI_STATUS, "pkiStatus"), "pkiStatus")))
    raw_fail = signed.attribute(OID_FAIL_INFO)
    raw_text = signed.attribute(OID_FAIL_INFO_TEXT)
    certificates: tuple[x509.Certificate, ...] = ()
    if status is PKIStatus.SUCCESS:
        inner = cms.decrypt(signed.content, certificate, private_key)
        certificates = tuple(cms.read_certificates_only(inner))
    return CertRep(
        status=status,
        transaction_id=_text(_required(signed, OID_TRANSACTION_ID, "transactionID"), "transactionID"),
        recipient_nonce=_octets(_required(signed, OID_RECIPIENT_NONCE, "recipientNonce"), "recipientNonce"),
        sender_nonce=_octets(_required(signed, OID_SENDER_NONCE, "senderNonce"), "senderNonce"),
        fail_info=FailInfo(int(_text(raw_fail, "failInfo"))) if raw_fail else None,
        fail_info_text=_text(raw_text, "failInfoText") if raw_text else None,
        certificates=certificates,
        signer=signed.signer,
    )


# ---------------------------------------------------------------- helpers


def _required(signed: cms.SignedMessage, oid: str, name: str) -> bytes:
    try:
        value = signed.attribute(oid)
    except cms.CMSError as exc:
        raise ScepError(str(exc)) from None
    if value is None:
        raise ScepError(f"the SCEP message has no {name} attribute")
    return value


def _text(der: bytes, name: str) -> str:
    """A string attribute; PrintableString per the RFC, other string types tolerated."""
    try:
        value = core.load(der)
    except ValueError:
        raise ScepError(f"the {name} attribute is malformed") from None
    if not isinstance(value, core.AbstractString):
        raise ScepError(f"the {name} attribute is not a string")
    try:
        return str(value.native)
    except ValueError:
        raise ScepError(f"the {name} attribute is malformed") from None


def _octets(der: bytes, name: str) -> bytes:
    try:
        value = core.load(der)
    except ValueError:
        raise ScepError(f"the {name} attribute is malformed") from None
    if not isinstance(value, core.OctetString):
        raise ScepError(f"the {name} attribute is not an OCTET STRING")
    return bytes(value.native)
