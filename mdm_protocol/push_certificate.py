"""The MDM push certificate central IT gets from Apple (Apple Push Certificates Portal).

Apple's "Device Management" documentation (Apple Push Notification service
for MDM, and the ``Topic`` key of the ``com.apple.mdm`` payload): the push
certificate's subject carries the topic in its UID attribute, of the form
``com.apple.mgmt.External.<uuid>``; the enrollment profile must name the same
topic and APNs only accepts pushes for it with this certificate and key.

This module reads and checks the pair; storing it (encrypted) is the app's job.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from .certificates import display_fingerprint, fingerprint, key_matches, load_certificate

#: Every MDM push topic starts with this; other Apple push certificates
#: (apps, Wallet, ...) carry bundle identifiers instead.
MDM_TOPIC_PREFIX = "com.apple.mgmt."


class PushCertificateError(ValueError):
    """The files are not a usable MDM push certificate and key; the message says why."""


@dataclass(frozen=True)
class PushCertificate:
    """A checked MDM push certificate with its key and the facts people need to see."""

    certificate: x509.Certificate
    private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    topic: str

    @property
    def not_after(self) -> dt.datetime:
        return self.certificate.not_valid_after_utc

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.certificate)

    @property
    def display_fingerprint(self) -> str:
        return display_fingerprint(self.certificate)

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string()

    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        """The key as unencrypted PKCS #8 PEM: the app encrypts it before storing."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def expires_within(self, period: dt.timedelta, *, now: dt.datetime | None = None) -> bool:
        return self.not_after - (now or _now()) <= period


def topic_of(certificate: x509.Certificate) -> str:
    """The APNs topic (the subject's UID) of an MDM push certificate."""
    values = certificate.subject.get_attributes_for_oid(NameOID.USER_ID)
    if not values:
        raise PushCertificateError(
            "this is not an MDM push certificate: its subject has no UID "
            "(MDM push certificates come from the Apple Push Certificates Portal, identity.apple.com)"
        )
    topic = str(values[0].value)
    if not topic.startswith(MDM_TOPIC_PREFIX):
        raise PushCertificateError(
            f"this is not an MDM push certificate: its topic {topic!r} does not start with {MDM_TOPIC_PREFIX!r}"
        )
    return topic


def load(
    certificate_data: bytes,
    key_data: bytes,
    *,
    password: bytes | None = None,
    now: dt.datetime | None = None,
    trusted_key: bool = False,
) -> PushCertificate:
    """Read and check a push certificate (PEM or DER) and its private key (PEM or DER).

    Refuses, with a message central IT can act on: a file that is not a
    certificate or key, a certificate that is not for MDM, an expired or
    not-yet-valid certificate, and a key that belongs to another certificate.
    ``trusted_key`` skips the slow RSA key check for a key Flokk stored itself.
    """
    try:
        certificate = load_certificate(certificate_data)
    except ValueError:
        raise PushCertificateError("the certificate file is not a PEM or DER certificate") from None
    topic = topic_of(certificate)
    moment = now or _now()
    if certificate.not_valid_after_utc <= moment:
        raise PushCertificateError(
            f"the push certificate expired on {certificate.not_valid_after_utc:%Y-%m-%d}; "
            "renew it at identity.apple.com and import the new one"
        )
    if certificate.not_valid_before_utc > moment:
        raise PushCertificateError(
            f"the push certificate is not valid before {certificate.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
        )
    key = _load_key(key_data, password, trusted_key)
    if not key_matches(certificate, key):
        raise PushCertificateError("the private key does not belong to this push certificate")
    return PushCertificate(certificate=certificate, private_key=key, topic=topic)


def _load_key(data: bytes, password: bytes | None, trusted: bool) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    loader = serialization.load_pem_private_key if b"-----BEGIN" in data else serialization.load_der_private_key
    try:
        key = loader(data, password=password or None, unsafe_skip_rsa_key_validation=trusted)
    except TypeError:
        if password:
            raise PushCertificateError("the private key is not encrypted; leave the password out") from None
        raise PushCertificateError("the private key is encrypted; give its password") from None
    except ValueError:
        raise PushCertificateError("the key file is not a private key, or its password is wrong") from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise PushCertificateError("the private key must be RSA or EC")
    return key


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
