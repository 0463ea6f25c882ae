"""What a device's latest inventory answers say, ready for its dashboard page.

The inventory holds Apple's answers as reported (DeviceInformation,
SecurityInfo, InstalledApplicationList); a value that is missing or of an
unexpected type is left out rather than breaking the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class App:
    name: str
    version: str
    identifier: str


@dataclass(frozen=True)
class DeviceHealth:
    storage: tuple[str, str] | None = None  # (free, total) in GB, one decimal
    battery: int | None = None  # per cent
    passcode_set: bool | None = None
    passcode_compliant: bool | None = None
    apps: list[App] = field(default_factory=list)


def read(inventory: Mapping[str, Any] | None) -> DeviceHealth:
    inventory = inventory or {}
    information = _mapping(inventory.get("device_information"))
    security = _mapping(inventory.get("security_info"))
    total, free = _number(information.get("DeviceCapacity")), _number(information.get("AvailableDeviceCapacity"))
    battery = _number(information.get("BatteryLevel"))
    apps = [
        App(str(item.get("Name") or item.get("Identifier") or ""), str(item.get("ShortVersion") or item.get("Version") or ""),
            str(item.get("Identifier") or ""))
        for item in inventory.get("applications") or []
        if isinstance(item, Mapping)
    ]
    return DeviceHealth(
        storage=(f"{free or 0:.1f}", f"{total:.1f}") if total else None,
        battery=round(battery * 100) if battery is not None and 0 <= battery <= 1 else None,
        passcode_set=_flag(security.get("PasscodePresent")),
        passcode_compliant=_flag(security.get("PasscodeCompliant")),
        apps=sorted(apps, key=lambda app: app.name.lower()),
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None
