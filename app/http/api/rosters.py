"""Class rosters and Apple Classroom: a school's link to Feide, its classes, their Classroom profiles."""

from __future__ import annotations

from flask import jsonify

from app.http import db_session
from app.http.api import blueprint, body
from app.http.api.openapi import operation
from app.http.rules import current_principal, requires
from app.schemas.rosters import (
    ClassroomInstall,
    ClassroomInstalledOut,
    ClassroomOut,
    FeideLink,
    ImportResultOut,
    RosterClassOut,
    RosterOut,
    RosterUpload,
    SchoolRosterOut,
)
from app.services.access import Permission
from app.services.rosters import classroom, describe_school, link_feide, uploads


@blueprint.get("/schools/<code>/roster")
@requires(Permission.VIEW)
@operation(response=RosterOut)
def show_roster(code: str):
    link, classes = describe_school(db_session(), current_principal(), code)
    return jsonify(link=SchoolRosterOut().dump(link) if link else None, classes=RosterClassOut(many=True).dump(classes))


@blueprint.put("/schools/<code>/roster/feide")
@requires(Permission.ADMINISTER, central=True)
@operation(body=FeideLink, response=SchoolRosterOut)
def link_school_to_feide(code: str):
    link = link_feide(db_session(), current_principal(), code, body(FeideLink())["feide_org_unit"])
    return jsonify(SchoolRosterOut().dump(link))


@blueprint.post("/schools/<code>/roster/import")
@requires(Permission.MANAGE)
@operation(body=RosterUpload, response=ImportResultOut)
def import_roster(code: str):
    result = uploads.import_csv(db_session(), current_principal(), code, body(RosterUpload())["csv"])
    return jsonify(ImportResultOut().dump(result))


@blueprint.get("/groups/<int:group_id>/classroom")
@requires(Permission.VIEW)
@operation(response=ClassroomOut)
def show_classroom(group_id: int):
    return jsonify(ClassroomOut().dump(classroom.describe(db_session(), current_principal(), group_id)))


@blueprint.post("/groups/<int:group_id>/classroom/install")
@requires(Permission.MANAGE)
@operation(body=ClassroomInstall, response=ClassroomInstalledOut, status=202)
def install_classroom(group_id: int):
    data = body(ClassroomInstall())
    done = classroom.install(db_session(), current_principal(), group_id, teacher_device_id=data["teacher_device_id"],
                             teacher=data["teacher"])
    return jsonify(leader_device_id=done.leader_device_id, member_device_ids=done.member_device_ids,
                   identifier=done.identifier), 202
