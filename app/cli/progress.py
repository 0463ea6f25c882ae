"""How the CLI shows the progress of long work: a bar on a terminal, plain lines otherwise.

Written to stderr, so ``--json`` and other output on stdout stay clean. Plain
lines (for a log or a pipe) come at most every :data:`PLAIN_EVERY` seconds,
plus the start and the end of each piece of work.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Any

import click

PLAIN_EVERY = 5.0


class CliProgress:
    """``app.services.progress.Reporter`` for a command line."""

    def __init__(self, stream: IO[str] | None = None, *, terminal: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.terminal = self.stream.isatty() if terminal is None else terminal
        self._bar: Any = None
        self._label, self._total, self._done = "", None, 0
        self._started = self._said = 0.0

    def start(self, label: str, total: int | None) -> None:
        self._label, self._total, self._done = label, total, 0
        self._started = self._said = time.monotonic()
        if self.terminal and total:
            self._bar = click.progressbar(length=total, label=label, file=self.stream, show_pos=True, show_eta=True)
            self._bar.__enter__()
        else:
            self._line(f"{label}: started" + (f", {total} to do" if total else ""))

    def advance(self, count: int) -> None:
        self._done += count
        if self._bar is not None:
            self._bar.update(count)
        elif time.monotonic() - self._said >= PLAIN_EVERY:
            self._line(f"{self._label}: {self._position()}")

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None
        else:
            self._line(f"{self._label}: {self._position()}, done in {time.monotonic() - self._started:.1f} s")

    def _position(self) -> str:
        if self._total:
            return f"{self._done}/{self._total} ({100 * self._done // self._total}%)"
        return f"{self._done}"

    def _line(self, text: str) -> None:
        self._said = time.monotonic()
        click.echo(text, file=self.stream)
