"""Policy layers and effective policy: the REST face of ``app.services.policy``.

Layers are named as the service names them, in the path:
``/policy/layers/baseline``, ``/policy/layers/school:CODE``,
``/policy/layers/group:CODE/NAME``, ``/policy/layers/device:SERIAL``. Who may
read or change which layer is the service's decision (central IT the
baseline, a school's ICT contact their own school's layers where not locked).
"""

from __future__ import annotations

import re

from flask import Response, jsonify, request

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
    """A layer in context; its ``ETag`` goes back as ``If-Match`` with a change."""
    stack = policy.show_layer(db_session(), current_principal(), layer)
    return _tagged(jsonify(LayerStackOut().dump(stack)), stack.target.version)


@blueprint.post("/policy/layers/<layer:layer>/changes")
@requires(Permission.MANAGE)
@operation(body=LayerChange, response=PolicyChangeOut, headers=("If-Match",), errors=(412,), etag=True)
def change_policy_layer(layer: str):
    """200 with the saved version and what was queued; with ``dry_run`` the preview, nothing saved."""
    data = body(LayerChange())
    session = db_session()
    result = policy.change(session, current_principal(), layer, data["changes"], note=data["note"], dry_run=data["dry_run"],
                           if_version=if_match_versions())
    response = jsonify(change_out(result, policy.school_codes(session, current_principal(), result.report.school_ids())))
    return _tagged(response, result.version.number) if result.version is not None else response


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
    result = policy.restore(session, current_principal(), layer, number, if_version=if_match_versions())
    response = jsonify(change_out(result, policy.school_codes(session, current_principal(), result.report.school_ids())))
    return _tagged(response, result.version.number) if result.version is not None else response


@blueprint.get("/devices/<int:device_id>/policy")
@requires(Permission.VIEW)
@operation(response=EffectivePolicyOut)
def device_policy(device_id: int):
    return jsonify(effective_out(policy.effective(db_session(), current_principal(), f"#{device_id}")))


def _tagged(response: Response, version: int) -> Response:
    response.set_etag(f"v{version}")
    return response


def if_match_versions() -> frozenset[int] | None:
    """The layer versions ``If-Match`` names (``"v3"``), or None without one (or with ``*``).

    Weak tags never match (RFC 9110 compares If-Match strongly); an unreadable
    header names no version, so the change is refused rather than applied blindly.
    """
    if "If-Match" not in request.headers:
        return None
    tags = request.if_match
    if tags.star_tag:
        return None
    return frozenset(int(tag[1:]) for tag in tags.as_set() if re.fullmatch(r"v\d{1,9}", tag))
