"""Apps: the catalogue with licence counts, the content token, syncs, one app in a layer, a device's apps.

Setting an app is a policy change (``/policy/layers/<layer>/changes`` with
payload ``app:<id>`` works too); this endpoint takes the app's words.
"""

from __future__ import annotations

from flask import jsonify

from app.http import db_session
from app.http.api import blueprint, body, query
from app.http.api.openapi import operation
from app.http.rules import current_principal, requires
from app.schemas.admin import SchoolQuery
from app.schemas.api import PolicyChangeOut
from app.schemas.apps import (
    AppsCatalogueOut,
    AppSetting,
    AppsTokenImportedOut,
    AppsTokenOut,
    DeviceAppsOut,
    AppsSyncRequestedOut,
    TokenImport,
    catalogue_out,
    device_apps_out,
    token_out,
)
from app.schemas.policy import value_from_json
from app.schemas.policy_views import change_out
from app.services import policy
from app.services.access import Permission
from app.services.apps import catalogue, connection, overview, settings


@blueprint.get("/apps")
@requires(Permission.VIEW)
@operation(query=SchoolQuery, response=AppsCatalogueOut)
def list_apps():
    """Every Apps and Books app with its licences (per school: the caller's schools); central IT also the token."""
    found = overview.catalogue(db_session(), current_principal(), school=query(SchoolQuery())["school"])
    return jsonify(AppsCatalogueOut().dump(catalogue_out(found)))


@blueprint.get("/apps/token")
@requires(Permission.ADMINISTER, central=True)
@operation(response=AppsTokenOut, errors=(409,))
def show_apps_token():
    """The content token's location, expiry, notifications and last sync (409 when none is imported)."""
    return jsonify(AppsTokenOut().dump(token_out(connection.summary(db_session(), current_principal()))))


@blueprint.post("/apps/token")
@requires(Permission.ADMINISTER, central=True)
@operation(body=TokenImport, response=AppsTokenImportedOut, status=201, errors=(409, 502))
def import_apps_token():
    """Store the content token and claim its location (409 when another MDM holds it and ``force`` is not set)."""
    data = body(TokenImport())
    imported = connection.import_token(db_session(), current_principal(), data["token"].encode("ascii", "replace"),
                                       force=data["force"])
    answer = {"token": token_out(connection.summarise(imported.token)), "took_over": imported.took_over}
    return jsonify(AppsTokenImportedOut().dump(answer)), 201


@blueprint.post("/apps/sync")
@requires(Permission.ADMINISTER, central=True)
@operation(response=AppsSyncRequestedOut, status=202, errors=(409,))
def sync_apps():
    """202: the scheduler syncs within a minute (a sync reads every app and licence from Apple)."""
    token = catalogue.request_sync(db_session(), current_principal())
    answer = {"status": "sync_requested", "requested_at": token.sync_requested_at.isoformat()}
    return jsonify(AppsSyncRequestedOut().dump(answer)), 202


@blueprint.post("/apps/layers/<layer:layer>")
@requires(Permission.MANAGE)
@operation(body=AppSetting, response=PolicyChangeOut)
def set_layer_app(layer: str):
    """One app in a layer: required, available, removed, or inherit (forget the layer's own entry)."""
    data = body(AppSetting())
    session = db_session()
    configuration = settings.UNCHANGED if data["configuration"] is None else value_from_json(data["configuration"])
    result = settings.set_app(session, current_principal(), layer, data["app"], data["state"], configuration=configuration,
                              remove_on_unenroll=data["remove_on_unenroll"], lock=data["lock"], note=data["note"],
                              dry_run=data["dry_run"])
    return jsonify(PolicyChangeOut().dump(change_out(result, policy.school_codes(session, current_principal(),
                                                                                  result.report.school_ids()))))


@blueprint.get("/devices/<int:device_id>/apps")
@requires(Permission.VIEW)
@operation(response=DeviceAppsOut)
def device_apps(device_id: int):
    """What the policy says about each app, where from, the licence, what the device reported, what is next."""
    return jsonify(DeviceAppsOut().dump({"apps": device_apps_out(overview.device_apps(db_session(), current_principal(), device_id))}))
