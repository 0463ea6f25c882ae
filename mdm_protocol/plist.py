"""Safe property-list loading for what devices send, and plist output for replies.

Implements reading of Apple's property-list formats (XML "PropertyList-1.0"
DTD and binary ``bplist00``, as documented in Apple's *Property List
Programming Guide* and ``man plist``) for untrusted input. Everything an iPad
sends to Flokk arrives as a plist, so this is the single place where such
bytes become Python values. It refuses, with a reason a client can read:

- bodies over a size limit (before any parsing),
- XML entity declarations and DOCTYPE internal subsets ("billion laughs",
  external entities): a real plist never has them and Apple's ``plutil``
  refuses them too,
- truncated or malformed XML/binary, invalid base64, dates or integers,
- structures nested too deeply, with reference cycles (binary plists can
  point objects at each other) or expanding to too many values (binary
  plists can share one object many times),
- types MDM never uses (``UID`` from keyed archives), and values no XML
  plist can hold and no database column takes: NUL and other control
  characters (tab, line feed and carriage return are fine) and lone UTF-16
  surrogates in strings and keys, integers outside 64 bits, and reals that
  are NaN or infinite. A device writes XML plists, which cannot carry any of
  these; only a hand-made binary plist can.
"""

from __future__ import annotations

import datetime as dt
import math
import plistlib
import re
from collections.abc import Mapping
from typing import Any

#: The default ceiling for a device message. The largest real responses
#: (InstalledApplicationList, CertificateList on a busy device) stay well
#: under 1 MiB; anything larger than this is refused unread.
DEFAULT_MAX_BYTES = 4 * 1024 * 1024
DEFAULT_MAX_DEPTH = 32
DEFAULT_MAX_NODES = 200_000

_BINARY_MAGIC = b"bplist00"
_XML_DANGER = re.compile(rb"<!ENTITY|<!DOCTYPE[^>\[]*\[", re.IGNORECASE)
_SCALARS = (str, bytes, bool, int, float, dt.datetime)
#: Characters XML 1.0 does not allow (C0 controls but tab, LF and CR; lone surrogates).
_NOT_XML_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
#: Apple's plist integers are 64 bits, signed or unsigned.
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1


class PlistError(ValueError):
    """The bytes are not an acceptable property list; ``str()`` says why."""


class PlistTooLarge(PlistError):
    """The body is over the size limit (HTTP 413 at the boundary)."""


def load(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_nodes: int = DEFAULT_MAX_NODES,
) -> Any:
    """Parse an XML or binary plist from an untrusted source.

    Raises :class:`PlistError` (or :class:`PlistTooLarge`) with a short reason;
    never any other exception for bad input.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("plist input must be bytes")
    data = bytes(data)
    if len(data) > max_bytes:
        raise PlistTooLarge(f"body of {len(data)} bytes is over the limit of {max_bytes} bytes")
    if not data.strip():
        raise PlistError("body is empty")
    binary = data.startswith(_BINARY_MAGIC)
    if not binary and _XML_DANGER.search(data):
        raise PlistError("XML entity declarations and DOCTYPE internal subsets are not allowed")
    try:
        value = plistlib.loads(data, fmt=plistlib.FMT_BINARY if binary else plistlib.FMT_XML)
    except RecursionError:
        raise PlistError("plist is nested too deeply") from None
    except MemoryError:
        raise PlistError("plist is too large to load") from None
    except Exception as exc:  # any parser failure is the sender's malformed input
        raise PlistError(f"malformed {'binary' if binary else 'XML'} plist: {_reason(exc)}") from None
    if value is None:
        raise PlistError("plist has no value")
    _check_shape(value, max_depth=max_depth, max_nodes=max_nodes)
    return value


def load_dict(data: bytes, **limits: int) -> dict[str, Any]:
    """Parse a plist whose top level must be a dictionary (every MDM message is)."""
    value = load(data, **limits)
    if not isinstance(value, dict):
        raise PlistError(f"top level must be a dictionary, not {described(value)}")
    return value


def dump(value: Mapping[str, Any]) -> bytes:
    """Serialise a reply (command, check-in response) as an XML plist."""
    return plistlib.dumps(dict(value), fmt=plistlib.FMT_XML, sort_keys=False)


def type_name(value: Any) -> str:
    """The plist type name of a Python value, for error messages."""
    names = (
        (bool, "boolean"),
        (int, "integer"),
        (float, "real"),
        (str, "string"),
        (bytes, "data"),
        (dt.datetime, "date"),
        (list, "array"),
        (dict, "dictionary"),
    )
    for kind, name in names:
        if isinstance(value, kind):
            return name
    return type(value).__name__


def described(value: Any) -> str:
    """The plist type of a value with its article ("an integer", "data")."""
    name = type_name(value)
    if name == "data":
        return name
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"


def _reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    if "groupdict" in text:  # plistlib's way of saying a <date> did not parse
        text = "invalid date"
    elif "padding" in text or "base64" in text.lower():
        text = f"invalid base64 in <data> ({text})"
    return text[:200]


def _check_shape(root: Any, *, max_depth: int, max_nodes: int) -> None:
    """Walk the value once, iteratively, refusing cycles, depth and size bombs."""
    nodes = 0
    stack: list[tuple[Any, int, frozenset[int]]] = [(root, 1, frozenset())]
    while stack:
        value, depth, ancestors = stack.pop()
        nodes += 1
        if nodes > max_nodes:
            raise PlistError(f"plist has more than {max_nodes} values")
        if isinstance(value, str):
            _check_text(value, "a string")
            continue
        if isinstance(value, int) and not isinstance(value, bool) and not _INT_MIN <= value <= _INT_MAX:
            raise PlistError("plist contains an integer larger than 64 bits")
        if isinstance(value, float) and not math.isfinite(value):
            raise PlistError(f"plist contains a real that is not a number ({value})")
        if isinstance(value, _SCALARS):
            continue
        if not isinstance(value, (dict, list)):
            raise PlistError(f"plist contains an unsupported type ({type(value).__name__})")
        if depth > max_depth:
            raise PlistError(f"plist is nested deeper than {max_depth} levels")
        if id(value) in ancestors:
            raise PlistError("plist contains a reference cycle")
        inner = ancestors | {id(value)}
        if isinstance(value, dict):
            for key in value:
                if not isinstance(key, str):
                    raise PlistError("plist contains a dictionary key that is not text")
                _check_text(key, "a dictionary key")
            children = value.values()
        else:
            children = value
        for child in children:
            stack.append((child, depth + 1, inner))


def _check_text(text: str, where: str) -> None:
    found = _NOT_XML_TEXT.search(text)
    if found is None:
        return
    char = found.group()
    if char == "\x00":  # databases refuse NUL in text
        raise PlistError(f"plist contains a NUL character in {where}")
    if "\ud800" <= char <= "\udfff":
        raise PlistError(f"plist contains a lone UTF-16 surrogate (U+{ord(char):04X}) in {where}")
    raise PlistError(f"plist contains a control character (U+{ord(char):04X}) in {where}")
