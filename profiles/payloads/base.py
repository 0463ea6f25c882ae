"""What Flokk knows about one supported payload type, beyond Apple's schema.

Apple's schema (``mdm_protocol.apple_schema``) gives every key, its type,
allowed values, ranges and platforms. A ``PayloadKind`` adds the few things the
schema cannot say: a short alias for admins, whether a device holds one or
many of the payload, which keys name other payloads in the policy (a Wi-Fi
network trusting a root certificate), how to read friendly input (a PEM
certificate) and rules that span several keys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from mdm_protocol import apple_schema

#: Checks one key's value; returns the reasons it is wrong (empty: fine).
ValueCheck = Callable[[str, Any], list[str]]
#: Turns friendly input for one key into the schema's type (or returns it unchanged).
Coercion = Callable[[str, Any], Any]
#: Checks a merged payload as a whole; returns (key, reason) pairs.
PayloadCheck = Callable[[Mapping[str, Any]], list[tuple[str, str]]]
#: Checks an instance name beyond the common slug rule; returns the reason it is wrong, or None.
InstanceCheck = Callable[[str], str | None]


@dataclass(frozen=True)
class Reference:
    """A key whose value names other payload instances of this policy.

    Admins write instance names (``["radius-ca"]``); the compiler puts the
    named payloads into the same profile and writes their PayloadUUIDs, as
    Apple requires for ``PayloadCertificateAnchorUUID`` and its kin.
    ``path`` walks into dictionaries; the last key holds a name or a list.
    """

    path: tuple[str, ...]
    targets: tuple[str, ...]
    many: bool = True

    @property
    def top_key(self) -> str:
        return self.path[0]

    def names(self, payload: Mapping[str, Any]) -> list[str]:
        """The instance names this reference holds in a payload (none if absent)."""
        found = _walk(payload, self.path)
        if found is None:
            return []
        if self.many:
            return [item for item in found if isinstance(item, str)] if isinstance(found, list) else []
        return [found] if isinstance(found, str) else []

    def replace(self, payload: Mapping[str, Any], mapping: Callable[[str], str]) -> dict[str, Any]:
        """A copy of the payload with every name replaced by ``mapping(name)``."""
        return _replace(dict(payload), self.path, mapping, self.many)


def _walk(value: Any, path: tuple[str, ...]) -> Any:
    for step in path:
        if not isinstance(value, Mapping) or step not in value:
            return None
        value = value[step]
    return value


def _replace(payload: dict[str, Any], path: tuple[str, ...], mapping: Callable[[str], str], many: bool) -> dict[str, Any]:
    head, rest = path[0], path[1:]
    if head not in payload:
        return payload
    if rest:
        inner = payload[head]
        if isinstance(inner, Mapping):
            payload[head] = _replace(dict(inner), rest, mapping, many)
        return payload
    current = payload[head]
    if many and isinstance(current, list):
        payload[head] = [mapping(item) if isinstance(item, str) else item for item in current]
    elif not many and isinstance(current, str):
        payload[head] = mapping(current)
    return payload


def _no_reasons(key: str, value: Any) -> list[str]:
    return []


def _unchanged(key: str, value: Any) -> Any:
    return value


def _no_payload_problems(payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    return []


def _any_instance(instance: str) -> str | None:
    return None
#: Turns a merged payload into a declaration's payload, or None when a key has no equivalent.
Translation = Callable[[Mapping[str, Any]], "dict[str, Any] | None"]


@dataclass(frozen=True)
class DeclarationForm:
    """How a profile payload is sent to a device managed declaratively: as a declaration of ``type``."""

    type: str
    translate: Translation


@dataclass(frozen=True)
class PayloadKind:
    """One payload type Flokk's policy supports (one small module each).

    ``declaration``: the payload exists only as a declaration; ``payload_type``
    is the declaration's Type and its keys come from ``declarative/declarations``
    of Apple's schema. ``declaration_form``: a profile payload that devices
    managed declaratively get as that declaration instead (without one, they
    get the profile through a legacy-profile declaration).
    """

    payload_type: str
    alias: str
    title: str
    repeatable: bool = False
    references: tuple[Reference, ...] = ()
    #: Keys Apple marks required that Flokk's use of the payload does not need.
    optional_keys: frozenset[str] = frozenset()
    #: Keys admins may not set, with the reason (Flokk fills them or does not support them).
    forbidden_keys: Mapping[str, str] = field(default_factory=dict)
    check_value: ValueCheck = _no_reasons
    coerce: Coercion = _unchanged
    check_payload: PayloadCheck = _no_payload_problems
    #: Values Flokk adds when the admin left the key unset, from the instance name.
    defaults: Callable[[str], Mapping[str, Any]] = lambda instance: {}
    check_instance: InstanceCheck = _any_instance
    #: Whether the Apple compiler makes a configuration profile of it; other kinds (apps)
    #: are carried out by their own stage of the reconciler.
    profile: bool = True
    #: The kind's keys in Apple's schema format, for kinds that are not an Apple profile payload.
    schema: apple_schema.Spec | None = field(default=None, compare=False)
    #: The same, read from a YAML file in Apple's format (Flokk's own Chromebook-only kinds).
    schema_file: Path | None = None
    #: The payload is a declaration (Declarative Device Management); its keys come from Apple's declaration schema.
    declaration: bool = False
    #: How a device managed declaratively gets this profile payload as a declaration, if it can.
    declaration_form: DeclarationForm | None = None

    @cached_property
    def spec(self) -> apple_schema.Spec:
        if self.schema is not None:
            return self.schema
        if self.schema_file is not None:
            return apple_schema.profile_payload_file(self.schema_file)
        if self.declaration:
            return apple_schema.declaration(self.payload_type)
        return apple_schema.profile_payload(self.payload_type)

    def key_spec(self, key: str) -> apple_schema.KeySpec | None:
        try:
            return self.spec.key(key)
        except KeyError:
            return None

    def reference_for(self, key: str) -> tuple[Reference, ...]:
        return tuple(ref for ref in self.references if ref.top_key == key)

    def __hash__(self) -> int:
        return hash(self.payload_type)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PayloadKind) and other.payload_type == self.payload_type
