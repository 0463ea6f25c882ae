"""A test CA, a SCEP client identity and a service with in-memory verifiers."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from mdm_protocol.ca import CertificateAuthority
from mdm_protocol.scep import messages
from mdm_protocol.scep.service import Grant, Refused, ScepService

from ..conftest import self_signed

CHALLENGE = "s3cret-challenge"


@pytest.fixture(scope="session")
def authority() -> CertificateAuthority:
    return CertificateAuthority.create("Flokk SCEP Test CA", key_size=2048)


@pytest.fixture(scope="session")
def client(rsa_keys):
    """The throwaway self-signed identity a SCEP client signs its PKCSReq with."""
    key = rsa_keys[2]
    return self_signed(key, "SCEP SIGNER", ca=False), key


def make_csr(key, *, challenge: str | None = CHALLENGE, common_name: str = "iPad") -> x509.CertificateSigningRequest:
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    )
    if challenge is not None:
        builder = builder.add_attribute(x509.oid.AttributeOID.CHALLENGE_PASSWORD, challenge.encode())
    return builder.sign(key, hashes.SHA256())


def pkcs_req(authority, client, *, challenge: str | None = CHALLENGE, csr_key=None, message_type=None) -> bytes:
    certificate, key = client
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


@pytest.fixture
def verifiers(authority) -> Verifiers:
    return Verifiers(authority)


@pytest.fixture
def service(authority, verifiers) -> ScepService:
    return ScepService(authority, verifiers, verifiers, renewals=verifiers)


@dataclass(frozen=True)
class ScepClientResult:
    returncode: int
    output: str
    certificate: x509.Certificate | None


@pytest.fixture
def scepclient(tmp_path):
    """Run Debian's ``scepclient`` (package ``scep``; ``make test`` installs it).

    Returns a function ``run(url, challenge=..., renew=False)``: a fresh key and
    PKCSReq, or with ``renew`` a RenewalReq signed with the certificate the
    previous run obtained.
    """
    import shutil
    import subprocess

    binary = shutil.which("scepclient")
    if binary is None:
        pytest.skip("scepclient not installed: apt-get install scep (make test does this)")

    def run(url: str, *, challenge: str | None = None, renew: bool = False, common_name: str = "iPad") -> ScepClientResult:
        key_path, cert_path = tmp_path / "key.pem", tmp_path / "client.pem"
        if not renew:
            for name in ("key.pem", "client.pem", "csr.pem", "self.pem"):
                (tmp_path / name).unlink(missing_ok=True)
        else:
            (tmp_path / "csr.pem").unlink(missing_ok=True)  # a new CSR for the renewal
        args = [binary, "-server-url", url, "-private-key", str(key_path), "-certificate", str(cert_path),
                "-cn", common_name]
        if challenge is not None:
            args += ["-challenge", challenge]
        done = subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=tmp_path)
        certificate = None
        if done.returncode == 0 and cert_path.exists():
            certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
        return ScepClientResult(done.returncode, done.stdout + done.stderr, certificate)

    return run
