"""Declarations, a device's declaration set, and the tokens that tell a device what changed.

Implements the server's objects of Apple's declarative protocol: a
declaration (``declarationbase.yaml``: ``Type``, ``Identifier``,
``ServerToken``, ``Payload``), the ``DeclarationItemsResponse`` manifest and
the ``TokensResponse`` with its ``SyncTokens`` (``DeclarationsToken``,
``Timestamp``), per ``declarative/protocol/*.yaml``.

Tokens are derived from content, never counted: a declaration's
``ServerToken`` is a digest of its type, identifier and payload (Apple: "computed
over the entire declaration content"), and a set's ``DeclarationsToken`` a
digest of its identifiers and server tokens. Equal content gives equal tokens
on every server process; any change to the set changes the token.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from mdm_protocol import apple_schema
from mdm_protocol.apple_schema import Problem

#: The second segment of a ``declaration/<kind>/<identifier>`` endpoint, and the
#: manifest key each kind is listed under.
MANIFEST_KEYS = {"activation": "Activations", "configuration": "Configurations", "asset": "Assets",
                 "management": "Management"}
#: Apple's limit for identifiers and server tokens ("should not exceed 64 octets").
MAX_TOKEN_OCTETS = 64
_TOKEN_HEX = 32


class DeclarationError(ValueError):
    """A declaration Flokk built does not fit Apple's schema; ``str()`` names the key."""


@lru_cache(maxsize=256)
def kind_of(declaration_type: str) -> str:
    """``com.apple.configuration.passcode.settings`` is a configuration, and so on."""
    parts = declaration_type.split(".")
    if len(parts) >= 4 and parts[:2] == ["com", "apple"] and parts[2] in MANIFEST_KEYS and all(parts):
        return parts[2]
    raise DeclarationError(f"{declaration_type!r} is not a declaration type (com.apple.<kind>.<name>)")


#: Built once: ``json.dumps`` with options builds a new encoder per call, and a policy change digests
#: a few hundred thousand declarations.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(value: Any) -> bytes:
    """The one byte form of a JSON value used for digests: sorted keys, no spaces, UTF-8."""
    return _CANONICAL.encode(value).encode("utf-8")


def server_token_for(declaration_type: str, identifier: str, payload: Mapping[str, Any]) -> str:
    content = canonical_json({"Type": declaration_type, "Identifier": identifier, "Payload": payload})
    return hashlib.sha256(content).hexdigest()[:_TOKEN_HEX]


@dataclass(frozen=True)
class Declaration:
    """One declaration; its ``server_token`` follows from its content."""

    type: str
    identifier: str
    payload: Mapping[str, Any]
    server_token: str = field(init=False)

    def __post_init__(self) -> None:
        if not self.identifier or len(self.identifier.encode("utf-8")) > MAX_TOKEN_OCTETS:
            raise DeclarationError(f"Identifier: {self.identifier!r} must be 1 to {MAX_TOKEN_OCTETS} octets")
        kind_of(self.type)
        object.__setattr__(self, "server_token", server_token_for(self.type, self.identifier, self.payload))

    @property
    def kind(self) -> str:
        return kind_of(self.type)

    def document(self) -> dict[str, Any]:
        """The JSON object a device fetches from ``declaration/<kind>/<identifier>``."""
        return {"Type": self.type, "Identifier": self.identifier, "ServerToken": self.server_token,
                "Payload": dict(self.payload)}


def check(declaration: Declaration, *, platform: str = "ipados") -> list[Problem]:
    """Every way a declaration's payload breaks Apple's schema for its type on ``platform``."""
    try:
        spec = apple_schema.declaration(declaration.type)
    except apple_schema.UnknownSchema as error:
        return [Problem("Type", str(error))]
    if not spec.available_on(platform):
        return [Problem("Type", f"{declaration.type} is not available on {platform}")]
    return apple_schema.check(spec.keys, declaration.payload, platform=platform, path="Payload")


def declarations_token(declarations: Iterable[Declaration]) -> str:
    """A digest of the set: its identifiers and server tokens, in a fixed order."""
    return token_of((item.identifier, item.server_token) for item in declarations)


def token_of(pairs: Iterable[tuple[str, str]]) -> str:
    """The DeclarationsToken of a set given as (identifier, server token) pairs."""
    lines = sorted(f"{identifier}\n{server_token}" for identifier, server_token in pairs)
    return hashlib.sha256("\n\n".join(lines).encode("utf-8")).hexdigest()[:_TOKEN_HEX]


@dataclass(frozen=True)
class DeclarationSet:
    """Everything one device (or user channel) is offered, and the token of the whole."""

    declarations: tuple[Declaration, ...] = ()
    token: str = field(init=False)

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for item in self.declarations:
            if item.identifier in seen:
                raise DeclarationError(f"Identifier: {item.identifier!r} is used twice in one set")
            seen.add(item.identifier)
        object.__setattr__(self, "token", declarations_token(self.declarations))

    def find(self, kind: str, identifier: str) -> Declaration | None:
        """The declaration a ``declaration/<kind>/<identifier>`` request names, if it is in the set."""
        return next((item for item in self.declarations if item.identifier == identifier and item.kind == kind), None)

    def items_response(self) -> dict[str, Any]:
        """The ``DeclarationItemsResponse``: every declaration's identifier and server token, by kind."""
        manifest: dict[str, list[dict[str, str]]] = {key: [] for key in MANIFEST_KEYS.values()}
        for item in sorted(self.declarations, key=lambda declaration: declaration.identifier):
            manifest[MANIFEST_KEYS[item.kind]].append({"Identifier": item.identifier, "ServerToken": item.server_token})
        return {"Declarations": manifest, "DeclarationsToken": self.token}


@dataclass(frozen=True)
class SyncTokens:
    """Apple's ``SynchronizationTokens``: the set's token and when it last changed."""

    declarations_token: str
    timestamp: dt.datetime

    def as_json(self) -> dict[str, str]:
        moment = self.timestamp.astimezone(dt.UTC).replace(microsecond=0, tzinfo=None)
        return {"DeclarationsToken": self.declarations_token, "Timestamp": moment.isoformat() + "Z"}

    def tokens_response(self) -> dict[str, Any]:
        """The ``TokensResponse`` body (also the ``Data`` of the DeclarativeManagement command)."""
        return {"SyncTokens": self.as_json()}
