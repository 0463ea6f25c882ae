"""Benchmark: central IT's device list over 100,000 devices (PostgreSQL).

Builds 150 schools of 20 classes, 100,000 devices (iPads and Chromebooks,
several OS versions, seen at different times, some never), then asks the
dashboard's ``GET /devices`` as a central admin (through the Flask app: the
tenancy choke point, the query, the template) and as one school's ICT contact,
and prints for each page: the total shown, the server time (median and worst
of the repeats), and the SQL part alone (``devices.search_devices``).

    python bench/device_list.py [--database-url postgresql://postgres@127.0.0.1:5432/test] [--devices 100000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import create_app  # noqa: E402
from app.models import Device, Group, Organisation, School  # noqa: E402
from app.models.base import utcnow  # noqa: E402
from app.services.access import Role, principal_for_admin  # noqa: E402
from app.services.fleet import devices  # noqa: E402
from bench.throwaway import DEFAULT_URL, migrated_database  # noqa: E402
from tests.support import people  # noqa: E402

SCHOOLS, CLASSES, REPEATS = 150, 20, 15
VERSIONS = ("17.5", "17.6.1", "17.7", "18.0", "18.1", "16.7.10")


def seed(db, count: int) -> dict:
    now = utcnow()
    with db.unit_of_work() as session:
        organisation = Organisation(name="Bench kommune")
        session.add(organisation)
        session.flush()
        session.execute(insert(School), [{"organisation_id": organisation.id, "name": f"Skole {n}", "code": f"s{n:03d}"}
                                         for n in range(SCHOOLS)])
        schools = list(session.scalars(select(School.id).order_by(School.id)))
        session.execute(insert(Group), [{"school_id": s, "name": f"{c // 4 + 1}{'ABCD'[c % 4]}", "kind": "class"}
                                        for s in schools for c in range(CLASSES)])
        groups = session.execute(select(Group.id, Group.school_id).order_by(Group.id)).all()
        rows = []
        for n in range(count):
            group_id, school_id = groups[n % len(groups)]
            chromebook = n % 5 == 0
            rows.append({
                "school_id": school_id, "group_id": group_id if n % 7 else None,
                "platform": "chromeos" if chromebook else "ipados",
                "udid": None if chromebook else f"UDID-{n:08d}", "google_device_id": f"G-{n:08d}" if chromebook else None,
                "serial_number": f"S{n:09d}", "name": f"Elev-iPad {n * 7919 % count:06d}",
                "os_version": VERSIONS[n % len(VERSIONS)], "enrollment_state": "enrolled" if n % 11 else "pending",
                "supervised": n % 4 != 0, "enrolled_at": now,
                "last_seen_at": None if n % 13 == 0 else now - dt.timedelta(minutes=n * 37 % (60 * 24 * 90)),
                "inventory": {},
            })
        for start in range(0, len(rows), 10_000):
            session.execute(insert(Device), rows[start:start + 10_000])
        central = people.admin(session, [(Role.CENTRAL_ADMIN, None)])
        ict = people.admin(session, [(Role.SCHOOL_ICT, schools[17])])
    # A table in steady state: autovacuum has run (the visibility map lets a page of ids come from an index alone).
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE devices"))
    return {"central": central, "ict": ict}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--devices", type=int, default=100_000)
    args = parser.parse_args()
    with migrated_database(args.database_url) as db:
        started = time.perf_counter()
        admins = seed(db, args.devices)
        print(f"seeded {args.devices} devices in {SCHOOLS} schools: {time.perf_counter() - started:.1f} s")
        app = create_app(db.settings)
        cases = [
            ("central IT, first page", "central", {}),
            ("central IT, page 500 (offset 49,900)", "central", {"offset": "49900"}),
            ("central IT, last page", "central", {"offset": str(args.devices - 100)}),
            ("central IT, sorted by name", "central", {"sort": "name"}),
            ("central IT, sorted by last seen, newest first", "central", {"sort": "-last_seen"}),
            ("central IT, sorted by serial, page 20", "central", {"sort": "serial", "offset": "2000"}),
            ("central IT, iPads on 17.5, supervised", "central", {"platform": "ipados", "os_version": "17.5", "supervised": "yes"}),
            ("central IT, not seen for 30 days, by school", "central", {"not_seen_days": "30"}),
            ("central IT, one school", "central", {"school": "s042"}),
            ("central IT, search a serial", "central", {"search": "S000004242"}),
            ("ICT contact, own school", "ict", {}),
            ("ICT contact, own school by last seen", "ict", {"sort": "-last_seen"}),
        ]
        print(f"{'page':52} {'total':>8} {'median ms':>10} {'worst ms':>9} {'query ms':>9}")
        for label, who, params in cases:
            client = app.test_client()
            people.sign_in(client, admins[who])
            response = client.get("/devices", query_string=params)
            assert response.status_code == 200, response.status_code
            total = int(re.search(r"<h1>[^(]*\(([\d\s]+)\)</h1>", response.get_data(as_text=True)).group(1).replace(" ", ""))
            times = []
            for _ in range(REPEATS):
                began = time.perf_counter()
                client.get("/devices", query_string=params)
                times.append((time.perf_counter() - began) * 1000)
            query_times = []
            with db.session() as session:
                principal = principal_for_admin(session.get(type(admins[who]), admins[who].id))
                where = {key: value for key, value in params.items() if key not in ("offset", "sort")}
                if "supervised" in where:
                    where["supervised"] = where["supervised"] == "yes"
                if "not_seen_days" in where:
                    where["not_seen_days"] = int(where["not_seen_days"])
                for _ in range(REPEATS):
                    began = time.perf_counter()
                    devices.search_devices(session, principal, devices.DeviceFilter(**where), limit=100,
                                           offset=int(params.get("offset", 0)), sort=params.get("sort"))
                    query_times.append((time.perf_counter() - began) * 1000)
            print(f"{label:52} {total:>8} {statistics.median(times):>10.1f} {max(times):>9.1f} {statistics.median(query_times):>9.1f}")
        client = app.test_client()
        people.sign_in(client, admins["central"])
        began = time.perf_counter()
        exported = client.get("/devices.csv").get_data()
        lines = exported.count(b"\n") - 1
        print(f"CSV export of every device: {lines} rows, {len(exported) / 1e6:.1f} MB, "
              f"{time.perf_counter() - began:.2f} s")


if __name__ == "__main__":
    main()
