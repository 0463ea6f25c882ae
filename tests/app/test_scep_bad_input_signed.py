"""Bad values in correctly signed SCEP requests: refused (4xx, or a FAILURE CertRep), nothing issued.

Generated like the MDM one: each SCEP attribute (transactionID, messageType,
senderNonce) and the CSR's challenge get each class of bad value (NUL,
control characters, huge or non-numbers, wrong ASN.1 types, wrong sizes), in
a message properly signed by the client, so it gets past the signature check.
(The CSR's subject is not among them: Flokk sets the subject itself.) RFC 8894
refuses a readable request with an HTTP 200 carrying a FAILURE CertRep;
anything else must be a 4xx. Never a 5xx, never a certificate, never a used
challenge; and every refusal leaves its durable audit entry.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from asn1crypto import core
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import AttributeOID, NameOID
from sqlalchemy import func, select

from app.models import AuditEvent
from app.models.pki import EnrollmentChallenge, IssuedCertificate
from mdm_protocol import cms
from mdm_protocol.scep import messages
from mdm_protocol.scep.messages import MessageType, PKIStatus
from tests.app.test_scep import CLIENT_KEY, SIGNER, challenge_from_profile, post
from tests.support.pki import prepare_enrollment

TEXT_VALUES = {"NUL": "tx\x00id", "a control character": "tx\x1bid", "empty": "", "10,000 characters": "x" * 10_000}
NUMBER_TEXTS = {"2^64": str(2**64), "minus one": "-1", "NaN": "NaN", "4,300 digits": "9" * 4300, "not a number": "abc"}


@pytest.fixture
def ready(db, tmp_path):
    return prepare_enrollment(db, tmp_path, max_uses=3)


def request(ca_certificate, challenge: str, *, attributes: dict[str, Any] | None = None,
            challenge_value: Any = None) -> bytes:
    """A PKCSReq signed by the client, with attributes replaced (None: left out)."""
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "device")]))  # Flokk sets the subject itself
    builder = builder.add_attribute(AttributeOID.CHALLENGE_PASSWORD,
                                    challenge.encode() if challenge_value is None else challenge_value)
    csr = builder.sign(CLIENT_KEY, hashes.SHA256())
    envelope = cms.encrypt(csr.public_bytes(serialization.Encoding.DER), [ca_certificate])
    values = {
        messages.OID_TRANSACTION_ID: core.PrintableString("tx-bad-input"),
        messages.OID_MESSAGE_TYPE: core.PrintableString(str(int(MessageType.PKCS_REQ))),
        messages.OID_SENDER_NONCE: core.OctetString(os.urandom(16)),
        **(attributes or {}),
    }
    signed = [cms.Attribute.of(oid, value) for oid, value in values.items() if value is not None]
    certificate, key = SIGNER
    return cms.sign(envelope, certificate, key, attributes=signed)


def variants(ca_certificate, challenge: str) -> Iterator[tuple[str, bytes]]:
    for name, text in TEXT_VALUES.items():
        yield f"transactionID {name}", request(ca_certificate, challenge,
                                               attributes={messages.OID_TRANSACTION_ID: core.UTF8String(text)})
        yield f"challenge {name}", request(ca_certificate, challenge, challenge_value=text.encode())
    for name, text in NUMBER_TEXTS.items():
        yield f"messageType {name}", request(ca_certificate, challenge,
                                             attributes={messages.OID_MESSAGE_TYPE: core.PrintableString(text)})
    for oid, name in ((messages.OID_TRANSACTION_ID, "transactionID"), (messages.OID_MESSAGE_TYPE, "messageType"),
                      (messages.OID_SENDER_NONCE, "senderNonce")):
        yield f"{name} left out", request(ca_certificate, challenge, attributes={oid: None})
        yield f"{name} as an INTEGER", request(ca_certificate, challenge, attributes={oid: core.Integer(2**70)})
    yield "transactionID as an OCTET STRING", request(
        ca_certificate, challenge, attributes={messages.OID_TRANSACTION_ID: core.OctetString(b"\x00\xff")})
    for size in (0, 4, 65):
        yield f"senderNonce of {size} bytes", request(
            ca_certificate, challenge, attributes={messages.OID_SENDER_NONCE: core.OctetString(os.urandom(size))})
    valid = request(ca_certificate, challenge)
    for cut in (len(valid) // 3, len(valid) - 20):
        yield f"cut at {cut} bytes", valid[:cut]


def state(db) -> tuple:
    with db.session() as session:
        return (session.scalar(select(func.count()).select_from(IssuedCertificate)),
                [row.used_at for row in session.scalars(select(EnrollmentChallenge))])


def test_bad_values_in_signed_scep_requests_are_refused_and_issue_nothing(client, ready, db):
    challenge = challenge_from_profile(client, ready.secret)
    before = state(db)
    failures = []
    for what, der in variants(ready.ca_certificate, challenge):
        audited = _audit_count(db)
        response = post(client, der)
        if response.status_code == 200:
            rep = messages.read_cert_rep(response.data, certificate=SIGNER[0], private_key=SIGNER[1])
            if rep.status is not PKIStatus.FAILURE:
                failures.append(f"{what}: {rep.status}")
        elif not 400 <= response.status_code < 500:
            failures.append(f"{what}: {response.status_code} {response.data[:200]!r}")
        if state(db) != before:
            failures.append(f"{what}: something was issued or the challenge used")
        if _audit_count(db) != audited + 1:
            failures.append(f"{what}: no audit entry")
    assert not failures, "\n".join(failures)
    # The challenge is still good for a proper request.
    response = post(client, request(ready.ca_certificate, challenge))
    rep = messages.read_cert_rep(response.data, certificate=SIGNER[0], private_key=SIGNER[1])
    assert rep.status is PKIStatus.SUCCESS


def _audit_count(db) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action.startswith("scep.")))
