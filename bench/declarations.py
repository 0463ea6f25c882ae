"""Benchmark: a new OS update target for 50,000 iPads managed declaratively; how long until every one is told?

Builds the municipality of ``bench/policy_reconcile.py`` on PostgreSQL (a
fresh schema, dropped afterwards: 100 schools of 5 classes, 100 supervised
iPads per class, a baseline with a locked restriction, a passcode default, a
web filter and a Wi-Fi network, 10 schools with a passcode length of their
own), with every iPad on iPadOS 26 and managed declaratively, and an OS
update target (26.0) in the baseline. Every iPad starts converged:
it was last told exactly its current DeclarationsToken. Then central IT sets
a new target (26.1 by a deadline) through the same service `flokk updates
set` uses, in one unit of work: save, resolve, compile the declarations of
every situation, each iPad's set and token (its own legacy-profile URLs
included), compare with what it was told, queue a DeclarativeManagement
command with its new SyncTokens for each, remember the tokens, count every
school's progress, commit. (The pushes then go out from the push job, as for
any change to more than 1,000 devices.)

Expected: exactly one DeclarativeManagement command per iPad, no profile
command; a second reconciliation queues nothing. Target: under 30 s.

    python bench/declarations.py [--devices 50000] [--database-url postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

from sqlalchemy import bindparam, delete, func, insert, select, update

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.db import Database  # noqa: E402
from app.models import Command, Device, InstalledProfile, Organisation, PolicyDelivery  # noqa: E402
from app.models.base import utcnow  # noqa: E402
from app.models.declarations import DeclarativeDevice  # noqa: E402
from app.services import policy  # noqa: E402
from app.services.access import cli_principal  # noqa: E402
from app.services.declarations import sets, updates  # noqa: E402
from app.services.policy.reconciler import Scope, reconcile_scope  # noqa: E402
from app.services.policy.situations import cache_for, situations, situations_query  # noqa: E402
from bench import policy_reconcile  # noqa: E402
from bench.throwaway import DEFAULT_URL, migrated_database  # noqa: E402
from profiles import Change  # noqa: E402


def build(db: Database, devices: int) -> int:
    """The fleet of ``bench/policy_reconcile.py`` (its policy and schools), on iPadOS 26 and managed declaratively."""
    count = policy_reconcile.build(db, devices)
    principal = cli_principal()
    with db.unit_of_work() as session:
        session.execute(update(Device).values(os_version="26.0"))
        session.execute(delete(InstalledProfile))  # the profiles came by command; declarations replace them
        session.execute(delete(PolicyDelivery))
        confirmed = utcnow()
        session.execute(insert(DeclarativeDevice), [
            {"device_id": device_id, "school_id": school_id, "enabled_at": confirmed, "confirmed_at": confirmed,
             "status_items": {}, "update_failure_count": 0}
            for device_id, school_id in session.execute(select(Device.id, Device.school_id))
        ])
        policy.change(session, principal, "baseline", [
            Change.set("osupdate", "TargetOSVersion", "26.0"), Change.set("osupdate", "TargetLocalDateTime", "2030-08-14 16:00")])
        session.execute(Command.__table__.delete())
        converge(session, session.scalar(select(Organisation.id)))
    return count


def converge(session, organisation_id: int) -> None:
    """Every iPad was last told exactly its current set's token."""
    cache = cache_for(session, organisation_id)
    now = utcnow()
    told = [{"b_id": device.id, "b_token": sets.token_of(session, cache, device)}
            for device in situations(session, situations_query())]
    session.connection().execute(
        update(DeclarativeDevice).where(DeclarativeDevice.device_id == bindparam("b_id"))
        .values(declarations_token=bindparam("b_token"), token_changed_at=now), told)


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
        print(f"set-up: {devices} iPads managed declaratively, converged, in {time.perf_counter() - started:.1f} s")

        principal = cli_principal()
        profiler = cProfile.Profile() if args.profile else None
        load_before = os.getloadavg()[0]
        started, cpu = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        with db.unit_of_work() as session:
            changed = updates.set_target(session, principal, "baseline", version="26.1", build="23B85",
                                         deadline="2030-10-16 16:00")
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        counted = time.perf_counter()
        with db.session() as session:
            updates.overview(session, principal)  # what set_target's per-school progress costs, measured apart
        counting = time.perf_counter() - counted
        if profiler:
            profiler.disable()
            pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_SORT", "cumulative")).print_stats(int(os.environ.get("BENCH_LINES", "30")))
        report = changed.result.report
        with db.session() as session:
            told = session.scalar(select(func.count()).select_from(Command).where(Command.request_type == "DeclarativeManagement"))
            others = session.scalar(select(func.count()).select_from(Command).where(Command.request_type != "DeclarativeManagement"))
        below = sum(view.below_target for view in changed.schools)
        print(f"new OS update target for {devices} iPads: {elapsed:.1f} s in all, {cpu:.1f} s of it on this process's CPU "
              f"({report.compilations} compilations, {report.declarations.told_count} iPads told, load average {load_before:.1f} "
              f"before, {os.getloadavg()[0]:.1f} after, {os.cpu_count()} cores)")
        print("  phases: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in report.timings.items())
              + f"; save, progress of {len(changed.schools)} schools ({below} iPads below the target) and commit "
              f"{elapsed - sum(report.timings.values()):.1f} s (the progress alone: {counting:.1f} s)")
        print(f"DeclarativeManagement commands: {told} (expected {devices}); other commands: {others} (expected 0)")

        started = time.perf_counter()
        with db.unit_of_work() as session:
            again = reconcile_scope(session, principal, Scope())
        print(f"second reconciliation of {again.devices} iPads: {time.perf_counter() - started:.1f} s, "
              f"{again.queued} profile commands and {again.declarations.told_count} DeclarativeManagement queued (expected 0)")
    ok = told == devices and others == 0 and again.queued == 0 and again.declarations.told_count == 0
    print("OK" if ok else "MISMATCH")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
