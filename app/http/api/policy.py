"""Policy layers and effective policy: the REST face of ``app.services.policy``.

Layers are named as the service names them, in the path:
``/policy/layers/baseline``, ``/policy/layers/school:CODE``,
``/policy/layers/group:CODE/NAME``, ``/policy/layers/device:SERIAL``. Who may
read or change which layer is the service's decision (central IT the
baseline, a school's ICT contact their own school's layers where not locked).
"""

from __future__ import annotations

from flask import jsonify

from app.http import db_session
from app.http.api import blueprint, body
from app.http.api.openapi import operation
from app.http.rules import current_principal, requires
from app.schemas.api import EffectivePolicyOut, PolicyChangeOut, PolicyHistoryOut, PolicyStackOut
from app.schemas.policy import LayerChange
from app.schemas.policy_views import LayerStackOut, VersionOut, change_out, effective_out
from app.services import policy
from app.services.access import Permission


@blueprint.get("/policy/layers/<layer:layer>")
@requires(Permission.VIEW)
@operation(response=PolicyStackOut, etag=True)
def show_policy_layer(layer: str):
    return jsonify(LayerStackOut().dump(policy.show_layer(db_session(), current_principal(), layer)))


@blueprint.post("/policy/layers/<layer:layer>/changes")
@requires(Permission.MANAGE)
@operation(body=LayerChange, response=PolicyChangeOut, headers=("If-Match",), errors=(412,), etag=True)
def change_policy_layer(layer: str):
    """200 with the saved version and what was queued; with ``dry_run`` the preview, nothing saved."""
    data = body(LayerChange())
    session = db_session()
    result = policy.change(session, current_principal(), layer, data["changes"], note=data["note"], dry_run=data["dry_run"])
    return jsonify(change_out(result, policy.school_codes(session, current_principal(), result.report.school_ids())))


@blueprint.get("/policy/layers/<layer:layer>/versions")
@requires(Permission.VIEW)
@operation(response=PolicyHistoryOut)
def policy_layer_history(layer: str):
    label, versions = policy.history(db_session(), current_principal(), layer)
    return jsonify(layer=label, versions=VersionOut(many=True).dump(versions))


@blueprint.post("/policy/layers/<layer:layer>/versions/<int:number>/restore")
@requires(Permission.MANAGE)
@operation(response=PolicyChangeOut, headers=("If-Match",), errors=(412,), etag=True)
def restore_policy_layer(layer: str, number: int):
    """The old version becomes current again as a new version, through the usual checks and locks."""
    session = db_session()
    result = policy.restore(session, current_principal(), layer, number)
    return jsonify(change_out(result, policy.school_codes(session, current_principal(), result.report.school_ids())))


@blueprint.get("/devices/<int:device_id>/policy")
@requires(Permission.VIEW)
@operation(response=EffectivePolicyOut)
def device_policy(device_id: int):
    return jsonify(effective_out(policy.effective(db_session(), current_principal(), f"#{device_id}")))
