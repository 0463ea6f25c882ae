"""JSON from a device, read as untrusted input.

A status report is JSON inside the check-in plist's ``Data``. Python's JSON
reader accepts things no device sends and no database stores: NUL and lone
surrogates in strings, integers of any size, ``NaN``, nesting deep enough to
exhaust the interpreter's stack. :func:`load` refuses each with a reason, so
what passes can be stored as it is.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 32
MAX_NODES = 100_000
#: Integers a 64-bit database column holds.
MAX_INTEGER = 2**63 - 1


class JsonError(ValueError):
    """The bytes are not JSON Flokk accepts from a device; ``str()`` says why."""


def _no_constants(name: str) -> Any:
    raise JsonError(f"{name} is not a JSON number Flokk accepts")


def load(data: bytes) -> Any:
    """Parse device JSON; raises :class:`JsonError` for anything malformed or unsafe."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise JsonError("is not UTF-8 text") from None
    try:
        value = json.loads(text, parse_constant=_no_constants)
    except RecursionError:
        raise JsonError(f"is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as error:
        if isinstance(error, JsonError):
            raise
        raise JsonError(f"is not valid JSON ({error.args[0] if error.args else error})") from None
    _check(value)
    return value


def _check(root: Any) -> None:
    """Walk the value with a list (not recursion): depth, size, strings and numbers."""
    pending: list[tuple[Any, int]] = [(root, 1)]
    nodes = 0
    while pending:
        value, depth = pending.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise JsonError(f"holds more than {MAX_NODES} values")
        if depth > MAX_DEPTH:
            raise JsonError(f"is nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            for key, item in value.items():
                _check_text(key)
                pending.append((item, depth + 1))
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)
        elif isinstance(value, str):
            _check_text(value)
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int):
            if abs(value) > MAX_INTEGER:
                raise JsonError("holds an integer too large to store")
        elif isinstance(value, float) and not math.isfinite(value):
            raise JsonError("holds a number that is not finite")


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise JsonError("holds a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise JsonError("holds a lone surrogate (not valid Unicode)") from None
