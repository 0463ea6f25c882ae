"""OS update targets in and out (REST API, dashboard forms) and a device's declarative state out.

Input is checked for shape here; whether a version, build or deadline fits
Apple's declaration, and whether a layer above locked it, is the policy's to
decide (``app.services.declarations.updates``), so refusals name the key the
same way everywhere.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from app.schemas import InputSchema
from app.schemas.api import PolicyChangeOut
from app.services.declarations import DeviceDeclarations
from app.services.declarations.updates import KEYS, DeviceUpdate, SchoolUpdates, Target
from app.services.policy import NOTE_LENGTH

_SHORT = validate.Length(min=1, max=32)


class TargetChange(InputSchema):
    """``{"version": "26.1", "build": "23B85", "deadline": "2026-10-16T16:00", "lock": true}``; ``dry_run``: preview."""

    version = fields.String(load_default=None, validate=_SHORT)
    build = fields.String(load_default=None, validate=_SHORT)
    deadline = fields.String(load_default=None, validate=_SHORT)
    details_url = fields.String(load_default=None, validate=validate.Length(min=1, max=500))
    lock = fields.Boolean(load_default=None, allow_none=True)
    unset = fields.List(fields.String(validate=validate.OneOf(list(KEYS))), load_default=list,
                        validate=validate.Length(max=len(KEYS)))
    note = fields.String(load_default=None, validate=validate.Length(max=NOTE_LENGTH))
    dry_run = fields.Boolean(load_default=False)


class TargetForm(InputSchema):
    """The dashboard's form: a deadline (and for central IT version, build, lock); preview or save."""

    version = fields.String(load_default=None, validate=_SHORT)
    build = fields.String(load_default=None, validate=_SHORT)
    deadline = fields.String(load_default=None, validate=_SHORT)
    lock = fields.Boolean(load_default=None)
    note = fields.String(load_default=None, validate=validate.Length(max=NOTE_LENGTH))
    intent = fields.String(load_default="preview", validate=validate.OneOf(["preview", "save"]))


class UpdatesQuery(InputSchema):
    school = fields.String(load_default=None, validate=validate.Length(min=1, max=64))


# --- answers (they also describe the API in /api/v1/openapi.json) ---------------------------------


class SettingOut(Schema):
    value = fields.String(required=True)
    layer = fields.String(required=True)
    set_by = fields.String(required=True)
    locked_in = fields.String(required=True, allow_none=True)
    locked_by = fields.String(required=True, allow_none=True)


class TargetOut(Schema):
    """Each value of the target with the layer that set it and its lock (null: not set)."""

    version = fields.Nested(SettingOut, required=True, allow_none=True)
    build = fields.Nested(SettingOut, required=True, allow_none=True)
    deadline = fields.Nested(SettingOut, required=True, allow_none=True)
    details_url = fields.Nested(SettingOut, required=True, allow_none=True)


class DeviceCountsOut(Schema):
    total = fields.Integer(required=True)
    done = fields.Integer(required=True)
    pending = fields.Integer(required=True)
    failed = fields.Integer(required=True)
    unreachable = fields.Integer(required=True)
    below_target = fields.Integer(required=True)
    by_state = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class DeviceUpdateOut(Schema):
    device_id = fields.Integer(required=True)
    name = fields.String(required=True)
    serial_number = fields.String(required=True, allow_none=True)
    os_version = fields.String(required=True, allow_none=True)
    target_version = fields.String(required=True)
    deadline = fields.String(required=True)
    state = fields.String(required=True)
    reason = fields.String(required=True, allow_none=True)
    pending_version = fields.String(required=True, allow_none=True)
    reported_at = fields.String(required=True, allow_none=True)


class SchoolUpdatesOut(Schema):
    school = fields.String(required=True)
    target = fields.Nested(TargetOut, required=True)
    devices = fields.Nested(DeviceCountsOut, required=True)
    device_list = fields.List(fields.Nested(DeviceUpdateOut))


class UpdatesOut(Schema):
    schools = fields.List(fields.Nested(SchoolUpdatesOut), required=True)


class TargetChangeOut(Schema):
    change = fields.Nested(PolicyChangeOut, required=True)
    schools = fields.List(fields.Nested(SchoolUpdatesOut), required=True)


class DeclarationStateOut(Schema):
    identifier = fields.String(required=True)
    type = fields.String(required=True)
    state = fields.String(required=True)
    reasons = fields.List(fields.Dict(), required=True)
    reported_at = fields.String(required=True, allow_none=True)


class DeviceStatusOut(Schema):
    reported_at = fields.String(required=True, allow_none=True)
    items = fields.Dict(required=True)
    errors = fields.List(fields.Dict(), required=True)


class DeviceDeclarationsOut(Schema):
    device_id = fields.Integer(required=True)
    mode = fields.String(required=True)
    declarations = fields.List(fields.Nested(DeclarationStateOut), required=True)
    left_out = fields.List(fields.String(), required=True)
    status = fields.Nested(DeviceStatusOut, required=True)
    os_update = fields.Nested(DeviceUpdateOut, required=True, allow_none=True)


def target_out(target: Target) -> dict[str, Any]:
    return {
        option: (
            {"value": setting.value, "layer": setting.layer, "set_by": setting.set_by,
             "locked_in": setting.locked_in, "locked_by": setting.locked_by}
            if (setting := target.settings.get(key)) else None
        )
        for option, key in KEYS.items()
    }


def device_update_out(update: DeviceUpdate) -> dict[str, Any]:
    return {
        "device_id": update.device_id, "name": update.name, "serial_number": update.serial_number,
        "os_version": update.os_version, "target_version": update.target_version, "deadline": update.deadline,
        "state": str(update.state), "reason": update.reason, "pending_version": update.pending_version,
        "reported_at": update.reported_at.isoformat() if update.reported_at else None,
    }


def school_updates_out(view: SchoolUpdates, *, devices: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "school": view.school.code,
        "target": target_out(view.target),
        "devices": {"total": view.total, "done": view.done, "pending": view.pending, "failed": view.failed,
                    "unreachable": view.unreachable, "below_target": view.below_target,
                    "by_state": {str(state): count for state, count in sorted(view.counts.items())}},
    }
    if devices:
        out["device_list"] = [device_update_out(update) for update in view.devices]
    return out


def device_declarations_out(view: DeviceDeclarations) -> dict[str, Any]:
    return {
        "device_id": view.device.id,
        "mode": str(view.mode),
        "declarations": [
            {"identifier": item.identifier, "type": item.type, "state": item.state, "reasons": list(item.reasons),
             "reported_at": item.reported_at.isoformat() if item.reported_at else None}
            for item in view.declarations
        ],
        "left_out": view.left_out,
        "status": {"reported_at": view.status_at.isoformat() if view.status_at else None,
                   "items": view.status_items, "errors": view.status_errors},
        "os_update": device_update_out(view.update) if view.update else None,
    }
