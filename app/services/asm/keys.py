"""The key pair Apple School Manager encrypts server tokens to.

Central IT downloads the public certificate (``flokk asm key``, the
dashboard) and uploads it to the device management server in ASM; ASM then
encrypts the server token to it. The private key is sealed at rest like the
CA's. A new key pair can be made (``--new``); older ones stay usable for
tokens already encrypted to them.
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import context
from app.models.asm import AsmKey
from app.models.base import utcnow
from app.services import audit
from app.services.access import Principal, require_central
from mdm_protocol.asm.token import KeyPair
from mdm_protocol.certificates import fingerprint

KEY_LABEL = "asm-key"
#: ASM accepts any certificate; a long life spares central IT a yearly key change (the token itself expires yearly).
LIFETIME = dt.timedelta(days=10 * 365)


def public_certificate(session: Session, principal: Principal, *, new: bool = False) -> str:
    """The PEM certificate to upload to ASM, made on first use (or anew with ``new``)."""
    require_central(principal)
    current = _newest(session)
    if current is None or new:
        current = _create(session, principal)
    return current.certificate_pem


def key_pairs(session: Session) -> list[KeyPair]:
    """Every key pair Flokk holds, newest first, to decrypt a token."""
    secrets = context(session).secrets
    pairs: list[KeyPair] = []
    for record in session.scalars(select(AsmKey).order_by(AsmKey.id.desc())):
        key = serialization.load_pem_private_key(secrets.open(record.key_sealed, label=KEY_LABEL), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        pairs.append((x509.load_pem_x509_certificate(record.certificate_pem.encode()), key))
    return pairs


def _newest(session: Session) -> AsmKey | None:
    return session.scalar(select(AsmKey).order_by(AsmKey.id.desc()).limit(1))


def _create(session: Session, principal: Principal) -> AsmKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = utcnow()
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Flokk"),
        x509.NameAttribute(NameOID.COMMON_NAME, f"Flokk Apple School Manager {now:%Y-%m-%d}"),
    ])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + LIFETIME)
        .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=True, content_commitment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    record = AsmKey(
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode(),
        key_sealed=context(session).secrets.seal(key_pem, label=KEY_LABEL),
        fingerprint=fingerprint(certificate),
        not_after=certificate.not_valid_after_utc,
        created_by=principal.label,
    )
    session.add(record)
    session.flush()
    audit.record(session, principal, "asm.key_create", target=("asm_key", record.fingerprint))
    return record
