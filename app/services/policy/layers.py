"""Storing policy layers: addressing them, loading them as ``profiles.Layer``, saving versions.

Admins address layers as ``baseline``, ``school:CODE``, ``group:CODE/NAME``
or ``device:SERIAL`` (or UDID, or ``#id``). Inside the pure model a layer's
scope is the database id of its school, group or device, so resolution
matches devices by id; ``label`` gives the admin-facing name back.

Values that hold secrets are sealed with the secrets box, in the current
settings and in every version's snapshot.
"""

from __future__ import annotations

import base64
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.db import context
from app.errors import InvalidInput, NotFound
from app.models.base import parse_row_id, utcnow
from app.models.devices import Device
from app.models.policy import LayerLevel, PolicyLayer, PolicySetting, PolicyVersion
from app.models.tenancy import Group, Organisation, School
from app.services.access import Permission, Principal, scoped
from app.services.fleet import schools
from profiles import Entry, Layer, LayerId, Level, PayloadRef, SettingRef, diff
from profiles.secrets import is_secret, mask
from profiles.values import from_json, to_json

SEAL_LABEL = "policy-setting"


@dataclass(frozen=True)
class LayerTarget:
    """A layer as an admin addresses it, with the rows it belongs to."""

    level: LayerLevel
    organisation_id: int
    school: School | None = None
    group: Group | None = None
    device: Device | None = None

    @property
    def school_id(self) -> int | None:
        return self.school.id if self.school else None

    @property
    def scope_key(self) -> str:
        if self.level is LayerLevel.BASELINE:
            return f"baseline:{self.organisation_id}"
        return f"{self.level}:{self._row_id}"

    @property
    def _row_id(self) -> int:
        row = {LayerLevel.SCHOOL: self.school, LayerLevel.GROUP: self.group, LayerLevel.DEVICE: self.device}[self.level]
        assert row is not None
        return row.id

    @property
    def layer_id(self) -> LayerId:
        """The layer's id in the pure model (scopes are database ids)."""
        if self.level is LayerLevel.BASELINE:
            return LayerId(Level.BASELINE)
        return LayerId(Level[self.level.upper()], str(self._row_id))

    @property
    def label(self) -> str:
        if self.level is LayerLevel.BASELINE:
            return "baseline"
        if self.level is LayerLevel.SCHOOL:
            assert self.school is not None
            return f"school:{self.school.code}"
        if self.level is LayerLevel.GROUP:
            assert self.group is not None and self.school is not None
            return f"group:{self.school.code}/{self.group.name}"
        assert self.device is not None
        return f"device:{device_label(self.device)}"


def device_label(device: Device) -> str:
    return device.serial_number or device.udid or f"#{device.id}"


def parse_target(session: Session, principal: Principal, text: str, *, organisation: str | None = None) -> LayerTarget:
    """Find the layer an admin named; NotFound for anything outside the principal's schools."""
    head, _, rest = text.strip().partition(":")
    try:
        level = LayerLevel(head.lower())
    except ValueError:
        raise InvalidInput(f"unknown layer {text!r}: use baseline, school:CODE, group:CODE/NAME or device:SERIAL") from None
    if level is LayerLevel.BASELINE:
        if rest:
            raise InvalidInput("the baseline layer takes no name")
        return LayerTarget(level, schools.organisation_for(session, organisation).id)
    if not rest:
        raise InvalidInput(f"say which {level}: {level}:NAME")
    if level is LayerLevel.SCHOOL:
        school = schools.get_school_by_code(session, principal, rest)
        return LayerTarget(level, school.organisation_id, school=school)
    if level is LayerLevel.GROUP:
        code, slash, name = rest.partition("/")
        if not slash or not name:
            raise InvalidInput("name a group as group:SCHOOLCODE/GROUPNAME")
        school = schools.get_school_by_code(session, principal, code)
        group = session.scalar(select(Group).where(Group.school_id == school.id, Group.name == name))
        if group is None:
            raise NotFound(f"no group {name!r} in school {school.code}")
        return LayerTarget(level, school.organisation_id, school=school, group=group)
    device = find_device(session, principal, rest)
    return LayerTarget(level, device.school.organisation_id, school=device.school, device=device)


