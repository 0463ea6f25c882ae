"""Helpers for tests (import as ``tests.support``); fixtures live in tests/conftest.py."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from app.db import Database

FIXTURES = Path(__file__).parent.parent / "fixtures"
MDM_FIXTURES = FIXTURES / "mdm-fixtures"


def count_rows(db: Database, table: str) -> int:
    with db.engine.connect() as connection:
        return connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
