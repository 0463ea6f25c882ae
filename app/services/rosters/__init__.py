"""Classes from teaching groups: a school's link to Feide, class rosters, and Apple Classroom.

Central IT links a school to its Feide organisation unit. The school's classes
come from its teaching groups: an export of the school's administrative system
(``roster_csv``; uploaded, or dropped in ``FLOKK_ROSTER_EXPORT_DIR`` for the
scheduler, ``exports``), or the signed-in ICT contact's own view of Feide's
Groups API (``feide_import``). ``importer`` turns them into Flokk groups with
their members, all or nothing. Teachers of a class get the ``teacher`` role
scoped to it at sign-in (``app.services.access.sso_rules``); ``classroom``
compiles the class's Apple Classroom (``com.apple.education``) profiles.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.errors import InvalidInput, NotFound
from app.models.rosters import RosterClass, SchoolRoster
from app.services import audit
from app.services.access import Permission, Principal, require, require_central, scoped
from app.services.fleet.schools import get_school_by_code
from mdm_protocol import feide


def school_roster(session: Session, school_id: int) -> SchoolRoster | None:
    return session.scalar(select(SchoolRoster).where(SchoolRoster.school_id == school_id))


def link_feide(session: Session, principal: Principal, school_code: str, org_unit: str | None) -> SchoolRoster:
    """Central IT names the school's Feide organisation unit (``fc:org:<realm>:unit:<number>``); None unlinks."""
    require_central(principal)
    school = get_school_by_code(session, principal, school_code)
    if org_unit is not None:
        org_unit = org_unit.strip()
        if feide.school_of(org_unit) is None:
            raise InvalidInput(f"{org_unit[:80]!r} is not a Feide school id",
                               details={"feide_org_unit": ["Write it as fc:org:<realm>:unit:<organisation number>."]})
        taken = session.scalar(select(SchoolRoster).where(SchoolRoster.feide_org_unit == org_unit,
                                                          SchoolRoster.school_id != school.id))
        if taken is not None:
            raise InvalidInput(f"{org_unit} is linked to another school already",
                               details={"feide_org_unit": ["Another school has this organisation unit."]})
    link = school_roster(session, school.id) or SchoolRoster(school_id=school.id)
    before = link.feide_org_unit
    link.feide_org_unit = org_unit
    session.add(link)
    session.flush()
    audit.record(session, principal, "roster.link_feide", school_id=school.id, target=("school", school.code),
                 details={"from": before, "to": org_unit})
    return link


def describe_school(session: Session, principal: Principal, school_code: str) -> tuple[SchoolRoster | None, list[RosterClass]]:
    """The school's link and its roster classes (with members), for those who see the school."""
    school = get_school_by_code(session, principal, school_code)
    require(principal, Permission.VIEW, school.id)
    classes = session.scalars(
        select(RosterClass).where(RosterClass.school_id == school.id).options(selectinload(RosterClass.group))
        .order_by(RosterClass.id)
    )
    return school_roster(session, school.id), list(classes)


def class_of_group(session: Session, principal: Principal, group_id: int) -> RosterClass:
    """A group's roster (its class), through the access check on the group (a teacher sees their own class)."""
    from app.models.tenancy import Group

    group = session.scalar(scoped(Group, principal).where(Group.id == group_id))
    if group is None:
        raise NotFound(f"no group {group_id}")
    found = session.scalar(
        select(RosterClass).where(RosterClass.group_id == group.id).options(selectinload(RosterClass.members))
    )
    if found is None:
        raise NotFound(f"group {group.name} has no class roster")
    return found


def member_counts(session: Session, class_ids: list[int]) -> dict[int, dict[str, int]]:
    from app.models.rosters import RosterMember

    counts: dict[int, dict[str, int]] = {}
    if not class_ids:
        return counts
    rows = session.execute(
        select(RosterMember.class_id, RosterMember.role, func.count())
        .where(RosterMember.class_id.in_(class_ids))
        .group_by(RosterMember.class_id, RosterMember.role)
    )
    for class_id, role, count in rows:
        counts.setdefault(class_id, {})[role] = count
    return counts


def group_ids_with_class(session: Session, group_ids: list[int]) -> set[int]:
    """Which of these groups (already loaded through the access check) are classes with a roster."""
    if not group_ids:
        return set()
    return set(session.scalars(select(RosterClass.group_id).where(RosterClass.group_id.in_(group_ids))))


def find_class(session: Session, principal: Principal, reference: str) -> RosterClass:
    """A class named ``SCHOOLCODE/CLASSNAME`` (the CLI), through the access check on its group."""
    from app.models.tenancy import Group

    code, slash, name = reference.partition("/")
    if not slash or not name:
        raise InvalidInput("name a class as SCHOOLCODE/CLASSNAME")
    school = get_school_by_code(session, principal, code)
    group = session.scalar(scoped(Group, principal).where(Group.school_id == school.id, Group.name == name))
    if group is None:
        raise NotFound(f"no class {name!r} in school {school.code}")
    return class_of_group(session, principal, group.id)
