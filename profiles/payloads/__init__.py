"""The payload types Flokk's policy supports, one small module each.

Every module in this package that defines ``KIND`` (a ``PayloadKind``) is
registered by discovery: adding a payload type is adding one module. Admins
may name a kind by its alias (``wifi``) or its Apple PayloadType
(``com.apple.wifi.managed``).
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from profiles.model import PayloadRef
from profiles.payloads.base import PayloadKind, Reference

__all__ = ["PayloadKind", "Reference", "UnknownPayload", "all_kinds", "kind", "parse_ref"]


class UnknownPayload(LookupError):
    """No supported payload type has this alias or PayloadType."""

    def __init__(self, name: str) -> None:
        known = ", ".join(sorted(item.alias for item in all_kinds()))
        super().__init__(f"{name!r} is not a payload type Flokk supports (known: {known})")
        self.name = name


@lru_cache(maxsize=1)
def _registry() -> dict[str, PayloadKind]:
    found: dict[str, PayloadKind] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        candidate = getattr(module, "KIND", None)
        if isinstance(candidate, PayloadKind):
            for name in (candidate.payload_type, candidate.alias):
                if name in found:
                    raise RuntimeError(f"two payload modules claim {name!r}")
                found[name] = candidate
    return found


def all_kinds() -> list[PayloadKind]:
    """Every supported kind, ordered by alias."""
    return sorted(set(_registry().values()), key=lambda item: item.alias)


def kind(name: str) -> PayloadKind:
    """The kind with this alias or PayloadType; ``UnknownPayload`` otherwise."""
    try:
        return _registry()[name]
    except KeyError:
        raise UnknownPayload(name) from None


def parse_ref(text: str) -> PayloadRef:
    """``wifi:eduroam`` or ``com.apple.wifi.managed:eduroam`` as a PayloadRef (type by alias)."""
    name, _, instance = text.strip().partition(":")
    return PayloadRef(kind(name).payload_type, instance)