def find_device(session: Session, principal: Principal, reference: str) -> Device:
    """A device by serial number, UDID or ``#id``, within the principal's schools."""
    conditions = [Device.serial_number == reference, Device.udid == reference]
    number = parse_row_id(reference.removeprefix("#"))
    if number is not None:
        conditions.append(Device.id == number)
    found = list(session.scalars(scoped(Device, principal, Permission.VIEW).where(or_(*conditions)).limit(2)))
    if not found:
        raise NotFound(f"no device {reference!r}")
    if len(found) > 1:
        raise InvalidInput(f"{reference!r} names more than one device; use its UDID or #id")
    return found[0]


def target_of(session: Session, row: PolicyLayer) -> LayerTarget:
    """The target a stored layer row stands for."""
    level = LayerLevel(row.level)
    school = session.get(School, row.school_id) if row.school_id else None
    group = session.get(Group, row.group_id) if row.group_id else None
    device = session.get(Device, row.device_id) if row.device_id else None
    return LayerTarget(level, row.organisation_id, school=school, group=group, device=device)


def find_row(session: Session, target: LayerTarget, *, lock: bool = False) -> PolicyLayer | None:
    statement = select(PolicyLayer).where(PolicyLayer.scope_key == target.scope_key)
    if lock:
        statement = statement.with_for_update()
    return session.scalar(statement)


def ensure_row(session: Session, target: LayerTarget) -> PolicyLayer:
    """The layer's row, created empty on first write (and locked against concurrent edits)."""
    row = find_row(session, target, lock=True)
    if row is None:
        row = PolicyLayer(
            organisation_id=target.organisation_id,
            level=target.level,
            scope_key=target.scope_key,
            school_id=target.school_id,
            group_id=target.group.id if target.group else None,
            device_id=target.device.id if target.device else None,
        )
        session.add(row)
        session.flush()
    return row


def pure_id(row: PolicyLayer) -> LayerId:
    level = LayerLevel(row.level)
    if level is LayerLevel.BASELINE:
        return LayerId(Level.BASELINE)
    scope = {LayerLevel.SCHOOL: row.school_id, LayerLevel.GROUP: row.group_id, LayerLevel.DEVICE: row.device_id}[level]
    return LayerId(Level[level.upper()], str(scope))


def load(session: Session, row: PolicyLayer | None, target: LayerTarget | None = None) -> Layer:
    """The stored layer as a pure ``Layer`` (empty when it has never been written)."""
    if row is None:
        assert target is not None
        return Layer(target.layer_id, {})
    return load_many(session, [row])[row.id]


def load_many(session: Session, rows: Iterable[PolicyLayer]) -> dict[int, Layer]:
    """Several layers in one query, by row id."""
    rows = list(rows)
    entries: dict[int, list[Entry]] = defaultdict(list)
    if rows:
        settings = session.scalars(
            select(PolicySetting).where(PolicySetting.layer_id.in_([row.id for row in rows])).order_by(PolicySetting.id)
        )
        for setting in settings:
            entries[setting.layer_id].append(_entry(session, setting))
    return {row.id: Layer.of(pure_id(row), entries[row.id]) for row in rows}


def organisation_layers(session: Session, organisation_id: int) -> list[Layer]:
    """Every layer of an organisation: what resolution for its devices needs."""
    rows = list(session.scalars(select(PolicyLayer).where(PolicyLayer.organisation_id == organisation_id)))
    return list(load_many(session, rows).values())


def _entry(session: Session, setting: PolicySetting) -> Entry:
    ref = SettingRef(PayloadRef(setting.payload_type, setting.instance), setting.key)
    if setting.sealed_value is not None:
        value = from_json(json.loads(context(session).secrets.open(setting.sealed_value, label=SEAL_LABEL)))
    else:
        value = from_json(setting.value)
    return Entry(ref, value, setting.locked, setting.set_by, setting.locked_by)


def _seal(session: Session, value: Any) -> bytes:
    return context(session).secrets.seal(json.dumps(to_json(value)).encode("utf-8"), label=SEAL_LABEL)


