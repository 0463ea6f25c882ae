"""The ``Endpoint`` of a DeclarativeManagement check-in request, and what it asks for.

Per ``mdm/checkin/declarativemanagement.yaml`` and Apple's *Declarative
Management* endpoint documentation, ``Endpoint`` is one of ``tokens``,
``declaration-items``, ``status``, or ``declaration/<kind>/<identifier>``
with ``<kind>`` one of ``activation``, ``asset``, ``configuration``,
``management``. Only ``status`` carries ``Data`` (a StatusReport as JSON).
Anything else is a :class:`RequestError` naming the problem.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from mdm_protocol.declarative.declarations import MANIFEST_KEYS

#: Longest identifier Flokk reads from a request (Apple's own limit is 64 octets;
#: a longer one cannot be in any set, but still deserves a 404, not a 400).
_MAX_IDENTIFIER = 256


class RequestError(ValueError):
    """A DeclarativeManagement request Flokk cannot read; ``str()`` says why."""


class EndpointKind(enum.StrEnum):
    TOKENS = "tokens"
    DECLARATION_ITEMS = "declaration-items"
    STATUS = "status"
    DECLARATION = "declaration"


@dataclass(frozen=True)
class Endpoint:
    """What one request asks for; ``declaration_kind`` and ``identifier`` only for a declaration."""

    kind: EndpointKind
    declaration_kind: str | None = None
    identifier: str | None = None


def parse_endpoint(text: str) -> Endpoint:
    """Read an ``Endpoint`` value; refuse unknown endpoints and malformed declaration paths."""
    if text in (EndpointKind.TOKENS, EndpointKind.DECLARATION_ITEMS, EndpointKind.STATUS):
        return Endpoint(EndpointKind(text))
    head, _, rest = text.partition("/")
    if head != EndpointKind.DECLARATION:
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise RequestError(f"Endpoint: {shown!r} is not tokens, declaration-items, status or declaration/<kind>/<identifier>")
    kind, slash, identifier = rest.partition("/")
    if not slash:
        raise RequestError("Endpoint: a declaration is named declaration/<kind>/<identifier>")
    if kind not in MANIFEST_KEYS:
        raise RequestError(f"Endpoint: {kind[:40]!r} is not a declaration kind ({', '.join(MANIFEST_KEYS)})")
    if not identifier or len(identifier) > _MAX_IDENTIFIER:
        raise RequestError(f"Endpoint: the identifier must be 1 to {_MAX_IDENTIFIER} characters")
    if not identifier.isprintable():
        raise RequestError("Endpoint: the identifier holds control characters")
    return Endpoint(EndpointKind.DECLARATION, kind, identifier)
