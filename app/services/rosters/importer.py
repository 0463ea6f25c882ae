"""Teaching groups into Flokk classes: groups created or renamed, members replaced, all or nothing.

A class is a Flokk group (kind ``class``) with a ``RosterClass`` naming its
teaching group. A group of the same name that belongs to no class yet is
taken over (an ICT contact may have made "5A" and put the iPads in it). When a
class's teachers change, the teacher grants on it end at once; the teachers
still listed get theirs back at their next sign-in. A complete export also
ends the classes it no longer lists: their rosters go, the Flokk groups (with
their devices and settings) stay.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from app.errors import InvalidInput
from app.models.accounts import RoleGrant
from app.models.base import utcnow
from app.models.rosters import RosterClass, RosterMember, SchoolRoster
from app.models.tenancy import Group, GroupKind, School
from app.services import audit
from app.services.access import GROUP_ROLES, Permission, Principal, require
from app.services.rosters.roster_csv import TEACHER, RosterGroup

CSV, EXPORT, FEIDE = "csv", "export", "feide"


@dataclass
class ImportResult:
    classes: int = 0
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    ended: int = 0
    members: int = 0

    def summary(self) -> str:
        return (f"{self.classes} classes ({self.created} new, {self.changed} changed, {self.unchanged} unchanged, "
                f"{self.ended} no longer listed), {self.members} members")


def apply(
    session: Session,
    principal: Principal,
    school: School,
    groups: Sequence[RosterGroup],
    *,
    source: str,
    complete: bool,
) -> ImportResult:
    """Bring the school's classes in step with ``groups``; ``complete``: classes of this kind of source
    that ``groups`` does not list end. Raises InvalidInput (nothing changed) on a name clash.

    A handful of statements whatever the number of classes: new groups, new classes and member
    changes are each written in one batch."""
    require(principal, Permission.MANAGE, school.id)
    kind = FEIDE if source == FEIDE else CSV
    classes = {
        item.external_id: item
        for item in session.scalars(
            select(RosterClass).where(RosterClass.school_id == school.id)
            .options(selectinload(RosterClass.members), selectinload(RosterClass.group))
        )
    }
    by_name = {group.name.casefold(): group for group in session.scalars(select(Group).where(Group.school_id == school.id))}
    linked = {item.group_id: external_id for external_id, item in classes.items()}
    _check_names(groups, classes, by_name, linked)
    result = ImportResult(classes=len(groups), members=sum(len(incoming.members) for incoming in groups))
    now = utcnow()
    fresh = [incoming for incoming in groups if incoming.external_id not in classes]
    made = [Group(school_id=school.id, name=incoming.name, kind=GroupKind.CLASS)
            for incoming in fresh if incoming.name.casefold() not in by_name]
    session.add_all(made)
    session.flush()
    for group in made:
        by_name[group.name.casefold()] = group
        audit.record(session, principal, "group.create", school_id=school.id, target=group,
                     details={"name": group.name, "kind": group.kind, "source": source})
    new_classes = [RosterClass(school_id=school.id, group_id=by_name[incoming.name.casefold()].id,
                               external_id=incoming.external_id, source=kind, synced_at=now) for incoming in fresh]
    session.add_all(new_classes)
    session.flush()
    classes.update((item.external_id, item) for item in new_classes)
    result.created = len(new_classes)
    fresh_ids = {incoming.external_id for incoming in fresh}
    teachers_changed: list[RosterClass] = []
    for incoming in groups:
        found = classes[incoming.external_id]
        is_new = incoming.external_id in fresh_ids
        renamed = not is_new and found.group.name != incoming.name
        if renamed:
            found.group.name = incoming.name
        found.source, found.synced_at = kind, now
        members_changed, teachers = _replace_members(session, found, incoming, is_new=is_new)
        if teachers and not is_new:
            teachers_changed.append(found)
        if not is_new:
            if members_changed or renamed:
                result.changed += 1
            else:
                result.unchanged += 1
    session.flush()
    for incoming in groups:  # members were written by class id: reload the collections when next read
        session.expire(classes[incoming.external_id], ["members"])
    _end_teacher_grants(session, principal, teachers_changed, reason="the class's teachers changed")
    if complete:
        wanted = {incoming.external_id for incoming in groups}
        ended = [found for external_id, found in classes.items() if external_id not in wanted and found.source == kind]
        _end_teacher_grants(session, principal, ended, reason="the class is no longer in the export")
        for found in ended:
            session.delete(found)
        result.ended = len(ended)
    session.flush()
    _record(session, school, source, result.summary(), failed=False)
    audit.record(session, principal, "roster.import", school_id=school.id, target=("school", school.code),
                 details={"source": source, "classes": result.classes, "created": result.created,
                          "changed": result.changed, "ended": result.ended, "members": result.members})
    return result


def record_failure(session: Session, school: School, source: str, message: str) -> None:
    """Note a failed import on the school (in a unit of work of its own: the failed one rolls back)."""
    _record(session, school, source, message, failed=True)


def _record(session: Session, school: School, source: str, outcome: str, *, failed: bool) -> None:
    link = session.scalar(select(SchoolRoster).where(SchoolRoster.school_id == school.id))
    if link is None:
        link = SchoolRoster(school_id=school.id)
        session.add(link)
    link.last_import_at, link.last_import_source = utcnow(), source
    link.last_import_outcome, link.last_import_failed = outcome[:2000], failed
    session.flush()


def _check_names(
    groups: Sequence[RosterGroup], classes: dict[str, RosterClass], by_name: dict[str, Group], linked: dict[int, str]
) -> None:
    """Refuse, before changing anything, a name that a group of another class (or another incoming class) has."""
    problems: dict[str, list[str]] = {}
    seen: dict[str, str] = {}
    for incoming in groups:
        key = incoming.name.casefold()
        where = f"line {incoming.line}" if incoming.line else incoming.external_id
        if key in seen and seen[key] != incoming.external_id:
            problems.setdefault(where, []).append(f"the name {incoming.name!r} is given to two classes")
            continue
        seen[key] = incoming.external_id
        holder = by_name.get(key)
        if holder is None:
            continue
        owner = linked.get(holder.id)
        if owner is not None and owner != incoming.external_id:
            problems.setdefault(where, []).append(
                f"the school has a class {holder.name!r} already, made from group {owner!r}")
        elif owner is None and incoming.external_id in classes:
            problems.setdefault(where, []).append(
                f"class {incoming.external_id!r} cannot be renamed to {incoming.name!r}: the school has a group of that name")
    if problems:
        count = sum(len(items) for items in problems.values())
        raise InvalidInput(f"nothing was imported: {count} class name(s) clash with the school's groups", details=problems)


def _replace_members(session: Session, found: RosterClass, incoming: RosterGroup, *, is_new: bool) -> tuple[bool, bool]:
    """Make the class's members those of ``incoming`` (written at the next flush);
    (whether anything changed, whether the teachers did)."""
    current = {} if is_new else {member.person_id: member for member in found.members}
    wanted = {person.person_id: person for person in incoming.members}
    teachers_before = {person_id for person_id, member in current.items() if member.role == TEACHER}
    teachers_after = {person_id for person_id, person in wanted.items() if person.role == TEACHER}
    changed = False
    for person_id, member in current.items():
        if person_id not in wanted:
            session.delete(member)
            changed = True
    for person_id, person in wanted.items():
        member = current.get(person_id)
        if member is None:
            session.add(RosterMember(school_id=found.school_id, class_id=found.id, person_id=person_id,
                                     name=person.name[:200], role=person.role))
            changed = True
        elif (member.name, member.role) != (person.name[:200], person.role):
            member.name, member.role = person.name[:200], person.role
            changed = True
    return changed, teachers_before != teachers_after


def _end_teacher_grants(session: Session, principal: Principal, found: Sequence[RosterClass], *, reason: str) -> None:
    """End the teacher grants on these classes now (one statement); teachers still listed get theirs back at sign-in."""
    if not found:
        return
    by_group = {item.group_id: item for item in found}
    ended = session.execute(
        delete(RoleGrant).where(RoleGrant.group_id.in_(sorted(by_group)), RoleGrant.role.in_(sorted(GROUP_ROLES)))
        .returning(RoleGrant.group_id)
    ).scalars().all()
    for group_id in sorted(set(ended)):
        audit.record(session, principal, "grant.remove", school_id=by_group[group_id].school_id, target=("group", group_id),
                     details={"role": "teacher", "grants": ended.count(group_id), "reason": reason})
