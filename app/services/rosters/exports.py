"""Scheduler job: import the class exports schools' administrative systems drop in FLOKK_ROSTER_EXPORT_DIR.

One file per school, named by its code (``nordby.csv``). A file is read when
it changed since the last run; each school's import is all or nothing on its
own (a bad file is noted on the school and in the log, the others go on), so
the classes stay in step with the administrative system without anyone
uploading anything.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import context
from app.errors import FlokkError
from app.models.rosters import SchoolRoster
from app.models.tenancy import School
from app.services.access import system_principal
from app.services.rosters import importer, roster_csv, school_roster
from app.services.rosters.uploads import MAX_BYTES

log = logging.getLogger("flokk.rosters")


def import_exports(session: Session) -> int:
    """Import every changed export; the number of schools imported."""
    folder = context(session).settings.roster_export_dir
    if folder is None or not folder.is_dir():
        return 0
    principal = system_principal("rosters")
    imported = 0
    for path in sorted(folder.glob("*.csv")):
        school = session.scalar(select(School).where(School.code == path.stem.lower()))
        if school is None:
            log.warning("roster export %s names no school", path.name)
            continue
        stat = path.stat()
        link = school_roster(session, school.id)
        if link is not None and link.export_mtime_ns == stat.st_mtime_ns:
            continue
        try:
            if stat.st_size > MAX_BYTES:
                raise roster_csv.RosterFileError(f"the export is larger than {MAX_BYTES} bytes")
            with session.begin_nested():
                result = importer.apply(session, principal, school, roster_csv.parse(path.read_bytes()),
                                        source=importer.EXPORT, complete=True)
            imported += 1
            log.info("imported the class export of %s: %s", school.code, result.summary())
        except (FlokkError, OSError) as error:
            log.warning("the class export of %s was not imported: %s", school.code, error)
            importer.record_failure(session, school, importer.EXPORT, str(error))
        link = school_roster(session, school.id) or SchoolRoster(school_id=school.id)
        link.export_mtime_ns = stat.st_mtime_ns
        session.add(link)
        session.flush()
    return imported
