"""The MDM command value and its check against Apple's command schema.

Implements the server side of Apple's *MDM protocol* command dictionary
(Device Management documentation, "Commands and Queries": a ``Command``
dictionary with a ``RequestType`` and its keys, wrapped with a
``CommandUUID``). Every command Flokk queues is built here and checked
against ``mdm/commands/*.yaml`` before it reaches the queue, so a typo or a
wrong type is refused at enqueue, naming the key, instead of coming back
from an iPad as a CommandFormatError.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mdm_protocol import apple_schema
from mdm_protocol import plist as plist_io
from mdm_protocol import plist_values

#: The platform commands are checked for unless a caller says otherwise.
DEFAULT_PLATFORM = "ipados"

#: Keys the server fills in at delivery from secrets it holds for the device
#: (never stored in the queue): RequestType → key → what fills it.
DELIVERY_SECRETS: dict[str, dict[str, str]] = {"ClearPasscode": {"UnlockToken": "unlock_token"}}
#: Keys of a device's answer that are secrets: the server escrows them sealed and never keeps
#: them with the command's stored result (Apple: ActivationLockBypassCode's response).
RESPONSE_SECRETS = frozenset({"ActivationLockBypassCode"})


class CommandError(ValueError):
    """A command cannot be built; ``key`` names the offending parameter."""

    def __init__(self, key: str | None, reason: str) -> None:
        super().__init__(f"{key}: {reason}" if key else reason)
        self.key = key
        self.reason = reason


@dataclass(frozen=True)
class Command:
    """A checked MDM command: a RequestType and its parameters (Apple key names).

    ``params`` holds plist values (bytes for ``<data>``). ``secrets`` names the
    keys the server adds at delivery (see :data:`DELIVERY_SECRETS`).
    """

    request_type: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def secrets(self) -> Mapping[str, str]:
        return DELIVERY_SECRETS.get(self.request_type, {})

    def payload(self) -> dict[str, Any]:
        """The ``Command`` dictionary as queued (delivery-time secrets not included)."""
        return {"RequestType": self.request_type, **self.params}

    def to_plist(self, command_uuid: str) -> bytes:
        """The body as stored in the queue (and sent, for commands without secrets)."""
        return plist_io.dump({"CommandUUID": command_uuid, "Command": self.payload()})

    def deliverable(self, command_uuid: str, secrets: Mapping[str, Any]) -> bytes:
        """The body sent to the device, with the secrets of :data:`DELIVERY_SECRETS` filled in."""
        payload = self.payload()
        for key, source in self.secrets.items():
            value = secrets.get(source)
            if value is None:
                raise CommandError(key, f"needs the device's {source.replace('_', ' ')}, which Flokk does not hold")
            payload[key] = value
        return plist_io.dump({"CommandUUID": command_uuid, "Command": payload})


def new_command_uuid() -> str:
    return str(uuid.uuid4()).upper()


def build(request_type: str, params: Mapping[str, Any] | None = None, *, platform: str = DEFAULT_PLATFORM) -> Command:
    """Check parameters against Apple's schema and return the command.

    Raises :class:`CommandError` naming the first key that is wrong.
    """
    from mdm_protocol.commands.catalogue import CATALOGUE

    if request_type not in CATALOGUE:
        raise CommandError(None, f"RequestType {request_type!r} is not one Flokk can send")
    params = {key: value for key, value in (params or {}).items() if value is not None}
    spec = apple_schema.command(request_type)
    if not spec.available_on(platform):
        raise CommandError(None, f"{request_type} is not available on {platform}")
    for key in DELIVERY_SECRETS.get(request_type, {}):
        if key in params:
            raise CommandError(key, "is filled in by Flokk at delivery; do not pass it")
    unsendable = plist_values.problems(params)
    if unsendable:
        raise CommandError(*unsendable[0])
    special = _SPECIAL_KEYS.get(request_type, {})
    keys = tuple(key for key in spec.keys if key.name not in DELIVERY_SECRETS.get(request_type, {}))
    plain = {key: value for key, value in params.items() if key not in special}
    problems = apple_schema.check(
        tuple(key for key in keys if key.name not in special), plain, platform=platform
    )
    if problems:
        raise CommandError(problems[0].path, problems[0].reason)
    for name, checker in special.items():
        key_spec = spec.key(name)
        if name not in params:
            if key_spec.required:
                raise CommandError(name, "is required")
            continue
        checker(key_spec, params[name], platform)
    extra = CATALOGUE[request_type].extra_check
    if extra is not None:
        extra(params)
    return Command(request_type, params)


def _check_queries(spec: apple_schema.KeySpec, value: Any, platform: str) -> None:
    """DeviceInformation ``Queries``: a list of query names Apple defines."""
    if not isinstance(value, (list, tuple)) or not value:
        raise CommandError(spec.name, "must be a non-empty array of query names")
    known = {item.name for item in spec.subkeys[0].subkeys}
    for index, name in enumerate(value):
        if not isinstance(name, str):
            raise CommandError(f"{spec.name}[{index}]", f"must be a string, not {plist_io.described(name)}")
        if name not in known:
            raise CommandError(f"{spec.name}[{index}]", f"{name!r} is not a DeviceInformation query")


def _check_settings(spec: apple_schema.KeySpec, value: Any, platform: str) -> None:
    """Settings ``Settings``: each item's keys depend on its ``Item`` value."""
    if not isinstance(value, (list, tuple)) or not value:
        raise CommandError(spec.name, "must be a non-empty array of settings")
    kinds = {kind.name: kind for kind in spec.subkeys}
    for index, item in enumerate(value):
        where = f"{spec.name}[{index}]"
        if not isinstance(item, Mapping):
            raise CommandError(where, f"must be a dictionary, not {plist_io.described(item)}")
        kind = kinds.get(item.get("Item"))  # type: ignore[arg-type]
        if kind is None:
            raise CommandError(f"{where}.Item", f"must be one of {', '.join(sorted(kinds))}")
        if not kind.available_on(platform):
            raise CommandError(f"{where}.Item", f"{kind.name} is not available on {platform}")
        problems = apple_schema.check(kind.subkeys, item, platform=platform, path=where)
        if problems:
            raise CommandError(problems[0].path, problems[0].reason)


_SPECIAL_KEYS = {
    "DeviceInformation": {"Queries": _check_queries},
    "Settings": {"Settings": _check_settings},
}
