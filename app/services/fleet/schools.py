"""Organisations and schools: created and listed by central IT, seen by school admins."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import Conflict, InvalidInput, NotFound
from app.models.tenancy import Organisation, School
from app.services import audit
from app.services.access import Permission, Principal, require_central, scoped


def ensure_organisation(session: Session, name: str) -> Organisation:
    organisation = session.scalar(select(Organisation).where(Organisation.name == name))
    if organisation is None:
        organisation = Organisation(name=name)
        session.add(organisation)
        session.flush()
    return organisation


def organisation_for(session: Session, name: str | None) -> Organisation:
    if name is not None:
        organisation = session.scalar(select(Organisation).where(Organisation.name == name))
        if organisation is None:
            raise NotFound(f"no organisation named {name!r}")
        return organisation
    organisations = list(session.scalars(select(Organisation).limit(2)))
    if not organisations:
        raise InvalidInput("there is no organisation yet: run `flokk init` first")
    if len(organisations) > 1:
        raise InvalidInput("several organisations exist: say which one the school belongs to")
    return organisations[0]


def create_school(
    session: Session, principal: Principal, *, name: str, code: str, organisation: str | None = None
) -> School:
    require_central(principal)
    code = code.lower()
    name = name.strip()
    if session.scalar(select(func.count()).select_from(School).where(School.code == code)):
        raise Conflict(f"a school with code {code!r} already exists")
    school = School(name=name, code=code, organisation=organisation_for(session, organisation))
    session.add(school)
    session.flush()
    audit.record(session, principal, "school.create", school_id=school.id, target=school, details={"code": code})
    return school


def list_schools(session: Session, principal: Principal) -> list[School]:
    return list(session.scalars(scoped(School, principal, Permission.VIEW).order_by(School.code)))


def get_school_by_code(session: Session, principal: Principal, code: str) -> School:
    school = session.scalar(scoped(School, principal, Permission.VIEW).where(School.code == code.lower()))
    if school is None:
        raise NotFound(f"no school with code {code!r}")
    return school
