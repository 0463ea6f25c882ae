"""Which declarations and status items a device supports, read from Apple's schema.

A device's iPadOS version decides: each declaration type and status item says
in its ``supportedOS`` when it was ``introduced``, which enrollments may use it
(``allowed-enrollments``) and whether a Shared iPad's device channel takes it
(``sharedipad.allowed-scopes``). Flokk enrols devices (not users), so a type
limited to supervised devices needs a supervised iPad. Answers are cached per
distinct device description: a city's fleet runs a handful of OS versions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from mdm_protocol import apple_schema

_VERSION = re.compile(r"\d+(?:\.\d+){0,3}")
#: Declarations are Apple's (``com.apple.*``); these prefixes are the kinds Flokk serves.
_SERVED_PREFIXES = ("com.apple.activation.", "com.apple.configuration.", "com.apple.management.")


def version_tuple(text: str | None) -> tuple[int, ...] | None:
    """``"17.5.1"`` as ``(17, 5, 1)``; None for anything that is not a dotted version."""
    if not isinstance(text, str):
        return None
    match = _VERSION.match(text.strip())
    if match is None:
        return None
    return tuple(int(part) for part in match.group(0).split("."))


def available(
    supported_os: Mapping[str, Mapping[str, Any]], platform: str, os_version: tuple[int, ...],
    *, supervised: bool, shared_ipad: bool,
) -> bool:
    """Whether a declaration type, status item or key with this ``supportedOS`` applies to the device."""
    info = supported_os.get(apple_schema.APPLE_OS.get(platform, platform)) or {}
    introduced = version_tuple(str(info.get("introduced", "n/a")))
    if introduced is None or "removed" in info or os_version < introduced:
        return False
    enrollments = info.get("allowed-enrollments")
    if enrollments is not None and "device" not in enrollments and not ("supervised" in enrollments and supervised):
        return False
    if shared_ipad:
        scopes = (info.get("sharedipad") or {}).get("allowed-scopes")
        if scopes is not None and "system" not in scopes:
            return False
    return True


def declarative_management_introduced(platform: str) -> tuple[int, ...] | None:
    """The first OS version that takes the DeclarativeManagement command (Apple: iOS 15)."""
    info = apple_schema.command("DeclarativeManagement").os_info(platform)
    return version_tuple(str(info.get("introduced", "n/a")))


def speaks_declarative(platform: str, os_version: str | None) -> bool:
    """Whether a device on this platform and OS can be managed declaratively at all."""
    if platform not in apple_schema.APPLE_OS:
        return False
    version, first = version_tuple(os_version), declarative_management_introduced(platform)
    return version is not None and first is not None and version >= first


@lru_cache(maxsize=256)
def declaration_types(platform: str, os_version: str, *, supervised: bool, shared_ipad: bool) -> frozenset[str]:
    """Every declaration type Flokk may send a device so described."""
    served = [name for name in apple_schema.names("declaration") if name.startswith(_SERVED_PREFIXES)]
    return _available_names(served, apple_schema.declaration, platform, os_version, supervised, shared_ipad)


@lru_cache(maxsize=256)
def status_items(platform: str, os_version: str, *, supervised: bool, shared_ipad: bool) -> frozenset[str]:
    """Every status item a device so described can report."""
    items = [name for name in apple_schema.names("status") if "." in name]
    return _available_names(items, apple_schema.status_item, platform, os_version, supervised, shared_ipad)


def _available_names(
    names: list[str], spec_of: Callable[[str], apple_schema.Spec], platform: str, os_version: str,
    supervised: bool, shared_ipad: bool,
) -> frozenset[str]:
    version = version_tuple(os_version)
    if version is None:
        return frozenset()
    return frozenset(name for name in names if available(spec_of(name).supported_os, platform, version,
                                                          supervised=supervised, shared_ipad=shared_ipad))
