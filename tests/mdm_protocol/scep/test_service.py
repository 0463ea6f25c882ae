"""The SCEP service: who gets a certificate, who gets a CertRep FAILURE, what is unreadable."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from mdm_protocol.ca import CertificateAuthority
from mdm_protocol.scep import messages
from mdm_protocol.scep.messages import FailInfo, MessageType, PKIStatus, ScepError
from mdm_protocol.scep.service import CAPABILITIES, ScepService

from ..conftest import self_signed
from .conftest import make_csr, pkcs_req


def read(reply, requester):
    return messages.read_cert_rep(reply, certificate=requester[0], private_key=requester[1])


def test_caps_announce_aes_post_sha256_and_renewal(service):
    caps = service.get_ca_caps().splitlines()
    for needed in ("POSTPKIOperation", "SHA-256", "AES", "SCEPStandard", "Renewal"):
        assert needed in caps
    assert not any("DES" in cap for cap in caps)


def test_caps_omit_renewal_without_a_renewal_verifier(authority, verifiers):
    service = ScepService(authority, verifiers, verifiers)
    assert "Renewal" not in service.get_ca_caps().splitlines()
    assert set(CAPABILITIES) - {"Renewal"} == set(service.get_ca_caps().split())


def test_ca_cert_is_the_ca_in_der(service, authority):
    assert service.get_ca_cert() == authority.certificate_der()


def test_pkcsreq_with_the_right_challenge_issues_and_records(service, verifiers, authority, requester):
    outcome = service.pki_operation(pkcs_req(authority, requester))
    assert outcome.status is PKIStatus.SUCCESS
    assert outcome.message_type is MessageType.PKCS_REQ
    assert outcome.transaction_id == "tx-0001"
    rep = read(outcome.reply, requester)
    assert rep.status is PKIStatus.SUCCESS
    (certificate,) = rep.certificates
    assert certificate == outcome.certificate
    assert authority.issued(certificate)
    assert certificate.public_key().public_numbers() == requester[1].public_key().public_numbers()
    assert verifiers.issued == [(certificate, outcome.grant)]
    assert outcome.grant.context == {"school": "ABC"}


def test_wrong_challenge_gets_failure_bad_request_and_no_certificate(service, verifiers, authority, requester):
    outcome = service.pki_operation(pkcs_req(authority, requester, challenge="guess"))
    assert outcome.status is PKIStatus.FAILURE
    assert outcome.fail_info is FailInfo.BAD_REQUEST
    assert outcome.reason == "the challenge password is wrong"
    assert outcome.certificate is None
    rep = read(outcome.reply, requester)
    assert (rep.status, rep.fail_info, rep.certificates) == (PKIStatus.FAILURE, FailInfo.BAD_REQUEST, ())
    assert verifiers.issued == []


def test_csr_without_challenge_is_unreadable_input(service, verifiers, authority, requester):
    with pytest.raises(ScepError, match="no challenge password"):
        service.pki_operation(pkcs_req(authority, requester, challenge=None))
    assert verifiers.issued == []


def test_weak_key_gets_failure(service, verifiers, authority, requester):
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    outcome = service.pki_operation(pkcs_req(authority, requester, csr_key=weak))
    assert (outcome.status, outcome.fail_info) == (PKIStatus.FAILURE, FailInfo.BAD_REQUEST)
    assert "1024 bits" in outcome.reason
    assert verifiers.issued == []


@pytest.mark.parametrize("message_type", [MessageType.GET_CRL, MessageType.GET_CERT, MessageType.CERT_POLL,
                                          MessageType.UPDATE_REQ])
def test_unsupported_message_types_get_failure(service, verifiers, authority, requester, message_type):
    outcome = service.pki_operation(pkcs_req(authority, requester, message_type=message_type))
    assert (outcome.status, outcome.fail_info) == (PKIStatus.FAILURE, FailInfo.BAD_REQUEST)
    assert "not supported" in outcome.reason
    assert verifiers.issued == []


def test_renewal_signed_by_a_flokk_certificate_is_granted(service, verifiers, authority, requester, rsa_keys):
    first = service.pki_operation(pkcs_req(authority, requester)).certificate
    new_key = rsa_keys[1]
    renewal = messages.build_request(
        make_csr(new_key, challenge=None),
        message_type=MessageType.RENEWAL_REQ,
        signer_certificate=first,
        signer_key=requester[1],
        recipients=[authority.certificate],
        transaction_id="tx-renew",
    )
    outcome = service.pki_operation(renewal)
    assert outcome.status is PKIStatus.SUCCESS
    assert outcome.certificate.public_key().public_numbers() == new_key.public_key().public_numbers()
    assert outcome.certificate.subject == first.subject
    assert outcome.grant.context == {"renewed": first.serial_number}
    # the reply is encrypted to the certificate that signed the renewal
    assert read(outcome.reply, (first, requester[1])).certificates == (outcome.certificate,)


def test_renewal_with_a_foreign_or_revoked_certificate_is_refused(service, verifiers, authority, requester):
    foreign = self_signed(requester[1], "not from Flokk", ca=False)
    for signer in (foreign, service.pki_operation(pkcs_req(authority, requester)).certificate):
        verifiers.revoked.add(signer.serial_number)
        issued_before = len(verifiers.issued)
        renewal = messages.build_request(
            make_csr(requester[1], challenge=None),
            message_type=MessageType.RENEWAL_REQ,
            signer_certificate=signer,
            signer_key=requester[1],
            recipients=[authority.certificate],
            transaction_id="tx-renew",
        )
        outcome = service.pki_operation(renewal)
        assert (outcome.status, outcome.fail_info) == (PKIStatus.FAILURE, FailInfo.BAD_REQUEST)
        assert len(verifiers.issued) == issued_before


def test_renewal_is_refused_when_not_offered(authority, verifiers, requester):
    service = ScepService(authority, verifiers, verifiers)
    renewal = pkcs_req(authority, requester, message_type=MessageType.RENEWAL_REQ)
    outcome = service.pki_operation(renewal)
    assert outcome.status is PKIStatus.FAILURE and "renewal is not offered" in outcome.reason


def test_request_for_another_ca_is_unreadable(service, verifiers, requester):
    other = CertificateAuthority.create("Other CA", key_size=2048)
    with pytest.raises(ScepError, match="not addressed"):
        service.pki_operation(pkcs_req(other, requester))
    assert verifiers.issued == []


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.9, 0.99])
def test_truncated_requests_are_unreadable(service, verifiers, authority, requester, cut):
    der = pkcs_req(authority, requester)
    with pytest.raises(ScepError):
        service.pki_operation(der[: int(len(der) * cut)])
    assert verifiers.issued == []


@pytest.mark.parametrize("size", [1, 64, 4096])
def test_random_requests_are_unreadable(service, verifiers, size):
    with pytest.raises(ScepError):
        service.pki_operation(os.urandom(size))
    assert verifiers.issued == []


def test_a_flipped_byte_in_the_signed_envelope_is_caught(service, verifiers, authority, requester):
    der = bytearray(pkcs_req(authority, requester))
    envelope = messages.parse_request(bytes(der)).envelope
    der[bytes(der).index(envelope) + len(envelope) // 2] ^= 0x40
    with pytest.raises(ScepError):
        service.pki_operation(bytes(der))
    assert verifiers.issued == []


def test_a_failing_store_means_no_reply(authority, verifiers, requester):
    verifiers.fail_on_record = True
    service = ScepService(authority, verifiers, verifiers)
    with pytest.raises(RuntimeError):
        service.pki_operation(pkcs_req(authority, requester))


def test_a_repeated_transaction_gets_the_same_certificate_again(service, verifiers, authority, requester):
    """RFC 8894 §3.3.1: the requester lost the CertRep and repeats the request (same transactionID and key)."""
    first = service.pki_operation(pkcs_req(authority, requester))
    verifiers.challenge = "rotated"  # the original challenge would no longer be accepted
    again = service.pki_operation(pkcs_req(authority, requester))
    assert again.status is PKIStatus.SUCCESS and again.repeated
    assert again.certificate == first.certificate
    assert read(again.reply, requester).certificates == (first.certificate,)
    assert len(verifiers.issued) == 1


def test_same_transaction_id_with_another_key_is_not_a_repeat(service, verifiers, authority, requester, rsa_keys):
    service.pki_operation(pkcs_req(authority, requester))
    verifiers.challenge = "rotated"
    other = service.pki_operation(pkcs_req(authority, requester, csr_key=rsa_keys[0]))
    assert other.status is PKIStatus.FAILURE
    assert len(verifiers.issued) == 1
