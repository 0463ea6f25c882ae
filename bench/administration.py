"""How the administration side scales: scoped device search, the audit log, a bulk approval.

Run: ``python bench/administration.py [SCHOOLS] [DEVICES_PER_SCHOOL] [EVENTS]``
(default 100 × 500 = 50,000 iPads and 200,000 audit events; SQLite in a
temporary folder, in-process Flask test client, API tokens of a school ICT
contact and of central IT). Set ``FLOKK_BENCH_DATABASE_URL`` to run it on PostgreSQL
(an empty database). Prints the median and 95th percentile per request.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import create_app, migrate  # noqa: E402
from app.config import Settings  # noqa: E402
from app.models import AuditEvent, Device, School  # noqa: E402
from app.models.base import utcnow  # noqa: E402
from app.services import schools  # noqa: E402
from app.services.access import Role, cli_principal  # noqa: E402
from tests.support import people  # noqa: E402


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def timed(label: str, call, repeat: int = 20) -> None:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = call()
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code < 300, (label, response.status_code, response.get_data(as_text=True)[:300])
    print(f"{label:58} median {statistics.median(times):7.1f} ms   p95 {percentile(times, 0.95):7.1f} ms")


def main(school_count: int, per_school: int, event_count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        url = os.environ.get("FLOKK_BENCH_DATABASE_URL") or f"sqlite:///{data / 'flokk.sqlite3'}"
        settings = Settings(data_dir=data, database_url=url, public_url="https://mdm.example.org",
                            secret_key="bench-secret-key-0123456789abcdef0123", approval_bulk_threshold=100)
        app = create_app(settings)
        db = app.extensions["flokk"].db
        migrate.upgrade(db.engine)
        started = time.perf_counter()
        with db.unit_of_work() as session:
            schools.ensure_organisation(session, "Bench kommune")
            for number in range(school_count):
                schools.create_school(session, cli_principal(), name=f"School {number}", code=f"s{number:03d}")
        with db.unit_of_work() as session:
            school_ids = list(session.scalars(select(School.id).order_by(School.id)))
            rows = [
                {"school_id": school_id, "platform": "ipados", "udid": f"UDID-{school_id:03d}-{n:05d}",
                 "serial_number": f"SER{school_id:03d}{n:05d}", "name": f"iPad {n}", "enrollment_state": "enrolled",
                 "supervised": True, "inventory": {}}
                for school_id in school_ids for n in range(per_school)
            ]
            for start in range(0, len(rows), 5000):
                session.execute(insert(Device), rows[start:start + 5000])
            now = utcnow()
            events = [
                {"occurred_at": now - dt.timedelta(seconds=n), "actor": "admin:bench", "action": "command.queue",
                 "outcome": "success", "school_id": school_ids[n % len(school_ids)], "details": {"devices": 1}}
                for n in range(event_count)
            ]
            for start in range(0, len(events), 10000):
                session.execute(insert(AuditEvent), events[start:start + 10000])
            first = school_ids[0]
            ict = people.api_token(session, [(Role.SCHOOL_ICT, first)], name="ict")
            central = people.api_token(session, [(Role.CENTRAL_ADMIN, None)], name="central")
            approver = people.api_token(session, [(Role.CENTRAL_ADMIN, None)], name="approver")
            auditor = people.api_token(session, [(Role.AUDITOR, first)], name="auditor")
            first_devices = list(session.scalars(select(Device.id).where(Device.school_id == first)))
        print(f"{school_count} schools, {school_count * per_school} devices, {event_count} audit events "
              f"({time.perf_counter() - started:.1f} s to load) on {db.engine.dialect.name}")
        client = app.test_client()

        def get(token, path):
            return lambda: client.get(path, headers=people.bearer(token))

        timed("ICT contact: GET /devices (first page of their school)", get(ict, "/api/v1/devices"))
        timed("ICT contact: GET /devices?search=SER000001", get(ict, "/api/v1/devices?search=SER000001"))
        timed("central: GET /devices (first page of all, with total)", get(central, "/api/v1/devices"))
        timed("central: GET /devices?search=SER050004", get(central, "/api/v1/devices?search=SER050004"))
        timed("central: GET /devices?school=s050", get(central, "/api/v1/devices?school=s050"))
        timed("school auditor: GET /audit (newest 100 of their school)", get(auditor, "/api/v1/audit"))
        timed("central: GET /audit?action=approval. (none match)", get(central, "/api/v1/audit?action=approval."))
        timed("school auditor: GET /audit/export.csv (their school)", get(auditor, "/api/v1/audit/export.csv?school=s000"), repeat=3)
        sent = client.post("/api/v1/commands", headers=people.bearer(ict),
                           json={"request_type": "ProfileList", "device_ids": first_devices, "reason": "inventory of the school"})
        assert sent.status_code == 202, sent.json
        started = time.perf_counter()
        approved = client.post(f"/api/v1/approvals/{sent.json['approval']['id']}/approve", headers=people.bearer(approver), json={})
        assert approved.status_code == 200, approved.json
        print(f"{'bulk approval: queue ProfileList for ' + str(len(first_devices)) + ' devices':58} "
              f"{(time.perf_counter() - started) * 1000:7.1f} ms")


if __name__ == "__main__":
    arguments = [int(value) for value in sys.argv[1:4]]
    defaults = [100, 500, 200_000]
    main(*(arguments + defaults[len(arguments):]))
