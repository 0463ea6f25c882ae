"""Shared by the mdm_protocol tests: captured device messages, and keys and
certificates (RSA generation is slow: made once)."""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from tests.support.pki import openssl_runner

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mdm-fixtures"


def fixture_bytes(relative: str) -> bytes:
    return (FIXTURES / relative).read_bytes()


@pytest.fixture
def capture():
    """Read one captured message by its path under tests/fixtures/mdm-fixtures."""
    return fixture_bytes


def self_signed(key, common_name: str, *, ca: bool = True, days: int = 30) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


@pytest.fixture(scope="session")
def rsa_keys() -> list[rsa.RSAPrivateKey]:
    return [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(3)]


@pytest.fixture(scope="session")
def signer(rsa_keys):
    key = rsa_keys[0]
    return self_signed(key, "Flokk test signer"), key


@pytest.fixture(scope="session")
def other_signer(rsa_keys):
    key = rsa_keys[1]
    return self_signed(key, "Someone else"), key


@pytest.fixture(scope="session")
def ec_signer():
    key = ec.generate_private_key(ec.SECP256R1())
    return self_signed(key, "EC signer"), key


def pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def key_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.fixture
def openssl(tmp_path) -> Callable[..., subprocess.CompletedProcess]:
    """Run the openssl command line with files written into tmp_path."""
    return openssl_runner(tmp_path)
