"""A throw-away PostgreSQL schema with Flokk's tables, for benchmarks that must not touch real data."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import create_engine

from app import migrate
from app.config import Settings
from app.db import Database

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


@contextmanager
def migrated_database(database_url: str = DEFAULT_URL, *, keep: bool = False, **settings: Any) -> Iterator[Database]:
    """A fresh schema in ``database_url``, migrated to the newest revision; dropped afterwards unless ``keep``.

    ``settings`` override Flokk's settings (e.g. ``apps_url`` of a fake Apps and Books)."""
    schema = f"flokk_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    url = database_url.replace("postgresql://", "postgresql+psycopg://", 1) + f"?options=-csearch_path%3D{schema}"
    db = None
    try:
        engine = create_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        base = Settings(data_dir=Path("/tmp/flokk-bench"), database_url=url, public_url="https://mdm.bench.example",
                        secret_key="benchmark-secret-key-0123456789abcdef0123")
        db = Database(base.replace(**settings))
        yield db
    finally:
        if db is not None:
            db.dispose()
        if keep:
            print(f"kept: {url}")
        else:
            with psycopg.connect(database_url, autocommit=True) as connection:
                connection.execute(f"DROP SCHEMA {schema} CASCADE")
