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


def add_municipality(session: Any, name: str, devices: int, *, schools: int = 100, classes: int = 5) -> Any:
    """An organisation of ``schools`` schools with ``classes`` classes each and ``devices`` enrolled,
    supervised iPads spread over the classes (with serial numbers), inserted in bulk; returns the organisation."""
    from sqlalchemy import insert, select

    from app.models import Device, Group, Organisation, School
    from app.models.base import utcnow

    per_class = devices // (schools * classes)
    organisation = Organisation(name=name)
    session.add(organisation)
    session.flush()
    session.execute(insert(School), [
        {"organisation_id": organisation.id, "name": f"Skole {n}", "code": f"s{n:03d}"} for n in range(schools)
    ])
    school_ids = list(session.scalars(select(School.id).where(School.organisation_id == organisation.id).order_by(School.id)))
    session.execute(insert(Group), [
        {"school_id": school_id, "name": f"{grade}A", "kind": "class"} for school_id in school_ids for grade in range(classes)
    ])
    groups = session.execute(select(Group.id, Group.school_id).where(Group.school_id.in_(school_ids)).order_by(Group.id)).all()
    now = utcnow()
    rows = [
        {"school_id": school_id, "group_id": group_id, "platform": "ipados", "udid": f"UDID-{group_id:04d}-{n:04d}",
         "serial_number": f"S{group_id:04d}{n:04d}", "enrollment_state": "enrolled", "supervised": True,
         "enrolled_at": now, "inventory": {}}
        for group_id, school_id in groups for n in range(per_class)
    ]
    for start in range(0, len(rows), 10_000):
        session.execute(insert(Device), rows[start:start + 10_000])
    return organisation
