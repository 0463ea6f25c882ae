"""Statements over many rows: a city's 50,000 iPads in one go.

``id_in`` is ``column IN (...)``; on PostgreSQL it is ``column = ANY(array)``,
one parameter instead of thousands, which psycopg sends and PostgreSQL plans
far faster for the large lists bulk commands and pushes use (``text_in`` the
same for text keys). ``insert_rows`` inserts tens of thousands of rows at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, Text, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session


def id_in(session: Session, column: Any, ids: Sequence[int]) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=ARRAY(Integer)))
    return column.in_(ids)


def text_in(session: Session, column: Any, values: Sequence[str]) -> Any:
    """``id_in`` for text keys (serial numbers, CommandUUIDs)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(Text)))
    return column.in_(values)


def insert_rows(session: Session, table: Any, rows: Sequence[dict[str, Any]], *, chunk: int = 5000) -> None:
    """Insert many rows in the session's transaction: COPY on PostgreSQL (several times faster than
    executemany for tens of thousands of small rows), batched inserts elsewhere."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        columns = list(rows[0])
        with connection.connection.driver_connection.cursor() as cursor:
            with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([row[name] for name in columns])
        return
    for start in range(0, len(rows), chunk):
        connection.execute(table.insert(), list(rows[start:start + chunk]))
