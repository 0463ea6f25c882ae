"""Input and output of the administration API (and the dashboard forms, which load the same schemas)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_dump, post_load, validate, validates_schema

from app.models.approvals import ApprovalStatus
from app.models.commands import CommandStatus
from app.models.devices import EnrollmentState, Platform
from app.models.tenancy import GroupKind
from app.schemas import MAX_ROW_ID, InputSchema, row_id
from app.schemas.schools import SCHOOL_CODE
from app.services.access import GROUP_ROLES, Role
from profiles.values import from_json

_CODE = validate.Regexp(SCHOOL_CODE, error="Not a school code.")
#: ``sort`` values of a device list (``app.services.fleet.devices.SORTS``): a column, ``-`` for descending.
DEVICE_SORTS = [key for name in ("name", "serial", "school", "class", "platform", "os_version", "state", "last_seen")
                for key in (name, f"-{name}")]


def _strip_not_blank(value: str) -> bool:
    return bool(value.strip())


class AwareDateTime(fields.DateTime):
    """ISO 8601; a time without a zone is taken as UTC."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.datetime:
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            value = value.strip() + "T00:00:00"
        moment = super()._deserialize(value, attr, data, **kwargs)
        return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


# ---------------------------------------------------------------- input


class GrantInput(InputSchema):
    #: Roles scoped to a class come from single sign-on rules, never as a grant of their own.
    role = fields.String(required=True, validate=validate.OneOf([role.value for role in Role if role not in GROUP_ROLES]))
    school = fields.String(load_default=None, validate=_CODE)


