"""Chromebooks through Google: the connection, organisational units, sync, Chrome policy, school moves."""

from __future__ import annotations

from flask import jsonify

from app.http import db_session
from app.http.api import blueprint, body
from app.http.rules import current_principal, requires
from app.models.tenancy import Group
from app.schemas.admin import DeviceOut
from app.http.api.openapi import operation
from app.schemas.google import (
    ChromebookMove,
    ConnectionOut,
    GoogleConnect,
    GoogleStatusOut,
    OrgUnitListOut,
    OrgUnitOut,
    PolicyApply,
    PolicyApplyOut,
    SyncRequest,
    ChromeSyncRequestedOut,
    UnitMap,
)
from app.services.access import Permission, get_for
from app.services.google import connection, moves, org_units, policy


@blueprint.get("/google")
@requires(Permission.VIEW, central=True)
@operation(response=GoogleStatusOut)
def google_status():
    found = connection.status(db_session(), current_principal())
    if found.connection is None:
        return jsonify(connected=False)
    units = ([found.parent] if found.parent else []) + found.units
    return jsonify(connected=True, connection=ConnectionOut().dump(found.connection), chromebooks=found.chromebooks,
                   units=OrgUnitOut(many=True).dump(units))


@blueprint.post("/google/connection")
@requires(Permission.ADMINISTER, central=True)
@operation(body=GoogleConnect, response=ConnectionOut, status=201, errors=(503,))
def connect_google():
    """Test the domain with the key and save it (201); a refusal is 422 naming what failed, nothing saved."""
    data = body(GoogleConnect())
    saved = connection.connect(db_session(), current_principal(), data["key"], data["admin"], customer=data["customer"],
                               parent_ou=data["parent_ou"], recent_users=data["recent_users"])
    return jsonify(ConnectionOut().dump(saved)), 201


@blueprint.put("/google/schools/<code>/unit")
@requires(Permission.ADMINISTER, central=True)
@operation(body=UnitMap, response=OrgUnitOut)
def map_school_unit(code: str):
    data = body(UnitMap())
    row = org_units.map_unit(db_session(), current_principal(), code, data["ou_path"], create=data["create"])
    return jsonify(OrgUnitOut().dump(row))


@blueprint.put("/google/groups/<int:group_id>/unit")
@requires(Permission.ADMINISTER, central=True)
@operation(body=UnitMap, response=OrgUnitOut)
def map_group_unit(group_id: int):
    data = body(UnitMap())
    session, principal = db_session(), current_principal()
    group = get_for(session, Group, group_id, principal)
    row = org_units.map_unit(session, principal, group.school.code, data["ou_path"], group=group.name, create=data["create"])
    return jsonify(OrgUnitOut().dump(row))


@blueprint.post("/google/sync")
@requires(Permission.COMMAND, central=True)
@operation(body=SyncRequest, response=ChromeSyncRequestedOut, status=202)
def request_google_sync():
    """202: the scheduler syncs within minutes (a large fleet takes longer than a request may)."""
    found = connection.request_sync(db_session(), current_principal(), full=body(SyncRequest())["full"])
    return jsonify(status="requested", connection=ConnectionOut().dump(found)), 202


@blueprint.get("/google/policy")
@requires(Permission.VIEW, central=True)
@operation(response=OrgUnitListOut)
def google_policy():
    return jsonify(units=OrgUnitOut(many=True).dump(policy.policy_units(db_session(), current_principal())))


@blueprint.post("/google/policy/apply")
@requires(Permission.MANAGE)
@operation(body=PolicyApply, response=PolicyApplyOut, errors=(503,))
def apply_google_policy():
    """Send the Chrome policy of every unit (central IT) or of one school's units, then read back drift."""
    data = body(PolicyApply())
    report = policy.apply(db_session(), current_principal(), school=data["school"], dry_run=data["dry_run"], force=data["force"])
    return jsonify({**report.as_dict(), "drift": {plan.unit.ou_path: list(plan.unit.drift or []) for plan in report.units}})


@blueprint.put("/devices/<int:chromebook_id>/school")
@requires(Permission.MANAGE)
@operation(body=ChromebookMove, response=DeviceOut, errors=(503,))
def move_chromebook(chromebook_id: int):
    """Give a Chromebook to another school (and group): it moves between units in Google first."""
    data = body(ChromebookMove())
    moved = moves.move_to_school(db_session(), current_principal(), chromebook_id, data["school"], data["group_id"])
    return jsonify(DeviceOut().dump(moved))
