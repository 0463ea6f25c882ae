"""A test CA, a SCEP requester identity and a service with in-memory verifiers."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from mdm_protocol.ca import CertificateAuthority
from mdm_protocol.scep import messages
from mdm_protocol.scep.service import Grant, Refused, ScepService

from tests.support.pki import run_scepclient, scepclient_binary

from ..conftest import self_signed

CHALLENGE = "s3cret-challenge"


@pytest.fixture(scope="session")
def authority() -> CertificateAuthority:
    return CertificateAuthority.create("Flokk SCEP Test CA", key_size=2048)


@pytest.fixture(scope="session")
def requester(rsa_keys):
    """The throwaway self-signed identity a SCEP requester signs its PKCSReq with."""
    key = rsa_keys[2]
    return self_signed(key, "SCEP SIGNER", ca=False), key


def make_csr(key, *, challenge: str | None = CHALLENGE, common_name: str = "iPad") -> x509.CertificateSigningRequest:
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    )
    if challenge is not None:
        builder = builder.add_attribute(x509.oid.AttributeOID.CHALLENGE_PASSWORD, challenge.encode())
    return builder.sign(key, hashes.SHA256())


def pkcs_req(authority, requester, *, challenge: str | None = CHALLENGE, csr_key=None, message_type=None) -> bytes:
    certificate, key = requester
    return messages.build_request(
        make_csr(csr_key or key, challenge=challenge),
        message_type=message_type or messages.MessageType.PKCS_REQ,
        signer_certificate=certificate,
        signer_key=key,
        recipients=[authority.certificate],
        transaction_id="tx-0001",
    )


@dataclass
class Verifiers:
    """In-memory challenge/renewal verifier and certificate store."""

    authority: CertificateAuthority
    challenge: str = CHALLENGE
    issued: list[tuple[x509.Certificate, Grant]] = field(default_factory=list)
    revoked: set[int] = field(default_factory=set)
    fail_on_record: bool = False
    transactions: dict[str, x509.Certificate] = field(default_factory=dict)

    def verify_challenge(self, challenge, request):
        if challenge != self.challenge:
            raise Refused("the challenge password is wrong")
        return Grant(context={"school": "ABC"})

    def verify_renewal(self, current, request):
        if not self.authority.issued(current) or current.serial_number in self.revoked:
            raise Refused("the signing certificate was not issued by Flokk or is revoked")
        return Grant(context={"renewed": current.serial_number}, subject=current.subject)

    def record(self, certificate, grant, message):
        if self.fail_on_record:
            raise RuntimeError("database is down")
        self.issued.append((certificate, grant))
        self.transactions[message.transaction_id] = certificate

    def reissue(self, message, request):
        previous = self.transactions.get(message.transaction_id)
        if previous is not None and previous.public_key().public_numbers() == request.public_key.public_numbers():
            return previous
        return None


@pytest.fixture
def verifiers(authority) -> Verifiers:
    return Verifiers(authority)


@pytest.fixture
def service(authority, verifiers) -> ScepService:
    return ScepService(authority, verifiers, verifiers, renewals=verifiers)



@pytest.fixture
def scepclient(tmp_path):
    """``run(url, challenge=..., renew=False)`` with Debian's scepclient in a scratch folder."""
    if scepclient_binary() is None:
        pytest.skip("scepclient not installed: apt-get install scep (make test does this)")
    return lambda url, **options: run_scepclient(url, tmp_path / "scepclient", **options)
