"""A school's class export uploaded by its ICT contact or central IT (CLI, dashboard, API)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.services.access import Permission, Principal, require
from app.services.fleet.schools import get_school_by_code
from app.services.rosters import importer, roster_csv

#: The largest export accepted (about 60,000 member lines).
MAX_BYTES = 4 * 1024 * 1024


def import_csv(session: Session, principal: Principal, school_code: str, data: bytes | str) -> importer.ImportResult:
    """Import a complete export of the school's teaching groups: all or nothing (RosterFileError names the lines)."""
    school = get_school_by_code(session, principal, school_code)
    require(principal, Permission.MANAGE, school.id)
    if len(data) > MAX_BYTES:
        raise roster_csv.RosterFileError(f"nothing was imported: the roster file is larger than {MAX_BYTES // (1024 * 1024)} MB")
    groups = roster_csv.parse(data)
    return importer.apply(session, principal, school, groups, source=importer.CSV, complete=True)
