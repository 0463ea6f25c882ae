"""Small builders for rows tests need; each flushes and returns the object."""

from __future__ import annotations

import itertools

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Device, Group, Organisation, School
from app.models.base import utcnow
from app.models.devices import EnrollmentState, Platform

_numbers = itertools.count(1)


def organisation(session: Session, name: str = "Bergvik kommune") -> Organisation:
    found = session.scalar(select(Organisation).where(Organisation.name == name))
    if found:
        return found
    created = Organisation(name=name)
    session.add(created)
    session.flush()
    return created


def school(session: Session, code: str | None = None, name: str | None = None) -> School:
    number = next(_numbers)
    created = School(
        code=code or f"school{number}", name=name or f"School {number}", organisation=organisation(session)
    )
    session.add(created)
    session.flush()
    return created


def group(session: Session, school: School, name: str | None = None, kind: str = "class") -> Group:
    created = Group(school_id=school.id, name=name or f"Class {next(_numbers)}", kind=kind)
    session.add(created)
    session.flush()
    return created


def device(
    session: Session,
    school: School,
    *,
    platform: str = Platform.IPADOS,
    state: str = EnrollmentState.ENROLLED,
    group: Group | None = None,
    udid: str | None = None,
) -> Device:
    number = next(_numbers)
    created = Device(
        school_id=school.id,
        group_id=group.id if group else None,
        platform=platform,
        udid=udid or (f"UDID-{number:08d}" if platform != Platform.CHROMEOS else None),
        serial_number=f"SER{number:07d}",
        enrollment_state=state,
        enrolled_at=utcnow() if state == EnrollmentState.ENROLLED else None,
    )
    session.add(created)
    session.flush()
    return created
