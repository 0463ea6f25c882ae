"""Resolution: the effective policy of one device, with provenance for every value.

``resolve(layers, facts)`` picks the layers that apply to the device (the
baseline, its school, its group, itself), merges them most general first,
honours locks (a more specific layer's value for a locked key is ignored,
and that is recorded), then leaves out what does not apply to the device
(platform, supervision, Shared iPad, Chrome translation, incomplete
payloads, dangling certificate references), recording each reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from profiles import availability, chrome_mapping, validation
from profiles.layers import Lock, lock_on
from profiles.model import LOCK_ONLY, WHOLE_PAYLOAD, DeviceFacts, Layer, LayerId, Level, PayloadRef, SettingRef
from profiles.payloads import PayloadKind, UnknownPayload, kind, parse_ref


@dataclass(frozen=True)
class Provenance:
    """Where an effective value comes from: the layer and person that set it, and its lock."""

    layer: LayerId
    set_by: str
    locked: bool = False
    locked_in: LayerId | None = None
    locked_by: str | None = None
    #: Values of more general layers this one overrides, most general first.
    overrides: tuple[tuple[LayerId, Any], ...] = ()


@dataclass(frozen=True)
class EffectiveValue:
    value: Any
    provenance: Provenance


@dataclass(frozen=True)
class EffectivePayload:
    """One payload instance of the effective policy."""

    ref: PayloadRef
    kind: PayloadKind
    values: Mapping[str, EffectiveValue]
    #: Other payloads this one names (certificates a Wi-Fi network trusts).
    references: tuple[PayloadRef, ...] = ()
    whole_lock: Lock | None = None

    @property
    def locked(self) -> bool:
        """Locked as a whole or in any key: the device user may not remove it."""
        return self.whole_lock is not None or any(item.provenance.locked for item in self.values.values())

    def plain(self) -> dict[str, Any]:
        return {key: item.value for key, item in sorted(self.values.items())}


@dataclass(frozen=True)
class LeftOut:
    """Something a layer set that is not in the effective policy, and why.

    ``key`` is None when a whole payload is left out; ``layer`` names the
    layer whose entry was ignored or removed something, None when the device
    itself is the reason.
    """

    payload: PayloadRef
    key: str | None
    reason: str
    layer: LayerId | None = None

    def __str__(self) -> str:
        what = f"{self.payload} {self.key}" if self.key else str(self.payload)
        return f"{what}: {self.reason}"


@dataclass(frozen=True)
class EffectivePolicy:
    facts: DeviceFacts
    layers: tuple[LayerId, ...]
    payloads: tuple[EffectivePayload, ...]
    left_out: tuple[LeftOut, ...] = field(default=())

    def payload(self, ref: PayloadRef | str) -> EffectivePayload | None:
        wanted = ref if isinstance(ref, PayloadRef) else _parse_ref(ref)
        return next((item for item in self.payloads if item.ref == wanted), None)

    def value(self, payload: PayloadRef | str, key: str) -> EffectiveValue | None:
        found = self.payload(payload)
        return found.values.get(key) if found else None


def _parse_ref(text: str) -> PayloadRef:
    try:
        return parse_ref(text)
    except UnknownPayload:
        name, _, instance = text.partition(":")
        return PayloadRef(name, instance)


def resolve(layers: Iterable[Layer], facts: DeviceFacts) -> EffectivePolicy:
    """The effective policy of a device described by ``facts``; pure and deterministic."""
    stack = sorted((layer for layer in layers if facts.applies(layer.id)), key=lambda layer: layer.level)
    if facts.platform == "chromeos":
        stack, skipped = _chrome_stack(stack)
    else:
        skipped = []
    merged, whole_locks, notes = _merge(stack)
    notes = skipped + notes
    payloads, dropped = _fit(merged, whole_locks, facts)
    return EffectivePolicy(
        facts=facts,
        layers=tuple(layer.id for layer in stack),
        payloads=payloads,
        left_out=tuple(notes + dropped),
    )


def merge(layers: Iterable[Layer]) -> tuple[dict[SettingRef, EffectiveValue], tuple[LeftOut, ...]]:
    """What a stack of layers says before any device is considered: each key with its provenance.

    Shows a school or group layer in context (what it inherits, what is locked
    above it); ``resolve`` then leaves out what does not fit a given device.
    """
    stack = sorted(layers, key=lambda layer: layer.level)
    merged, whole_locks, notes = _merge(stack)
    values = {
        SettingRef(ref, key): _with_whole_lock(item, whole_locks.get(ref))
        for ref, keys in sorted(merged.items())
        for key, item in sorted(keys.items())
    }
    return values, tuple(notes)


def _chrome_stack(stack: list[Layer]) -> tuple[list[Layer], list[LeftOut]]:
    """Chrome policies apply per organisational unit: a device layer cannot be honoured."""
    kept, notes = [], []
    for layer in stack:
        if layer.level is Level.DEVICE:
            notes.extend(
                LeftOut(ref.payload, None if ref.whole_payload else ref.key,
                        "Chromebooks get policy per organisational unit; device settings do not apply", layer.id)
                for ref in sorted(layer.entries)
            )
        else:
            kept.append(layer)
    return kept, notes


_Merged = dict[PayloadRef, dict[str, EffectiveValue]]


def _merge(stack: list[Layer]) -> tuple[_Merged, dict[PayloadRef, Lock], list[LeftOut]]:
    merged: _Merged = {}
    locks: dict[SettingRef, Lock] = {}
    notes: list[LeftOut] = []
    for layer in stack:
        new_locks: dict[SettingRef, Lock] = {}
        ordered = sorted(layer.entries.values(), key=lambda entry: (not entry.ref.whole_payload, entry.ref))
        for entry in ordered:
            ref = entry.ref
            blocked = None if entry.value is LOCK_ONLY else lock_on(locks, ref)
            if blocked is not None:
                locked_ref, lock = blocked
                notes.append(LeftOut(ref.payload, None if ref.whole_payload else ref.key,
                                     f"ignored: locked in {lock.layer}" + (f" by {lock.by}" if lock.by else ""), layer.id))
            elif ref.whole_payload:
                if entry.removes and ref.payload in merged:
                    del merged[ref.payload]
                    notes.append(LeftOut(ref.payload, None, f"removed by {layer.id}", layer.id))
            elif entry.removes:
                if merged.get(ref.payload, {}).pop(ref.key, None) is not None:
                    notes.append(LeftOut(ref.payload, ref.key, f"removed by {layer.id}", layer.id))
            else:
                slot = merged.setdefault(ref.payload, {})
                before = slot.get(ref.key)
                overrides = before.provenance.overrides + ((before.provenance.layer, before.value),) if before else ()
                slot[ref.key] = EffectiveValue(
                    entry.value,
                    Provenance(layer.id, entry.set_by, entry.locked, layer.id if entry.locked else None,
                               entry.locked_by if entry.locked else None, overrides),
                )
            if entry.locked and blocked is None:
                new_locks[ref] = Lock(layer.id, entry.locked_by)
        locks.update({ref: lock for ref, lock in new_locks.items() if ref not in locks})
    whole_locks = {ref.payload: lock for ref, lock in locks.items() if ref.key == WHOLE_PAYLOAD}
    return merged, whole_locks, notes


def _fit(merged: _Merged, whole_locks: dict[PayloadRef, Lock], facts: DeviceFacts) -> tuple[tuple[EffectivePayload, ...], list[LeftOut]]:
    """Leave out what does not apply to the device; check what remains is complete."""
    notes: list[LeftOut] = []
    candidates: dict[PayloadRef, EffectivePayload] = {}
    for ref in sorted(merged):
        values = merged[ref]
        if not values:
            continue
        try:
            payload_kind = kind(ref.payload_type)
        except UnknownPayload:
            notes.append(LeftOut(ref, None, f"{ref.payload_type} is no longer a supported payload type"))
            continue
        reason = availability.payload_reason(payload_kind, facts)
        if reason is None and facts.platform == "chromeos":
            reason = chrome_mapping.payload_refusal(ref.payload_type, {key: item.value for key, item in values.items()})
        if reason:
            notes.append(LeftOut(ref, None, reason))
            continue
        kept: dict[str, EffectiveValue] = {}
        for key in sorted(values):
            key_reason = availability.key_reason(payload_kind, key, facts) or _value_reason(payload_kind, key, values[key].value)
            if key_reason:
                notes.append(LeftOut(ref, key, key_reason))
            else:
                kept[key] = _with_whole_lock(values[key], whole_locks.get(ref))
        if not kept:
            notes.append(LeftOut(ref, None, "none of its settings apply to this device"))
            continue
        problems = _payload_problems(payload_kind, kept, facts)
        if problems:
            notes.append(LeftOut(ref, None, "incomplete: " + "; ".join(problems)))
            continue
        candidates[ref] = EffectivePayload(ref, payload_kind, kept, (), whole_locks.get(ref))
    return _link(candidates, notes)


def _with_whole_lock(item: EffectiveValue, lock: Lock | None) -> EffectiveValue:
    if lock is None or item.provenance.locked:
        return item
    prov = item.provenance
    return EffectiveValue(item.value, Provenance(prov.layer, prov.set_by, True, lock.layer, lock.by, prov.overrides))


def _value_reason(payload_kind: PayloadKind, key: str, value: Any) -> str | None:
    """Values are checked when saved; this catches values a newer schema no longer accepts."""
    spec = payload_kind.key_spec(key)
    if spec is None:
        return f"{key} is not a key Apple's schema knows in {payload_kind.payload_type}"
    problems = validation.check_value(payload_kind, spec, value)
    return "; ".join(f"{problem.path} {problem.reason}" for problem in problems) or None


def _payload_problems(payload_kind: PayloadKind, values: Mapping[str, EffectiveValue], facts: DeviceFacts) -> list[str]:
    plain = {key: item.value for key, item in values.items()}
    problems: list[str] = []
    if facts.platform != "chromeos":
        for spec in payload_kind.spec.keys:
            if (
                spec.required
                and spec.name not in plain
                and spec.name not in payload_kind.optional_keys
                and spec.available_on(facts.platform)
            ):
                problems.append(f"{spec.name} is required")
    problems.extend(f"{key} {reason}" for key, reason in payload_kind.check_payload(plain))
    return problems


def _link(candidates: dict[PayloadRef, EffectivePayload], notes: list[LeftOut]) -> tuple[tuple[EffectivePayload, ...], list[LeftOut]]:
    """Resolve references by instance name; a payload naming something absent is left out."""
    result: list[EffectivePayload] = []
    for ref, payload in sorted(candidates.items()):
        plain = payload.plain()
        found: list[PayloadRef] = []
        missing: list[str] = []
        for reference in payload.kind.references:
            for name in reference.names(plain):
                target = next(
                    (PayloadRef(target_type, name) for target_type in reference.targets if PayloadRef(target_type, name) in candidates),
                    None,
                )
                if target is None:
                    missing.append(name)
                elif target not in found:
                    found.append(target)
        if missing:
            notes.append(LeftOut(ref, None, "refers to certificate payloads not in this device's policy: " + ", ".join(missing)))
            continue
        result.append(EffectivePayload(ref, payload.kind, payload.values, tuple(found), payload.whole_lock))
    return tuple(result), notes
