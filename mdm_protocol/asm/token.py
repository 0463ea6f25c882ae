"""The server token of Apple School Manager: an S/MIME file, decrypted into four OAuth credentials.

Implements Apple's *Authenticating for Automated Device Enrollment* (Device
Management documentation, "Get a server token", "Examining server tokens"):
central IT uploads Flokk's public key certificate to ASM and downloads a
``.p7m`` file. That file is an S/MIME message (MIME headers, then base64)
whose body is a CMS EnvelopedData encrypted to that certificate. Decrypted,
it is again a small MIME part whose text sits between ``-----BEGIN
MESSAGE-----`` and ``-----END MESSAGE-----`` and is JSON with
``consumer_key``, ``consumer_secret``, ``access_token``, ``access_secret``
and ``access_token_expiry``.

Every problem is a :class:`TokenError` saying what central IT should do.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import email
import email.policy
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from mdm_protocol import cms

#: A server token file is a few kilobytes; anything far larger is not one.
MAX_TOKEN_BYTES = 256 * 1024
_MAX_FIELD = 1024
_BEGIN, _END = "-----BEGIN MESSAGE-----", "-----END MESSAGE-----"
_FIELDS = ("consumer_key", "consumer_secret", "access_token", "access_secret")


class TokenError(ValueError):
    """The file is not a server token Flokk can use; ``str()`` says why and what to do."""


class WrongKey(TokenError):
    """The token is encrypted to a key Flokk does not hold."""


@dataclass(frozen=True)
class OAuthTokens:
    """The four OAuth 1.0a credentials of one ASM device management server, and when they expire."""

    consumer_key: str
    consumer_secret: str = field(repr=False)
    access_token: str = field(repr=False)
    access_secret: str = field(repr=False)
    access_token_expiry: dt.datetime | None = None

    def to_json(self) -> bytes:
        """The credentials as Apple writes them (what Flokk seals at rest)."""
        values: dict[str, Any] = {name: getattr(self, name) for name in _FIELDS}
        if self.access_token_expiry is not None:
            values["access_token_expiry"] = self.access_token_expiry.strftime("%Y-%m-%dT%H:%M:%SZ")
        return json.dumps(values).encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> OAuthTokens:
        """Read and check the decrypted token JSON."""
        try:
            values = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            raise TokenError("the decrypted server token is not JSON: the file is damaged; download it again") from None
        if not isinstance(values, dict):
            raise TokenError("the decrypted server token is not a JSON object: download it again")
        found: dict[str, Any] = {}
        for name in _FIELDS:
            value = values.get(name)
            if not isinstance(value, str) or not value.strip() or len(value) > _MAX_FIELD or not value.isprintable():
                raise TokenError(f"the server token has no usable {name}: download it again from Apple School Manager")
            found[name] = value.strip()
        found["access_token_expiry"] = _expiry(values.get("access_token_expiry"))
        return cls(**found)


KeyPair = tuple[x509.Certificate, rsa.RSAPrivateKey]


def decrypt(data: bytes, keys: Sequence[KeyPair]) -> OAuthTokens:
    """The credentials in a downloaded ``.p7m``, decrypted with whichever of ``keys`` it was made for.

    Accepts the file as ASM gives it (S/MIME), or its DER or base64 body.
    """
    if not data or len(data) > MAX_TOKEN_BYTES:
        raise TokenError("this is not a server token file (empty or far too large)")
    enveloped = _enveloped_der(data)
    content: bytes | None = None
    for certificate, key in keys:
        try:
            content = cms.decrypt(enveloped, certificate, key)
            break
        except cms.DecryptionError as error:
            if "not addressed" in str(error):
                continue
            raise TokenError(f"the server token cannot be decrypted ({error}): the file is damaged; download it again") from None
    if content is None:
        raise WrongKey(
            "the server token is encrypted to another key: download Flokk's public key (`flokk asm key`), "
            "upload it to the device management server in Apple School Manager, and download a new token"
        )
    return OAuthTokens.from_json(_unwrap_message(content))


def _enveloped_der(data: bytes) -> bytes:
    """The DER EnvelopedData inside an S/MIME file (or given bare, as DER or base64)."""
    if data[:1] == b"\x30":
        return data
    stripped = data.strip()
    if b":" in stripped.split(b"\n", 1)[0]:  # MIME headers first
        message = email.message_from_bytes(stripped, policy=email.policy.compat32)
        if message.get_content_type() not in ("application/pkcs7-mime", "application/x-pkcs7-mime"):
            raise TokenError("this is not a server token: expected an S/MIME (application/pkcs7-mime) file from Apple School Manager")
        payload = message.get_payload()
        if not isinstance(payload, str):
            raise TokenError("this is not a server token: the S/MIME file has several parts")
        stripped = payload.encode("ascii", "replace")
    try:
        der = base64.b64decode(b"".join(stripped.split()), validate=True)
    except (binascii.Error, ValueError):
        raise TokenError("this is not a server token: its body is not base64") from None
    if der[:1] != b"\x30":
        raise TokenError("this is not a server token: no encrypted message inside")
    return der


def _unwrap_message(content: bytes) -> bytes:
    """The JSON between BEGIN/END MESSAGE, inside the decrypted MIME part."""
    text = content.decode("utf-8", "replace")
    if text.lstrip().startswith(("Content-", "MIME-")):
        part = email.message_from_bytes(content, policy=email.policy.compat32)
        body = part.get_payload(decode=True)
        if not isinstance(body, bytes):
            raise TokenError("the decrypted server token has an unexpected layout: download it again")
        text = body.decode("utf-8", "replace")
    if _BEGIN in text:
        text = text.split(_BEGIN, 1)[1]
        if _END not in text:
            raise TokenError("the decrypted server token is cut short: download it again")
        text = text.split(_END, 1)[0]
    return text.strip().encode()


def _expiry(value: Any) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise TokenError("the server token's access_token_expiry is not a date")
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise TokenError(f"the server token's access_token_expiry {value[:40]!r} is not a date") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
