"""The choke point with a grant scoped to a class: the class's group, devices and commands, nothing else."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.errors import Forbidden, NotFound
from app.models import Command, Device, Group, School
from app.services.access import Grant, Permission, Principal, Role, get_for, require, scoped, system_principal
from app.services.mdm import commands
from tests.support import factories


def teacher(school_id: int, group_id: int) -> Principal:
    return Principal("admin", 9, "admin:laerer", (Grant(Role.TEACHER, school_id, group_id),))


def test_a_class_grant_covers_its_group_only():
    grant = Grant(Role.TEACHER, 1, 10)
    assert grant.covers(1, 10) and not grant.covers(1, 11) and not grant.covers(1, None) and not grant.covers(2, 10)
    principal = Principal("admin", 1, "t", (grant,))
    assert principal.can(Permission.VIEW, 1, 10) and not principal.can(Permission.VIEW, 1)
    assert principal.can(Permission.COMMAND, 1, 10, command="DeviceLock")
    assert not principal.can(Permission.COMMAND, 1, 10, command="EraseDevice")
    assert not principal.can(Permission.MANAGE, 1, 10)
    assert principal.school_ids(Permission.VIEW) == frozenset() and principal.group_ids(Permission.VIEW) == {10}
    assert principal.can_anywhere(Permission.VIEW) and not principal.is_central


def test_queries_keep_the_class_rows_only(session):
    school, other = factories.school(session), factories.school(session)
    mine, theirs, elsewhere = factories.group(session, school), factories.group(session, school), factories.group(session, other)
    devices = {group.id: factories.device(session, group.school, group=group) for group in (mine, theirs, elsewhere)}
    loose = factories.device(session, school)
    for device in (*devices.values(), loose):
        commands.enqueue(session, system_principal(), [device.id], "ProfileList")
    principal = teacher(school.id, mine.id)
    assert list(session.scalars(scoped(Device, principal))) == [devices[mine.id]]
    assert list(session.scalars(scoped(Group, principal))) == [mine]
    assert [c.device_id for c in session.scalars(scoped(Command, principal))] == [devices[mine.id].id]
    assert list(session.scalars(scoped(School, principal))) == []
    assert get_for(session, Device, devices[mine.id].id, principal, Permission.COMMAND) is devices[mine.id]
    for device in (devices[theirs.id], devices[elsewhere.id], loose):
        with pytest.raises(NotFound):
            get_for(session, Device, device.id, principal)
    with pytest.raises(Forbidden):
        get_for(session, Device, devices[mine.id].id, principal, Permission.MANAGE)
    with pytest.raises(NotFound):
        require(principal, Permission.VIEW, school.id)


def test_a_moved_device_leaves_the_teachers_view(session):
    school = factories.school(session)
    mine, theirs = factories.group(session, school), factories.group(session, school)
    device = factories.device(session, school, group=mine)
    principal = teacher(school.id, mine.id)
    assert session.scalar(scoped(Device, principal).where(Device.id == device.id)) is device
    device.group_id = theirs.id
    session.flush()
    assert session.scalar(select(Device).where(Device.id == device.id)) is device
    assert session.scalar(scoped(Device, principal).where(Device.id == device.id)) is None
