"""Notification settings (``com.apple.notificationsettings``): per-app alerts, sounds, badges."""

from collections.abc import Mapping
from typing import Any

from profiles.payloads.base import PayloadKind


def _unique_apps(payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    seen: set[str] = set()
    for item in payload.get("NotificationSettings") or ():
        bundle = item.get("BundleIdentifier") if isinstance(item, Mapping) else None
        if bundle in seen:
            return [("NotificationSettings", f"lists {bundle} more than once")]
        if isinstance(bundle, str):
            seen.add(bundle)
    return []


KIND = PayloadKind(
    payload_type="com.apple.notificationsettings",
    alias="notifications",
    title="Notifications",
    check_payload=_unique_apps,
)
