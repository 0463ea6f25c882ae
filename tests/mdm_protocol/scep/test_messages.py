"""SCEP PKI messages: Apple's real request decoded, CertRep written and read back."""

from __future__ import annotations

import pytest
from asn1crypto import cms as asn1_cms
from asn1crypto import core
from OpenSSL import crypto

from mdm_protocol import cms
from mdm_protocol.certificates import load_certificate
from mdm_protocol.scep import messages
from mdm_protocol.scep.messages import FailInfo, MessageType, PKIStatus

from ..conftest import FIXTURES
from .conftest import CHALLENGE, make_csr, pkcs_req

APPLE = FIXTURES / "micromdm+scep" / "testdata"
MDMCLIENT = FIXTURES / "cmdmnt+commandment" / "testdata" / "mdmclient-PKIOperation.der"


@pytest.fixture(scope="module")
def apple_test_ca():
    """micromdm/scep's test CA; its key is PEM-encrypted with an empty password, which
    only OpenSSL itself (via pyOpenSSL) accepts."""
    key = crypto.load_privatekey(crypto.FILETYPE_PEM, (APPLE / "testca" / "ca.key").read_bytes(), b"")
    return load_certificate((APPLE / "testca" / "ca.pem").read_bytes()), key.to_cryptography_key()


def test_apple_pkcsreq_is_decoded():
    message = messages.parse_request((APPLE / "PKCSReq.der").read_bytes())
    assert message.message_type is MessageType.PKCS_REQ
    assert message.transaction_id == "A13090761A30F66664F85D37433D2065E1112BA1"
    assert message.sender_nonce.hex() == "ae7fe8816cc6bedd"
    assert message.digest_algorithm == "sha1"
    assert message.signer.subject.rfc4514_string() == "C=US,CN=MDM SCEP SIGNER"


def test_apple_pkcsreq_csr_is_decrypted_with_the_test_ca(apple_test_ca):
    message = messages.parse_request((APPLE / "PKCSReq.der").read_bytes())
    request = messages.decrypt_request(message, *apple_test_ca)
    # Apple writes version 2 where RFC 2986 says 0; the signature still checks out.
    assert request.version == 2
    assert request.signature_valid
    assert request.subject.rfc4514_string() == "CN=com.apple.security.scep.063D7953-1338-4BF0-8F99-913382996224"
    assert request.public_key.key_size == 1024
    # The profile behind this capture (sceptest.mobileconfig) had no Challenge key.
    assert "Challenge" not in (APPLE / "testca" / "sceptest.mobileconfig").read_text()
    assert request.challenge_password is None


def test_apple_pkcsreq_is_not_for_another_ca(authority):
    message = messages.parse_request((APPLE / "PKCSReq.der").read_bytes())
    with pytest.raises(messages.ScepError, match="not addressed"):
        messages.decrypt_request(message, authority.certificate, authority.private_key)


def test_mdmclient_pkioperation_outer_message_is_decoded():
    """A second capture from Apple's mdmclient (encrypted to a CA we do not have)."""
    message = messages.parse_request(MDMCLIENT.read_bytes())
    assert message.message_type is MessageType.PKCS_REQ
    assert message.transaction_id
    assert len(message.sender_nonce) >= 8
    assert "MDM SCEP SIGNER" in message.signer.subject.rfc4514_string()


def test_our_request_round_trips_with_challenge(authority, requester):
    message = messages.parse_request(pkcs_req(authority, requester))
    assert message.message_type is MessageType.PKCS_REQ
    assert message.transaction_id == "tx-0001"
    assert len(message.sender_nonce) == 16
    request = messages.decrypt_request(message, authority.certificate, authority.private_key)
    assert request.challenge_password == CHALLENGE
    assert request.version == 0 and request.signature_valid


