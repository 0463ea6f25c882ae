"""Automated Device Enrollment for tests: a CA playing Apple's device CA, signed MachineInfo, server tokens.

Apple signs each device's certificate with *Apple iPhone Device CA*; nobody
outside Apple can, so the tests trust a chain of their own
(``FLOKK_ASM_DEVICE_CA``) shaped the same way: a root, an intermediate named
like Apple's, and one certificate per iPad that signs its MachineInfo
(CMS SignedData with the plist attached, as iPads send it).
"""

from __future__ import annotations

import datetime as dt
import email.mime.application
import functools
import plistlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mdm_protocol import cms


def _name(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Apple Inc. (test stand-in)"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _certificate(subject: x509.Name, issuer: x509.Name, public_key: Any, signer: Any, *, ca: bool) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(signer, hashes.SHA256())
    )


@dataclass(frozen=True)
class DeviceCa:
    """Root → "Apple iPhone Device CA" (test stand-ins); ``pem`` is what FLOKK_ASM_DEVICE_CA points at."""

    root: x509.Certificate
    intermediate: x509.Certificate
    intermediate_key: ec.EllipticCurvePrivateKey

    @property
    def pem(self) -> bytes:
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (self.intermediate, self.root))

    def write(self, folder: Path) -> Path:
        path = folder / "device-ca.pem"
        path.write_bytes(self.pem)
        return path

    def device_identity(self, udid: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _certificate(_name(udid), self.intermediate.subject, key.public_key(), self.intermediate_key, ca=False)
        return cert, key


@functools.cache
def device_ca(label: str = "") -> DeviceCa:
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = _certificate(_name(f"Apple Root CA{label}"), _name(f"Apple Root CA{label}"), root_key.public_key(), root_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    intermediate = _certificate(_name("Apple iPhone Device CA"), root.subject, key.public_key(), root_key, ca=True)
    return DeviceCa(root, intermediate, key)


@dataclass
class AdeIpad:
    """An iPad in Setup Assistant: its facts and the Apple-issued identity it signs MachineInfo with."""

    udid: str
    serial: str
    product: str = "iPad13,18"
    version: str = "21F79"
    os_version: str = "17.5"
    extra: dict[str, Any] = field(default_factory=dict)

    def machine_info(self, ca: DeviceCa, **changes: Any) -> bytes:
        """The signed body it posts to the ADE profile's url."""
        values = {"UDID": self.udid, "SERIAL": self.serial, "PRODUCT": self.product, "VERSION": self.version,
                  "OS_VERSION": self.os_version, "LANGUAGE": "nb", **self.extra, **changes}
        certificate, key = ca.device_identity(self.udid)
        return cms.sign(plistlib.dumps({k: v for k, v in values.items() if v is not None}), certificate, key,
                        extra_certificates=[ca.intermediate], digest="sha256")


def smime_token(credentials_json: str, recipient: x509.Certificate) -> bytes:
    """A server token shaped like ASM's (S/MIME around CMS EnvelopedData), made with Flokk's own CMS code.

    The end-to-end tests make theirs with ``openssl smime`` (tests/fakes/dep.py); this one is for
    tests that cannot count on the openssl binary being there.
    """
    inner = (
        "Content-Type: text/plain;charset=UTF-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
        f"-----BEGIN MESSAGE-----\r\n{credentials_json}\r\n-----END MESSAGE-----\r\n"
    ).encode()
    part = email.mime.application.MIMEApplication(cms.encrypt(inner, [recipient]), "pkcs7-mime",
                                                  name="smime.p7m")
    part.set_param("smime-type", "enveloped-data")
    part.add_header("Content-Disposition", "attachment", filename="smime.p7m")
    return part.as_bytes()
