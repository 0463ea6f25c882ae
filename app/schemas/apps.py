"""Apps at the boundary: one app's setting in a layer, the content token, and what the API answers."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates

from app.schemas import InputSchema
from app.schemas.policy import value_from_json
from app.services.apps.settings import INHERIT
from app.services.policy import NOTE_LENGTH
from profiles.payloads.app import STATES

#: A .vpptoken file is a few hundred bytes of base64.
MAX_TOKEN_TEXT = 16 * 1024


class AppSetting(InputSchema):
    """``{"app": "361304891", "state": "required", "configuration": {...}, "remove_on_unenroll": true,
    "lock": true, "note": "...", "dry_run": false}``; state ``inherit`` forgets the layer's own entry."""

    app = fields.String(required=True, validate=validate.Regexp(r"^(app:)?[0-9]{1,15}$", error="An App Store id, e.g. 361304891."))
    state = fields.String(required=True, validate=validate.OneOf([*STATES, INHERIT]))
    configuration = fields.Raw(load_default=None, allow_none=True)
    remove_on_unenroll = fields.Boolean(load_default=None, allow_none=True)
    lock = fields.Boolean(load_default=None, allow_none=True)
    note = fields.String(load_default=None, validate=validate.Length(max=NOTE_LENGTH))
    dry_run = fields.Boolean(load_default=False)

    @validates("configuration")
    def _configuration(self, value: Any, **kwargs: Any) -> None:
        if value is not None and not isinstance(value, dict):
            raise ValidationError("A JSON object of the app's settings.")
        if value is not None:
            value_from_json(value)


