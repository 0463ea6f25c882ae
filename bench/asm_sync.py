"""Benchmark: the first Apple School Manager sync of 50,000 iPads, with each school's profile assigned at Apple.

Apple's side is the fake device enrollment service (tests/fakes/dep.py) in
its own process over TLS, as Apple would be across the network: 50,000
devices from 100 schools' purchasers (``device_assigned_by``). Flokk's side
is PostgreSQL (a fresh schema, dropped afterwards) with 100 schools and one
rule per school. The timed part is what the scheduler or ``flokk asm sync``
does: fetch every device in pages of 1,000 (a commit per page), give each its
school by rule, define 100 ADE profiles and assign each to its school's
serials in batches of 1,000. Then the incremental sync that follows.

Expected: 50,000 devices stored, every one with its school and Apple's
SUCCESS for its school's profile. Target: under 60 s.

    python bench/asm_sync.py [--devices 50000] [--schools 100] [--database-url postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, insert, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.db import Database  # noqa: E402
from app.models import Organisation, School  # noqa: E402
from app.models.asm import AsmDevice  # noqa: E402
from app.services.access import cli_principal  # noqa: E402
from app.services.asm import assignment, keys, sync, tokens  # noqa: E402
from app.services.pki import certificate_authority  # noqa: E402
from bench.throwaway import DEFAULT_URL, migrated_database  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def build(db: Database, schools: int) -> None:
    principal = cli_principal()
    with db.unit_of_work() as session:
        organisation = Organisation(name="Benchmark kommune")
        session.add(organisation)
        session.flush()
        certificate_authority.ensure_ca(session, principal, organisation.name)  # the profiles' anchor certificate
        session.execute(insert(School), [
            {"organisation_id": organisation.id, "name": f"Skole {n}", "code": f"s{n:03d}"} for n in range(schools)
        ])
        for n in range(schools):
            assignment.add_rule(session, principal, field="assigned_by", pattern=f"*@s{n:03d}.bergvik.no", school_code=f"s{n:03d}")


def start_fake(folder: Path, recipient_pem: str, devices: int, schools: int) -> tuple[subprocess.Popen, str]:
    (folder / "recipient.pem").write_text(recipient_pem)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.dep", "--port", str(port), "--dir", str(folder), "--devices", str(devices),
         "--schools", str(schools), "--recipient", str(folder / "recipient.pem")],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    line = process.stdout.readline()  # "fake DEP on ... with N devices" once it serves
    if "fake DEP on" not in line:
        process.terminate()
        raise RuntimeError(f"the fake did not start: {line!r}")
    return process, f"https://127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=50_000)
    parser.add_argument("--schools", type=int, default=100)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    args = parser.parse_args()

    with migrated_database(args.database_url) as db, tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        started = time.perf_counter()
        build(db, args.schools)
        with db.unit_of_work() as session:
            recipient = keys.public_certificate(session, cli_principal())
        fake, url = start_fake(folder, recipient, args.devices, args.schools)
        try:
            db.settings = db.settings.replace(asm_url=url, apns_ca_file=folder / "ca.pem")
            db._context.settings = db.settings
            with db.unit_of_work() as session:
                token_id = tokens.import_token(session, cli_principal(), (folder / "token.p7m").read_bytes()).token.id
            print(f"set-up: {args.schools} schools and rules, {args.devices} devices at the fake ASM, token imported "
                  f"in {time.perf_counter() - started:.1f} s")
            load_before = os.getloadavg()
            started = time.perf_counter()
            with db.unit_of_work() as session:
                report = sync.sync_token(session, token_id, checkpoint=session.commit)
            elapsed = time.perf_counter() - started
            print(f"first sync: {elapsed:.1f} s — {report.summary()}")
            print(f"  requests to Apple: {dict(sorted(report.calls.items()))}; load average before/after: "
                  f"{load_before[0]:.2f}/{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
            started = time.perf_counter()
            with db.unit_of_work() as session:
                again = sync.sync_token(session, token_id, checkpoint=session.commit)
            print(f"the incremental sync after it (Apple reports each profile assignment as a change): "
                  f"{time.perf_counter() - started:.1f} s — {again.summary()}")
            with db.session() as session:
                stored = session.scalar(select(func.count()).select_from(AsmDevice))
                placed = session.scalar(select(func.count()).select_from(AsmDevice).where(AsmDevice.school_id.is_not(None)))
                assigned = session.scalar(select(func.count()).select_from(AsmDevice).where(
                    AsmDevice.assign_outcome == "SUCCESS", AsmDevice.assigned_profile_uuid.is_not(None)))
                sample = session.scalars(select(AsmDevice).order_by(AsmDevice.id).limit(5)).all()
                with db.unit_of_work() as check:
                    token = sync.tokens.client_for(check, check.get(sync.AsmToken, token_id))
                    at_apple = token.device_details([row.serial_number for row in sample])
                agrees = all(at_apple[row.serial_number].profile_uuid == row.assigned_profile_uuid for row in sample)
        finally:
            fake.terminate()
            fake.wait(timeout=30)
    print(f"devices stored {stored}, with a school {placed}, with their school's profile at Apple {assigned} "
          f"(expected {args.devices} each); Apple agrees on a sample: {agrees}")
    ok = stored == placed == assigned == args.devices and agrees and report.ok and again.ok
    print("OK" if ok else "MISMATCH")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
