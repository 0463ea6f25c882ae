"""The settings model: layers of payload settings, each addressed by payload type, instance and key.

A policy is a stack of layers, most general first: the organisation baseline,
then the device's school, its group (class, year, cart) and the device itself.
Each layer holds entries; an entry sets one key of one payload (the key names
come from Apple's schema), removes what a more general layer set, or locks a
value so no more specific layer may change it.

Payload types that a device can hold several of (Wi-Fi networks, web clips,
certificates) are told apart by an *instance* name chosen by the admin
(``wifi:eduroam``); payloads a device holds once (restrictions, passcode) have
the instance ``""``. Everything here is immutable and free of I/O.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mdm_protocol.declarative import support

#: The key of an entry that addresses a whole payload instance (remove or lock it).
WHOLE_PAYLOAD = "*"

_INSTANCE = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")

#: Platforms Flokk manages. Apple's schema knows the first three; Chromebooks
#: receive Chrome policies compiled from the same settings.
PLATFORMS: tuple[str, ...] = ("ios", "ipados", "macos", "chromeos")


class _Marker:
    """A named sentinel that survives copying and prints readably."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name

    def __reduce__(self) -> str:
        return self._name


#: The value of an entry that removes what a more general layer set.
REMOVED: Any = _Marker("REMOVED")
#: The value of a whole-payload entry that only locks (sets nothing itself).
LOCK_ONLY: Any = _Marker("LOCK_ONLY")


class Level(enum.IntEnum):
    """A layer's place in the stack; a higher level overrides a lower one."""

    BASELINE = 0
    SCHOOL = 1
    GROUP = 2
    DEVICE = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Level:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown layer level {text!r}; use baseline, school, group or device") from None


def valid_instance(name: str) -> bool:
    """Instance names are short lowercase slugs: they end up in PayloadIdentifiers."""
    return bool(_INSTANCE.fullmatch(name))


@dataclass(frozen=True, order=True)
class PayloadRef:
    """One payload instance: its Apple PayloadType and, for repeatable payloads, a name."""

    payload_type: str
    instance: str = ""

    def __str__(self) -> str:
        return f"{self.payload_type}:{self.instance}" if self.instance else self.payload_type


@dataclass(frozen=True, order=True)
class SettingRef:
    """One key of one payload instance; ``key == WHOLE_PAYLOAD`` addresses the whole payload."""

    payload: PayloadRef
    key: str

    @property
    def whole_payload(self) -> bool:
        return self.key == WHOLE_PAYLOAD

    def __str__(self) -> str:
        return f"{self.payload} {self.key}"


@dataclass(frozen=True)
class Entry:
    """What one layer says about one key (or, with ``WHOLE_PAYLOAD``, a whole payload).

    ``value`` is the setting's value, ``REMOVED`` to drop what a more general
    layer set, or ``LOCK_ONLY`` for a whole-payload lock. ``set_by`` and
    ``locked_by`` name the people (or API tokens) who did it.
    """

    ref: SettingRef
    value: Any
    locked: bool = False
    set_by: str = ""
    locked_by: str | None = None

    @property
    def removes(self) -> bool:
        return self.value is REMOVED


@dataclass(frozen=True)
class LayerId:
    """Which layer: its level and the scope it belongs to (school code, group, device)."""

    level: Level
    scope: str = ""

    def __str__(self) -> str:
        return "baseline" if self.level is Level.BASELINE else f"{self.level.label}:{self.scope}"

    @classmethod
    def parse(cls, text: str) -> LayerId:
        """``baseline``, ``school:CODE``, ``group:NAME`` or ``device:ID``."""
        head, _, scope = text.strip().partition(":")
        level = Level.parse(head)
        if level is Level.BASELINE:
            if scope:
                raise ValueError("the baseline layer takes no scope")
            return cls(level)
        if not scope:
            raise ValueError(f"a {level.label} layer needs a scope, e.g. {level.label}:NAME")
        return cls(level, scope)


@dataclass(frozen=True)
class Layer:
    """One layer of a policy and its entries, keyed by what they address."""

    id: LayerId
    entries: Mapping[SettingRef, Entry] = field(default_factory=dict)

    @classmethod
    def of(cls, layer_id: LayerId | str, entries: Iterable[Entry] = ()) -> Layer:
        if isinstance(layer_id, str):
            layer_id = LayerId.parse(layer_id)
        return cls(layer_id, {entry.ref: entry for entry in entries})

    @property
    def level(self) -> Level:
        return self.id.level

    def get(self, ref: SettingRef) -> Entry | None:
        return self.entries.get(ref)

    def payload_entries(self, payload: PayloadRef) -> list[Entry]:
        return [entry for ref, entry in self.entries.items() if ref.payload == payload]

    def with_entry(self, entry: Entry) -> Layer:
        entries = dict(self.entries)
        entries[entry.ref] = entry
        return Layer(self.id, entries)

    def without(self, ref: SettingRef) -> Layer:
        entries = dict(self.entries)
        entries.pop(ref, None)
        return Layer(self.id, entries)

    def __str__(self) -> str:
        return str(self.id)


@dataclass(frozen=True)
class DeviceFacts:
    """What resolution needs to know about a device to pick its layers and payloads.

    ``school``, ``group`` and ``device`` are the scopes of the layers that
    apply to it. A Chromebook's policy is resolved per organisational unit:
    give the school and group and leave ``device`` empty.
    """

    platform: str
    supervised: bool = False
    shared_ipad: bool = False
    model: str = ""
    school: str = ""
    group: str = ""
    device: str = ""
    #: Managed declaratively (it answered Flokk's DeclarativeManagement): settings go as declarations.
    declarative: bool = False
    #: The OS version, which decides the declarations a declaratively managed device takes.
    os_version: str = ""

    def __post_init__(self) -> None:
        if self.platform not in PLATFORMS:
            raise ValueError(f"unknown platform {self.platform!r}; one of {', '.join(PLATFORMS)}")

    @property
    def declaration_types(self) -> frozenset[str] | None:
        """The declaration types this device takes; None when it is not managed declaratively."""
        if not self.declarative:
            return None
        return support.declaration_types(
            self.platform, self.os_version, supervised=self.supervised, shared_ipad=self.shared_ipad
        )

    def applies(self, layer_id: LayerId) -> bool:
        """Whether a layer is part of this device's stack."""
        wanted = {
            Level.BASELINE: "",
            Level.SCHOOL: self.school,
            Level.GROUP: self.group,
            Level.DEVICE: self.device,
        }[layer_id.level]
        if layer_id.level is Level.BASELINE:
            return True
        return bool(wanted) and layer_id.scope == wanted
