"""Command parameters typed as text (``--param KEY=VALUE``), read per Apple's schema.

The CLI and simple API callers give every parameter as a string; the key's
type in the command's schema file (apple/device-management
``mdm/commands/*.yaml``) says how to read it: integers, reals, booleans
(true/false/yes/no/1/0), data (``@path`` to read a file, else base64),
arrays (JSON, or comma-separated strings) and dictionaries (JSON).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from mdm_protocol import apple_schema
from mdm_protocol.commands.base import DELIVERY_SECRETS, Command, CommandError, build

_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def parse_params(
    request_type: str,
    pairs: Iterable[str],
    *,
    read_file: Callable[[str], bytes] = lambda path: Path(path).read_bytes(),
) -> dict[str, Any]:
    """Turn ``KEY=VALUE`` strings into typed parameters; errors name the key.

    Keys left out take the catalogue's defaults (DeviceInformation asks
    Flokk's usual queries).
    """
    try:
        spec = apple_schema.command(request_type)
    except apple_schema.UnknownSchema:
        raise CommandError(None, f"RequestType {request_type!r} is not one Flokk can send") from None
    settable = {key.name: key for key in spec.keys if key.name not in DELIVERY_SECRETS.get(request_type, {})}
    by_lower = {name.lower(): name for name in settable}
    params: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise CommandError(None, f"parameter {pair!r} must look like KEY=VALUE")
        canonical = by_lower.get(name.lower())
        if canonical is None:
            known = ", ".join(sorted(settable)) or "none"
            raise CommandError(name, f"is not a parameter of {request_type} (known: {known})")
        if canonical in params:
            raise CommandError(canonical, "is given twice")
        params[canonical] = _read(settable[canonical], text, read_file)
    from mdm_protocol.commands.catalogue import CATALOGUE

    entry = CATALOGUE.get(request_type)
    for key, value in ((entry.defaults or {}) if entry else {}).items():
        params.setdefault(key, value)
    return params


def build_from_strings(request_type: str, pairs: Iterable[str], **options: Any) -> Command:
    """Parse ``KEY=VALUE`` strings and build the checked command."""
    return build(request_type, parse_params(request_type, pairs, **options))


def _read(spec: apple_schema.KeySpec, text: str, read_file: Callable[[str], bytes]) -> Any:
    kind = spec.type
    try:
        if kind == "string":
            return text
        if kind == "integer":
            return int(text)
        if kind == "real":
            return float(text)
        if kind == "boolean":
            lowered = text.strip().lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise ValueError
        if kind == "data":
            if text.startswith("@"):
                return read_file(text[1:])
            return base64.b64decode(text, validate=True)
        if kind == "array":
            if text.lstrip()[:1] in ("[", "{"):
                value = json.loads(text)
            else:
                value = [item.strip() for item in text.split(",") if item.strip()]
            if not isinstance(value, list):
                raise ValueError
            return value
        if kind == "dictionary":
            value = json.loads(text)
            if not isinstance(value, dict):
                raise ValueError
            return value
    except OSError as exc:
        raise CommandError(spec.name, f"cannot read file {text[1:]!r}: {exc.strerror or exc}") from None
    except (ValueError, binascii.Error):
        pass
    else:
        return text
    hints = {
        "integer": "an integer",
        "real": "a number",
        "boolean": "true or false",
        "data": "base64 text or @file",
        "array": "a JSON array or comma-separated values",
        "dictionary": "a JSON object",
    }
    raise CommandError(spec.name, f"must be {hints.get(kind, kind)}, not {text!r}")
