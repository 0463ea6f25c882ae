"""The choke point: scope by school, 404 outside the scope, 403 for a missing right."""

import pytest
from sqlalchemy import func, select

from app.errors import Forbidden, NotFound
from app.models import Device, School
from app.services.access import Grant, Permission, Principal, Role, get_for, require, require_central, scoped
from tests.support import factories


def principal(*grants):
    return Principal("admin", 1, "admin:test", tuple(Grant(role, school) for role, school in grants))


@pytest.fixture
def two_schools(session):
    a, b = factories.school(session, "a"), factories.school(session, "b")
    devices = {"a": factories.device(session, a), "b": factories.device(session, b)}
    return a, b, devices


def test_a_school_ict_contact_sees_only_their_school(session, two_schools):
    a, b, devices = two_schools
    ict = principal((Role.SCHOOL_ICT, a.id))
    assert list(session.scalars(scoped(Device, ict))) == [devices["a"]]
    assert list(session.scalars(scoped(School, ict))) == [a]
    assert session.scalar(scoped(Device, ict).with_only_columns(func.count())) == 1


def test_central_roles_see_every_school(session, two_schools):
    for role in (Role.CENTRAL_ADMIN, Role.CENTRAL_HELPDESK, Role.AUDITOR):
        assert len(list(session.scalars(scoped(Device, principal((role, None)))))) == 2


def test_no_grant_sees_nothing(session, two_schools):
    assert list(session.scalars(scoped(Device, principal()))) == []


def test_another_schools_object_is_not_found_rather_than_forbidden(session, two_schools):
    a, b, devices = two_schools
    ict = principal((Role.SCHOOL_ICT, a.id))
    assert get_for(session, Device, devices["a"].id, ict, Permission.MANAGE) is devices["a"]
    with pytest.raises(NotFound):
        get_for(session, Device, devices["b"].id, ict)
    with pytest.raises(NotFound):
        get_for(session, Device, devices["b"].id, ict, Permission.COMMAND)


def test_a_visible_object_without_the_right_is_forbidden(session, two_schools):
    a, b, devices = two_schools
    auditor = principal((Role.AUDITOR, None))
    assert get_for(session, Device, devices["b"].id, auditor) is devices["b"]
    with pytest.raises(Forbidden):
        get_for(session, Device, devices["b"].id, auditor, Permission.COMMAND)


def test_grants_combine_across_schools_and_roles(session, two_schools):
    a, b, devices = two_schools
    mixed = principal((Role.SCHOOL_ICT, a.id), (Role.AUDITOR, b.id))
    assert mixed.can(Permission.MANAGE, a.id) and not mixed.can(Permission.MANAGE, b.id)
    assert mixed.can(Permission.AUDIT, b.id) and not mixed.can(Permission.AUDIT, a.id)
    assert {d.id for d in session.scalars(scoped(Device, mixed))} == {devices["a"].id, devices["b"].id}
    assert [d.id for d in session.scalars(scoped(Device, mixed, Permission.COMMAND))] == [devices["a"].id]


@pytest.mark.parametrize(
    ("role", "permission", "allowed"),
    [
        (Role.CENTRAL_ADMIN, Permission.ADMINISTER, True),
        (Role.CENTRAL_ADMIN, Permission.DESTRUCTIVE, True),
        (Role.CENTRAL_HELPDESK, Permission.COMMAND, True),
        (Role.CENTRAL_HELPDESK, Permission.DESTRUCTIVE, False),
        (Role.CENTRAL_HELPDESK, Permission.MANAGE, False),
        (Role.SCHOOL_ICT, Permission.MANAGE, True),
        (Role.SCHOOL_ICT, Permission.REQUEST_DESTRUCTIVE, True),
        (Role.SCHOOL_ICT, Permission.DESTRUCTIVE, False),
        (Role.SCHOOL_ICT, Permission.APPROVE, False),
        (Role.AUDITOR, Permission.AUDIT, True),
        (Role.AUDITOR, Permission.COMMAND, False),
    ],
)
def test_role_rights(role, permission, allowed):
    assert principal((role, 7)).can(permission, 7) is allowed


def test_school_scoped_grants_never_give_central_rights():
    ict = principal((Role.SCHOOL_ICT, 1))
    with pytest.raises(Forbidden):
        require_central(ict)
    with pytest.raises(Forbidden):
        require_central(principal((Role.CENTRAL_ADMIN, 1)))
    require_central(principal((Role.CENTRAL_ADMIN, None)))


def test_require_hides_other_schools(session):
    ict = principal((Role.SCHOOL_ICT, 1))
    with pytest.raises(NotFound):
        require(ict, Permission.MANAGE, 2)
    with pytest.raises(Forbidden):
        require(ict, Permission.DESTRUCTIVE, 1)


def test_every_school_owned_model_has_a_school_column():
    from app.models import Base

    owned = {"devices", "device_users", "groups", "commands", "installed_profiles", "enrollment_tokens"}
    for table in owned:
        assert "school_id" in Base.metadata.tables[table].columns, table
