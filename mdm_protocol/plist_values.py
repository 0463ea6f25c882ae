"""Values a property list cannot carry, found before anything is queued or compiled.

An XML plist is XML 1.0 text: it cannot hold C0 control characters other than
tab, line feed and carriage return (``plistlib`` refuses to write them), nor
lone UTF-16 surrogates (not encodable as UTF-8). Its integers are 64 bits
(``plistlib`` refuses larger ones) and a real that is NaN or infinite is no
number a device can use. Commands (``commands.build``) and policy values
(``profiles.validation``) are checked with :func:`problems`, so such a value is
refused naming its key instead of failing when the plist is written.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

#: C0 control characters other than tab, line feed and carriage return.
_CONTROL = frozenset(chr(code) for code in range(32)) - {"\t", "\n", "\r"}
_INTEGERS = range(-(2**63), 2**64)


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot go into a plist, or None."""
    if text.isprintable():  # the common case, in one call
        return None
    if "\x00" in text:
        return "must not contain NUL characters"
    if not _CONTROL.isdisjoint(text):
        return "must not contain control characters"
    if any("\ud800" <= char <= "\udfff" for char in text):
        return "must be valid Unicode text (it holds a lone UTF-16 surrogate)"
    return None


def problems(value: Any, path: str = "") -> list[tuple[str, str]]:
    """(path, reason) for each part of ``value`` a plist cannot carry; walked without recursion."""
    found: list[tuple[str, str]] = []
    pending: list[tuple[Any, str]] = [(value, path)]
    while pending:
        item, where = pending.pop()
        if isinstance(item, str):
            reason = text_problem(item)
            if reason:
                found.append((where, reason))
        elif isinstance(item, bool):
            continue
        elif isinstance(item, int):
            if item not in _INTEGERS:
                found.append((where, "must fit in 64 bits"))
        elif isinstance(item, float):
            if not math.isfinite(item):
                found.append((where, "must be a finite number"))
        elif isinstance(item, Mapping):
            for key, child in item.items():
                name = str(key)
                reason = text_problem(name)
                if reason:
                    found.append((where or name, f"key {reason}"))
                pending.append((child, f"{where}.{name}" if where else name))
        elif isinstance(item, (list, tuple)):
            pending.extend((child, f"{where}[{index}]") for index, child in enumerate(item))
    return found
