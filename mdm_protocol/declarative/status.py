"""A device's status report: checked against Apple's schema and flattened into status items.

Implements the server's reading of Apple's ``StatusReport``
(``declarative/protocol/statusreport.yaml``: ``StatusItems``, ``Errors``,
``FullReport``) and of each status item (``declarative/status/*.yaml``).
Status items arrive nested by the dots of their names
(``{"device": {"operating-system": {"version": "26.0"}}}`` is
``device.operating-system.version``); :func:`parse` walks the nesting and
stops at each name Apple's schema knows.

Device input: a known item of the wrong type, or one lacking a key Apple
marks required, makes the report a :class:`StatusError`; unknown items are
ignored (Apple adds some every year) and listed in ``unknown``; values of
enumerations are not checked (a new install state is still the truth).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from mdm_protocol import apple_schema
from mdm_protocol.declarative import jsonsafe
from mdm_protocol.declarative.declarations import MANIFEST_KEYS

DECLARATIONS_ITEM = "management.declarations"
CAPABILITIES_ITEM = "management.client-capabilities"

#: Status items that answer a DeviceInformation query: a device reporting them need not be asked.
DEVICE_INFORMATION_EQUIVALENTS: Mapping[str, str] = {
    "device.operating-system.version": "OSVersion",
    "device.operating-system.build-version": "BuildVersion",
    "device.model.identifier": "ProductName",
    "device.model.number": "Model",
    "device.model.family": "ModelName",
    "device.identifier.serial-number": "SerialNumber",
    "device.identifier.udid": "UDID",
}
#: Status items that answer what Flokk reads from SecurityInfo (passcode present and compliant).
SECURITY_INFO_EQUIVALENTS: Mapping[str, str] = {
    "passcode.is-present": "PasscodePresent",
    "passcode.is-compliant": "PasscodeCompliant",
}
_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "real": (int, float), "boolean": (bool,),
    "array": (list,), "dictionary": (dict,),
}


class StatusError(ValueError):
    """A status report Flokk cannot accept; ``str()`` names the item and the problem."""


@dataclass(frozen=True)
class DeclarationStatus:
    """What the device says about one declaration (``management.declarations``)."""

    kind: str
    identifier: str
    server_token: str
    active: bool
    valid: str
    reasons: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class ItemError:
    """A status item the device could not report (``Errors``), with Apple's reasons."""

    item: str
    reasons: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class StatusReport:
    #: Known status items by name, except ``management.declarations``.
    items: Mapping[str, Any]
    #: The declarations reported, or None when the report says nothing about them.
    declarations: tuple[DeclarationStatus, ...] | None = None
    errors: tuple[ItemError, ...] = ()
    #: True when the report holds the device's whole status (Apple's "safety sync").
    full_report: bool = False
    #: Dotted paths of values no schema file names (ignored).
    unknown: tuple[str, ...] = field(default=())


def parse(data: bytes) -> StatusReport:
    """Read a StatusReport from the request's ``Data`` (JSON)."""
    try:
        document = jsonsafe.load(data)
    except jsonsafe.JsonError as error:
        raise StatusError(f"Data: {error}") from None
    return from_json(document)


def from_json(document: Any) -> StatusReport:
    if not isinstance(document, dict):
        raise StatusError("Data: a StatusReport is a JSON object")
    problems = _problems(apple_schema.protocol_object("StatusReport").keys, document, "")
    if problems:
        raise StatusError("; ".join(problems))
    items: dict[str, Any] = {}
    unknown: list[str] = []
    _flatten(document["StatusItems"], "", items, unknown)
    declarations = None
    if DECLARATIONS_ITEM in items:
        declarations = _declarations(items.pop(DECLARATIONS_ITEM))
    errors = tuple(
        ItemError(error["StatusItem"], tuple(error.get("Reasons") or ())) for error in document["Errors"]
    )
    return StatusReport(items, declarations, errors, bool(document.get("FullReport", False)), tuple(unknown))


@lru_cache(maxsize=1)
def _known_items() -> dict[str, apple_schema.KeySpec]:
    """Each status item's name and the spec of its value (the key named as the item)."""
    known = {}
    for name in apple_schema.names("status"):
        spec = apple_schema.status_item(name)
        value = next((key for key in spec.keys if key.name == name), None)
        if value is not None:
            known[name] = value
    return known


def _flatten(value: Any, prefix: str, items: dict[str, Any], unknown: list[str]) -> None:
    known = _known_items()
    for key, item in value.items():
        name = f"{prefix}.{key}" if prefix else key
        spec = known.get(name)
        if spec is not None:
            problems = _problems_of_value(spec, item, name)
            if problems:
                raise StatusError("; ".join(problems))
            items[name] = item
        elif isinstance(item, dict):
            _flatten(item, name, items, unknown)
        else:
            unknown.append(name)


def _problems(keys: tuple[apple_schema.KeySpec, ...], value: Mapping[str, Any], path: str) -> list[str]:
    """Required keys and the types of known keys; unknown keys are left alone."""
    problems = []
    by_name = {spec.name: spec for spec in keys if not spec.is_wildcard}
    for spec in by_name.values():
        if spec.required and spec.name not in value:
            problems.append(f"{_join(path, spec.name)}: is required")
    for name, item in value.items():
        spec = by_name.get(name)
        if spec is not None:
            problems.extend(_problems_of_value(spec, item, _join(path, name)))
    return problems


def _problems_of_value(spec: apple_schema.KeySpec, value: Any, path: str) -> list[str]:
    expected = _TYPES.get(spec.type)
    if expected is None:
        return []
    if not isinstance(value, expected) or (isinstance(value, bool) and spec.type in ("integer", "real")):
        return [f"{path}: must be {_a(spec.type)}"]
    if spec.type == "dictionary" and spec.subkeys:
        return _problems(spec.subkeys, value, path)
    if spec.type == "array" and spec.subkeys:
        element = spec.subkeys[0]
        return [problem for index, item in enumerate(value)
                for problem in _problems_of_value(element, item, f"{path}[{index}]")]
    return []


def _declarations(value: Mapping[str, Any]) -> tuple[DeclarationStatus, ...]:
    found = []
    for kind in MANIFEST_KEYS:
        for item in value.get(f"{kind}s" if kind != "management" else kind) or ():
            found.append(DeclarationStatus(
                kind=kind,
                identifier=item["identifier"],
                server_token=item["server-token"],
                active=item["active"],
                valid=item["valid"],
                reasons=tuple(reason for reason in item.get("reasons") or () if isinstance(reason, dict)),
            ))
    return tuple(found)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _a(type_name: str) -> str:
    return f"an {type_name}" if type_name[0] in "aeiou" else f"a {type_name}"
