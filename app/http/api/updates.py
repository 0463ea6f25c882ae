"""OS updates and declarative state: the REST face of ``app.services.declarations``.

``/updates`` lists every visible school's target and progress; a target is
changed per policy layer, named as elsewhere (``/updates/baseline``,
``/updates/school:CODE``, ...); ``/schools/<code>/os-update`` lists a
school's iPads against their target; ``/devices/<id>/declarations`` is one
device's declarative state. Who may change which layer is the policy's
decision (central IT the baseline, a school's ICT contact their school where
not locked).
"""

from __future__ import annotations

from flask import jsonify

from app.http import db_session
from app.http.api import blueprint, body, query
from app.http.api.openapi import operation
from app.http.rules import current_principal, requires
from app.schemas.policy_views import change_out
from app.schemas.updates import (
    DeviceDeclarationsOut,
    SchoolUpdatesOut,
    TargetChange,
    TargetChangeOut,
    UpdatesOut,
    UpdatesQuery,
    device_declarations_out,
    school_updates_out,
)
from app.services import declarations, policy
from app.services.access import Permission
from app.services.declarations import updates


@blueprint.get("/updates")
@requires(Permission.VIEW)
@operation(query=UpdatesQuery, response=UpdatesOut)
def list_updates():
    found = updates.overview(db_session(), current_principal(), school=query(UpdatesQuery())["school"])
    return jsonify(schools=[school_updates_out(view) for view in found])


@blueprint.post("/updates/<layer:layer>")
@requires(Permission.MANAGE)
@operation(body=TargetChange, response=TargetChangeOut)
def set_update_target(layer: str):
    """200 with the saved version and every affected school's progress; with ``dry_run`` the preview."""
    data = body(TargetChange())
    session, principal = db_session(), current_principal()
    changed = updates.set_target(session, principal, layer, **data)
    codes = policy.school_codes(session, principal, changed.result.report.school_ids())
    return jsonify(change=change_out(changed.result, codes), schools=[school_updates_out(view) for view in changed.schools])


@blueprint.get("/schools/<code>/os-update")
@requires(Permission.VIEW)
@operation(response=SchoolUpdatesOut)
def school_update(code: str):
    (view,) = updates.overview(db_session(), current_principal(), school=code, with_devices=True)
    return jsonify(school_updates_out(view, devices=True))


@blueprint.get("/devices/<int:device_id>/declarations")
@requires(Permission.VIEW)
@operation(response=DeviceDeclarationsOut)
def device_declarations(device_id: int):
    return jsonify(device_declarations_out(declarations.for_device(db_session(), current_principal(), device_id)))
