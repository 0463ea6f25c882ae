"""Which settings hold secrets (Wi-Fi and EAP passwords, proxy and filter passwords).

Such values are sealed at rest by the application and masked wherever they
are shown: listings, diffs, version history and audit details.
"""

from __future__ import annotations

from typing import Any

from profiles.model import SettingRef
from profiles.payloads import UnknownPayload, kind
from profiles.values import holds_secret, redact


def is_secret(ref: SettingRef) -> bool:
    """Whether the value of this setting is, or contains, a secret."""
    if ref.whole_payload:
        return False
    try:
        spec = kind(ref.payload.payload_type).key_spec(ref.key)
    except UnknownPayload:
        return False
    return spec is not None and holds_secret(spec)


def mask(ref: SettingRef, value: Any) -> Any:
    """The value with its secrets replaced by a mask (unchanged when it holds none)."""
    if not is_secret(ref):
        return value
    spec = kind(ref.payload.payload_type).key_spec(ref.key)
    assert spec is not None
    return redact(spec, value)
