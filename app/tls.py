"""A generated TLS certificate for the embedded default (`make run`).

Issued by Flokk's own CA when there is one (the enrollment profile installs
that CA as a root, so an iPad then trusts the server), else self-signed.
Production usually terminates TLS at a proxy or sets FLOKK_TLS_CERT/KEY.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.config import Settings
from mdm_protocol.ca import CertificateAuthority

VALIDITY = dt.timedelta(days=397)  # the longest lifetime Apple platforms accept for TLS


def tls_files(settings: Settings, issuer: CertificateAuthority | None = None) -> tuple[Path, Path, bool]:
    """(certificate, key, generated): the configured pair, or a generated one.

    With ``issuer`` the generated certificate comes from that CA (and is made
    again when an older one was not); ``server.crt`` then holds the chain.
    """
    if settings.tls_cert and settings.tls_key:
        return settings.tls_cert, settings.tls_key, False
    folder = settings.data_dir / "tls"
    cert_path, key_path = folder / "server.crt", folder / "server.key"
    if (
        not (cert_path.exists() and key_path.exists())
        or _expires_soon(cert_path)
        or (issuer is not None and not issuer.issued(_leaf(cert_path)))
    ):
        _write_self_signed(folder, cert_path, key_path, _names(settings.public_url), issuer)
    return cert_path, key_path, True


def _names(public_url: str) -> list[str]:
    names = ["localhost", "127.0.0.1", "::1", socket.gethostname()]
    host = urlsplit(public_url).hostname
    if host:
        names.insert(0, host)
    return list(dict.fromkeys(names))


def _leaf(cert_path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(cert_path.read_bytes())


def _expires_soon(cert_path: Path) -> bool:
    certificate = _leaf(cert_path)
    return certificate.not_valid_after_utc - dt.datetime.now(dt.UTC) < dt.timedelta(days=30)


def _write_self_signed(
    folder: Path, cert_path: Path, key_path: Path, names: list[str], issuer: CertificateAuthority | None = None
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    if issuer is not None:
        leaf = issuer.issue_server(key.public_key(), names)
        _write_key(key_path, key)
        cert_path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM) + issuer.certificate_pem())
        return
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0]), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Flokk")])
    alternative_names: list[x509.GeneralName] = []
    for name in names:
        try:
            alternative_names.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alternative_names.append(x509.DNSName(name))
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectAlternativeName(alternative_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_key(key_path, key)
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def _write_key(key_path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
