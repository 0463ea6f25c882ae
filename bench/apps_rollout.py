"""Benchmark: one required app for 50,000 iPads; how long until every licence is assigned and every install queued?

Builds a municipality on PostgreSQL (a fresh schema, dropped afterwards):
100 schools of 5 classes, 100 enrolled iPads per class, and a fake Apps and
Books (``tests/fakes/apps_and_books.py``, HTTPS on 127.0.0.1, enforcing
Apple's 15 requests a second) whose location owns 60,000 licences of the exam
app. Flokk imports the token and syncs. Then, timed:

1. central IT makes the exam app required in the baseline (the same service
   the CLI uses, one unit of work): 50,000 licence rows wanted, each iPad
   asked for its ManagedApplicationList;
2. one round of the licence worker: associations in Apple's batch size
   (``maxSerialNumbers``, 1,000 serial numbers a request), each event
   polled, and the 50,000 iPads reconciled: an InstallApplication each.

Expected: 50 associate requests, 50,000 serial numbers assigned at the fake,
50,000 InstallApplication commands; a second reconciliation queues nothing.
Target: under 60 s.

    python bench/apps_rollout.py [--devices 50000] [--database-url postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.db import Database  # noqa: E402
from app.models import Command  # noqa: E402
from app.models.apps import AppLicence  # noqa: E402
from app.services.access import cli_principal  # noqa: E402
from app.services.apps import catalogue, connection, licences, settings  # noqa: E402
from app.services.pki import certificate_authority  # noqa: E402
from app.services.policy.reconciler import Scope, reconcile_scope  # noqa: E402
from bench.throwaway import DEFAULT_URL, add_municipality, migrated_database  # noqa: E402
from tests.fakes import pki  # noqa: E402
from tests.fakes.apps_and_books import FakeAppsAndBooks, FakeAsset, make_token  # noqa: E402

SCHOOLS, CLASSES = 100, 5
EXAM_APP = "361304891"


def build(db: Database, devices: int) -> int:
    with db.unit_of_work() as session:
        organisation = add_municipality(session, "Benchmark kommune", devices, schools=SCHOOLS, classes=CLASSES)
        certificate_authority.ensure_ca(session, cli_principal(), organisation.name)
    return devices // (SCHOOLS * CLASSES) * SCHOOLS * CLASSES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=50_000)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--profile", action="store_true", help="Print where the timed roll-out spends its time.")
    args = parser.parse_args()

    ca = pki.make_ca("Benchmark Apps and Books CA")
    server = pki.issue(ca, "localhost", server_names=("127.0.0.1",))
    ca_file = Path(tempfile.mkdtemp()) / "ca.pem"
    ca_file.write_bytes(ca.cert_pem)
    os.environ["SSL_CERT_FILE"] = str(ca_file)  # Flokk trusts the fake as it would trust a proxy's CA
    with FakeAppsAndBooks(server_cert_pem=server.cert_pem, server_key_pem=server.key_pem,
                          max_requests_per_second=15) as fake, \
            migrated_database(args.database_url, apps_url=fake.api_url, apps_lookup_url=fake.lookup_url) as db:
        token = make_token()
        place = fake.add_location(token, name="Benchmark skoler")
        fake.add_asset(place, FakeAsset(EXAM_APP, "Numbers", "com.apple.Numbers", total=60_000))
        fake.deliver = lambda url, headers, body: 503  # no notifications: Flokk polls
        started = time.perf_counter()
        devices = build(db, args.devices)
        with db.unit_of_work() as session:
            connection.import_token(session, cli_principal(), token)
            catalogue.sync(session, cli_principal())
        print(f"set-up: {devices} enrolled iPads, token imported and synced in {time.perf_counter() - started:.1f} s")

        profiler = cProfile.Profile() if args.profile else None
        if profiler:
            profiler.enable()
        started = time.perf_counter()
        with db.unit_of_work() as session:
            change = settings.set_app(session, cli_principal(), "baseline", EXAM_APP, "required", lock=True)
        policy_seconds = time.perf_counter() - started
        fake.log.clear()
        with db.unit_of_work() as session:
            round_ = licences.process(session)
        total = time.perf_counter() - started
        if profiler:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)

        associate_requests = fake.requests_to("assets/associate")
        batch_sizes = sorted({len(body["serialNumbers"]) for body in associate_requests})
        assigned = sum(1 for adam, _, _ in place.assignments if adam == EXAM_APP)
        with db.session() as session:
            installs = session.scalar(select(func.count()).select_from(Command).where(Command.request_type == "InstallApplication"))
            associated = session.scalar(select(func.count()).select_from(AppLicence).where(AppLicence.state == "associated"))
        print(f"policy change (licence intents, {change.report.queued} ManagedApplicationList queries queued): "
              f"{policy_seconds:.1f} s; phases: "
              + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in change.report.timings.items()))
        print(f"licence round: {len(associate_requests)} associate requests (batch sizes {batch_sizes}), "
              f"{round_.requests} requests to Apple in all, {round_.assigned} licences assigned, "
              f"{round_.queued} commands queued for {round_.devices_reconciled} iPads: {total - policy_seconds:.1f} s")
        print(f"one required app for {devices} iPads: {total:.1f} s "
              f"(licences at Apple: {assigned}, associated in Flokk: {associated}, InstallApplication: {installs})")

        started = time.perf_counter()
        with db.unit_of_work() as session:
            again = reconcile_scope(session, cli_principal(), Scope())
        print(f"second reconciliation of {again.devices} iPads: {time.perf_counter() - started:.1f} s, "
              f"{again.queued} commands queued (expected 0)")
    ok = (installs == devices == assigned == associated and again.queued == 0
          and len(associate_requests) == -(-devices // 1000) and batch_sizes[-1] <= 1000)
    print("OK" if ok else "MISMATCH")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
