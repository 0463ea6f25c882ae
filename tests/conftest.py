"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL is used when it answers at FLOKK_TEST_POSTGRES_URL (default
127.0.0.1:5432, database ``test``, trust auth); with
FLOKK_TEST_REQUIRE_POSTGRES=1 (CI) its absence is an error, not a skip. Each
test run migrates its own fresh schema once; each test starts from empty
tables.

Tests marked ``sweep`` (the generated bad-input and property sweeps over every
endpoint, thousands of requests each) run each case on one database when both
answer: a stable half on SQLite, the other half on PostgreSQL, so every
endpoint is swept on each run at half the cost. Without PostgreSQL every case
runs on SQLite; ``FLOKK_TEST_FULL_SWEEP=1`` runs every case on both.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import uuid
import zlib
from collections.abc import Iterator

import psycopg
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine

from app import create_app, migrate
from app.config import Settings
from app.db import Database
from app.models.audit import AuditEvent, AuditPurgePermit
from app.models.base import Base
from app.services.access import cli_principal

POSTGRES_URL = os.environ.get("FLOKK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("FLOKK_TEST_REQUIRE_POSTGRES") == "1"
TEST_SECRET_KEY = "test-secret-key-0123456789abcdef0123456789"
FULL_SWEEP = os.environ.get("FLOKK_TEST_FULL_SWEEP") == "1"
_BACKENDS = ("sqlite", "postgresql")


def _postgres_answers() -> bool:
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


@functools.cache
def _postgres_answers_once() -> bool:
    return _postgres_answers()


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "sweep: a generated sweep case; run on one database of the two (see conftest)")


def pytest_collection_modifyitems(config, items) -> None:
    """Sweep cases: each on the database its name hashes to, when both databases answer."""
    if FULL_SWEEP or not _postgres_answers_once():
        return
    kept, dropped = [], []
    for item in items:
        backend = getattr(getattr(item, "callspec", None), "params", {}).get("backend")
        if backend is None or item.get_closest_marker("sweep") is None:
            kept.append(item)
            continue
        case = item.nodeid.replace(f"[{backend}-", "[").replace(f"-{backend}]", "]").replace(f"[{backend}]", "")
        (kept if _BACKENDS[zlib.crc32(case.encode()) % 2] == backend else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session")
def postgres_available() -> bool:
    answers = _postgres_answers_once()
    if not answers and REQUIRE_POSTGRES:
        pytest.fail(f"PostgreSQL does not answer at {POSTGRES_URL} and FLOKK_TEST_REQUIRE_POSTGRES=1")
    return answers


def _postgres_schema_url(schema: str) -> str:
    base = POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory, postgres_available) -> Iterator[dict[str, str]]:
    """One migrated database per backend for the whole run."""
    urls = {"sqlite": f"sqlite:///{tmp_path_factory.mktemp('db') / 'flokk.sqlite3'}"}
    schema = None
    if postgres_available:
        schema = f"flokk_test_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
            connection.execute(f"CREATE SCHEMA {schema}")
        urls["postgresql"] = _postgres_schema_url(schema)
    for url in urls.values():
        engine = create_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
    yield urls
    if schema:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request, postgres_available) -> str:
    if request.param == "postgresql" and not postgres_available:
        pytest.skip("PostgreSQL is not available")
    return request.param


@pytest.fixture
def settings(backend, database_urls, tmp_path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_urls[backend],
        public_url="https://flokk.test",
        secret_key=TEST_SECRET_KEY,
    )


@pytest.fixture
def db(settings) -> Iterator[Database]:
    database = Database(settings)
    yield database
    with database.engine.begin() as connection:
        # The audit log is append-only by trigger: a purge permit lets this transaction empty it.
        connection.execute(AuditPurgePermit.__table__.insert().values(cutoff=dt.datetime(9999, 1, 1, tzinfo=dt.UTC)))
        connection.execute(AuditEvent.__table__.delete())
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    database.dispose()


@pytest.fixture
def session(db) -> Iterator:
    """A unit of work for service tests; the test commits when it means to."""
    with db.session() as session:
        yield session


@pytest.fixture
def principal():
    return cli_principal()


@pytest.fixture
def app(settings, db):
    flask_app = create_app(settings)
    flask_app.config["TESTING"] = True
    # Share the test's database object so cleanup sees every table.
    flask_app.extensions["flokk"].db = db
    return flask_app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def environment(settings) -> dict[str, str]:
    """FLOKK_* variables that point a CLI run or a server process at the test database."""
    return {
        "FLOKK_DATABASE_URL": settings.database_url,
        "FLOKK_DATA_DIR": str(settings.data_dir),
        "FLOKK_SECRET_KEY": settings.secret_key,
        "FLOKK_PUBLIC_URL": settings.public_url,
    }


class Cli:
    """Runs `flokk ...` in-process against the test database."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None) -> Result:
        from app.cli import main

        return self.runner.invoke(main, list(args), env=self.env, input=input, catch_exceptions=False)


@pytest.fixture
def cli(environment, db) -> Cli:
    return Cli(environment)
