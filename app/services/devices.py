"""Devices as admins see them: search within the principal's schools, details, moving between groups."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_
from sqlalchemy.orm import Session, joinedload

from app.errors import InvalidInput
from app.models.commands import Command
from app.models.devices import Device
from app.models.tenancy import Group
from app.services import audit, policy_reconcile
from app.services.access import Permission, Principal, get_for, scoped
from app.services.schools import get_school_by_code

MAX_PAGE = 500


@dataclass(frozen=True)
class DeviceFilter:
    school: str | None = None
    group_id: int | None = None
    platform: str | None = None
    state: str | None = None
    search: str | None = None


@dataclass(frozen=True)
class DevicePage:
    devices: list[Device]
    total: int


def search_devices(
    session: Session, principal: Principal, where: DeviceFilter, *, limit: int = 100, offset: int = 0
) -> DevicePage:
    """Devices the principal may see, filtered; ``total`` counts the same scope."""
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
    if where.search:
        pattern = f"%{where.search.strip().lower()}%"
        statement = statement.where(
            or_(
                func.lower(Device.name).like(pattern),
                func.lower(Device.serial_number).like(pattern),
                func.lower(Device.udid).like(pattern),
            )
        )
    total = session.scalar(statement.with_only_columns(func.count()).order_by(None)) or 0
    rows = session.scalars(
        statement.options(joinedload(Device.school), joinedload(Device.group))
        .order_by(Device.school_id, Device.name, Device.id)
        .limit(min(limit, MAX_PAGE))
        .offset(offset)
    )
    return DevicePage(list(rows), total)


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
