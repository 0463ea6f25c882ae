"""HTTPS for the Apps and Books clients: one small Protocol, and a urllib implementation.

The clients take a ``Transport`` so tests can point them anywhere; the
default trusts the system's CAs (``SSL_CERT_FILE`` when set, as OpenSSL
reads it), as the APNs client does.
"""

from __future__ import annotations

import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

#: Larger answers are cut off: an assets page or a lookup is far smaller.
MAX_RESPONSE_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


class TransportError(OSError):
    """The service could not be reached (connection refused, TLS failure, time-out)."""


class Transport(Protocol):
    def request(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None = None) -> HttpResponse: ...


class UrllibTransport:
    """Blocking HTTPS with urllib; ``context`` defaults to the system trust store."""

    def __init__(self, context: ssl.SSLContext | None = None, timeout: float = 30.0) -> None:
        self.context = context or ssl.create_default_context()
        self.timeout = timeout

    def request(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None = None) -> HttpResponse:
        outgoing = urllib.request.Request(url, data=body, headers=dict(headers), method=method)
        try:
            with urllib.request.urlopen(outgoing, context=self.context, timeout=self.timeout) as answer:
                return HttpResponse(answer.status, dict(answer.headers), answer.read(MAX_RESPONSE_BYTES))
        except urllib.error.HTTPError as error:
            with error:
                return HttpResponse(error.code, dict(error.headers or {}), error.read(MAX_RESPONSE_BYTES))
        except (urllib.error.URLError, ssl.SSLError, socket.timeout, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            raise TransportError(f"cannot reach {url.split('?')[0]}: {reason}") from None