class TokenImport(InputSchema):
    """The content token file's text (base64, as downloaded) and whether to take the location over."""

    token = fields.String(required=True, validate=validate.Length(min=1, max=MAX_TOKEN_TEXT))
    force = fields.Boolean(load_default=False)

    @validates("token")
    def _base64(self, value: str, **kwargs: Any) -> None:
        try:
            base64.b64decode("".join(value.split()), validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError("The .vpptoken file's text (base64).") from None


def token_out(summary) -> dict[str, Any] | None:
    if summary is None:
        return None
    return {
        "organisation": summary.organisation_name, "location": summary.location_name, "location_uid": summary.location_uid,
        "country": summary.country, "expires_at": summary.expires_at.isoformat(), "expires_soon": summary.expires_soon,
        "expired": summary.expired, "claimed_at": summary.claimed_at.isoformat() if summary.claimed_at else None,
        "claimed_by": summary.claimed_by, "taken_over_by": summary.foreign_mdm, "notifications": summary.notifications,
        "last_sync_at": summary.last_sync_at.isoformat() if summary.last_sync_at else None, "last_error": summary.last_error,
    }


def catalogue_out(found) -> dict[str, Any]:
    def per_school(counts: dict[int, int]) -> dict[str, int]:
        return {found.schools.get(school_id, str(school_id)): count for school_id, count in sorted(counts.items())}

    return {
        "token": token_out(found.token),
        "apps": [{
            "app": info.adam_id, "name": info.name, "bundle_id": info.bundle_id, "icon_url": info.icon_url,
            "version": info.version, "device_assignable": info.device_assignable,
            "licences": {"total": info.total, "assigned": info.assigned, "free": info.available,
                         "assigned_per_school": per_school(info.assigned_in), "waiting_per_school": per_school(info.waiting_in)},
            "baseline": {"state": info.baseline_state, "locked": info.baseline_locked},
        } for info in found.apps],
    }


def device_apps_out(rows) -> list[dict[str, Any]]:
    return [{
        "app": row.adam_id, "name": row.name, "bundle_id": row.bundle_id, "icon_url": row.icon_url,
        "policy": row.desired, "from": row.set_in, "locked": row.locked, "licence": row.licence,
        "reported": row.reported, "next": row.doing,
    } for row in rows]


class AppForm(InputSchema):
    """The dashboard's app form: one app's state in a layer, its configuration (JSON text), a note;
    ``intent`` is the button pressed (preview: nothing saved)."""

    app = fields.String(required=True, validate=validate.Regexp(r"^(app:)?[0-9]{1,15}$", error="Choose an app."))
    state = fields.String(required=True, validate=validate.OneOf([*STATES, INHERIT]))
    configuration = fields.String(load_default=None, validate=validate.Length(max=100_000))
    keep_on_unenroll = fields.Boolean(load_default=False)
    lock = fields.Boolean(load_default=None)
    note = fields.String(load_default=None, validate=validate.Length(max=NOTE_LENGTH))
    intent = fields.String(load_default="preview", validate=validate.OneOf(["preview", "save"]))

    @validates("configuration")
    def _json_object(self, value: str | None, **kwargs: Any) -> None:
        if value is not None:
            configuration_from_text(value)


def configuration_from_text(text: str) -> dict[str, Any]:
    """A configuration typed into a form: a JSON object."""
    import json

    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise ValidationError("A JSON object, e.g. {\"ServerURL\": \"https://...\"}.", field_name="configuration") from None
    if not isinstance(value, dict):
        raise ValidationError("A JSON object, e.g. {\"ServerURL\": \"https://...\"}.", field_name="configuration")
    return value_from_json(value)


# --- what the API answers (named for the OpenAPI description) -------------------------------------


class AppsTokenOut(Schema):
    organisation = fields.String(required=True)
    location = fields.String(required=True)
    location_uid = fields.String(required=True)
    country = fields.String(required=True)
    expires_at = fields.String(required=True)
    expires_soon = fields.Boolean(required=True)
    expired = fields.Boolean(required=True)
    claimed_at = fields.String(required=True, allow_none=True)
    claimed_by = fields.String(required=True, allow_none=True)
    taken_over_by = fields.String(required=True, allow_none=True)
    notifications = fields.Boolean(required=True)
    last_sync_at = fields.String(required=True, allow_none=True)
    last_error = fields.String(required=True, allow_none=True)


class AppLicencesOut(Schema):
    total = fields.Integer(required=True)
    assigned = fields.Integer(required=True)
    free = fields.Integer(required=True)
    assigned_per_school = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    waiting_per_school = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class AppBaselineOut(Schema):
    state = fields.String(required=True, allow_none=True)
    locked = fields.Boolean(required=True)


class AppOut(Schema):
    app = fields.String(required=True)
    name = fields.String(required=True)
    bundle_id = fields.String(required=True, allow_none=True)
    icon_url = fields.String(required=True, allow_none=True)
    version = fields.String(required=True, allow_none=True)
    device_assignable = fields.Boolean(required=True)
    licences = fields.Nested(AppLicencesOut, required=True)
    baseline = fields.Nested(AppBaselineOut, required=True)


class AppsCatalogueOut(Schema):
    token = fields.Nested(AppsTokenOut, required=True, allow_none=True)
    apps = fields.List(fields.Nested(AppOut), required=True)


class AppsTokenImportedOut(Schema):
    token = fields.Nested(AppsTokenOut, required=True)
    took_over = fields.String(required=True, allow_none=True)


class AppsSyncRequestedOut(Schema):
    status = fields.String(required=True)
    requested_at = fields.String(required=True)


class DeviceAppOut(Schema):
    app = fields.String(required=True, allow_none=True)
    name = fields.String(required=True)
    bundle_id = fields.String(required=True, allow_none=True)
    icon_url = fields.String(required=True, allow_none=True)
    policy = fields.String(required=True, allow_none=True)
    set_in = fields.String(required=True, allow_none=True, data_key="from", attribute="from")
    locked = fields.Boolean(required=True)
    licence = fields.String(required=True, allow_none=True)
    reported = fields.String(required=True, allow_none=True)
    next = fields.String(required=True)


class DeviceAppsOut(Schema):
    apps = fields.List(fields.Nested(DeviceAppOut), required=True)