class AdminCreate(InputSchema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    display_name = fields.String(load_default=None, validate=validate.Length(min=1, max=200))
    grants = fields.List(fields.Nested(GrantInput), required=True, validate=validate.Length(min=1, max=200))


class AdminActive(InputSchema):
    active = fields.Boolean(required=True)


class SignInForm(InputSchema):
    """The sign-in form; how the email and password are checked is ``sign_in``'s business."""

    email = fields.String(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, validate=validate.Length(max=1000))


class PasswordChange(InputSchema):
    current_password = fields.String(required=True, validate=validate.Length(max=1000))
    new_password = fields.String(required=True, validate=validate.Length(max=1000))


class ApiTokenCreate(InputSchema):
    name = fields.String(required=True, validate=[validate.Length(min=1, max=100), validate.Predicate("strip", error="Must not be blank.")])
    grants = fields.List(fields.Nested(GrantInput), required=True, validate=validate.Length(min=1, max=200))
    expires_in_days = fields.Integer(load_default=None, validate=validate.Range(min=1, max=5 * 366))


class SsoRuleCreate(InputSchema):
    provider = fields.String(required=True, validate=validate.OneOf(["feide", "entra"]))
    claim_value = fields.String(required=True, validate=validate.Length(min=1, max=255))
    role = fields.String(required=True, validate=validate.OneOf([role.value for role in Role]))
    school = fields.String(load_default=None, validate=_CODE)
    #: The person's affiliation in the group (Feide: employee, faculty, staff, student ...).
    affiliation = fields.String(load_default=None, validate=validate.Regexp(
        r"^[a-z][a-z-]{0,63}$", error="An affiliation such as employee, faculty or student."))


class GroupCreate(InputSchema):
    school = fields.String(required=True, validate=_CODE)
    name = fields.String(required=True, validate=[validate.Length(min=1, max=100), validate.Predicate("strip", error="Must not be blank.")])
    kind = fields.String(load_default=GroupKind.CLASS.value, validate=validate.OneOf([kind.value for kind in GroupKind]))


class DeviceMove(InputSchema):
    group_id = row_id(required=True, allow_none=True, strict=True)


class GroupCommandSubmit(InputSchema):
    """A command for every device of a group (the group is in the URL). Parameters take Apple's
    key names; a ``data`` value is written ``{"$data": base64}``, a date ``{"$date": ISO 8601}``."""

    request_type = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z][A-Za-z_]{0,63}\Z", error="Not a command name."))
    params = fields.Dict(keys=fields.String(), load_default=dict)
    reason = fields.String(load_default=None, validate=validate.Length(max=2000))

    @post_load
    def _typed_params(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        try:
            data["params"] = from_json(data["params"])
        except (ValueError, TypeError) as error:  # bad base64 or date
            raise ValidationError(f'{{"$data": base64}} or {{"$date": ISO 8601}} expected ({error}).', "params") from None
        return data


class CommandSubmit(GroupCommandSubmit):
    device_ids = fields.List(row_id(strict=True), required=True, validate=validate.Length(min=1, max=100_000))
    #: A Shared iPad user's channel (user id or short name) instead of the device's; one device only.
    user = fields.String(load_default=None, validate=validate.Length(min=1, max=200))

    @validates_schema
    def _one_device_for_a_user(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("user") is not None and len(data.get("device_ids") or []) != 1:
            raise ValidationError("A user channel belongs to one device: give exactly one device id.", "user")


class DeviceRemoval(InputSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ApprovalDecision(InputSchema):
    note = fields.String(load_default=None, validate=validate.Length(max=2000))


class ApprovalRejection(InputSchema):
    note = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class DeviceQuery(InputSchema):
    school = fields.String(load_default=None, validate=_CODE)
    group_id = row_id(load_default=None)
    platform = fields.String(load_default=None, validate=validate.OneOf([p.value for p in Platform]))
    state = fields.String(load_default=None, validate=validate.OneOf([s.value for s in EnrollmentState]))
    search = fields.String(load_default=None, validate=validate.Length(max=100))
    os_version = fields.String(load_default=None, validate=validate.Length(max=32))
    not_seen_days = fields.Integer(load_default=None, validate=validate.Range(min=1, max=3650))
    supervised = fields.Boolean(load_default=None)
    sort = fields.String(load_default=None, validate=validate.OneOf(DEVICE_SORTS))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_ROW_ID))


class DeviceExportQuery(DeviceQuery):
    """The device list's filter and order for a CSV export (every matching device, no paging)."""

    class Meta:
        exclude = ("limit", "offset")


class SchoolQuery(InputSchema):
    school = fields.String(load_default=None, validate=_CODE)


class CommandQuery(InputSchema):
    school = fields.String(load_default=None, validate=_CODE)
    device_id = row_id(load_default=None)
    status = fields.String(load_default=None, validate=validate.OneOf([s.value for s in CommandStatus]))
    request_type = fields.String(load_default=None, validate=validate.Length(max=64))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class ApprovalQuery(InputSchema):
    status = fields.String(load_default=None, validate=validate.OneOf([s.value for s in ApprovalStatus]))


class AuditQuery(InputSchema):
    school = fields.String(load_default=None, validate=_CODE)
    since = AwareDateTime(load_default=None)
    until = AwareDateTime(load_default=None)
    action = fields.String(load_default=None, validate=validate.Length(max=64))
    actor = fields.String(load_default=None, validate=validate.Length(max=255))
    outcome = fields.String(load_default=None, validate=validate.OneOf(["success", "denied", "failure"]))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    before_id = row_id(load_default=None)


# --------------------------------------------------------------- output


class GrantOut(Schema):
    id = fields.Integer()
    role = fields.String()
    school = fields.Function(lambda grant: grant.school.code if grant.school else None)
    #: The class a teacher grant is scoped to (its group's id and name); left out for school-wide grants.
    group_id = fields.Integer(allow_none=True)
    group = fields.Function(lambda grant: grant.group.name if grant.group else None)
    source = fields.String()

    @post_dump
    def _school_wide(self, data: dict, **_: object) -> dict:
        if data.get("group_id") is None:
            data.pop("group_id", None)
            data.pop("group", None)
        return data


class AdminOut(Schema):
    id = fields.Integer()
    email = fields.String()
    display_name = fields.String(allow_none=True)
    is_active = fields.Boolean()
    must_change_password = fields.Boolean()
    sso_provider = fields.String(allow_none=True)
    last_login_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    grants = fields.List(fields.Nested(GrantOut))


class ApiTokenOut(Schema):
    id = fields.Integer()
    name = fields.String()
    created_by = fields.String()
    created_at = fields.DateTime()
    expires_at = fields.DateTime(allow_none=True)
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    grants = fields.List(fields.Nested(GrantOut))


class SchoolOut(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    organisation = fields.Function(lambda school: school.organisation.name)


class GroupOut(Schema):
    id = fields.Integer()
    school_id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    created_at = fields.DateTime()


class DeviceUserOut(Schema):
    """A Shared iPad user's channel of a device."""

    user_id = fields.String()
    short_name = fields.String(allow_none=True)
    long_name = fields.String(allow_none=True)
    last_seen_at = fields.DateTime(allow_none=True)
    push_token = fields.Function(lambda user: "invalid" if user.push_token_invalid_at else ("set" if user.push_token else "none"))


class DeviceOut(Schema):
    id = fields.Integer()
    school = fields.Function(lambda device: device.school.code)
    school_id = fields.Integer()
    group_id = fields.Integer(allow_none=True)
    group = fields.Function(lambda device: device.group.name if device.group else None)
    platform = fields.String()
    name = fields.String(allow_none=True)
    serial_number = fields.String(allow_none=True)
    udid = fields.String(allow_none=True)
    google_device_id = fields.String(allow_none=True)
    model = fields.String(allow_none=True)
    os_version = fields.String(allow_none=True)
    enrollment_state = fields.String()
    supervised = fields.Boolean()
    enrolled_at = fields.DateTime(allow_none=True)
    last_seen_at = fields.DateTime(allow_none=True)


class CommandOut(Schema):
    id = fields.Integer()
    uuid = fields.String()
    school_id = fields.Integer()
    device_id = fields.Integer()
    request_type = fields.String()
    status = fields.String()
    created_by = fields.String()
    created_at = fields.DateTime()
    expires_at = fields.DateTime(allow_none=True)
    sent_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    error_chain = fields.Raw(allow_none=True)


class ApprovalOut(Schema):
    id = fields.Integer()
    school_id = fields.Integer(allow_none=True)
    request_type = fields.String()
    params = fields.Dict()
    device_ids = fields.List(fields.Integer())
    device_count = fields.Integer()
    reason = fields.String()
    kind = fields.String()
    status = fields.String()
    requested_by = fields.String()
    created_at = fields.DateTime()
    expires_at = fields.DateTime()
    decided_by = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    decision_note = fields.String(allow_none=True)
    queued_count = fields.Integer(allow_none=True)


class EnrollmentTokenOut(Schema):
    id = fields.Integer()
    school = fields.Function(lambda token: token.school.code)
    school_id = fields.Integer()
    group_id = fields.Integer(allow_none=True)
    label = fields.String(allow_none=True)
    created_by = fields.String()
    created_at = fields.DateTime()
    expires_at = fields.DateTime(allow_none=True)
    max_uses = fields.Integer(allow_none=True)
    use_count = fields.Integer()
    revoked_at = fields.DateTime(allow_none=True)


class AuditEventOut(Schema):
    id = fields.Integer()
    occurred_at = fields.DateTime()
    actor = fields.String()
    action = fields.String()
    outcome = fields.String()
    school_id = fields.Integer(allow_none=True)
    target_type = fields.String(allow_none=True)
    target_id = fields.String(allow_none=True)
    source = fields.String(allow_none=True)
    request_id = fields.String(allow_none=True)
    details = fields.Dict()


class SsoRuleOut(Schema):
    id = fields.Integer()
    provider = fields.String()
    claim_value = fields.String()
    affiliation = fields.String(allow_none=True)
    role = fields.String()
    school = fields.Function(lambda rule: rule.school.code if rule.school else None)
    created_by = fields.String()
