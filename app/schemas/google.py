"""Input and output of the Google (Chromebook) endpoints."""

from __future__ import annotations

import json
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from app.schemas import InputSchema, row_id
from app.schemas.schools import SCHOOL_CODE
from mdm_protocol.google.keys import MAX_KEY_BYTES

_CODE = validate.Regexp(SCHOOL_CODE, error="Not a school code.")
_PATH = validate.Length(min=1, max=500)


class KeyFile(fields.Field):
    """A service account key: the JSON object itself, or the file's text."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, dict):
            value = json.dumps(value)
        if not isinstance(value, str) or not value.strip():
            raise ValidationError("Give the service account key file: its JSON object or text.")
        if len(value.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
            raise ValidationError(f"At most {MAX_KEY_BYTES} bytes: a service account key is about 2.3 kB.")
        return value


class GoogleConnect(InputSchema):
    key = KeyFile(required=True)
    admin = fields.Email(required=True, validate=validate.Length(max=254))
    customer = fields.String(load_default=None, validate=validate.Regexp(r"^(C[0-9A-Za-z]{4,30}|my_customer)$",
                                                                         error="Not a Google customer id (C01abc2de)."))
    parent_ou = fields.String(load_default="/", validate=_PATH)
    recent_users = fields.Boolean(load_default=False)


class UnitMap(InputSchema):
    ou_path = fields.String(required=True, validate=_PATH)
    create = fields.Boolean(load_default=False)


class UnitMapForm(UnitMap):
    """The dashboard's form names the school (and group) in fields, not in the URL."""

    school = fields.String(required=True, validate=_CODE)
    group = fields.String(load_default=None, validate=validate.Length(min=1, max=100))


class SyncRequest(InputSchema):
    full = fields.Boolean(load_default=False)


class PolicyApply(InputSchema):
    school = fields.String(load_default=None, validate=_CODE)
    dry_run = fields.Boolean(load_default=False)
    force = fields.Boolean(load_default=False)


class ChromebookMove(InputSchema):
    school = fields.String(required=True, validate=_CODE)
    group_id = row_id(load_default=None, allow_none=True, strict=True)


class OrgUnitOut(Schema):
    kind = fields.String()
    school_id = fields.Integer(allow_none=True)
    school = fields.Function(lambda unit: unit.school.code if unit.school else None)
    group_id = fields.Integer(allow_none=True)
    group = fields.Function(lambda unit: unit.group.name if unit.group else None)
    ou_path = fields.String()
    ou_id = fields.String()
    applied_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    drift = fields.List(fields.Dict())
    policy_error = fields.String(allow_none=True)


class ConnectionOut(Schema):
    """Never the key: who it belongs to and its id only."""

    customer_id = fields.String()
    domain = fields.String(allow_none=True)
    admin_email = fields.String()
    service_account = fields.String(attribute="client_email")
    client_id = fields.String()
    project_id = fields.String()
    key_id = fields.String()
    recent_users = fields.Boolean(attribute="store_recent_users")
    connected_by = fields.String()
    connected_at = fields.DateTime()
    last_sync_at = fields.DateTime(allow_none=True)
    last_full_sync_at = fields.DateTime(allow_none=True)
    last_sync_result = fields.Dict(allow_none=True)
    last_sync_error = fields.String(allow_none=True)
    sync_in_progress = fields.Function(lambda row: row.sync_run is not None)
    sync_pages = fields.Integer()
    sync_requested_at = fields.DateTime(allow_none=True)


class GoogleStatusOut(Schema):
    connected = fields.Boolean(required=True)
    connection = fields.Nested(ConnectionOut)
    chromebooks = fields.Dict(keys=fields.String(), values=fields.Integer(),
                              metadata={"description": "Chromebooks in Google and gone from Google."})
    units = fields.List(fields.Nested(OrgUnitOut))


class ChromeSyncRequestedOut(Schema):
    status = fields.String(required=True, metadata={"enum": ["requested"]})
    connection = fields.Nested(ConnectionOut, required=True)


class OrgUnitListOut(Schema):
    units = fields.List(fields.Nested(OrgUnitOut), required=True)


class PolicyApplyOut(Schema):
    dry_run = fields.Boolean(required=True)
    changes = fields.Integer(required=True)
    units = fields.List(fields.Dict(), required=True,
                        metadata={"description": "Per unit: what was set, inherited, defined or removed, notes and error."})
    drift = fields.Dict(keys=fields.String(), values=fields.List(fields.Dict()), required=True,
                        metadata={"description": "Unit path → the differences Google's resolved values show."})
