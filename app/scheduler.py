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
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import text
from sqlalchemy.orm import Session

from app import metrics
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
    from app.services import audit_trail, idempotency
    from app.services.access import approvals
    from app.services.asm import sync as asm_sync
    from app.services.asm import tokens as asm_tokens
    from app.services.mdm import enrollment
    from app.services.mdm import jobs as mdm_jobs
    from app.services.pki import push_certificates
    from app.services.rosters import exports as roster_exports
    from app.services.webhooks import jobs as webhook_jobs

    return [
        Job("purge-expired-enrollment-challenges", enrollment.purge_expired_challenges, seconds=3600),
        Job("pki.push_certificate_expiry", push_certificates.warn_before_expiry, seconds=24 * 3600),
        Job("approvals.expire", approvals.expire_due, seconds=300),
        Job("audit.retention", audit_trail.purge_expired, seconds=6 * 3600),
        Job("rosters.import_exports", roster_exports.import_exports, seconds=3600),
        Job("asm.sync", asm_sync.sync_due, seconds=60),
        Job("asm.token_expiry", asm_tokens.warn_before_expiry, seconds=24 * 3600),
        Job("api.idempotency_keys.purge", idempotency.purge_expired, seconds=3600),
        *mdm_jobs.jobs(),
        *webhook_jobs.jobs(),
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

    started, ok = time.perf_counter(), False
    with request_context.origin(source=f"scheduler:{job.name}"):
        try:
            with db.unit_of_work() as session:
                job.run(session)
                wakes = push.take_wakes(session)
            if wakes:  # devices the job queued commands for
                push.wake_committed(db, wakes)
            ok = True
        except Exception:
            log.exception("job %s failed", job.name)
    metrics.count_job(job.name, ok, time.perf_counter() - started)


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


def serve_metrics(bind: str, token: str | None) -> Any:
    """The scheduler's own counters (job runs, durations, pushes, webhook attempts) on ``bind``,
    for Prometheus; with ``token`` only for ``Authorization: Bearer <token>``. Runs in a thread."""
    import hmac
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    host, _, port = bind.rpartition(":")
    if not host or not port.isdigit():
        raise FlokkError(f"--metrics-bind wants HOST:PORT, got {bind!r}")

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        offered = environ.get("HTTP_AUTHORIZATION", "")
        if token is not None and not hmac.compare_digest(offered.encode(), f"Bearer {token}".encode()):
            start_response("401 Unauthorized", [("Content-Type", "text/plain"), ("WWW-Authenticate", "Bearer")])
            return [b"send FLOKK_METRICS_TOKEN as Authorization: Bearer <token>\n"]
        if environ.get("PATH_INFO") != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"see /metrics\n"]
        start_response("200 OK", [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")])
        return [metrics.exposition()]

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args: Any) -> None:  # a scrape every 15 s is not news
            pass

    try:
        server = make_server(host.strip("[]"), int(port), app, handler_class=QuietHandler)
    except OSError as error:
        raise FlokkError(f"cannot serve metrics on {bind}: {error.strerror}") from None
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    log.info("scheduler metrics on http://%s/metrics", bind)
    return server
