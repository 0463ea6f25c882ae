"""What a Chromebook's page shows beyond what every device has: Google's inventory, its unit's
Chrome policy state and the settings that do not apply to Chromebooks."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.models.devices import Device, Platform
from app.models.google import Chromebook, GoogleOrgUnit
from app.services.google.org_units import unit_of_group, unit_of_school
from app.services.policy.situations import cache_for
from profiles.model import DeviceFacts
from profiles.resolve import resolve

NOT_APPLICABLE = "not applicable to Chromebooks"


def not_applicable(session: Session, device: Device) -> list[str]:
    """The settings of the device's policy a Chromebook cannot follow ("not applicable to Chromebooks")."""
    cache = cache_for(session, device.school.organisation_id)
    facts = DeviceFacts("chromeos", school=str(device.school_id), group=str(device.group_id) if device.group_id else "")
    policy = resolve(cache.layers, facts)
    return sorted({f"{note.payload}" + (f" {note.key}" if note.key else "") for note in policy.left_out
                   if NOT_APPLICABLE in note.reason})


def unit_of(session: Session, device: Device) -> GoogleOrgUnit | None:
    """The unit Flokk applies the device's policy to."""
    return (unit_of_group(session, device.group_id) if device.group_id else None) or unit_of_school(session, device.school_id)


def details(session: Session, device: Device) -> dict[str, Any] | None:
    """A loaded (access-checked) device's Chromebook facts; None for other devices."""
    if device.platform != Platform.CHROMEOS:
        return None
    inventory = session.get(Chromebook, device.id)
    unit = unit_of(session, device)
    found: dict[str, Any] = {"google_device_id": device.google_device_id, "not_applicable": not_applicable(session, device)}
    if inventory is not None:
        found.update({
            "org_unit_path": inventory.org_unit_path, "status": inventory.status,
            "auto_update_expiration": inventory.auto_update_expiration.isoformat() if inventory.auto_update_expiration else None,
            "last_sync": inventory.last_sync.isoformat() if inventory.last_sync else None,
            "annotated_asset_id": inventory.annotated_asset_id, "annotated_location": inventory.annotated_location,
            "annotated_user": inventory.annotated_user, "recent_users": inventory.recent_users,
            "missing_since": inventory.missing_since.isoformat() if inventory.missing_since else None,
            "note": inventory.note, "synced_at": inventory.synced_at.isoformat(),
        })
    if unit is not None:
        found["policy_unit"] = {"ou_path": unit.ou_path, "applied_at": unit.applied_at.isoformat() if unit.applied_at else None,
                                "drift": list(unit.drift or []), "error": unit.policy_error}
    return found
