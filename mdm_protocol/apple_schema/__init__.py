"""Apple's device-management schema, vendored from github.com/apple/device-management (MIT).

Implements the reading side of Apple's "Device Management Client YAML Schema
Format" (docs/schema.md in that repository): every check-in message, command
and profile payload, and every declaration, status item and declarative
protocol object, with its keys, types, required keys, allowed values,
ranges and per-platform availability. Flokk takes key names and types from
here, never from memory, and checks what it builds and what it accepts against
it.

The YAML files are parsed lazily, once per file.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

SCHEMA_ROOT = Path(__file__).parent
#: libyaml's safe loader when PyYAML has it (about ten times faster), else the pure-Python one.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: Flokk's platform names mapped to the keys Apple's ``supportedOS`` uses.
APPLE_OS = {"ios": "iOS", "ipados": "iOS", "macos": "macOS", "tvos": "tvOS"}

ANY_KEY = "ANY"
_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "real": (int, float),
    "boolean": (bool,),
    "date": (dt.datetime,),
    "data": (bytes, bytearray),
    "array": (list, tuple),
    "dictionary": (dict,),
}


class UnknownSchema(LookupError):
    """No schema file describes the requested message, command or payload."""


@dataclass(frozen=True)
class KeySpec:
    """One key of a payload, command or response, as Apple's schema describes it."""

    name: str
    type: str
    required: bool = False
    title: str = ""
    allowed: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    default: Any = None
    pattern: str | None = None
    valuetype: str | None = None
    supported_os: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    subkeys: tuple[KeySpec, ...] = ()

    @property
    def is_wildcard(self) -> bool:
        """True for Apple's ``ANY ...`` keys: a dictionary of arbitrary keys."""
        return self.name.startswith(ANY_KEY)

    def available_on(self, platform: str | None) -> bool:
        """Whether this key exists on a Flokk platform (``None``: on any)."""
        return _available(self.supported_os, platform)

    def os_info(self, platform: str) -> Mapping[str, Any]:
        return self.supported_os.get(APPLE_OS.get(platform, platform), {})


@dataclass(frozen=True)
class Spec:
    """A check-in message, command or profile payload with its keys."""

    kind: str
    name: str
    title: str
    supported_os: Mapping[str, Mapping[str, Any]]
    keys: tuple[KeySpec, ...]
    response_keys: tuple[KeySpec, ...] = ()
    source: str = ""

    def key(self, name: str) -> KeySpec:
        for spec in self.keys:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def key_names(self) -> frozenset[str]:
        return frozenset(spec.name for spec in self.keys)

    def available_on(self, platform: str | None) -> bool:
        return _available(self.supported_os, platform)

    def os_info(self, platform: str) -> Mapping[str, Any]:
        return self.supported_os.get(APPLE_OS.get(platform, platform), {})


@dataclass(frozen=True)
class Problem:
    """One reason a value does not match the schema; ``path`` names the key."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def _available(supported_os: Mapping[str, Mapping[str, Any]], platform: str | None) -> bool:
    if platform is None:
        return True
    info = supported_os.get(APPLE_OS.get(platform, platform))
    if not info:
        return False
    return str(info.get("introduced", "n/a")) != "n/a" and "removed" not in info


def _merge_os(parent: Mapping[str, Mapping[str, Any]], own: Mapping[str, Mapping[str, Any]] | None):
    """A key inherits its parent's supportedOS, updated per OS by its own."""
    if not own:
        return parent
    merged = {name: dict(info) for name, info in parent.items()}
    for name, info in own.items():
        merged.setdefault(name, {}).update(info or {})
    return merged


def _type_name(raw: Any) -> str:
    text = raw[0] if isinstance(raw, list) else raw
    return str(text or "<any>").strip("<>")


