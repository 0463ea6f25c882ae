"""The devices Apple School Manager assigned to Flokk, as central IT and ICT contacts see them.

Reads go through the tenancy choke point on ``AsmDevice.school_id``: an ICT
contact sees the iPads expected at their own schools; devices not yet
distributed to a school are central IT's alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_
from sqlalchemy.orm import Session, joinedload

from app.errors import InvalidInput
from app.models.asm import AsmDevice
from app.services.access import Permission, Principal, get_for, scoped
from app.services.fleet.schools import get_school_by_code

STATES = ("expected", "enrolled", "unassigned", "deleted", "all")
MAX_PAGE = 500


@dataclass(frozen=True)
class DeviceFilter:
    school: str | None = None
    state: str | None = None  # default: every device still assigned to Flokk
    search: str | None = None


@dataclass(frozen=True)
class Page:
    devices: list[AsmDevice]
    total: int


def search(session: Session, principal: Principal, where: DeviceFilter, *, limit: int = 100, offset: int = 0) -> Page:
    statement = scoped(AsmDevice, principal, Permission.VIEW)
    if where.school:
        statement = statement.where(AsmDevice.school_id == get_school_by_code(session, principal, where.school).id)
    state = where.state or None
    if state is not None and state not in STATES:
        raise InvalidInput(f"state must be one of {', '.join(STATES)}")
    if state != "all":
        statement = statement.where(AsmDevice.deleted_at.is_not(None) if state == "deleted" else AsmDevice.deleted_at.is_(None))
    if state == "expected":
        statement = statement.where(AsmDevice.school_id.is_not(None), AsmDevice.device_id.is_(None))
    elif state == "enrolled":
        statement = statement.where(AsmDevice.device_id.is_not(None))
    elif state == "unassigned":
        statement = statement.where(AsmDevice.school_id.is_(None))
    if where.search:
        pattern = f"%{where.search.strip().lower()}%"
        statement = statement.where(or_(
            func.lower(AsmDevice.serial_number).like(pattern), func.lower(AsmDevice.description).like(pattern),
            func.lower(AsmDevice.asset_tag).like(pattern), func.lower(AsmDevice.device_assigned_by).like(pattern),
        ))
    total = session.scalar(statement.with_only_columns(func.count()).order_by(None)) or 0
    rows = session.scalars(
        statement.options(joinedload(AsmDevice.school), joinedload(AsmDevice.group))
        .order_by(AsmDevice.school_id, AsmDevice.serial_number)
        .limit(min(limit, MAX_PAGE)).offset(offset)
    )
    return Page(list(rows), total)


def get(session: Session, principal: Principal, asm_device_id: int) -> AsmDevice:
    return get_for(session, AsmDevice, asm_device_id, principal)


def state_of(device: AsmDevice) -> str:
    if device.deleted_at is not None:
        return "deleted"
    if device.device_id is not None:
        return "enrolled"
    return "expected" if device.school_id is not None else "unassigned"


def profile_state(device: AsmDevice) -> str:
    """Where the school's ADE profile stands for this serial, in a word."""
    if device.school_id is None:
        return "no school"
    if device.assign_outcome and device.assign_outcome != "SUCCESS":
        return device.assign_outcome.lower()
    moved = device.assigned_at and device.assign_checked_at and device.assigned_at > device.assign_checked_at
    if device.assigned_profile_uuid is None or moved:
        return "pending"
    return device.profile_status or "assigned"
