"""Whether a payload or one of its keys applies to a device, and if not, why.

For Apple platforms the answer comes from the ``supportedOS`` of Apple's
schema: the platform, supervision, Shared iPad and the device channel (Flokk
installs device profiles; payloads Apple allows only on the user channel are
left out). Payloads that exist only as declarations need a device managed
declaratively whose iPadOS takes that declaration. For Chromebooks the answer
comes from the Chrome translation table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from profiles import chrome_mapping
from profiles.model import DeviceFacts
from profiles.payloads import PayloadKind

_APPLE_OS = {"ios": "iOS", "ipados": "iOS", "macos": "macOS"}


def payload_reason(kind: PayloadKind, facts: DeviceFacts) -> str | None:
    """Why a whole payload does not apply to this device (None: it applies)."""
    if facts.platform == "chromeos":
        if not chrome_mapping.maps_payload(kind.payload_type):
            return f"{kind.alias}: not applicable to Chromebooks (no Chrome policy equivalent)"
        return None
    return _apple_reason(kind.spec.supported_os, facts, what=kind.alias) or _declaration_reason(kind, facts)


def _declaration_reason(kind: PayloadKind, facts: DeviceFacts) -> str | None:
    if not kind.declaration:
        return None
    types = facts.declaration_types
    if types is None:
        return f"{kind.alias} is a declaration; this device is not managed declaratively"
    if kind.payload_type not in types:
        introduced = kind.spec.os_info(facts.platform).get("introduced", "n/a")
        return f"{kind.alias} needs {facts.platform} {introduced} or later (the device runs {facts.os_version or 'an unknown version'})"
    return None


def key_reason(kind: PayloadKind, key: str, facts: DeviceFacts) -> str | None:
    """Why one key of a payload does not apply to this device (None: it applies)."""
    if facts.platform == "chromeos":
        if not chrome_mapping.maps_key(kind.payload_type, key):
            return f"{key}: not applicable to Chromebooks (no Chrome policy equivalent)"
        return None
    spec = kind.key_spec(key)
    if spec is None:
        return f"{key} is not a key Apple's schema knows in {kind.payload_type}"
    return _apple_reason(spec.supported_os, facts, what=key)


def available_anywhere(kind: PayloadKind, key: str | None, platforms: frozenset[str]) -> bool:
    """Whether a payload (or key) exists on at least one of the platforms, ignoring supervision."""
    for platform in platforms:
        facts = DeviceFacts(platform=platform, supervised=True, declarative=kind.declaration, os_version="999")
        reason = payload_reason(kind, facts) if key is None else key_reason(kind, key, facts)
        if reason is None:
            return True
    return False


def _apple_reason(supported: Mapping[str, Mapping[str, Any]], facts: DeviceFacts, *, what: str) -> str | None:
    info = supported.get(_APPLE_OS[facts.platform])
    if not info or str(info.get("introduced", "n/a")) == "n/a" or "removed" in info:
        return f"{what} is not available on {facts.platform}"
    if info.get("supervised") and not facts.supervised:
        return f"{what} needs a supervised device"
    enrollments = info.get("allowed-enrollments")  # declarations say it this way
    if enrollments is not None and "device" not in enrollments and not facts.supervised:
        return f"{what} needs a supervised device"
    if facts.platform == "macos" and info.get("devicechannel") is False:
        return f"{what} applies only to a user channel on macos; Flokk installs device profiles"
    if facts.shared_ipad:
        shared = info.get("sharedipad") or {}
        if shared.get("mode") == "forbidden":
            return f"{what} is not allowed on a Shared iPad"
        if shared.get("devicechannel") is False:
            return f"{what} applies only to a user channel on a Shared iPad; Flokk installs device profiles"
        if shared.get("allowed-scopes") is not None and "system" not in shared["allowed-scopes"]:
            return f"{what} is not allowed on a Shared iPad's device channel"
    return None
