"""Small X.509 helpers shared by the CMS, CA and push-certificate code (RFC 5280)."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes


def load_certificate(data: bytes) -> x509.Certificate:
    """Read one certificate from PEM or DER; ``ValueError`` with a plain message otherwise."""
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError:
        raise ValueError("not a PEM or DER X.509 certificate") from None


def fingerprint(certificate: x509.Certificate) -> str:
    """The SHA-256 fingerprint as lowercase hex, the form Flokk stores and compares."""
    return certificate.fingerprint(hashes.SHA256()).hex()


def display_fingerprint(certificate: x509.Certificate) -> str:
    """The SHA-256 fingerprint as people compare it: ``AB:CD:...``."""
    return ":".join(f"{byte:02X}" for byte in certificate.fingerprint(hashes.SHA256()))


def key_matches(certificate: x509.Certificate, private_key: PrivateKeyTypes) -> bool:
    """Whether ``private_key`` is the key of ``certificate``'s public key."""
    fmt = serialization.PublicFormat.SubjectPublicKeyInfo
    enc = serialization.Encoding.DER
    try:
        return certificate.public_key().public_bytes(enc, fmt) == private_key.public_key().public_bytes(enc, fmt)
    except (ValueError, TypeError):
        return False
