"""Apple configuration profiles (``.mobileconfig``) from an effective policy.

Implements Apple's "Configuration Profile" format (TopLevel and
CommonPayloadKeys of Apple's device-management schema). One profile per
payload instance of the effective policy, merged over all layers (kinds that
are not profiles, such as apps, are left to their own reconciler stage):

* ``PayloadIdentifier`` is stable: ``<prefix>.policy.<alias>[.<instance>]``,
  the same on every device and for every content, so a changed setting is a
  reinstall of the same identifier (Apple replaces the profile) and a device
  moving school keeps its identifiers.
* ``PayloadUUID`` is derived from the identifier and a SHA-256 of the content:
  equal content gives an equal UUID (idempotent reconciliation), changed
  content a new one.
* Certificates a payload names (a Wi-Fi network's trust anchors) are put into
  the same profile and their PayloadUUIDs written where they are named.
* A profile with any locked value is non-removable (``PayloadRemovalDisallowed``).

The output is unsigned XML plist bytes; signing with Flokk's identity happens
at the application boundary.
"""

from __future__ import annotations

import hashlib
import plistlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mdm_protocol import apple_schema
from mdm_protocol.apple_schema import Problem

from profiles.compile import CompiledPolicy, CompileOptions
from profiles.payloads import kind
from profiles.resolve import EffectivePayload, EffectivePolicy

#: Namespace for Flokk's name-based (version 5) UUIDs.
FLOKK_UUID_NAMESPACE = uuid.UUID("5b0c3c52-6f0e-4a51-9a2c-0f1f7c1e6a11")
APPLE_PLATFORMS = frozenset({"ios", "ipados", "macos"})


@dataclass(frozen=True)
class AppleProfile:
    """One compiled configuration profile (unsigned)."""

    identifier: str
    uuid: str
    content_hash: str
    display_name: str
    payload_types: tuple[str, ...]
    removal_disallowed: bool
    body: bytes = field(repr=False)

    @property
    def version(self) -> str:
        return self.uuid

    def as_dict(self) -> dict[str, Any]:
        return plistlib.loads(self.body)


def profile_identifier(options: CompileOptions, payload: EffectivePayload) -> str:
    suffix = f".{payload.ref.instance}" if payload.ref.instance else ""
    return f"{options.namespace}{payload.kind.alias}{suffix}"


def _digest(value: Mapping[str, Any]) -> str:
    return hashlib.sha256(plistlib.dumps(dict(value), fmt=plistlib.FMT_BINARY, sort_keys=True)).hexdigest()


def _uuid_for(identifier: str, digest: str) -> str:
    return str(uuid.uuid5(FLOKK_UUID_NAMESPACE, f"{identifier}\n{digest}")).upper()


def _finish(payload: dict[str, Any]) -> dict[str, Any]:
    """Add the PayloadUUID, derived from everything else in the payload."""
    payload["PayloadUUID"] = _uuid_for(payload["PayloadIdentifier"], _digest(payload))
    return payload


