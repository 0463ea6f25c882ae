"""Benchmark: sync 20,000 Chromebooks from Google into Flokk; target under 60 s.

Starts the fake Google (tests/fakes/google.py) in its own process over HTTPS
with 20,000 Chromebooks in three organisational units, connects a fresh
Flokk on PostgreSQL (a throw-away schema) through the same services the CLI
uses, maps the units to three schools and times:

1. the first (full) sync: 100 pages of 200, every device inserted, a commit per page;
2. a second full sync of the unchanged fleet (every device read and matched);
3. an incremental sync (devices that synced with Google since the last run).

    python bench/google_sync.py [--devices 20000] [--database-url postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.db import Database, commit  # noqa: E402
from app.models import Device, Organisation, School  # noqa: E402
from app.services.access import cli_principal  # noqa: E402
from app.services.google import connection, inventory, org_units  # noqa: E402
from bench.throwaway import DEFAULT_URL, migrated_database  # noqa: E402

UNITS = ("Nordby", "Sorby", "Vestby")


def start_fake(devices: int, folder: Path) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([sys.executable, "-m", "tests.fakes.google", "--devices", str(devices), "--dir", str(folder)],
                               stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1])
    url = process.stdout.readline().strip()
    if not url.startswith("https://"):
        process.terminate()
        raise SystemExit(f"the fake Google did not start: {url!r}")
    return process, url


def run(db: Database, key: bytes) -> None:
    principal = cli_principal()
    with db.unit_of_work() as session:
        organisation = Organisation(name="Benchmark kommune")
        session.add(organisation)
        session.flush()
        session.execute(insert(School), [{"organisation_id": organisation.id, "name": f"{name} skole", "code": name.lower()}
                                         for name in UNITS])
    with db.unit_of_work() as session:
        connection.connect(session, principal, key, "it@bergvik.no", parent_ou="/Skoler")
    with db.unit_of_work() as session:
        for name in UNITS:
            org_units.map_unit(session, principal, name.lower(), f"/Skoler/{name}")
    for label, full in (("first sync (full, all new)", True), ("second sync (full, unchanged)", True),
                        ("incremental sync", False)):
        started = time.perf_counter()
        with db.unit_of_work() as session:
            report = inventory.sync(session, principal, full=full, checkpoint=lambda: commit(session))
        elapsed = time.perf_counter() - started
        print(f"{label:32} {elapsed:6.1f} s  {report.summary()}  ({report.seen / elapsed:,.0f} Chromebooks/s)")
    with db.session() as session:
        count = session.scalar(select(func.count()).select_from(Device).where(Device.platform == "chromeos"))
        per_school = dict(session.execute(select(School.code, func.count()).join(Device, Device.school_id == School.id)
                                          .group_by(School.code)).all())
    print(f"Chromebooks in Flokk: {count} {per_school}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=20_000)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="flokk-bench-google-"))
    process, url = start_fake(args.devices, folder)
    try:
        os.environ["SSL_CERT_FILE"] = str(folder / "ca.pem")  # trust the fake Google, as production trusts Google
        key = (folder / "key.json").read_bytes()
        json.loads(key)
        with migrated_database(args.database_url) as db:
            settings = db.settings.replace(google_admin_url=url, google_policy_url=url)
            db = Database(settings)
            try:
                run(db, key)
            finally:
                db.dispose()
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    main()
