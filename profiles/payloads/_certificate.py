"""Shared reading and checking of X.509 certificates for the certificate payloads.

Admins paste a PEM block or base64; Apple's ``PayloadContent`` wants DER
bytes. Both certificate payload modules use these helpers.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtensionOID

_PEM_HEAD = "-----BEGIN CERTIFICATE-----"


def to_der(key: str, value: Any) -> Any:
    """PEM (text or file bytes) or base64 text becomes DER bytes; anything else is left for the checks."""
    if key != "PayloadContent":
        return value
    if isinstance(value, (bytes, bytearray)) and bytes(value).lstrip().startswith(_PEM_HEAD.encode("ascii")):
        value = bytes(value).decode("ascii", errors="replace")
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith(_PEM_HEAD):
        try:
            return x509.load_pem_x509_certificate(text.encode("ascii")).public_bytes(Encoding.DER)
        except (ValueError, UnicodeEncodeError):
            return value
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return value


def load(value: Any) -> x509.Certificate | None:
    if not isinstance(value, (bytes, bytearray)):
        return None
    try:
        return x509.load_der_x509_certificate(bytes(value))
    except ValueError:
        return None


def check_certificate(key: str, value: Any, *, require_ca: bool) -> list[str]:
    """Reasons a PayloadContent is not a usable certificate (empty when it is)."""
    if key != "PayloadContent" or not isinstance(value, (bytes, bytearray)):
        return []
    certificate = load(value)
    if certificate is None:
        return ["is not an X.509 certificate (give DER bytes, base64 or a PEM block)"]
    if require_ca:
        try:
            constraints = certificate.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS).value
        except x509.ExtensionNotFound:
            return []
        if not constraints.ca:
            return ["is not a CA certificate (its BasicConstraints say CA:FALSE); use a pkcs1 certificate payload"]
    return []


def subject(value: Any) -> str:
    certificate = load(value)
    return certificate.subject.rfc4514_string() if certificate is not None else ""
