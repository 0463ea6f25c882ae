"""SCEP over HTTP (RFC 8894 §4), without a web framework.

The app's view hands over the method, the ``operation`` and ``message``
query parameters and the body; :func:`handle` returns status, content type
and body. Everything a client can get wrong becomes a 4xx with a plain reason;
nothing here touches storage except through the service.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from .messages import ScepError
from .service import Outcome, ScepService

#: A PKIOperation is a few kilobytes; anything much larger is not SCEP.
MAX_MESSAGE_BYTES = 64 * 1024
#: Base64 of MAX_MESSAGE_BYTES, plus room for URL-encoding leftovers.
MAX_GET_MESSAGE_CHARS = MAX_MESSAGE_BYTES * 4 // 3 + 1024

CONTENT_TYPE_PKI = "application/x-pki-message"
CONTENT_TYPE_CA_CERT = "application/x-x509-ca-cert"
CONTENT_TYPE_TEXT = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class HttpReply:
    """One HTTP answer.

    For a PKIOperation, ``outcome`` is set when it was answered with a CertRep
    and ``error`` when it was refused before that (the body then says why):
    exactly what the app writes to its audit log.
    """

    status: int
    content_type: str
    body: bytes
    operation: str | None = None
    outcome: Outcome | None = None
    error: str | None = None


def handle(
    service: ScepService,
    *,
    method: str,
    operation: str | None,
    message: str | None = None,
    body: bytes | None = None,
    declared_length: int | None = None,
) -> HttpReply:
    """Answer one SCEP HTTP request (GET or POST).

    ``declared_length`` is the request's Content-Length: a server passes it so
    an oversized body can be refused without reading it.
    """
    method = method.upper()
    if method not in ("GET", "POST"):
        return _error(405, "SCEP accepts GET and POST only", operation)
    if operation == "GetCACaps":
        return HttpReply(200, CONTENT_TYPE_TEXT, service.get_ca_caps().encode(), operation)
    if operation == "GetCACert":
        return HttpReply(200, CONTENT_TYPE_CA_CERT, service.get_ca_cert(), operation)
    if operation != "PKIOperation":
        reason = f"unknown SCEP operation {operation!r}" if operation else "the operation parameter is missing"
        return _error(400, reason, None)
    if method == "POST":
        der = body or b""
        if len(der) > MAX_MESSAGE_BYTES or (declared_length or 0) > MAX_MESSAGE_BYTES:
            return _error(413, f"the SCEP message is larger than {MAX_MESSAGE_BYTES} bytes", operation)
    else:
        if message is None or not message.strip():
            return _error(400, "the message parameter is missing", operation)
        if len(message) > MAX_GET_MESSAGE_CHARS:
            return _error(413, f"the SCEP message is larger than {MAX_MESSAGE_BYTES} bytes", operation)
        try:
            der = decode_get_message(message)
        except ValueError as exc:
            return _error(400, str(exc), operation)
    if not der:
        return _error(400, "the SCEP message is empty", operation)
    try:
        outcome = service.pki_operation(der)
    except ScepError as exc:
        return _error(400, str(exc), operation)
    return HttpReply(200, CONTENT_TYPE_PKI, outcome.reply, operation, outcome=outcome)


def decode_get_message(message: str) -> bytes:
    """The base64 ``message`` of a GET PKIOperation (RFC 8894 §4.1).

    Tolerates what URL handling does to base64: a ``+`` turned into a space,
    line breaks, missing padding, and the URL-safe alphabet.
    """
    text = "".join(message.replace(" ", "+").split())
    if "-" in text or "_" in text:
        text = text.replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the message parameter is not valid base64") from None


def _error(status: int, reason: str, operation: str | None) -> HttpReply:
    return HttpReply(status, CONTENT_TYPE_TEXT, (reason + "\n").encode(), operation, error=reason)
