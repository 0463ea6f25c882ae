"""Groups (classes, year groups, carts) of a school: seen with VIEW, changed with MANAGE."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import Conflict, InvalidInput
from app.models.devices import Device
from app.models.tenancy import Group, GroupKind
from app.services import audit
from app.services.access import Permission, Principal, get_for, require, scoped
from app.services.fleet.schools import get_school_by_code


def list_groups(
    session: Session, principal: Principal, *, school_code: str | None = None, school_id: int | None = None
) -> list[Group]:
    """The groups the principal sees, of one school (by code, or by the id of a row already loaded through the access check)."""
    statement = scoped(Group, principal).order_by(Group.school_id, Group.name)
    if school_code:
        statement = statement.where(Group.school_id == get_school_by_code(session, principal, school_code).id)
    if school_id is not None:
        statement = statement.where(Group.school_id == school_id)
    return list(session.scalars(statement))


def device_counts(session: Session, principal: Principal) -> dict[int, int]:
    statement = scoped(Device, principal).with_only_columns(Device.group_id, func.count()).group_by(Device.group_id)
    return {group_id: count for group_id, count in session.execute(statement) if group_id is not None}


def get_group(session: Session, principal: Principal, group_id: int, permission: Permission = Permission.VIEW) -> Group:
    return get_for(session, Group, group_id, principal, permission)


def create_group(session: Session, principal: Principal, *, school_code: str, name: str, kind: str = GroupKind.CLASS) -> Group:
    school = get_school_by_code(session, principal, school_code)
    require(principal, Permission.MANAGE, school.id)
    name = name.strip()
    if kind not in {k.value for k in GroupKind}:
        raise InvalidInput(f"unknown group kind {kind!r}")
    if session.scalar(select(func.count()).select_from(Group).where(Group.school_id == school.id, Group.name == name)):
        raise Conflict(f"{school.code} has a group named {name!r} already")
    group = Group(school_id=school.id, name=name, kind=kind)
    session.add(group)
    session.flush()
    audit.record(session, principal, "group.create", school_id=school.id, target=group, details={"name": name, "kind": kind})
    return group


def delete_group(session: Session, principal: Principal, group_id: int) -> None:
    """Devices of a deleted group stay in the school, without a group."""
    group = get_for(session, Group, group_id, principal, Permission.MANAGE, lock=True)
    session.delete(group)
    session.flush()
    audit.record(session, principal, "group.delete", school_id=group.school_id, target=("group", group_id), details={"name": group.name})