def save(
    session: Session,
    row: PolicyLayer,
    before: Layer,
    after: Layer,
    *,
    actor: str,
    note: str | None = None,
    restored_from: int | None = None,
) -> PolicyVersion | None:
    """Store ``after`` as the layer's current entries and a new version; None if nothing changed."""
    changes = diff(before, after)
    if not changes:
        return None
    existing = {
        SettingRef(PayloadRef(setting.payload_type, setting.instance), setting.key): setting
        for setting in session.scalars(select(PolicySetting).where(PolicySetting.layer_id == row.id))
    }
    now = utcnow()
    for change in changes:
        stored = existing.get(change.ref)
        if change.after is None:
            if stored is not None:
                session.delete(stored)
            continue
        if stored is None:
            stored = PolicySetting(
                layer_id=row.id,
                school_id=row.school_id,
                payload_type=change.ref.payload.payload_type,
                instance=change.ref.payload.instance,
                key=change.ref.key,
            )
            session.add(stored)
        secret = is_secret(change.ref)
        stored.value = None if secret else to_json(change.after.value)
        stored.sealed_value = _seal(session, change.after.value) if secret else None
        stored.locked = change.after.locked
        stored.set_by = change.after.set_by
        stored.locked_by = change.after.locked_by
        stored.set_at = now
    row.version += 1
    row.updated_at = now
    row.updated_by = actor
    version = PolicyVersion(
        layer_id=row.id,
        school_id=row.school_id,
        number=row.version,
        created_at=now,
        created_by=actor,
        entries=[_snapshot_entry(session, entry) for entry in sorted(after.entries.values(), key=lambda e: e.ref)],
        changes=[change.describe(mask) for change in changes],
        restored_from=restored_from,
        note=note,
    )
    session.add(version)
    session.flush()
    return version


def _snapshot_entry(session: Session, entry: Entry) -> dict[str, Any]:
    stored: dict[str, Any] = {
        "payload_type": entry.ref.payload.payload_type,
        "instance": entry.ref.payload.instance,
        "key": entry.ref.key,
        "locked": entry.locked,
        "set_by": entry.set_by,
        "locked_by": entry.locked_by,
    }
    if is_secret(entry.ref):
        stored["sealed"] = base64.b64encode(_seal(session, entry.value)).decode("ascii")
    else:
        stored["value"] = to_json(entry.value)
    return stored


def snapshot(session: Session, row: PolicyLayer, version: PolicyVersion) -> Layer:
    """The layer's entries as they were after ``version``."""
    entries = []
    for stored in version.entries:
        ref = SettingRef(PayloadRef(stored["payload_type"], stored["instance"]), stored["key"])
        if "sealed" in stored:
            raw = context(session).secrets.open(base64.b64decode(stored["sealed"]), label=SEAL_LABEL)
            value = from_json(json.loads(raw))
        else:
            value = from_json(stored["value"])
        entries.append(Entry(ref, value, stored["locked"], stored["set_by"], stored["locked_by"]))
    return Layer.of(pure_id(row), entries)


def labels(session: Session, layer_ids: Iterable[LayerId]) -> dict[LayerId, str]:
    """Admin-facing names for pure layer ids (``school:nordby`` for ``school:12``)."""
    names: dict[LayerId, str] = {}
    for layer_id in set(layer_ids):
        if layer_id.level is Level.BASELINE:
            names[layer_id] = "baseline"
        elif layer_id.level is Level.SCHOOL:
            school = session.get(School, int(layer_id.scope))
            names[layer_id] = f"school:{school.code}" if school else str(layer_id)
        elif layer_id.level is Level.GROUP:
            group = session.get(Group, int(layer_id.scope))
            names[layer_id] = f"group:{group.school.code}/{group.name}" if group else str(layer_id)
        else:
            device = session.get(Device, int(layer_id.scope))
            names[layer_id] = f"device:{device_label(device)}" if device else str(layer_id)
    return names


def organisation_of(session: Session, organisation_id: int) -> Organisation:
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound(f"no organisation {organisation_id}")
    return organisation
