"""Moving a Chromebook between schools and groups moves it between organisational units in Google.

Google is asked first (``moveDevicesToOu``); only when Google has moved it
does Flokk change the device's school or group, in the same unit of work, so
a refusal (a device Google does not know, a unit that is gone) changes
nothing on either side.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.errors import InvalidInput
from app.models.devices import Device, Platform
from app.models.google import Chromebook
from app.models.tenancy import School
from app.services import audit
from app.services.access import Permission, Principal, get_for, require
from app.services.fleet.schools import get_school_by_code
from app.services.google import client_for, refused, require_connection
from app.services.google.org_units import group_in_school, unit_for
from mdm_protocol.google import errors


def follow_in_google(session: Session, device: Device, school: School, group_id: int | None) -> None:
    """Move a Chromebook's unit in Google to where (school, group) says; raises and changes nothing on refusal."""
    if device.platform != Platform.CHROMEOS or not device.google_device_id:
        return
    unit = unit_for(session, school, group_id)
    inventory = session.get(Chromebook, device.id)
    if inventory is not None and (inventory.org_unit_path or "").lower() == unit.ou_path.lower():
        return
    connection = require_connection(session, school.organisation_id)
    try:
        client_for(session, connection).move_devices([device.google_device_id], unit.ou_path)
    except errors.InvalidArgument as error:
        raise InvalidInput(f"Google refused to move {device.serial_number or device.google_device_id} to {unit.ou_path}: "
                           f"{error.message}") from None
    except errors.GoogleError as error:
        raise refused(error, f"moving {device.serial_number or device.google_device_id} in Google") from None
    if inventory is not None:
        inventory.org_unit_path, inventory.org_unit_id, inventory.note = unit.ou_path, unit.ou_id, None


def move_to_school(session: Session, principal: Principal, device_id: int, school_code: str, group_id: int | None = None) -> Device:
    """Give a Chromebook to another school (and group): needs the right to manage both schools."""
    device = get_for(session, Device, device_id, principal, Permission.MANAGE, lock=True)
    if device.platform != Platform.CHROMEOS:
        raise InvalidInput("only a Chromebook changes school this way: an iPad is enrolled again at its new school",
                           details={"school": ["Not a Chromebook."]})
    school = get_school_by_code(session, principal, school_code)
    require(principal, Permission.MANAGE, school.id)
    group = group_in_school(session, principal, school, group_id)
    before = (device.school_id, device.group_id)
    after = (school.id, group.id if group else None)
    if before == after:
        return device
    follow_in_google(session, device, school, after[1])
    device.school_id, device.group_id = after
    inventory = session.get(Chromebook, device.id)
    if inventory is not None:
        inventory.school_id = school.id
    session.flush()
    for school_id in sorted({before[0], after[0]}):
        audit.record(session, principal, "device.move", school_id=school_id, target=device,
                     details={"from_school_id": before[0], "from_group_id": before[1], "to_school_id": after[0],
                              "to_group_id": after[1]})
    return device
