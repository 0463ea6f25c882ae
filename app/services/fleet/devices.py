"""Devices as admins see them: search within the principal's schools, details, moving between groups,
and sending them MDM commands.

Every read goes through the tenancy choke point (``access.scoped``): an ICT
contact finds only their own school's devices; another school's device is
"not found". Sending a command queues it (``app.services.mdm.commands``); the
devices are pushed once the unit of work has committed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, joinedload

from app.errors import InvalidInput, NotFound
from app.models.base import parse_row_id, utcnow
from app.models.commands import OPEN_STATUSES, Command
from app.models.devices import Device, DeviceUser, InstalledProfile
from app.models.tenancy import Group, School
from app.services import audit
from app.services.access import Permission, Principal, approvals, get_for, scoped
from app.services.fleet.schools import get_school_by_code
from app.services.google import commands as chromebook_commands
from app.services.google import moves
from app.services.mdm import commands
from app.services.policy import reconciler as policy_reconcile
from mdm_protocol import commands as mdm_commands

MAX_PAGE = 500


@dataclass(frozen=True)
class DeviceFilter:
    school: str | None = None
    group_id: int | None = None
    platform: str | None = None
    state: str | None = None
    search: str | None = None
    os_version: str | None = None
    #: Not seen for at least this many days (never seen counts as not seen).
    not_seen_days: int | None = None
    supervised: bool | None = None


@dataclass(frozen=True)
class DevicePage:
    devices: list[Device]
    total: int


#: The columns a device list sorts by (``-name``: descending); each ends with the device id so pages never overlap.
#: ``school`` (the default) is a school's devices by name, schools in the order they were added.
SORTS: dict[str, Any] = {
    "name": Device.name,
    "serial": Device.serial_number,
    "school": Device.school_id,
    "class": Group.name,
    "platform": Device.platform,
    "os_version": Device.os_version,
    "state": Device.enrollment_state,
    "last_seen": Device.last_seen_at,
}
DEFAULT_SORT = "school"


def sort_keys() -> list[str]:
    """Every accepted ``sort`` value: each column, ascending or (``-``) descending."""
    return [key for name in SORTS for key in (name, f"-{name}")]


def _filtered(session: Session, principal: Principal, where: DeviceFilter) -> Select[tuple[Device]]:
    """The principal's devices (the tenancy choke point) narrowed by ``where``."""
    statement = scoped(Device, principal)
    if where.school:
        statement = statement.where(Device.school_id == get_school_by_code(session, principal, where.school).id)
    if where.group_id is not None:
        group = get_for(session, Group, where.group_id, principal)
        statement = statement.where(Device.group_id == group.id)
    if where.platform:
        statement = statement.where(Device.platform == where.platform)
    if where.state:
        statement = statement.where(Device.enrollment_state == where.state)
    if where.os_version:
        statement = statement.where(Device.os_version == where.os_version)
    if where.supervised is not None:
        statement = statement.where(Device.supervised.is_(where.supervised))
    if where.not_seen_days is not None:
        since = utcnow() - dt.timedelta(days=where.not_seen_days)
        statement = statement.where(or_(Device.last_seen_at.is_(None), Device.last_seen_at < since))
    if where.search:
        pattern = f"%{where.search.strip().lower()}%"
        statement = statement.where(
            or_(
                func.lower(Device.name).like(pattern),
                func.lower(Device.serial_number).like(pattern),
                func.lower(Device.udid).like(pattern),
                func.lower(Device.google_device_id).like(pattern),
            )
        )
    return statement


