"""Input and output for class rosters and Apple Classroom."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.schemas import InputSchema, row_id
from app.services.rosters.uploads import MAX_BYTES


class FeideLink(InputSchema):
    #: None unlinks the school.
    feide_org_unit = fields.String(required=True, allow_none=True, validate=validate.Length(min=1, max=255))


class RosterUpload(InputSchema):
    csv = fields.String(required=True, validate=validate.Length(min=1, max=MAX_BYTES))


class ClassroomInstall(InputSchema):
    teacher_device_id = row_id(required=True)
    teacher = fields.String(load_default=None, validate=validate.Length(min=1, max=255))


class ImportResultOut(Schema):
    classes = fields.Integer()
    created = fields.Integer()
    changed = fields.Integer()
    unchanged = fields.Integer()
    ended = fields.Integer()
    members = fields.Integer()
    summary = fields.Function(lambda result: result.summary())


class SchoolRosterOut(Schema):
    feide_org_unit = fields.String(allow_none=True)
    last_import_at = fields.DateTime(allow_none=True)
    last_import_source = fields.String(allow_none=True)
    last_import_outcome = fields.String(allow_none=True)
    last_import_failed = fields.Boolean()


class RosterClassOut(Schema):
    group_id = fields.Integer()
    name = fields.Function(lambda item: item.group.name)
    external_id = fields.String()
    source = fields.String()
    synced_at = fields.DateTime()


class PersonOut(Schema):
    identifier = fields.String()
    name = fields.String()


class ClassroomOut(Schema):
    group_id = fields.Function(lambda view: view.group.id)
    name = fields.Function(lambda view: view.item.name)
    beacon_id = fields.Function(lambda view: view.item.beacon_id)
    teachers = fields.Function(lambda view: PersonOut(many=True).dump(view.item.teachers))
    pupils = fields.Function(lambda view: PersonOut(many=True).dump(view.item.pupils))
    serial_numbers = fields.Function(lambda view: list(view.item.serial_numbers))
    payload = fields.Function(lambda view: view.payload)


class RosterOut(Schema):
    link = fields.Nested(SchoolRosterOut, required=True, allow_none=True)
    classes = fields.List(fields.Nested(RosterClassOut), required=True)


class ClassroomInstalledOut(Schema):
    leader_device_id = fields.Integer(required=True)
    member_device_ids = fields.List(fields.Integer(), required=True)
    identifier = fields.String(required=True)
