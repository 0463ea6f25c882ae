"""Changing a layer: set, remove, lock, unlock; refused when a more general layer locked it.

``apply_changes`` is all or nothing: it checks every change (schema, payload
rules, locks of the layers above) and either returns the new layer or raises
``Refused`` listing each key with its reason and, for locks, the layer that
locked it and who did.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from profiles import validation
from profiles.model import (
    LOCK_ONLY,
    PLATFORMS,
    REMOVED,
    WHOLE_PAYLOAD,
    Entry,
    Layer,
    LayerId,
    PayloadRef,
    SettingRef,
)
from profiles.payloads import parse_ref
from profiles.values import show


class Action(enum.Enum):
    SET = "set"          # give a key a value
    REMOVE = "remove"    # drop a key or a whole payload (inherited, and this layer's own)
    UNSET = "unset"      # forget this layer's own entry (inherit again)
    LOCK = "lock"        # forbid more specific layers to change it
    UNLOCK = "unlock"


@dataclass(frozen=True)
class Change:
    """One requested change of one layer. ``lock`` with SET/REMOVE: None keeps the current lock."""

    ref: SettingRef
    action: Action
    value: Any = None
    lock: bool | None = None

    @classmethod
    def set(cls, payload: str, key: str, value: Any, *, lock: bool | None = None) -> Change:
        """``Change.set("passcode", "minLength", 6)``; payloads by alias or type, ``wifi:eduroam``."""
        return cls(SettingRef(parse_ref(payload), key), Action.SET, value, lock)

    @classmethod
    def remove(cls, payload: str, key: str = WHOLE_PAYLOAD, *, lock: bool | None = None) -> Change:
        return cls(SettingRef(parse_ref(payload), key), Action.REMOVE, None, lock)

    @classmethod
    def unset(cls, payload: str, key: str = WHOLE_PAYLOAD) -> Change:
        return cls(SettingRef(parse_ref(payload), key), Action.UNSET)

    @classmethod
    def lock_it(cls, payload: str, key: str = WHOLE_PAYLOAD) -> Change:
        return cls(SettingRef(parse_ref(payload), key), Action.LOCK)

    @classmethod
    def unlock(cls, payload: str, key: str = WHOLE_PAYLOAD) -> Change:
        return cls(SettingRef(parse_ref(payload), key), Action.UNLOCK)


@dataclass(frozen=True)
class Lock:
    """Who locked a key or payload, and in which layer."""

    layer: LayerId
    by: str | None


@dataclass(frozen=True)
class Refusal:
    """Why one change was refused: the key, the reason, and for locks where and by whom."""

    key: str
    reason: str
    locked_in: LayerId | None = None
    locked_by: str | None = None

    def __str__(self) -> str:
        return f"{self.key}: {self.reason}"


class Refused(ValueError):
    """A set of changes was refused; nothing was applied."""

    def __init__(self, refusals: Sequence[Refusal]) -> None:
        super().__init__("; ".join(str(item) for item in refusals))
        self.refusals = tuple(refusals)


def locks_of(layers: Iterable[Layer]) -> dict[SettingRef, Lock]:
    """Every lock the given layers hold, most general layer winning."""
    locks: dict[SettingRef, Lock] = {}
    for layer in sorted(layers, key=lambda item: item.level):
        for ref, entry in layer.entries.items():
            if entry.locked and ref not in locks:
                locks[ref] = Lock(layer.id, entry.locked_by)
    return locks


def lock_on(locks: dict[SettingRef, Lock], ref: SettingRef) -> tuple[SettingRef, Lock] | None:
    """The lock that stops a change of ``ref``: on the key itself, on its whole payload,
    or, to remove a whole payload, on any of its keys."""
    whole = SettingRef(ref.payload, WHOLE_PAYLOAD)
    if whole in locks:
        return whole, locks[whole]
    if ref.whole_payload:
        for locked_ref, lock in sorted(locks.items(), key=lambda item: item[0]):
            if locked_ref.payload == ref.payload:
                return locked_ref, lock
        return None
    if ref in locks:
        return ref, locks[ref]
    return None


def _lock_refusal(ref: SettingRef, found: tuple[SettingRef, Lock]) -> Refusal:
    locked_ref, lock = found
    where = f"{lock.layer}" + (f" by {lock.by}" if lock.by else "")
    if locked_ref.whole_payload:
        reason = f"is locked: {ref.payload} is locked as a whole in {where}"
    elif ref.whole_payload:
        reason = f"cannot be removed: its key {locked_ref.key} is locked in {where}"
    else:
        reason = f"is locked in {where}"
    return Refusal(_name(ref), reason, lock.layer, lock.by)


def apply_changes(
    layer: Layer,
    above: Sequence[Layer],
    changes: Sequence[Change],
    *,
    actor: str,
    platforms: Iterable[str] = PLATFORMS,
) -> Layer:
    """The layer after all changes, or ``Refused`` with every reason; the input is never modified."""
    if any(item.level >= layer.level for item in above):
        raise ValueError("the layers above must be more general than the layer being changed")
    locks = locks_of(above)
    refusals: list[Refusal] = []
    result = layer
    wanted_platforms = tuple(platforms)
    for change in changes:
        result, problems = _apply_one(result, locks, change, actor, wanted_platforms)
        refusals.extend(problems)
    if refusals:
        raise Refused(refusals)
    return result


def _apply_one(
    layer: Layer, locks: dict[SettingRef, Lock], change: Change, actor: str, platforms: tuple[str, ...]
) -> tuple[Layer, list[Refusal]]:
    ref = change.ref
    current = layer.get(ref)
    if change.action is Action.UNSET:
        if current is None:
            return layer, [Refusal(_name(ref), f"{layer.id} sets nothing here to unset")]
        return layer.without(ref), []
    if change.action in (Action.SET, Action.REMOVE):
        value = REMOVED if change.action is Action.REMOVE else validation.normalise(ref, change.value)
        problems = [Refusal(problem.path, problem.reason) for problem in validation.check_entry(ref, value, platforms=platforms)]
        if problems:
            return layer, problems
        found = lock_on(locks, ref)
        if found is not None:
            return layer, [_lock_refusal(ref, found)]
        locked = current.locked if (change.lock is None and current is not None) else bool(change.lock)
        entry = Entry(
            ref=ref,
            value=value,
            locked=locked,
            set_by=actor,
            locked_by=(actor if change.lock else current.locked_by if current and locked else None),
        )
        if change.action is Action.REMOVE and ref.whole_payload:
            # Removing a whole payload also drops what this layer itself set in it.
            for own in layer.payload_entries(ref.payload):
                layer = layer.without(own.ref)
        return layer.with_entry(entry), []
    if change.action is Action.LOCK:
        if ref.whole_payload:
            kind_problems = [Refusal(p.path, p.reason) for p in validation.check_entry(ref, LOCK_ONLY, platforms=platforms)]
            if kind_problems:
                return layer, kind_problems
            base = current or Entry(ref=ref, value=LOCK_ONLY, set_by=actor)
            return layer.with_entry(Entry(ref, base.value, True, base.set_by, actor)), []
        if current is None:
            return layer, [Refusal(ref.key, f"{layer.id} does not set {ref.key}; set a value to lock it")]
        return layer.with_entry(Entry(ref, current.value, True, current.set_by, actor)), []
    if change.action is Action.UNLOCK:
        if current is None or not current.locked:
            return layer, [Refusal(_name(ref), f"is not locked in {layer.id}")]
        if current.value is LOCK_ONLY:
            return layer.without(ref), []
        return layer.with_entry(Entry(ref, current.value, False, current.set_by, None)), []
    raise ValueError(f"unknown action {change.action}")


def _name(ref: SettingRef) -> str:
    return str(ref.payload) if ref.whole_payload else ref.key


@dataclass(frozen=True)
class EntryDiff:
    """How one entry differs between two versions of a layer."""

    ref: SettingRef
    before: Entry | None
    after: Entry | None

    def describe(self, mask: Callable[[SettingRef, Any], Any] | None = None) -> str:
        """One line: ``+`` added, ``-`` dropped, ``~`` changed; ``mask`` hides secrets."""
        hide = mask or (lambda ref, value: value)
        where = f"{self.ref.payload} {_name(self.ref)}" if not self.ref.whole_payload else str(self.ref.payload)
        if self.before is None and self.after is not None:
            locked = " (locked)" if self.after.locked else ""
            return f"+ {where} = {show(hide(self.ref, self.after.value))}{locked}"
        if self.after is None and self.before is not None:
            return f"- {where} (was {show(hide(self.ref, self.before.value))})"
        assert self.before is not None and self.after is not None
        parts = []
        if self.before.value != self.after.value:
            old, new = hide(self.ref, self.before.value), hide(self.ref, self.after.value)
            parts.append(f"{show(old)} -> {show(new)}" if old != new else "secret changed")
        if self.before.locked != self.after.locked:
            parts.append("locked" if self.after.locked else "unlocked")
        return f"~ {where}: {', '.join(parts)}"


def diff(before: Layer | None, after: Layer | None) -> list[EntryDiff]:
    """Entries added, removed or changed (value or lock) between two versions of a layer."""
    old = dict(before.entries) if before else {}
    new = dict(after.entries) if after else {}
    changes: list[EntryDiff] = []
    for ref in sorted(set(old) | set(new)):
        a, b = old.get(ref), new.get(ref)
        if a is None or b is None or a.value != b.value or a.locked != b.locked:
            changes.append(EntryDiff(ref, a, b))
    return changes


def payload_refs(layers: Iterable[Layer]) -> set[PayloadRef]:
    return {ref.payload for layer in layers for ref in layer.entries}


def changes_to(before: Layer, target: Layer) -> list[Change]:
    """The changes that turn ``before`` into ``target`` (to restore an old version through the usual checks)."""
    changes: list[Change] = []
    for item in diff(before, target):
        wanted = item.after
        if wanted is None:
            changes.append(Change(item.ref, Action.UNSET))
        elif wanted.value is LOCK_ONLY:
            if item.before is not None:
                changes.append(Change(item.ref, Action.UNSET))
            changes.append(Change(item.ref, Action.LOCK))
        elif wanted.value is REMOVED:
            changes.append(Change(item.ref, Action.REMOVE, lock=wanted.locked))
        else:
            changes.append(Change(item.ref, Action.SET, wanted.value, lock=wanted.locked))
    return changes
