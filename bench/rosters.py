"""Benchmark: class rosters and the teacher's scope on a municipality-sized fleet (PostgreSQL).

Builds 100 schools of 50 classes with 10 iPads each (50,000 iPads) and 4
finished commands per iPad (200,000), then times:

* importing one school's export: 30 teaching groups of 26 members, again
  unchanged, and a large school of 150 groups;
* a teacher's device list and command list (their class of 10 iPads, through
  the choke point's class scope), next to a school ICT contact's;
* Apple Classroom for a class: 11 fresh identities from Flokk's CA, 11 signed profiles queued.

    python bench/rosters.py [--database-url postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.models import Command, Device, Group, Organisation, School  # noqa: E402
from app.models.base import utcnow  # noqa: E402
from app.services.access import Grant, Principal, Role, cli_principal, scoped  # noqa: E402
from app.services.fleet import devices  # noqa: E402
from app.services.pki import certificate_authority  # noqa: E402
from app.services.rosters import classroom, uploads  # noqa: E402
from bench.throwaway import DEFAULT_URL, migrated_database  # noqa: E402

SCHOOLS, CLASSES, PER_CLASS, COMMANDS_PER_DEVICE = 100, 50, 10, 4


def export(groups: int, members: int = 26) -> str:
    lines = ["group_id,group_name,feide_id,member_name,role\n"]
    for number in range(groups):
        group_id = f"fc:gogroup:bench.kommune.no:u:NO975278964:{number}-matte:2026-08-01:2027-06-30"
        lines.append(f"{group_id},Matte {number},laerer{number}@bench.no,Lærer,teacher\n")
        lines.extend(f"{group_id},Matte {number},elev{number}-{n}@bench.no,Elev,student\n" for n in range(members - 1))
    return "".join(lines)


def timed(label: str, work) -> object:
    started = time.perf_counter()
    result = work()
    print(f"{label}: {time.perf_counter() - started:.3f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    args = parser.parse_args()
    principal = cli_principal()
    with migrated_database(args.database_url) as db:
        started = time.perf_counter()
        with db.unit_of_work() as session:
            organisation = Organisation(name="Bench kommune")
            session.add(organisation)
            session.flush()
            certificate_authority.ensure_ca(session, principal, organisation.name)
            session.execute(insert(School), [{"organisation_id": organisation.id, "name": f"Skole {n}", "code": f"s{n:03d}"}
                                             for n in range(SCHOOLS)])
            schools = list(session.scalars(select(School.id).order_by(School.id)))
            session.execute(insert(Group), [{"school_id": s, "name": f"Klasse {c}", "kind": "class"} for s in schools for c in range(CLASSES)])
            groups = session.execute(select(Group.id, Group.school_id).order_by(Group.id)).all()
            now = utcnow()
            session.execute(insert(Device), [
                {"school_id": school_id, "group_id": group_id, "platform": "ipados", "udid": uuid.uuid4().hex,
                 "serial_number": f"S{group_id:05d}{n:02d}", "enrollment_state": "enrolled", "enrolled_at": now}
                for group_id, school_id in groups for n in range(PER_CLASS)
            ])
            rows = session.execute(select(Device.id, Device.school_id)).all()
            for start in range(0, len(rows), 10_000):
                session.execute(insert(Command), [
                    {"uuid": str(uuid.uuid4()).upper(), "school_id": school_id, "device_id": device_id, "request_type": "ProfileList",
                     "body": b"<plist/>", "status": "acknowledged", "created_by": "bench", "created_at": now, "completed_at": now,
                     "expires_at": now}
                    for device_id, school_id in rows[start : start + 10_000] for _ in range(COMMANDS_PER_DEVICE)
                ])
        print(f"built {len(rows)} iPads, {len(rows) * COMMANDS_PER_DEVICE} commands in {time.perf_counter() - started:.1f} s")

        with db.unit_of_work() as session:
            result = timed("import 30 teaching groups x 26 members", lambda: uploads.import_csv(session, principal, "s001", export(30)))
            print(f"  {result.summary()}")
        with db.unit_of_work() as session:
            result = timed("import the same export again", lambda: uploads.import_csv(session, principal, "s001", export(30)))
            print(f"  {result.summary()}")
        with db.unit_of_work() as session:
            timed("import 150 teaching groups x 26 members", lambda: uploads.import_csv(session, principal, "s002", export(150)))

        with db.unit_of_work() as session:
            school_id, group_id = session.execute(select(Group.school_id, Group.id).where(Group.name == "Klasse 7").limit(1)).one()
            teacher = Principal("admin", 1, "teacher", (Grant(Role.TEACHER, school_id, group_id),))
            ict = Principal("admin", 2, "ict", (Grant(Role.SCHOOL_ICT, school_id),))
            for label, who in (("teacher", teacher), ("school ICT", ict)):
                page = timed(f"{label}: device list (first page)",
                             lambda who=who: devices.search_devices(session, who, devices.DeviceFilter(), limit=100))
                print(f"  {page.total} devices")
                count = timed(f"{label}: count commands in scope",
                              lambda who=who: session.scalar(scoped(Command, who).with_only_columns(func.count()).order_by(None)))
                print(f"  {count} commands")

        with db.unit_of_work() as session:
            from app.models.rosters import RosterClass

            found = session.scalar(select(RosterClass).where(RosterClass.school_id == session.scalar(
                select(School.id).where(School.code == "s001"))).limit(1))
            extra = Device(school_id=found.school_id, platform="ipados", udid=uuid.uuid4().hex, serial_number="TEACHER1",
                           enrollment_state="enrolled", enrolled_at=utcnow())
            session.add(extra)
            session.execute(Device.__table__.update().where(Device.school_id == found.school_id, Device.group_id.is_not(None))
                            .where(Device.id.in_(select(Device.id).where(Device.school_id == found.school_id).limit(10)))
                            .values(group_id=found.group_id))
            session.flush()
            done = timed("Classroom for a class (identities, profiles, queue)",
                         lambda: classroom.install(session, principal, found.group_id, teacher_device_id=extra.id))
            print(f"  leader + {len(done.member_device_ids)} members")


if __name__ == "__main__":
    main()
