"""`flokk scheduler`: the one process that runs periodic jobs.

APScheduler 3 cannot share a job store between processes, so jobs live in
memory here and a lock (a PostgreSQL advisory lock, or a file lock for
SQLite) makes sure only one scheduler runs per database. Each job runs in its
own unit of work.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.db import Database
from app.errors import FlokkError

log = logging.getLogger("flokk.scheduler")
_ADVISORY_LOCK_CLASS = 0x464C4B  # "FLK"; the second key is the schema, so Flokks sharing a database do not collide
_LOCK = "pg_try_advisory_lock(:key, hashtext(current_schema()))"
_UNLOCK = "pg_advisory_unlock(:key, hashtext(current_schema()))"


@dataclass(frozen=True)
class Job:
    """A periodic job: ``run(session)`` inside one unit of work, every ``seconds``."""

    name: str
    run: Callable[[Session], Any]
    seconds: int
    options: dict[str, Any] = field(default_factory=dict)


def jobs() -> list[Job]:
    """Every periodic job of Flokk. Features add theirs here."""
    from app.services import audit_trail
    from app.services.access import approvals
    from app.services.google import jobs as google_jobs
    from app.services.mdm import enrollment
    from app.services.mdm import jobs as mdm_jobs
    from app.services.pki import push_certificates

    return [
        Job("purge-expired-enrollment-challenges", enrollment.purge_expired_challenges, seconds=3600),
        Job("pki.push_certificate_expiry", push_certificates.warn_before_expiry, seconds=24 * 3600),
        Job("approvals.expire", approvals.expire_due, seconds=300),
        Job("audit.retention", audit_trail.purge_expired, seconds=6 * 3600),
        *mdm_jobs.jobs(),
        *google_jobs.jobs(),
    ]


class SchedulerLock:
    """Held for the life of the scheduler process."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._connection = None
        self._file = None

    def acquire(self) -> None:
        if self.db.engine.dialect.name == "postgresql":
            self._connection = self.db.engine.connect()
            locked = self._connection.execute(text(f"SELECT {_LOCK}"), {"key": _ADVISORY_LOCK_CLASS}).scalar()
            self._connection.commit()
            if not locked:
                self._connection.close()
                raise FlokkError("another `flokk scheduler` is already running for this database")
            return
        path = self.db.settings.data_dir / "scheduler.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "w")  # noqa: SIM115 (held open for the process lifetime)
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.close()
            raise FlokkError("another `flokk scheduler` is already running for this data folder") from None

    def release(self) -> None:
        if self._connection is not None:
            self._connection.execute(text(f"SELECT {_UNLOCK}"), {"key": _ADVISORY_LOCK_CLASS})
            self._connection.commit()
            self._connection.close()
            self._connection = None
        if self._file is not None:
            self._file.close()


def run_job(db: Database, job: Job) -> None:
    from app import request_context
    from app.services.mdm import push

    with request_context.origin(source=f"scheduler:{job.name}"):
        try:
            with db.unit_of_work() as session:
                job.run(session)
                wakes = push.take_wakes(session)
            if wakes:  # devices the job queued commands for
                push.wake_committed(db, wakes)
        except Exception:
            log.exception("job %s failed", job.name)


def run_scheduler(db: Database, job_list: list[Job] | None = None) -> None:
    job_list = jobs() if job_list is None else job_list
    lock = SchedulerLock(db)
    lock.acquire()
    logging.getLogger("apscheduler.scheduler").setLevel(logging.WARNING)  # Flokk says what it starts, once
    scheduler = BlockingScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
    started = dt.datetime.now(dt.UTC)
    for job in job_list:
        # Every job runs once at start: a daily job must not wait a day after each restart.
        options = {"next_run_time": started, **job.options}
        scheduler.add_job(run_job, "interval", seconds=job.seconds, args=(db, job), id=job.name, name=job.name, **options)

    def _stop(signum: int, frame: Any) -> None:
        log.info("stopping the scheduler")
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("scheduler started with %d job(s): %s", len(job_list), ", ".join(job.name for job in job_list) or "none")
    try:
        scheduler.start()
    finally:
        lock.release()