def _ordered(statement: Select[tuple[Device]], sort: str | None) -> Select[tuple[Device]]:
    """``sort`` applied the same way on SQLite and PostgreSQL.

    An empty value sorts as the largest (last ascending, first descending; a device never seen is
    first "newest first"): PostgreSQL's own order, so its indexes (``Device.__table_args__``) serve
    the page forwards and backwards instead of a sort of the fleet.
    """
    key = sort or DEFAULT_SORT
    descending = key.startswith("-")
    column = SORTS.get(key.lstrip("-"))
    if column is None:
        raise InvalidInput(f"cannot sort by {key}", details={"sort": ["Not a column to sort by."]})
    if column is Group.name:
        statement = statement.outerjoin(Group, Group.id == Device.group_id)
    columns = [Device.school_id, Device.name, Device.id] if column is Device.school_id else [column, Device.id]
    return statement.order_by(*[part.desc().nulls_first() if descending else part.asc().nulls_last() for part in columns])


def search_devices(
    session: Session, principal: Principal, where: DeviceFilter, *, limit: int = 100, offset: int = 0,
    sort: str | None = None,
) -> DevicePage:
    """Devices the principal may see, filtered and sorted (``SORTS``); ``total`` counts the same scope."""
    statement = _filtered(session, principal, where)
    # maintain_column_froms: without a filter the statement names no table but the dropped columns.
    total = session.scalar(statement.with_only_columns(func.count(), maintain_column_froms=True).order_by(None)) or 0
    # The page's ids first (read from an index alone, however deep the page), then those devices: PostgreSQL
    # would otherwise fetch every skipped row of a deep page from the table.
    ids = list(session.scalars(_ordered(statement.with_only_columns(Device.id, maintain_column_froms=True), sort)
                               .limit(min(limit, MAX_PAGE)).offset(offset)))
    if not ids:
        return DevicePage([], total)
    found = {device.id: device for device in session.scalars(
        select(Device).where(Device.id.in_(ids)).options(joinedload(Device.school), joinedload(Device.group)))}
    return DevicePage([found[device_id] for device_id in ids if device_id in found], total)


def check_filter(session: Session, principal: Principal, where: DeviceFilter) -> None:
    """Raise (NotFound) for a school or class in ``where`` that the principal does not see."""
    _filtered(session, principal, where)


def export_devices(session: Session, principal: Principal, where: DeviceFilter, *, sort: str | None = None,
                   batch: int = 1000) -> Iterator[Device]:
    """Every device the principal may see under ``where``, in ``sort`` order, fetched in batches (a CSV export)."""
    statement = _ordered(_filtered(session, principal, where), sort).options(
        joinedload(Device.school), joinedload(Device.group)).execution_options(yield_per=batch)
    yield from session.scalars(statement)


def os_versions(session: Session, principal: Principal, *, school_code: str | None = None) -> list[str]:
    """The OS versions among the principal's devices (of one school), for a filter's choices, newest first."""
    statement = (scoped(Device, principal).with_only_columns(Device.os_version).where(Device.os_version.is_not(None))
                 .group_by(Device.os_version))
    if school_code is not None:
        statement = statement.where(Device.school_id == get_school_by_code(session, principal, school_code).id)
    return sorted(session.scalars(statement), key=version_key, reverse=True)


