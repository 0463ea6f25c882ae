"""Progress of long work (a bulk send, a reconcile, a sync, an import), for whoever watches.

Services say what they are doing without knowing who is watching::

    with progress.task("pushing", total=len(devices)) as advance:
        for chunk in chunks:
            ...
            advance(len(chunk))

The CLI installs a reporter for the length of a command (``reporting``): a
progress bar on a terminal, plain lines otherwise (``app/cli/progress.py``).
Elsewhere (requests, scheduler jobs) nothing is reported and it costs nothing.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol


class Reporter(Protocol):
    def start(self, label: str, total: int | None) -> None: ...
    def advance(self, count: int) -> None: ...
    def finish(self) -> None: ...


#: Work smaller than this is not worth a progress bar (one device's command, a small school).
MIN_TOTAL = 1000

_current: contextvars.ContextVar[Reporter | None] = contextvars.ContextVar("flokk_progress", default=None)


def _nothing(count: int = 1) -> None:
    return None


@contextmanager
def task(label: str, total: int | None = None) -> Iterator[Callable[..., None]]:
    """A piece of long work; the callable it gives advances it by ``count`` (default 1).
    Work with a ``total`` below :data:`MIN_TOTAL` is not reported."""
    reporter = _current.get()
    if reporter is None or (total is not None and total < MIN_TOTAL):
        yield _nothing
        return
    reporter.start(label, total)

    def advance(count: int = 1) -> None:
        reporter.advance(count)

    try:
        yield advance
    finally:
        reporter.finish()


@contextmanager
def reporting(reporter: Reporter) -> Iterator[None]:
    token = _current.set(reporter)
    try:
        yield
    finally:
        _current.reset(token)
