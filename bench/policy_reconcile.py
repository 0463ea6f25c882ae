"""Benchmark: one baseline default changes for 50,000 iPads; how long until every command is queued?

Builds a municipality on PostgreSQL (a fresh schema, dropped afterwards):
100 schools of 5 classes, 100 supervised iPads per class, a baseline with a
locked restriction, a passcode default, a web filter and a Wi-Fi network, and
10 schools that override the passcode length. Every device starts converged
(its ProfileList matches the policy). Then central IT changes the baseline
passcode default, through the same service the CLI uses, in one unit of work:
save, resolve, compile, reconcile, queue, commit.

Expected: exactly one InstallProfile for each device in the 90 schools that
do not override the default, nothing else; a second reconciliation queues
nothing. Target: under 20 s.

    python bench/policy_reconcile.py [--devices 50000] [--database-url postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.db import Database  # noqa: E402
from app.models import Command, InstalledProfile  # noqa: E402
from app.models.base import utcnow  # noqa: E402
from app.services import policy  # noqa: E402
from app.services.access import cli_principal  # noqa: E402
from app.services.pki import certificate_authority
from app.services.policy.situations import cache_for, situations, situations_query  # noqa: E402
from app.services.policy.reconciler import Scope, reconcile_scope  # noqa: E402
from bench.throwaway import DEFAULT_URL, add_municipality, migrated_database  # noqa: E402
from profiles import Change  # noqa: E402

SCHOOLS, CLASSES, OVERRIDING = 100, 5, 10


def build(db: Database, devices: int) -> int:
    per_class = devices // (SCHOOLS * CLASSES)
    principal = cli_principal()
    with db.unit_of_work() as session:
        organisation = add_municipality(session, "Benchmark kommune", devices, schools=SCHOOLS, classes=CLASSES)
        certificate_authority.ensure_ca(session, principal, organisation.name)  # profiles are signed with it
        policy.change(session, principal, "baseline", [
            Change.set("restrictions", "allowCamera", False, lock=True),
            Change.set("restrictions", "allowAppRemoval", False),
            Change.set("passcode", "minLength", 6),
            Change.set("passcode", "maxInactivity", 5),
            Change.set("webfilter", "AutoFilterEnabled", True),
            Change.lock_it("webfilter"),
            Change.set("wifi:eduroam", "SSID_STR", "eduroam"),
            Change.set("wifi:eduroam", "EncryptionType", "WPA2"),
        ])
        for n in range(OVERRIDING):
            policy.change(session, principal, f"school:s{n:03d}", [Change.set("passcode", "minLength", 8)])
        session.execute(Command.__table__.delete())
        converge(session, organisation.id)
    return per_class * SCHOOLS * CLASSES


def converge(session, organisation_id: int) -> None:
    """Every device reports exactly its desired profiles, as after a ProfileList."""
    from app.models.policy import PolicyDelivery

    session.execute(PolicyDelivery.__table__.delete())
    cache = cache_for(session, organisation_id)
    now = utcnow()
    rows = []
    for device in situations(session, situations_query()):
        _, compiled = cache.policy(device)
        rows.extend(
            {"school_id": device.school_id, "device_id": device.id, "identifier": profile.identifier, "uuid": profile.uuid,
             "removal_disallowed": profile.removal_disallowed, "is_managed": True, "reported_at": now}
            for profile in compiled.artifacts
        )
    for start in range(0, len(rows), 20_000):
        session.execute(insert(InstalledProfile), rows[start:start + 20_000])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=50_000)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--profile", action="store_true", help="Print where the timed change spends its time.")
    parser.add_argument("--keep", action="store_true", help="Keep the benchmark schema (prints its URL).")
    args = parser.parse_args()

    with migrated_database(args.database_url, keep=args.keep) as db:
        started = time.perf_counter()
        devices = build(db, args.devices)
        print(f"set-up: {devices} devices converged in {time.perf_counter() - started:.1f} s")

        principal = cli_principal()
        profiler = cProfile.Profile() if args.profile else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        with db.unit_of_work() as session:
            result = policy.change(session, principal, "baseline", [Change.set("passcode", "minLength", 7)])
        elapsed = time.perf_counter() - started
        if profiler:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
        report = result.report
        expected = devices * (SCHOOLS - OVERRIDING) // SCHOOLS
        with db.session() as session:
            installs = session.scalar(select(func.count()).select_from(Command).where(Command.request_type == "InstallProfile"))
            others = session.scalar(select(func.count()).select_from(Command).where(Command.request_type != "InstallProfile"))
        print(f"baseline default changed for {devices} devices: {elapsed:.1f} s "
              f"({report.compilations} compilations, {report.queued} commands queued, {report.up_to_date} devices untouched)")
        print("  phases: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in report.timings.items())
              + f"; save and commit {elapsed - sum(report.timings.values()):.1f} s")
        print(f"InstallProfile commands: {installs} (expected {expected}); other commands: {others} (expected 0)")

        started = time.perf_counter()
        with db.unit_of_work() as session:
            again = reconcile_scope(session, principal, Scope())
        print(f"second reconciliation of {again.devices} devices: {time.perf_counter() - started:.1f} s, "
              f"{again.queued} commands queued (expected 0)")
    ok = installs == expected and others == 0 and again.queued == 0
    print("OK" if ok else "MISMATCH")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