def version_key(version: str) -> tuple:
    """``17.10`` after ``17.9``: numbers compared as numbers."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in version.split("."))


def counts_by_school(session: Session, principal: Principal) -> dict[int, int]:
    statement = scoped(Device, principal).with_only_columns(Device.school_id, func.count()).group_by(Device.school_id)
    return {school_id: count for school_id, count in session.execute(statement)}


def get_device(session: Session, principal: Principal, device_id: int) -> Device:
    return get_for(session, Device, device_id, principal)


def move_to_group(session: Session, principal: Principal, device_id: int, group_id: int | None) -> Device:
    """Put a device into a group of its own school (None: no group)."""
    device = get_for(session, Device, device_id, principal, Permission.MANAGE, lock=True)
    before = device.group_id
    if group_id is not None:
        group = get_for(session, Group, group_id, principal)
        if group.school_id != device.school_id:
            raise InvalidInput("the group belongs to another school than the device", details={"group_id": ["Not a group of the device's school."]})
    if before != group_id:
        # A Chromebook moves in Google first; a refusal there leaves it where it is here too.
        moves.follow_in_google(session, device, device.school, group_id)
    device.group_id = group_id
    session.flush()
    audit.record(session, principal, "device.move", school_id=device.school_id, target=device,
                 details={"from_group_id": before, "to_group_id": group_id})
    if before != group_id:
        # The new group's policy (and no longer the old one's) reaches the device.
        policy_reconcile.reconcile_device(session, device.id)
    return device


def recent_commands(session: Session, principal: Principal, device_id: int, limit: int = 50) -> list[Command]:
    device = get_for(session, Device, device_id, principal)
    return list(
        session.scalars(scoped(Command, principal).where(Command.device_id == device.id).order_by(Command.id.desc()).limit(limit))
    )


@dataclass(frozen=True)
class DeviceDetail:
    device: Device
    school_code: str
    installed_profiles: list[InstalledProfile]
    open_commands: int
    users: list[DeviceUser]


def find_device(session: Session, principal: Principal, ref: str) -> Device:
    """A device by database id, UDID, serial number or (a Chromebook) Google's device id, within the principal's schools."""
    ref = ref.strip()
    if not ref:
        raise InvalidInput("name a device by its id, UDID or serial number")
    matches = [Device.udid == ref, func.upper(Device.serial_number) == ref.upper(), Device.google_device_id == ref]
    number = parse_row_id(ref)
    if number is not None:
        matches.append(Device.id == number)
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


def detail(session: Session, principal: Principal, device_id: int) -> DeviceDetail:
    """A device with what its page shows: reported profiles, open commands, Shared iPad users."""
    return _detail(session, get_for(session, Device, device_id, principal))


def describe(session: Session, principal: Principal, ref: str) -> DeviceDetail:
    """The same, for a device named by id, UDID or serial number (the CLI)."""
    return _detail(session, find_device(session, principal, ref))


def _detail(session: Session, device: Device) -> DeviceDetail:
    """``device`` was loaded through the access check by the caller."""
    profiles = session.scalars(
        select(InstalledProfile).where(InstalledProfile.device_id == device.id).order_by(InstalledProfile.identifier)
    )
    open_commands = session.scalar(
        select(func.count()).select_from(Command).where(Command.device_id == device.id, Command.status.in_(OPEN_STATUSES))
    )
    users = session.scalars(select(DeviceUser).where(DeviceUser.device_id == device.id).order_by(DeviceUser.id))
    return DeviceDetail(device, device.school.code, list(profiles), open_commands or 0, list(users))


def find_device_user(session: Session, device: Device, ref: str) -> DeviceUser:
    """A user channel of ``device`` (Shared iPad) by its user id or short name (e.g. the Managed Apple ID)."""
    ref = ref.strip()
    found = session.scalars(
        select(DeviceUser)
        .where(DeviceUser.device_id == device.id, or_(DeviceUser.user_id == ref, DeviceUser.short_name == ref))
        .limit(2)
    ).all()
    if not found:
        raise NotFound(f"device {device.serial_number or device.udid} has no user {ref!r}")
    if len(found) > 1:
        raise InvalidInput(f"{ref!r} names more than one user of this device; use the user id")
    return found[0]


def command_history(session: Session, principal: Principal, ref: str, *, limit: int = 50) -> list[Command]:
    """A device's latest commands, oldest first (by id, UDID or serial number)."""
    return recent_commands(session, principal, find_device(session, principal, ref).id, limit)[::-1]


