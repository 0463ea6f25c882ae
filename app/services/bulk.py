"""Statements over many rows: a city's 50,000 iPads in one go.

``id_in`` is ``column IN (...)``; on PostgreSQL it is ``column = ANY(array)``,
one parameter instead of thousands, which psycopg sends and PostgreSQL plans
far faster for the large lists bulk commands and pushes use.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session


def id_in(session: Session, column: Any, ids: Sequence[int]) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=ARRAY(Integer)))
    return column.in_(ids)