class AppleProfileCompiler:
    """The ``PolicyCompiler`` for iPhone, iPad and Mac."""

    platforms = APPLE_PLATFORMS

    def __init__(self, options: CompileOptions) -> None:
        self.options = options

    def compile(self, policy: EffectivePolicy) -> CompiledPolicy:
        if policy.facts.platform not in self.platforms:
            raise ValueError(f"cannot compile Apple profiles for {policy.facts.platform}")
        by_ref = {payload.ref: payload for payload in policy.payloads}
        profiles = tuple(
            self.profile(payload, by_ref, policy.facts.platform) for payload in policy.payloads if payload.kind.profile
        )
        return CompiledPolicy(policy.facts.platform, profiles, ())

    def profile(
        self,
        payload: EffectivePayload,
        by_ref: Mapping[Any, EffectivePayload],
        platform: str,
    ) -> AppleProfile:
        identifier = profile_identifier(self.options, payload)
        content: list[dict[str, Any]] = []
        anchors: dict[str, str] = {}
        for target_ref in payload.references:
            target = by_ref[target_ref]
            embedded = _finish(
                self._payload_dict(target, f"{identifier}.{target.kind.alias}.{target.ref.instance}")
            )
            anchors[target_ref.instance] = embedded["PayloadUUID"]
            content.append(embedded)
        main = self._payload_dict(payload, f"{identifier}.payload")
        for reference in payload.kind.references:
            main = reference.replace(main, lambda name: anchors[name])
        content.insert(0, _finish(main))
        title = payload.kind.title + (f" – {payload.ref.instance}" if payload.ref.instance else "")
        top: dict[str, Any] = {
            "PayloadType": "Configuration",
            "PayloadVersion": 1,
            "PayloadIdentifier": identifier,
            "PayloadDisplayName": title,
            "PayloadDescription": f"{payload.kind.title} settings managed by {self.options.organisation}.",
            "PayloadOrganization": self.options.organisation,
            "PayloadRemovalDisallowed": payload.locked,
            "PayloadContent": content,
        }
        if platform == "macos":
            top["PayloadScope"] = "System"
        digest = _digest(top)
        top["PayloadUUID"] = _uuid_for(identifier, digest)
        return AppleProfile(
            identifier=identifier,
            uuid=top["PayloadUUID"],
            content_hash=digest,
            display_name=title,
            payload_types=tuple(item["PayloadType"] for item in content),
            removal_disallowed=payload.locked,
            body=plistlib.dumps(top, fmt=plistlib.FMT_XML, sort_keys=True),
        )

    def _payload_dict(self, payload: EffectivePayload, payload_identifier: str) -> dict[str, Any]:
        values: dict[str, Any] = dict(payload.kind.defaults(payload.ref.instance))
        values.update(payload.plain())
        values.update(
            {
                "PayloadType": payload.kind.payload_type,
                "PayloadVersion": 1,
                "PayloadIdentifier": payload_identifier,
                "PayloadDisplayName": payload.kind.title
                + (f" – {payload.ref.instance}" if payload.ref.instance else ""),
            }
        )
        return values


def validate_profile(profile: Mapping[str, Any], platform: str) -> list[Problem]:
    """Every way a profile dictionary breaks Apple's schema (TopLevel, common and payload keys)."""
    top = apple_schema.profile_payload("TopLevel")
    problems = apple_schema.check(top.keys, profile, platform=platform)
    common = apple_schema.profile_payload("CommonPayloadKeys")
    identifiers: set[str] = set()
    uuids: set[str] = set()
    for index, item in enumerate(profile.get("PayloadContent") or ()):
        where = f"PayloadContent[{index}]"
        if not isinstance(item, Mapping):
            problems.append(Problem(where, "must be a dictionary"))
            continue
        try:
            spec = apple_schema.profile_payload(str(item.get("PayloadType")))
        except apple_schema.UnknownSchema as error:
            problems.append(Problem(f"{where}.PayloadType", str(error)))
            continue
        own = {key: value for key, value in item.items() if key not in common.key_names()}
        shared = {key: value for key, value in item.items() if key in common.key_names()}
        problems.extend(apple_schema.check(common.keys, shared, platform=platform, path=where))
        required_exempt = _optional_keys(spec.name)
        for problem in apple_schema.check(spec.keys, own, platform=platform, path=where):
            if problem.reason == "is required" and problem.path.rsplit(".", 1)[-1] in required_exempt:
                continue
            problems.append(problem)
        for label, value, seen in (("PayloadIdentifier", item.get("PayloadIdentifier"), identifiers),
                                   ("PayloadUUID", item.get("PayloadUUID"), uuids)):
            if value in seen:
                problems.append(Problem(f"{where}.{label}", "is not unique within the profile"))
            seen.add(value)
    return problems


def _optional_keys(payload_type: str) -> frozenset[str]:
    try:
        return kind(payload_type).optional_keys
    except LookupError:
        return frozenset()
