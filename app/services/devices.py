"""Finding and describing devices, and sending them commands, as an admin sees them.

Every read goes through the tenancy choke point (``access.scoped``): an ICT
contact finds only their own school's devices; another school's device is
"not found". Sending a command queues it (``app.services.commands``) and
resets the device's push back-off; the caller pushes after committing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.errors import InvalidInput, NotFound
from app.models.commands import Command
from app.models.devices import Device, InstalledProfile
from app.models.tenancy import School
from app.services import commands as command_queue
from app.services import push
from app.services.access import Permission, Principal, scoped
from app.services.mdm_store import OPEN_STATUSES
from app.services.schools import get_school_by_code
from mdm_protocol import commands as mdm_commands


@dataclass(frozen=True)
class DeviceDetail:
    device: Device
    school_code: str
    installed_profiles: list[InstalledProfile]
    open_commands: int


def find_device(session: Session, principal: Principal, ref: str) -> Device:
    """A device by database id, UDID or serial number, within the principal's schools."""
    ref = ref.strip()
    if not ref:
        raise InvalidInput("name a device by its id, UDID or serial number")
    matches = [Device.udid == ref, func.upper(Device.serial_number) == ref.upper()]
    if ref.isdigit():
        matches.append(Device.id == int(ref))
    found = session.scalars(scoped(Device, principal).where(or_(*matches)).limit(2)).all()
    if not found:
        raise NotFound(f"no device {ref}")
    if len(found) > 1:
        raise InvalidInput(f"{ref!r} names more than one device; use its UDID")
    return found[0]


def list_devices(session: Session, principal: Principal, *, school_code: str | None = None) -> list[tuple[Device, str]]:
    statement = (
        scoped(Device, principal)
        .join(School, School.id == Device.school_id)
        .add_columns(School.code)
        .order_by(School.code, Device.id)
    )
    if school_code is not None:
        school = get_school_by_code(session, principal, school_code)
        statement = statement.where(Device.school_id == school.id)
    return [(device, code) for device, code in session.execute(statement)]


def describe(session: Session, principal: Principal, ref: str) -> DeviceDetail:
    device = find_device(session, principal, ref)
    profiles = list(
        session.scalars(
            select(InstalledProfile).where(InstalledProfile.device_id == device.id).order_by(InstalledProfile.identifier)
        )
    )
    open_commands = session.scalar(
        select(func.count()).select_from(Command).where(Command.device_id == device.id, Command.status.in_(OPEN_STATUSES))
    )
    return DeviceDetail(device, device.school.code, profiles, open_commands or 0)


def command_history(session: Session, principal: Principal, ref: str, *, limit: int = 50) -> list[Command]:
    device = find_device(session, principal, ref)
    return list(
        session.scalars(
            select(Command).where(Command.device_id == device.id).order_by(Command.id.desc()).limit(limit)
        )
    )[::-1]


def send_command(
    session: Session,
    principal: Principal,
    refs: Sequence[str],
    request_type: str,
    params: Sequence[str] = (),
    *,
    school_code: str | None = None,
) -> command_queue.Queued:
    """Queue one command (``KEY=VALUE`` parameters, typed per Apple's schema) for devices or a whole school."""
    try:
        built = mdm_commands.build_from_strings(request_type, params)
    except mdm_commands.CommandError as error:
        details = {error.key: [error.reason]} if error.key else None
        raise InvalidInput(f"cannot send {request_type}: {error}", details=details) from None
    device_ids = [find_device(session, principal, ref).id for ref in refs]
    if school_code is not None:
        school = get_school_by_code(session, principal, school_code)
        device_ids.extend(
            session.scalars(
                scoped(Device, principal, Permission.COMMAND)
                .with_only_columns(Device.id)
                .where(Device.school_id == school.id, Device.enrollment_state == "enrolled", Device.udid.is_not(None))
            )
        )
    if not device_ids:
        raise InvalidInput("no devices to send to")
    queued = command_queue.enqueue(session, principal, device_ids, built.request_type, built.params, check=False)
    push.reset_backoff(session, list(queued.command_uuids))
    return queued
