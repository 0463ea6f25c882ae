"""Setting values in and out: JSON for storage and diffs, typed values from command-line text.

Plist values include bytes (certificates, icons) and dates, which JSON lacks;
they are stored as ``{"$data": base64}`` and ``{"$date": ISO 8601}``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from mdm_protocol.apple_schema import KeySpec

from profiles.model import LOCK_ONLY, REMOVED

_DATA, _DATE, _MARK = "$data", "$date", "$flokk"


def to_json(value: Any) -> Any:
    """A JSON-serialisable form of a setting value (reversible with ``from_json``)."""
    if value is REMOVED:
        return {_MARK: "removed"}
    if value is LOCK_ONLY:
        return {_MARK: "lock"}
    if isinstance(value, (bytes, bytearray)):
        return {_DATA: base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dt.datetime):
        return {_DATE: value.isoformat()}
    if isinstance(value, Mapping):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    return value


def from_json(value: Any) -> Any:
    """The setting value a ``to_json`` form stands for."""
    if isinstance(value, dict):
        if len(value) == 1:
            ((key, item),) = value.items()
            if key == _DATA and isinstance(item, str):
                return base64.b64decode(item)
            if key == _DATE and isinstance(item, str):
                return dt.datetime.fromisoformat(item)
            if key == _MARK:
                return {"removed": REMOVED, "lock": LOCK_ONLY}[item]
        return {key: from_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_json(item) for item in value]
    return value


def canonical(value: Any) -> str:
    """A stable text form: equal values give equal text (for hashing and diffs)."""
    return json.dumps(to_json(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def show(value: Any) -> str:
    """A short human form for listings; long data is summarised."""
    if value is REMOVED:
        return "(removed)"
    if value is LOCK_ONLY:
        return "(locked)"
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return canonical(value)


class BadText(ValueError):
    """Command-line text that cannot become a value of the key's type."""


_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def parse_text(spec: KeySpec, text: str) -> Any:
    """Read command-line text as a value of the key's schema type.

    Booleans accept true/false/yes/no/1/0; arrays and dictionaries are JSON;
    data is base64 or a PEM block (the payload module turns it into bytes).
    """
    kind = spec.type
    stripped = text.strip()
    if kind == "boolean":
        lowered = stripped.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise BadText("must be true or false")
    if kind == "integer":
        try:
            return int(stripped)
        except ValueError:
            raise BadText("must be a whole number") from None
    if kind == "real":
        try:
            return float(stripped)
        except ValueError:
            raise BadText("must be a number") from None
    if kind in ("array", "dictionary"):
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError as error:
            raise BadText(f"must be JSON ({error.msg})") from None
        return from_json(value)
    if kind == "date":
        try:
            return dt.datetime.fromisoformat(stripped)
        except ValueError:
            raise BadText("must be an ISO 8601 date") from None
    return text


_SECRET_WORDS = ("Password", "Secret", "Passphrase")
MASK = "********"


def is_secret_key(spec: KeySpec) -> bool:
    """A string key that holds a password or shared secret (Wi-Fi, EAP, proxy, filter)."""
    return spec.type == "string" and any(word in spec.name for word in _SECRET_WORDS)


def holds_secret(spec: KeySpec) -> bool:
    """Whether a key's value is, or contains, a secret: such values are encrypted at rest."""
    return is_secret_key(spec) or any(holds_secret(sub) for sub in spec.subkeys)


def redact(spec: KeySpec, value: Any) -> Any:
    """The value with every secret replaced by a mask, for listings, diffs and logs."""
    if is_secret_key(spec) and isinstance(value, str):
        return MASK
    if isinstance(value, Mapping) and spec.subkeys:
        by_name = {sub.name: sub for sub in spec.subkeys}
        return {key: redact(by_name[key], item) if key in by_name else item for key, item in value.items()}
    if isinstance(value, list) and spec.subkeys:
        return [redact(spec.subkeys[0], item) for item in value]
    return value
