"""A Chromebook as ``chromeosdevices.list`` describes it (Directory API ``ChromeOsDevice``).

Only the fields Flokk keeps are read; unknown fields are ignored (Google
adds fields often) and a device without ``deviceId`` is refused. Recent
users are personal data: they are read only when asked for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: The ``fields`` selector for a list page: what Flokk keeps, nothing more (smaller answers, less personal data).
DEVICE_FIELDS = (
    "deviceId,serialNumber,model,osVersion,status,orgUnitPath,orgUnitId,lastSync,autoUpdateExpiration,"
    "autoUpdateThrough,annotatedAssetId,annotatedLocation,annotatedUser,deprovisionReason"
)
RECENT_USERS_FIELD = "recentUsers(email,type)"


@dataclass(frozen=True)
class ChromeDevice:
    device_id: str
    serial_number: str | None
    model: str | None
    os_version: str | None
    status: str | None
    org_unit_path: str | None
    org_unit_id: str | None
    last_sync: dt.datetime | None
    auto_update_expiration: dt.date | None
    annotated_asset_id: str | None
    annotated_location: str | None
    annotated_user: str | None
    deprovision_reason: str | None
    recent_users: tuple[str, ...] | None

    @classmethod
    def from_api(cls, item: Mapping[str, Any], *, with_recent_users: bool = False) -> ChromeDevice:
        device_id = item.get("deviceId")
        if not isinstance(device_id, str) or not device_id.strip():
            raise ValueError("a Chrome OS device without deviceId")
        users = None
        if with_recent_users:
            users = tuple(
                str(user["email"]) for user in item.get("recentUsers") or () if isinstance(user, Mapping) and user.get("email")
            )
        return cls(
            device_id=device_id,
            serial_number=_text(item, "serialNumber", 64),
            model=_text(item, "model", 64),
            os_version=_text(item, "osVersion", 32),
            status=_text(item, "status", 32),
            org_unit_path=_text(item, "orgUnitPath", 500),
            org_unit_id=_text(item, "orgUnitId", 64),
            last_sync=parse_time(item.get("lastSync")),
            auto_update_expiration=_expiration(item),
            annotated_asset_id=_text(item, "annotatedAssetId", 200),
            annotated_location=_text(item, "annotatedLocation", 200),
            annotated_user=_text(item, "annotatedUser", 200),
            deprovision_reason=_text(item, "deprovisionReason", 64),
            recent_users=users,
        )


def _text(item: Mapping[str, Any], name: str, limit: int) -> str | None:
    value = item.get(name)
    if not isinstance(value, str) or not value:
        return None
    return value.replace("\x00", "")[:limit]


def parse_time(value: Any) -> dt.datetime | None:
    """RFC 3339 (``2026-08-14T07:12:03.120Z``) as an aware UTC datetime; None when absent or malformed."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _expiration(item: Mapping[str, Any]) -> dt.date | None:
    """``autoUpdateThrough`` (RFC 3339), or the older ``autoUpdateExpiration`` (milliseconds since 1970)."""
    through = parse_time(item.get("autoUpdateThrough"))
    if through is not None:
        return through.date()
    millis = item.get("autoUpdateExpiration")
    try:
        return dt.datetime.fromtimestamp(int(millis) / 1000, dt.UTC).date() if millis not in (None, "") else None
    except (TypeError, ValueError, OverflowError, OSError):
        return None