def _key_spec(
    raw: Mapping[str, Any], parent_os: Mapping[str, Mapping[str, Any]], _path: frozenset[int] = frozenset()
) -> KeySpec:
    """Build one key's spec. YAML anchors can make a key contain itself (a home
    screen folder holds pages of icons that may be folders): the repeated
    key is kept without its subkeys, so the recursion ends."""
    supported = _merge_os(parent_os, raw.get("supportedOS"))
    nested = () if id(raw) in _path else raw.get("subkeys") or ()
    bounds = raw.get("range") or {}
    allowed = raw.get("rangelist")
    return KeySpec(
        name=str(raw["key"]),
        type=_type_name(raw.get("type")),
        required=raw.get("presence") == "required",
        title=str(raw.get("title") or ""),
        allowed=tuple(allowed) if allowed is not None else None,
        minimum=bounds.get("min"),
        maximum=bounds.get("max"),
        default=raw.get("default"),
        pattern=raw.get("format"),
        valuetype=raw.get("valuetype") or raw.get("subtype"),
        supported_os=supported,
        subkeys=tuple(_key_spec(sub, supported, _path | {id(raw)}) for sub in nested),
    )


def _spec_from_file(kind: str, path: Path) -> Spec:
    doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    payload = doc.get("payload") or {}
    supported = payload.get("supportedOS") or {}
    name = next((payload[key] for key in _NAME_KEYS if payload.get(key)), path.stem)
    return Spec(
        kind=kind,
        name=str(name),
        title=str(doc.get("title") or name),
        supported_os=supported,
        keys=tuple(_key_spec(key, supported) for key in doc.get("payloadkeys") or ()),
        response_keys=tuple(_key_spec(key, supported) for key in doc.get("responsekeys") or ()),
        source=str(path.relative_to(SCHEMA_ROOT)) if path.is_relative_to(SCHEMA_ROOT) else path.name,
    )


#: The header key that names a schema file's subject, per kind of file.
_NAME_KEYS = ("requesttype", "payloadtype", "declarationtype", "statusitemtype")
_FOLDERS = {
    "checkin": "checkin",
    "command": "commands",
    "profile": "profiles",
    "other": "other",
    "declaration": "declarative/declarations",
    "status": "declarative/status",
    "protocol": "declarative/protocol",
}


@lru_cache(maxsize=None)
def _index(kind: str) -> dict[str, Path]:
    """Map each message/command/payload/declaration name to its file, reading only the header."""
    folder = _FOLDERS[kind]
    index: dict[str, Path] = {}
    marker = re.compile(rf"^\s+({'|'.join(_NAME_KEYS)}):\s*(\S+)\s*$", re.MULTILINE)
    for path in sorted((SCHEMA_ROOT / folder).rglob("*.yaml")):
        head = path.read_text(encoding="utf-8")[:4000]
        match = marker.search(head)
        name = match.group(2).strip("'\"") if match else path.stem
        # Several files may share one payload type (e.g. com.apple.MCX); the
        # file named exactly after the type wins, then the first one found.
        if name not in index or path.stem == name:
            index[name] = path
    return index


@lru_cache(maxsize=None)
def _load(kind: str, name: str) -> Spec:
    path = _index(kind).get(name)
    if path is None:
        raise UnknownSchema(f"Apple's schema has no {kind} named {name!r}")
    return _spec_from_file(kind, path)


def checkin_message(message_type: str) -> Spec:
    """The schema of a check-in message (Authenticate, TokenUpdate, ...)."""
    return _load("checkin", message_type)


def command(request_type: str) -> Spec:
    """The schema of an MDM command by its RequestType."""
    return _load("command", request_type)


def profile_payload(payload_type: str) -> Spec:
    """The schema of a configuration profile payload by its PayloadType."""
    return _load("profile", payload_type)


def declaration(declaration_type: str) -> Spec:
    """The schema of a declaration by its Type (``com.apple.configuration.passcode.settings``)."""
    return _load("declaration", declaration_type)


def status_item(name: str) -> Spec:
    """The schema of a declarative status item (``device.operating-system.version``)."""
    return _load("status", name)


def protocol_object(name: str) -> Spec:
    """The schema of a declarative protocol object (``TokensResponse``, ``StatusReport``, ...)."""
    return _load("protocol", name)


def other(payload_type: str) -> Spec:
    """One of the schema's other definitions (``SkipKeys``, ``MachineInfo``) by its payload type."""
    return _load("other", payload_type)


