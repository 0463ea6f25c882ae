"""Answers of the REST API that are more than one object: lists, pages, created objects with
their one-time secret, and the policy views. They name what each answer holds for the
OpenAPI description (``app/http/api/openapi.py``); the API test suite checks every answer
against them.
"""

from __future__ import annotations

from marshmallow import Schema, fields

from app.schemas.admin import (
    AdminOut,
    ApiTokenOut,
    ApprovalOut,
    AuditEventOut,
    CommandOut,
    DeviceOut,
    DeviceUserOut,
    EnrollmentTokenOut,
    GroupOut,
    SchoolOut,
    SsoRuleOut,
)
from app.schemas.policy_views import VersionOut


def _list(key: str, item: type[Schema], name: str, **extra: fields.Field) -> type[Schema]:
    return Schema.from_dict({key: fields.List(fields.Nested(item), required=True), **extra}, name=name)


class MeGrantOut(Schema):
    role = fields.String(required=True)
    school_id = fields.Integer(required=True, allow_none=True)
    group_id = fields.Integer(metadata={"description": "The class a teacher grant is scoped to; absent for school-wide grants."})


class MeOut(Schema):
    kind = fields.String(required=True)
    id = fields.Integer(required=True)
    label = fields.String(required=True)
    grants = fields.List(fields.Nested(MeGrantOut), required=True)


class AdminCreatedOut(AdminOut):
    one_time_password = fields.String(required=True)


class ApiTokenStatusOut(ApiTokenOut):
    status = fields.String(required=True)


class ApiTokenCreatedOut(ApiTokenOut):
    token = fields.String(required=True, metadata={"description": "The token itself, shown only now."})


class EnrollmentTokenStateOut(EnrollmentTokenOut):
    state = fields.String(required=True)


class EnrollmentTokenCreatedOut(EnrollmentTokenStateOut):
    url = fields.String(required=True)


class UrlOut(Schema):
    url = fields.String(required=True)


class DeviceDetailOut(DeviceOut):
    users = fields.List(fields.Nested(DeviceUserOut), required=True)
    chromebook = fields.Dict(metadata={"description": "A Chromebook's side in Google (only for Chromebooks): its "
                                                      "organisational unit, status, auto-update expiration, last sync, "
                                                      "annotations, its unit's Chrome policy and drift, and the "
                                                      "settings not applicable to Chromebooks."})


class CommandsQueuedOut(Schema):
    status = fields.String(required=True, metadata={"enum": ["queued"]})
    request_type = fields.String(required=True)
    queued = fields.Integer(required=True)
    commands = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                           metadata={"description": "Device id → the queued command's UUID."})


class ApprovalRequiredOut(Schema):
    status = fields.String(required=True, metadata={"enum": ["approval_required"]})
    approval = fields.Nested(ApprovalOut, required=True)


AdminListOut = _list("admins", AdminOut, "AdminListOut")
ApiTokenListOut = _list("tokens", ApiTokenStatusOut, "ApiTokenListOut")
SsoRuleListOut = _list("rules", SsoRuleOut, "SsoRuleListOut")
AuditPageOut = _list("events", AuditEventOut, "AuditPageOut",
                     next_before_id=fields.Integer(required=True, allow_none=True,
                                                   metadata={"description": "`before_id` of the next page; null at the end."}))
CommandListOut = _list("commands", CommandOut, "CommandListOut")
ApprovalListOut = _list("approvals", ApprovalOut, "ApprovalListOut")
EnrollmentTokenListOut = _list("enrollment_tokens", EnrollmentTokenStateOut, "EnrollmentTokenListOut")
SchoolListOut = _list("schools", SchoolOut, "SchoolListOut")
GroupListOut = _list("groups", GroupOut, "GroupListOut")
DevicePageOut = _list("devices", DeviceOut, "DevicePageOut",
                      total=fields.Integer(required=True, metadata={"description": "Devices matching, over all pages."}))


# ------------------------------------------------------------------ policy


class PolicyEntryOut(Schema):
    payload = fields.String(required=True)
    payload_type = fields.String(required=True)
    key = fields.String(required=True)
    value = fields.Raw(required=True, allow_none=True, metadata={"description": "JSON of the key's type; secrets `********`."})
    locked = fields.Boolean(required=True)
    locked_by = fields.String(required=True, allow_none=True)
    set_by = fields.String(required=True, allow_none=True)