def target_devices(
    session: Session, principal: Principal, refs: Sequence[str], *, school_code: str | None = None, chromebooks: bool = False
) -> list[int]:
    """Device ids named by id/UDID/serial, plus every enrolled iPad (or, with ``chromebooks``, every
    Chromebook) of a school (``school_code``)."""
    device_ids = [find_device(session, principal, ref).id for ref in refs]
    if school_code is not None:
        school = get_school_by_code(session, principal, school_code)
        kind = Device.google_device_id.is_not(None) if chromebooks else Device.udid.is_not(None)
        device_ids.extend(
            session.scalars(
                scoped(Device, principal, Permission.COMMAND)
                .with_only_columns(Device.id)
                .where(Device.school_id == school.id, Device.enrollment_state == "enrolled", kind)
                .order_by(Device.id)
            )
        )
    if not device_ids:
        raise InvalidInput("no devices to send to")
    return list(dict.fromkeys(device_ids))


def build_command(request_type: str, params: Sequence[str] = ()) -> mdm_commands.Command:
    """A command from ``KEY=VALUE`` strings, typed per Apple's schema; InvalidInput names a wrong key."""
    try:
        return mdm_commands.build_from_strings(request_type, params)
    except mdm_commands.CommandError as error:
        details = {error.key: [error.reason]} if error.key else None
        raise InvalidInput(f"cannot send {request_type}: {error}", details=details) from None


def send_command(
    session: Session,
    principal: Principal,
    refs: Sequence[str],
    request_type: str,
    params: Sequence[str] = (),
    *,
    school_code: str | None = None,
    reason: str | None = None,
    user: str | None = None,
) -> approvals.Submitted:
    """Queue a command for devices or a whole school, or ask for approval when it is destructive or bulk.

    ``user`` sends it on one device's user channel instead (a Shared iPad's
    signed-in user, by user id or short name): that queue is the user's own.
    """
    if chromebook_commands.handles(request_type):
        if user is not None:
            raise InvalidInput("Chromebook commands go to the Chromebook, not to a user")
        checked = _chromebook_params(request_type, params)
        device_ids = target_devices(session, principal, refs, school_code=school_code, chromebooks=True)
        return approvals.submit(session, principal, device_ids, request_type, checked, reason=reason)
    built = build_command(request_type, params)
    if user is not None:
        return _send_to_user(session, principal, refs, school_code, built, user)
    device_ids = target_devices(session, principal, refs, school_code=school_code)
    return approvals.submit(session, principal, device_ids, built.request_type, dict(built.params), reason=reason)


def _chromebook_params(request_type: str, params: Sequence[str]) -> dict[str, Any]:
    from mdm_protocol.google import commands as chrome

    try:
        return chrome.build_from_strings(request_type, tuple(params))[1]
    except chrome.ChromeCommandError as error:
        details = {error.key: [str(error)]} if error.key else None
        raise InvalidInput(f"cannot send {request_type}: {error}", details=details) from None


def _send_to_user(
    session: Session,
    principal: Principal,
    refs: Sequence[str],
    school_code: str | None,
    built: mdm_commands.Command,
    user: str,
) -> approvals.Submitted:
    if school_code is not None or len(refs) != 1:
        raise InvalidInput("a user channel belongs to one device: name exactly one device with the user")
    device = find_device(session, principal, refs[0])
    return send_to_user(session, principal, device.id, built.request_type, built.params, user)


def send_to_user(
    session: Session,
    principal: Principal,
    device_id: int,
    request_type: str,
    params: Mapping[str, Any],
    user: str,
) -> approvals.Submitted:
    """Queue a command on one user's channel of a Shared iPad (user id or short name) and push it.

    The same rules as ``approvals.submit``: the role's commands, and nothing that needs approval."""
    commands.check_params(request_type, params)
    if approvals.needs_approval(session, request_type, params, 1) is not None:
        raise InvalidInput(f"{request_type} goes to the device, not to a user channel")
    device = get_for(session, Device, device_id, principal)
    commands.load_targets(session, principal, [device.id], Permission.COMMAND, command=request_type)
    channel = find_device_user(session, device, user)
    queued = commands.enqueue(session, principal, [device.id], request_type, dict(params), device_user_id=channel.id,
                              check=False)
    return approvals.Submitted(queued=queued)


