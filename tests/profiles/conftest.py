"""Fixtures for the pure policy tests: test certificates and compile options."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from profiles.compile import CompileOptions


def _certificate(common_name: str, *, ca: bool) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )


@pytest.fixture(scope="session")
def ca_der() -> bytes:
    return _certificate("Flokk Test RADIUS CA", ca=True).public_bytes(serialization.Encoding.DER)


@pytest.fixture(scope="session")
def ca_pem(ca_der: bytes) -> str:
    return x509.load_der_x509_certificate(ca_der).public_bytes(serialization.Encoding.PEM).decode("ascii")


@pytest.fixture(scope="session")
def leaf_der() -> bytes:
    return _certificate("radius.example.org", ca=False).public_bytes(serialization.Encoding.DER)


@pytest.fixture(scope="session")
def options() -> CompileOptions:
    return CompileOptions(identifier_prefix="no.kommune.skole", organisation="Kommune IT")