def test_success_cert_rep_is_aes_encrypted_to_the_requester(authority, requester, tmp_path, openssl):
    message = messages.parse_request(pkcs_req(authority, requester))
    issued = authority.issue(requester[1].public_key(), make_csr(requester[1]).subject)
    reply = messages.cert_rep(
        message, signer_certificate=authority.certificate, signer_key=authority.private_key, issued=issued
    )
    rep = messages.read_cert_rep(reply, certificate=requester[0], private_key=requester[1])
    assert rep.status is PKIStatus.SUCCESS
    assert rep.transaction_id == "tx-0001"
    assert rep.recipient_nonce == message.sender_nonce
    assert len(rep.sender_nonce) == 16 and rep.sender_nonce != message.sender_nonce
    assert rep.certificates == (issued,)
    assert rep.signer == authority.certificate
    # The envelope inside is AES-128-CBC (RFC 8894 "AES"), never DES.
    envelope = cms.verify(reply).content
    algorithm = asn1_cms.ContentInfo.load(envelope)["content"]["encrypted_content_info"][
        "content_encryption_algorithm"
    ]["algorithm"].native
    assert algorithm == "aes128_cbc"
    # OpenSSL agrees the CA signed it.
    (tmp_path / "rep.der").write_bytes(reply)
    (tmp_path / "ca.pem").write_bytes(authority.certificate_pem())
    openssl("cms", "-verify", "-inform", "DER", "-in", "rep.der", "-CAfile", "ca.pem", "-out", "env.der")


def test_failure_cert_rep_carries_fail_info_and_text(authority, requester):
    message = messages.parse_request(pkcs_req(authority, requester))
    reply = messages.cert_rep(
        message,
        signer_certificate=authority.certificate,
        signer_key=authority.private_key,
        fail_info=FailInfo.BAD_REQUEST,
        fail_info_text="the challenge password is wrong",
    )
    rep = messages.read_cert_rep(reply, certificate=requester[0], private_key=requester[1])
    assert rep.status is PKIStatus.FAILURE
    assert rep.fail_info is FailInfo.BAD_REQUEST
    assert rep.fail_info_text == "the challenge password is wrong"
    assert rep.certificates == ()
    assert rep.recipient_nonce == message.sender_nonce


def test_cert_rep_needs_exactly_one_of_certificate_or_fail_info(authority, requester):
    message = messages.parse_request(pkcs_req(authority, requester))
    with pytest.raises(ValueError):
        messages.cert_rep(message, signer_certificate=authority.certificate, signer_key=authority.private_key)


def test_cert_rep_is_not_a_request(authority, requester):
    message = messages.parse_request(pkcs_req(authority, requester))
    reply = messages.cert_rep(
        message, signer_certificate=authority.certificate, signer_key=authority.private_key,
        fail_info=FailInfo.BAD_ALG,
    )
    # A CertRep's content is empty: parse_request cannot treat it as a request.
    with pytest.raises(messages.ScepError):
        messages.parse_request(reply)


def _signed_with(requester, attributes) -> bytes:
    return cms.sign(b"\x30\x00", requester[0], requester[1], attributes=attributes)


@pytest.mark.parametrize(
    "drop, reason",
    [
        (messages.OID_MESSAGE_TYPE, "messageType"),
        (messages.OID_TRANSACTION_ID, "transactionID"),
        (messages.OID_SENDER_NONCE, "senderNonce"),
    ],
)
def test_requests_missing_an_attribute_are_refused(requester, drop, reason):
    attributes = {
        messages.OID_MESSAGE_TYPE: cms.Attribute.of(messages.OID_MESSAGE_TYPE, core.PrintableString("19")),
        messages.OID_TRANSACTION_ID: cms.Attribute.of(messages.OID_TRANSACTION_ID, core.PrintableString("t")),
        messages.OID_SENDER_NONCE: cms.Attribute.of(messages.OID_SENDER_NONCE, core.OctetString(b"n" * 16)),
    }
    del attributes[drop]
    with pytest.raises(messages.ScepError, match=f"no {reason}"):
        messages.parse_request(_signed_with(requester, attributes.values()))


@pytest.mark.parametrize(
    "message_type, nonce, error",
    [("99", b"n" * 16, "unknown SCEP messageType"), ("abc", b"n" * 16, "unknown"), ("19", b"n", "senderNonce")],
)
def test_requests_with_bad_attribute_values_are_refused(requester, message_type, nonce, error):
    attributes = [
        cms.Attribute.of(messages.OID_MESSAGE_TYPE, core.PrintableString(message_type)),
        cms.Attribute.of(messages.OID_TRANSACTION_ID, core.PrintableString("t")),
        cms.Attribute.of(messages.OID_SENDER_NONCE, core.OctetString(nonce)),
    ]
    with pytest.raises(messages.ScepError, match=error):
        messages.parse_request(_signed_with(requester, attributes))

