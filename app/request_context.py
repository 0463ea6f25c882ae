"""Where the current unit of work came from: request id and source address.

Set by the HTTP layer per request and by the CLI per command; read by
logging (request id on every line) and by the audit log (from where).
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Origin:
    request_id: str | None = None
    source: str | None = None


_current: contextvars.ContextVar[Origin] = contextvars.ContextVar("flokk_origin", default=Origin())


def current() -> Origin:
    return _current.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


def set_origin(origin: Origin) -> contextvars.Token[Origin]:
    return _current.set(origin)


def reset_origin(token: contextvars.Token[Origin]) -> None:
    _current.reset(token)


@contextmanager
def origin(request_id: str | None = None, source: str | None = None) -> Iterator[Origin]:
    value = Origin(request_id or new_request_id(), source)
    token = _current.set(value)
    try:
        yield value
    finally:
        _current.reset(token)
