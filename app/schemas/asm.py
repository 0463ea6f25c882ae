"""Input and output of Apple School Manager: tokens, expected devices, rules, ADE profile settings."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.schemas import MAX_ROW_ID, InputSchema, row_id
from app.schemas.schools import SCHOOL_CODE
from app.services.asm import devices as asm_devices
from app.services.asm.assignment import RULE_FIELDS

_CODE = validate.Regexp(SCHOOL_CODE, error="Not a school code.")
_SERIAL = validate.Regexp(r"^[A-Za-z0-9]{4,32}$", error="Not a serial number.")
#: A server token file is a few kilobytes of S/MIME text.
MAX_TOKEN_CHARS = 256 * 1024

# ---------------------------------------------------------------- input


class ServerTokenImport(InputSchema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=MAX_TOKEN_CHARS))


class AsmDeviceQuery(InputSchema):
    school = fields.String(load_default=None, validate=_CODE)
    state = fields.String(load_default=None, validate=validate.OneOf(asm_devices.STATES))
    search = fields.String(load_default=None, validate=validate.Length(max=100))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=asm_devices.MAX_PAGE))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_ROW_ID))


class AssignmentChange(InputSchema):
    """Another school is central IT's change; the class is the school's own."""

    school = fields.String(allow_none=True, validate=_CODE)
    group = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=100))


class BulkAssignment(InputSchema):
    serials = fields.List(fields.String(validate=_SERIAL), required=True, validate=validate.Length(min=1, max=10_000))
    school = fields.String(required=True, allow_none=True, validate=_CODE)
    group = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=100))


class RuleCreate(InputSchema):
    field = fields.String(load_default="assigned_by", validate=validate.OneOf(sorted(RULE_FIELDS)))
    pattern = fields.String(required=True, validate=[validate.Length(min=1, max=255),
                                                     validate.Predicate("strip", error="Must not be blank.")])
    school = fields.String(required=True, validate=_CODE)
    group = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=100))
    token_id = row_id(load_default=None, allow_none=True)
    position = fields.Integer(load_default=100, validate=validate.Range(min=0, max=10_000))


class SettingsChange(InputSchema):
    skip_setup_items = fields.List(fields.String(validate=validate.Length(min=1, max=64)), validate=validate.Length(max=100))
    language = fields.String(allow_none=True, validate=validate.Length(max=8))
    region = fields.String(allow_none=True, validate=validate.Length(max=8))
    support_email = fields.String(allow_none=True, validate=validate.Length(max=254))
    anchor_flokk_ca = fields.Boolean()


class SchoolProfileChange(InputSchema):
    support_phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    department = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=125))


# ---------------------------------------------------------------- output


class ServerTokenOut(Schema):
    id = fields.Function(lambda item: item.token.id)
    org_name = fields.Function(lambda item: item.token.org_name)
    server_name = fields.Function(lambda item: item.token.server_name)
    server_uuid = fields.Function(lambda item: item.token.server_uuid)
    admin_id = fields.Function(lambda item: item.token.admin_id)
    access_token_expiry = fields.Function(lambda item: _iso(item.token.access_token_expiry))
    expires_soon = fields.Boolean()
    expired = fields.Boolean()
    imported_by = fields.Function(lambda item: item.token.imported_by)
    imported_at = fields.Function(lambda item: _iso(item.token.imported_at))
    last_sync_at = fields.Function(lambda item: _iso(item.token.last_sync_at))
    last_full_sync_at = fields.Function(lambda item: _iso(item.token.last_full_sync_at))
    sync_state = fields.Function(lambda item: item.token.sync_state)
    sync_message = fields.Function(lambda item: item.token.sync_message)
    sync_requested = fields.Function(lambda item: item.token.sync_requested_at is not None)
    devices = fields.Integer()
    expected = fields.Integer()
    unassigned = fields.Integer()
    enrolled = fields.Integer()
    deleted = fields.Integer()


class AsmDeviceOut(Schema):
    id = fields.Integer()
    serial_number = fields.String()
    model = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    color = fields.String(allow_none=True)
    asset_tag = fields.String(allow_none=True)
    device_family = fields.String(allow_none=True)
    os = fields.String(allow_none=True)
    device_assigned_by = fields.String(allow_none=True)
    device_assigned_date = fields.DateTime(allow_none=True)
    school = fields.Function(lambda device: device.school.code if device.school else None)
    group = fields.Function(lambda device: device.group.name if device.group else None)
    assigned_via = fields.String(allow_none=True)
    state = fields.Function(asm_devices.state_of)
    profile = fields.Function(asm_devices.profile_state)
    apple_profile_status = fields.String(attribute="profile_status", allow_none=True)
    device_id = fields.Integer(allow_none=True)
    deleted_at = fields.DateTime(allow_none=True)


class RuleOut(Schema):
    id = fields.Integer()
    position = fields.Integer()
    field = fields.String()
    pattern = fields.String()
    school = fields.Function(lambda rule: rule.school.code)
    group = fields.Function(lambda rule: rule.group.name if rule.group else None)
    token_id = fields.Integer(allow_none=True)
    created_by = fields.String()


class SettingsOut(Schema):
    skip_setup_items = fields.List(fields.String())
    language = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    support_email = fields.String(allow_none=True)
    anchor_flokk_ca = fields.Boolean()


class ServerTokenListOut(Schema):
    tokens = fields.List(fields.Nested(ServerTokenOut), required=True)


class AsmSyncRequestedOut(Schema):
    status = fields.String(required=True, metadata={"enum": ["sync_requested"]})


class AsmDevicePageOut(Schema):
    total = fields.Integer(required=True)
    devices = fields.List(fields.Nested(AsmDeviceOut), required=True)


class AssignedOut(Schema):
    assigned = fields.Integer(required=True, metadata={"description": "How many devices now belong to the school."})


class RuleListOut(Schema):
    rules = fields.List(fields.Nested(RuleOut), required=True)


class RuleCreatedOut(RuleOut):
    assigned = fields.Integer(required=True, metadata={"description": "Unassigned devices the new rule placed."})


class SchoolProfileOut(Schema):
    school = fields.String(required=True)
    support_phone = fields.String(required=True, allow_none=True)
    department = fields.String(required=True)


class BypassCodeOut(Schema):
    device_id = fields.Integer(required=True)
    serial_number = fields.String(required=True, allow_none=True)
    code = fields.String(required=True)
    escrowed_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})


def _iso(moment):
    return moment.isoformat() if moment else None