class PolicyLayerOut(Schema):
    layer = fields.String(required=True)
    version = fields.Integer(required=True)
    updated_by = fields.String(required=True, allow_none=True)
    settings = fields.List(fields.Nested(PolicyEntryOut), required=True)


class OverrideOut(Schema):
    layer = fields.String(required=True)
    value = fields.Raw(required=True, allow_none=True)


class ProvenanceOut(Schema):
    payload = fields.String(required=True)
    payload_type = fields.String(required=True)
    key = fields.String(required=True)
    value = fields.Raw(required=True, allow_none=True)
    layer = fields.String(required=True)
    set_by = fields.String(required=True, allow_none=True)
    locked = fields.Boolean(required=True)
    locked_in = fields.String(required=True, allow_none=True)
    locked_by = fields.String(required=True, allow_none=True)
    overrides = fields.List(fields.Nested(OverrideOut), required=True)


class PolicyStackOut(Schema):
    layer = fields.Nested(PolicyLayerOut, required=True)
    above = fields.List(fields.Nested(PolicyLayerOut), required=True)
    effective = fields.List(fields.Nested(ProvenanceOut), required=True)


class PolicyHistoryOut(Schema):
    layer = fields.String(required=True)
    versions = fields.List(fields.Nested(VersionOut), required=True)


class ProfileCountOut(Schema):
    school = fields.String(required=True)
    profile = fields.String(required=True)
    devices = fields.Integer(required=True)


class BlockedOut(ProfileCountOut):
    reason = fields.String(required=True)


class LeftOutCountOut(Schema):
    school = fields.String(required=True)
    note = fields.String(required=True)
    devices = fields.Integer(required=True)


class SkippedOut(Schema):
    reason = fields.String(required=True)
    devices = fields.Integer(required=True)


class DeclarationsToldOut(Schema):
    school = fields.String(required=True)
    told = fields.Integer(required=True)
    enabled = fields.Integer(required=True)


class ReconcileReportOut(Schema):
    dry_run = fields.Boolean(required=True)
    devices = fields.Integer(required=True)
    up_to_date = fields.Integer(required=True)
    install = fields.List(fields.Nested(ProfileCountOut), required=True)
    remove = fields.List(fields.Nested(ProfileCountOut), required=True)
    #: Apps and Books licences to assign, per school and app (``app:<id>`` in ``profile``).
    licences = fields.List(fields.Nested(ProfileCountOut), required=True)
    cancelled = fields.Integer(required=True)
    queued = fields.Integer(required=True)
    blocked = fields.List(fields.Nested(BlockedOut), required=True)
    left_out = fields.List(fields.Nested(LeftOutCountOut), required=True)
    skipped = fields.List(fields.Nested(SkippedOut), required=True)
    #: Devices managed declaratively told their declarations changed, and devices turned to it, per school.
    declarations = fields.List(fields.Nested(DeclarationsToldOut), required=True)


class PolicyChangeOut(Schema):
    layer = fields.String(required=True)
    saved = fields.Boolean(required=True)
    version = fields.Integer(required=True, allow_none=True)
    changes = fields.List(fields.String(), required=True)
    devices = fields.Nested(ReconcileReportOut, required=True)


class EffectiveDeviceOut(Schema):
    id = fields.Integer(required=True)
    serial_number = fields.String(required=True, allow_none=True)
    udid = fields.String(required=True, allow_none=True)
    platform = fields.String(required=True)


class LeftOutOut(Schema):
    payload = fields.String(required=True)
    key = fields.String(required=True, allow_none=True)
    reason = fields.String(required=True)
    layer = fields.String(required=True, allow_none=True)


class ProfileStateOut(Schema):
    identifier = fields.String(required=True)
    version = fields.Raw(required=True, allow_none=True)
    state = fields.String(required=True)


class EffectivePolicyOut(Schema):
    device = fields.Nested(EffectiveDeviceOut, required=True)
    layers = fields.List(fields.String(), required=True)
    settings = fields.List(fields.Nested(ProvenanceOut), required=True)
    left_out = fields.List(fields.Nested(LeftOutOut), required=True)
    profiles = fields.List(fields.Nested(ProfileStateOut), required=True)