def profile_payload_file(path: Path) -> Spec:
    """A payload Flokk describes itself in Apple's YAML format (settings only Chromebooks have)."""
    return _load_file(path.resolve())


@lru_cache(maxsize=None)
def _load_file(path: Path) -> Spec:
    return _spec_from_file("profile", path)


def names(kind: str) -> list[str]:
    """Every name known for a kind: ``checkin``, ``command``, ``profile``, ``other``, ``declaration``, ``status``, ``protocol``."""
    return sorted(_index(kind))


def check(
    keys: tuple[KeySpec, ...],
    value: Mapping[str, Any],
    *,
    platform: str | None = None,
    allow_unknown: bool = False,
    path: str = "",
) -> list[Problem]:
    """Check a dictionary against a list of key specs; return every problem.

    ``allow_unknown`` keeps keys the schema does not know (device input: Apple
    adds keys every year); admin input leaves it off so a typo is an error.
    Required keys only count where the key exists on ``platform``.
    """
    problems: list[Problem] = []
    if not isinstance(value, Mapping):
        return [Problem(path or "(root)", "must be a dictionary")]
    wildcard = next((spec for spec in keys if spec.is_wildcard), None)
    by_name = {spec.name: spec for spec in keys if not spec.is_wildcard}
    for spec in by_name.values():
        if spec.required and spec.name not in value and spec.available_on(platform):
            problems.append(Problem(_join(path, spec.name), "is required"))
    for name, item in value.items():
        spec = by_name.get(name) or wildcard
        where = _join(path, str(name))
        if spec is None:
            if not allow_unknown:
                problems.append(Problem(where, "is not a key Apple's schema knows here"))
            continue
        if not allow_unknown and not spec.available_on(platform):
            problems.append(Problem(where, f"is not available on {platform}"))
            continue
        problems.extend(check_value(spec, item, platform=platform, allow_unknown=allow_unknown, path=where))
    return problems


def check_value(
    spec: KeySpec,
    value: Any,
    *,
    platform: str | None = None,
    allow_unknown: bool = False,
    path: str | None = None,
) -> list[Problem]:
    """Check one value against its key spec (type, allowed values, range, format)."""
    where = path or spec.name
    if spec.type == "any":
        return []
    expected = _PYTHON_TYPES.get(spec.type)
    if expected is None:
        return []
    if isinstance(value, bool) and spec.type in ("integer", "real"):
        return [Problem(where, f"must be {_a(spec.type)}, not a boolean")]
    if not isinstance(value, expected):
        return [Problem(where, f"must be {_a(spec.type)}, not {_describe(value)}")]
    if spec.allowed is not None and value not in spec.allowed:
        shown = ", ".join(repr(item) for item in spec.allowed)
        return [Problem(where, f"must be one of {shown}")]
    if spec.minimum is not None and value < spec.minimum:
        return [Problem(where, f"must be at least {spec.minimum}")]
    if spec.maximum is not None and value > spec.maximum:
        return [Problem(where, f"must be at most {spec.maximum}")]
    if spec.pattern and isinstance(value, str) and not re.fullmatch(spec.pattern, value):
        return [Problem(where, f"must match the format {spec.pattern}")]
    if spec.type == "dictionary" and spec.subkeys:
        return check(spec.subkeys, value, platform=platform, allow_unknown=allow_unknown, path=where)
    if spec.type == "array" and spec.subkeys:
        element = spec.subkeys[0]
        problems: list[Problem] = []
        for index, item in enumerate(value):
            problems.extend(
                check_value(element, item, platform=platform, allow_unknown=allow_unknown, path=f"{where}[{index}]")
            )
        return problems
    return []


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _a(type_name: str) -> str:
    return f"an {type_name}" if type_name[0] in "aeiou" else f"a {type_name}"


def _describe(value: Any) -> str:
    names = {str: "string", int: "integer", float: "real", bytes: "data", list: "array", dict: "dictionary"}
    return _a(names.get(type(value), type(value).__name__))
