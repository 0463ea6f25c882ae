"""Declarations from an effective policy, for a device managed declaratively.

Implements the declaration side of Apple's Declarative Device Management
(types and keys per ``declarative/declarations`` of Apple's schema). A
device's set is:

* management: ``server-capabilities`` (Flokk speaks protocol 1.0.0) and
  ``properties`` (the organisation), where the device takes them;
* configurations: ``management.status-subscriptions`` (what the device
  reports by itself), one declaration per payload that is one
  (``osupdate``, ``updatesettings``), a payload's declaration form where it
  has one the device takes and every key translates (``passcode`` →
  ``passcode.settings``), and a ``legacy`` declaration for every other
  profile, whose ``ProfileURL`` is Flokk's own signed profile URL;
* one ``activation.simple`` naming every configuration.

Everything but the legacy URLs is the same for every device in the same
situation, so :class:`DeclarativePolicy` is compiled once per situation and
:meth:`DeclarativePolicy.declaration_set` adds a device's own URLs.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from mdm_protocol import apple_schema
from mdm_protocol.apple_schema import Problem
from mdm_protocol.declarative import support
from mdm_protocol.declarative.declarations import Declaration, DeclarationSet, check, server_token_for, token_of
from mdm_protocol.declarative.status import (
    DECLARATIONS_ITEM,
    DEVICE_INFORMATION_EQUIVALENTS,
    SECURITY_INFO_EQUIVALENTS,
)

from profiles.compile import CompileOptions
from profiles.compile.apple import AppleProfile, AppleProfileCompiler
from profiles.resolve import EffectivePayload, EffectivePolicy, LeftOut

ACTIVATION = "com.apple.activation.simple"
LEGACY = "com.apple.configuration.legacy"
SUBSCRIPTIONS = "com.apple.configuration.management.status-subscriptions"
SERVER_CAPABILITIES = "com.apple.management.server-capabilities"
PROPERTIES = "com.apple.management.properties"
#: The declarative protocol version Flokk implements (Apple's client reports "1.0.0").
PROTOCOL_VERSION = "1.0.0"
#: What devices report by themselves: what the daily inventory would otherwise ask, OS update
#: progress, battery, and the state of every declaration.
SUBSCRIBED_ITEMS = (
    *DEVICE_INFORMATION_EQUIVALENTS,
    *SECURITY_INFO_EQUIVALENTS,
    "device.power.battery-health",
    "softwareupdate.install-state",
    "softwareupdate.pending-version",
    "softwareupdate.failure-reason",
    "softwareupdate.install-reason",
    DECLARATIONS_ITEM,
)
_IDENTIFIER_NAMESPACE = uuid.UUID("3f1e9c2a-7d4b-5e6f-8a9b-0c1d2e3f4a5b")
_MAX_IDENTIFIER = 64


@dataclass(frozen=True)
class LegacyProfile:
    """A profile a device installs from a legacy-profile declaration."""

    declaration_identifier: str
    profile: AppleProfile


@dataclass(frozen=True)
class DeclarativePolicy:
    """A situation's declarations; the legacy ones get each device's own profile URL."""

    declarations: tuple[Declaration, ...]
    legacy: tuple[LegacyProfile, ...]
    activation_identifier: str
    left_out: tuple[LeftOut, ...] = ()

    def declaration_set(self, profile_url: Callable[[AppleProfile], str]) -> DeclarationSet:
        """The device's whole set, with ``profile_url`` giving its URL for each legacy profile."""
        legacy = tuple(
            Declaration(LEGACY, item.declaration_identifier, {"ProfileURL": profile_url(item.profile)})
            for item in self.legacy
        )
        return DeclarationSet((*self.declarations, *legacy, self.activation))

    def token(self, profile_url: Callable[[AppleProfile], str]) -> str:
        """The DeclarationsToken of :meth:`declaration_set`, without building the set (a policy change
        computes it for every device)."""
        legacy = ((item.declaration_identifier,
                   server_token_for(LEGACY, item.declaration_identifier, {"ProfileURL": profile_url(item.profile)}))
                  for item in self.legacy)
        return token_of((*self._fixed_pairs, *legacy))

    @cached_property
    def _fixed_pairs(self) -> tuple[tuple[str, str], ...]:
        return tuple((item.identifier, item.server_token) for item in (*self.declarations, self.activation))

    @cached_property
    def activation(self) -> Declaration:
        """The activation naming every configuration (the same for every device of the situation)."""
        configurations = sorted([*(item.identifier for item in self.declarations if item.kind == "configuration"),
                                 *(item.declaration_identifier for item in self.legacy)])
        return Declaration(ACTIVATION, self.activation_identifier, {"StandardConfigurations": configurations})

    def profile(self, identifier: str) -> AppleProfile | None:
        """The legacy profile with this PayloadIdentifier, if the set carries one."""
        return next((item.profile for item in self.legacy if item.profile.identifier == identifier), None)


