"""Web content filter (``com.apple.webcontent-filter``): Apple's built-in filter or a vendor plug-in."""

from collections.abc import Mapping
from typing import Any

from profiles.payloads.base import PayloadKind


def _filter(payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    if payload.get("FilterType", "BuiltIn") != "Plugin":
        return []
    return [
        (key, "is required when FilterType is Plugin")
        for key in ("PluginBundleID", "UserDefinedName")
        if not payload.get(key)
    ]


KIND = PayloadKind(
    payload_type="com.apple.webcontent-filter",
    alias="webfilter",
    title="Web content filter",
    forbidden_keys={
        "PayloadCertificateUUID": "identity certificates are not part of the policy yet",
    },
    check_payload=_filter,
)
