"""Schools, groups and devices."""

from __future__ import annotations

from flask import jsonify

from app.http import db_session
from app.http.api import blueprint, body, query
from app.http.api.openapi import operation
from app.http.rules import current_principal, requires
from app.schemas.admin import (
    ApprovalOut,
    CommandOut,
    DeviceMove,
    DeviceOut,
    DeviceQuery,
    DeviceRemoval,
    DeviceUserOut,
    GroupCreate,
    GroupOut,
    SchoolOut,
    SchoolQuery,
)
from app.schemas.schools import SchoolCreate
from app.schemas.api import ApprovalRequiredOut, CommandListOut, DeviceDetailOut, DevicePageOut, GroupListOut, SchoolListOut
from app.services.access import Permission, approvals
from app.services.fleet import devices, groups, schools
from app.services.fleet.device_removal import REMOVE_DEVICE
from app.services.google import devices as google_devices


@blueprint.get("/schools")
@requires(Permission.VIEW)
@operation(response=SchoolListOut)
def list_schools():
    found = schools.list_schools(db_session(), current_principal())
    return jsonify(schools=SchoolOut(many=True).dump(found))


@blueprint.post("/schools")
@requires(Permission.ADMINISTER, central=True)
@operation(body=SchoolCreate, response=SchoolOut, status=201)
def create_school():
    created = schools.create_school(db_session(), current_principal(), **body(SchoolCreate()))
    return jsonify(SchoolOut().dump(created)), 201


@blueprint.get("/schools/<code>")
@requires(Permission.VIEW)
@operation(response=SchoolOut)
def show_school(code: str):
    return jsonify(SchoolOut().dump(schools.get_school_by_code(db_session(), current_principal(), code)))


@blueprint.get("/groups")
@requires(Permission.VIEW)
@operation(query=SchoolQuery, response=GroupListOut)
def list_groups():
    found = groups.list_groups(db_session(), current_principal(), school_code=query(SchoolQuery())["school"])
    return jsonify(groups=GroupOut(many=True).dump(found))


@blueprint.post("/groups")
@requires(Permission.MANAGE)
@operation(body=GroupCreate, response=GroupOut, status=201)
def create_group():
    data = body(GroupCreate())
    created = groups.create_group(db_session(), current_principal(), school_code=data["school"], name=data["name"], kind=data["kind"])
    return jsonify(GroupOut().dump(created)), 201


@blueprint.get("/groups/<int:group_id>")
@requires(Permission.VIEW)
@operation(response=GroupOut)
def show_group(group_id: int):
    return jsonify(GroupOut().dump(groups.get_group(db_session(), current_principal(), group_id)))


@blueprint.delete("/groups/<int:group_id>")
@requires(Permission.MANAGE)
@operation(status=204)
def delete_group(group_id: int):
    groups.delete_group(db_session(), current_principal(), group_id)
    return "", 204


@blueprint.get("/devices")
@requires(Permission.VIEW)
@operation(query=DeviceQuery, response=DevicePageOut)
def list_devices():
    data = query(DeviceQuery())
    limit, offset, sort = data.pop("limit"), data.pop("offset"), data.pop("sort")
    page = devices.search_devices(db_session(), current_principal(), devices.DeviceFilter(**data), limit=limit, offset=offset,
                                  sort=sort)
    return jsonify(total=page.total, devices=DeviceOut(many=True).dump(page.devices))


@blueprint.get("/devices/<int:device_id>")
@requires(Permission.VIEW)
@operation(response=DeviceDetailOut)
def show_device(device_id: int):
    session, principal = db_session(), current_principal()
    found = devices.detail(session, principal, device_id)
    shown = {**DeviceOut().dump(found.device), "users": DeviceUserOut(many=True).dump(found.users)}
    chromebook = google_devices.details(session, found.device)
    if chromebook is not None:
        shown["chromebook"] = chromebook
    return jsonify(shown)


@blueprint.put("/devices/<int:device_id>/group")
@requires(Permission.MANAGE)
@operation(body=DeviceMove, response=DeviceOut)
def move_device(device_id: int):
    moved = devices.move_to_group(db_session(), current_principal(), device_id, body(DeviceMove())["group_id"])
    return jsonify(DeviceOut().dump(moved))


@blueprint.post("/devices/<int:device_id>/remove")
@requires(Permission.REQUEST_DESTRUCTIVE)
@operation(body=DeviceRemoval, response=ApprovalRequiredOut, status=202)
def remove_device(device_id: int):
    """202 with the approval request: the device is removed once another central admin approves."""
    submitted = approvals.submit(db_session(), current_principal(), [device_id], REMOVE_DEVICE, reason=body(DeviceRemoval())["reason"])
    return jsonify(status="approval_required", approval=ApprovalOut().dump(submitted.approval)), 202


@blueprint.get("/devices/<int:device_id>/commands")
@requires(Permission.VIEW)
@operation(response=CommandListOut)
def device_commands(device_id: int):
    found = devices.recent_commands(db_session(), current_principal(), device_id)
    return jsonify(commands=CommandOut(many=True).dump(found))