class DeclarativeCompiler:
    """Compiles an effective policy into a :class:`DeclarativePolicy`."""

    def __init__(self, options: CompileOptions) -> None:
        self.options = options
        self.profiles = AppleProfileCompiler(dataclasses.replace(options, channel="declared"))

    def compile(self, policy: EffectivePolicy) -> DeclarativePolicy:
        facts = policy.facts
        types = facts.declaration_types or frozenset()
        notes: list[LeftOut] = []
        declarations = [
            *self._management(types),
            *self._subscriptions(policy, types),
        ]
        legacy: list[LegacyProfile] = []
        by_ref = {payload.ref: payload for payload in policy.payloads}
        for payload in policy.payloads:
            if not payload.kind.profile:
                continue  # apps: their own stage installs them by command, on every device
            own = self._declaration(payload, facts.platform, facts.os_version, types, notes)
            if own is not None:
                declarations.append(own)
            elif payload.kind.declaration:
                continue  # it has no profile form; the reason is noted
            elif LEGACY in types:
                profile = self.profiles.profile(payload, by_ref, facts.platform)
                legacy.append(LegacyProfile(self.identifier("legacy", payload), profile))
            else:
                notes.append(LeftOut(payload.ref, None, "the device takes neither its declaration nor a legacy profile"))
        return DeclarativePolicy(tuple(declarations), tuple(legacy), self.name("activation"), tuple(notes))

    def name(self, *parts: str) -> str:
        """A stable declaration identifier under the organisation's prefix (a UUID when too long)."""
        text = ".".join((self.options.identifier_prefix, *parts))
        if len(text.encode("utf-8")) <= _MAX_IDENTIFIER:
            return text
        return str(uuid.uuid5(_IDENTIFIER_NAMESPACE, text)).upper()

    def identifier(self, role: str, payload: EffectivePayload) -> str:
        parts = [role, payload.kind.alias] + ([payload.ref.instance] if payload.ref.instance else [])
        return self.name(*parts)

    def _management(self, types: frozenset[str]) -> list[Declaration]:
        found = []
        if SERVER_CAPABILITIES in types:
            found.append(Declaration(SERVER_CAPABILITIES, self.name("management", "server-capabilities"),
                                     {"Version": PROTOCOL_VERSION, "SupportedFeatures": {}}))
        if PROPERTIES in types:
            found.append(Declaration(PROPERTIES, self.name("management", "properties"),
                                     {"organisation": self.options.organisation}))
        return found

    def _subscriptions(self, policy: EffectivePolicy, types: frozenset[str]) -> list[Declaration]:
        facts = policy.facts
        if SUBSCRIPTIONS not in types:
            return []
        reportable = support.status_items(facts.platform, facts.os_version, supervised=facts.supervised,
                                          shared_ipad=facts.shared_ipad)
        items = [{"Name": name} for name in SUBSCRIBED_ITEMS if name in reportable]
        return [Declaration(SUBSCRIPTIONS, self.name("status-subscriptions"), {"StatusItems": items})]

    def _declaration(
        self, payload: EffectivePayload, platform: str, os_version: str, types: frozenset[str], notes: list[LeftOut]
    ) -> Declaration | None:
        """The payload as a declaration of its own type, or None to send it as a legacy profile."""
        kind = payload.kind
        if kind.declaration:  # resolution kept it: the device takes the type
            found = Declaration(kind.payload_type, self.identifier("declaration", payload), payload.plain())
            return found if not self._problems(found, platform, os_version, payload, notes) else None
        form = kind.declaration_form
        if form is None or form.type not in types:
            return None
        translated = form.translate(payload.plain())
        if translated is None:
            return None
        found = Declaration(form.type, self.identifier("declaration", payload), translated)
        return found if not self._problems(found, platform, os_version, None, []) else None

    def _problems(
        self, found: Declaration, platform: str, os_version: str, payload: EffectivePayload | None, notes: list[LeftOut]
    ) -> list[Problem]:
        """Schema problems, and keys newer than the device's OS; noted only for declaration-only payloads."""
        problems = check(found, platform=platform)
        problems += _newer_keys(found, platform, os_version)
        if problems and payload is not None:
            notes.append(LeftOut(payload.ref, None, "; ".join(str(problem) for problem in problems)))
        return problems


def _newer_keys(found: Declaration, platform: str, os_version: str) -> list[Problem]:
    version = support.version_tuple(os_version) or ()
    spec = apple_schema.declaration(found.type)
    problems = []
    for key in found.payload:
        try:
            key_spec = spec.key(key)
        except KeyError:
            continue
        if not support.available(key_spec.supported_os, platform, version, supervised=True, shared_ipad=False):
            introduced = key_spec.os_info(platform).get("introduced", "n/a")
            problems.append(Problem(f"Payload.{key}", f"needs {platform} {introduced}"))
    return problems

