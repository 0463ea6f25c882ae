"""Engine, sessions and the unit of work.

Only the boundary (one HTTP request, one CLI command, one scheduler job) commits:
services receive a session and never commit. Audit events marked durable
(refusals, forged identities) are written even when the boundary rolls back.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.crypto import SecretBox

log = logging.getLogger(__name__)

#: Key in ``Session.info`` for audit events that must survive a rollback.
DURABLE_EVENTS = "flokk.durable_events"
#: Key in ``Session.info`` for the settings and secrets of this Flokk.
CONTEXT = "flokk.context"


class ServiceContext:
    """What services need besides the session: settings and the secrets box."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.secrets = SecretBox(settings.secret_key)


def context(session: Session) -> ServiceContext:
    """The settings and secrets box of the Flokk this session belongs to."""
    return session.info[CONTEXT]


def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection: Any, record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; a commit no longer waits for fsync
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    engine = create_engine(url, pool_size=5, max_overflow=10)
    _ping_when_idle(engine)
    return engine


#: A pooled connection unused for this long is pinged before it is handed out again.
PING_AFTER_IDLE_SECONDS = 10.0
_RETURNED_AT = "flokk.returned_at"


def _ping_when_idle(engine: Engine) -> None:
    """SQLAlchemy's ``pool_pre_ping``, but only for connections that sat idle in the pool.

    A pre-ping on every checkout is a database round trip per request (on the MDM hot path
    about a tenth of an Idle check-in's CPU). A connection that served a request a moment ago
    is alive; one that waited longer (the database may have restarted meanwhile) is pinged
    and, if dead, replaced before any request sees it. A connection that dies while busy is
    found by the request using it (a 503, "try again"), and SQLAlchemy then drops the pool's
    other connections of that time too.
    """

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        returned = record.info.get(_RETURNED_AT)
        if returned is None or time.monotonic() - returned < PING_AFTER_IDLE_SECONDS:
            return
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
            dbapi_connection.rollback()
        except Exception as error:  # any driver error: the pool retries with a new connection
            raise exc.DisconnectionError(f"idle connection failed its ping: {error}") from error


class DriverStatement:
    """A Core statement that every MDM request runs, compiled once and, on PostgreSQL, executed by
    the driver itself (``exec_driver_sql``): no per-execution compile-cache lookup, execution
    context or result processing, which cost more than the statement's database time.

    Only for statements whose parameters the driver takes as they are (ints, text, bytes,
    timezone-aware datetimes) and whose rows need no processing (datetimes come back aware,
    in the session's zone). On SQLite, and for anything else, the Core statement as usual.
    """

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._compiled: tuple[str, dict[str, Any]] | None = None

    def execute(self, session: Session, params: dict[str, Any]) -> Any:
        connection = session.connection()
        if connection.dialect.name != "postgresql":
            return session.execute(self.statement, params)
        if self._compiled is None:
            compiled = self.statement.compile(dialect=connection.dialect)
            defaults = {name: value.value if isinstance(value, enum.Enum) else value
                        for name, value in compiled.construct_params(_check=False).items()}
            self._compiled = (str(compiled), defaults)
        sql, defaults = self._compiled
        return connection.exec_driver_sql(sql, {**defaults, **params})


class Database:
    """One per process (and per gunicorn worker: nothing is created before fork)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = _engine(settings.database_url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._context = ServiceContext(settings)

    def session(self) -> Session:
        session = self._sessions()
        session.info[CONTEXT] = self._context
        session.info[DURABLE_EVENTS] = []
        return session

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """Commit when the block ends normally; roll back (keeping durable audit events) otherwise."""
        session = self.session()
        try:
            yield session
            session.commit()
        except BaseException:
            rollback(session)
            raise
        finally:
            session.close()

    def ping(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except Exception:  # any driver error means "not reachable" to a health check
            log.warning("database ping failed", exc_info=True)
            return False

    def dispose(self) -> None:
        self.engine.dispose()


def rollback(session: Session) -> None:
    """Undo the unit of work but write the audit events that must outlive it."""
    session.rollback()
    durable = session.info.get(DURABLE_EVENTS) or []
    if not durable:
        return
    from app.models.audit import AuditEvent

    session.info[DURABLE_EVENTS] = []
    try:
        session.add_all(AuditEvent(**values) for values in durable)
        session.commit()
    except Exception:
        session.rollback()
        log.exception("could not write %d audit event(s) after a rollback", len(durable))


def commit(session: Session) -> None:
    session.commit()
    session.info[DURABLE_EVENTS] = []
