"""The app pages: central IT's catalogue (token, licence totals per app and school, the baseline's apps),
a school's and a class's apps (what they pick, what their devices are doing), and a device's apps.

A change here is a policy change (``app.services.apps.settings``): the same
locks, preview and refusals as the policy pages, whose history and restore
cover apps too. App icons come from Apple's image servers, so these pages
allow images from there.
"""

from __future__ import annotations

from typing import Any

from flask import make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.errors import InvalidInput
from app.http import db_session
from app.http.dashboard import blueprint, form_data, notice
from app.http.rules import current_principal, requires
from app.schemas import load
from app.schemas.apps import AppForm, configuration_from_text
from app.schemas.policy_views import report_out
from app.services import policy
from app.services.access import Permission
from app.services.apps import catalogue, connection, overview, settings
from app.services.fleet import groups, schools

#: Apple's artwork servers, where app icons live.
ICONS = "https://*.mzstatic.com"
_FORM = ("app", "state", "configuration", "note", "intent")
MAX_TOKEN_FILE = 64 * 1024


def _with_icons(html: str, status: int = 200):
    response = make_response(html, status)
    response.headers["Content-Security-Policy"] = f"default-src 'self'; img-src 'self' {ICONS}; frame-ancestors 'none'; form-action 'self'"
    return response


@blueprint.get("/apps")
@requires(Permission.VIEW)
def apps():
    return _catalogue_page()


def _catalogue_page(status: int = 200, **more: Any):
    session, principal = db_session(), current_principal()
    found = overview.catalogue(session, principal)
    baseline = overview.layer_apps(session, principal, "baseline") if principal.is_central else None
    html = render_template("apps.html", catalogue=found, baseline=baseline, form=more.pop("form", {}),
                           may_change=principal.can(Permission.ADMINISTER, None), **more)
    return _with_icons(html, status)


@blueprint.post("/apps")
@requires(Permission.ADMINISTER, central=True)
def change_baseline_apps():
    return _change("baseline", url_for("dashboard.apps"), lambda **more: _catalogue_page(**more), lockable=True)


@blueprint.post("/apps/token")
@requires(Permission.ADMINISTER, central=True)
def import_apps_token():
    upload = request.files.get("token")
    data = upload.stream.read(MAX_TOKEN_FILE + 1) if upload is not None else b""
    if not data:
        raise InvalidInput(_("Choose the .vpptoken file downloaded from Apple School Manager."))
    imported = connection.import_token(db_session(), current_principal(), data, force=request.form.get("force") == "1")
    notice(_("The Apps and Books token for %(location)s is imported; the apps are read within a minute.",
             location=imported.token.location_name or imported.token.location_uid))
    catalogue.request_sync(db_session(), current_principal())
    return redirect(url_for("dashboard.apps"))


@blueprint.post("/apps/sync")
@requires(Permission.ADMINISTER, central=True)
def sync_apps():
    catalogue.request_sync(db_session(), current_principal())
    notice(_("Flokk reads the apps and licences from Apple within a minute."))
    return redirect(url_for("dashboard.apps"))


@blueprint.get("/schools/<code>/apps")
@requires(Permission.VIEW)
def school_apps(code: str):
    return _layer_page(_school(code))


@blueprint.post("/schools/<code>/apps")
@requires(Permission.MANAGE)
def change_school_apps(code: str):
    layer = _school(code)
    return _change(layer["name"], layer["url"], lambda **more: _layer_page(layer, **more))


@blueprint.get("/groups/<int:group_id>/apps")
@requires(Permission.VIEW)
def group_apps(group_id: int):
    return _layer_page(_group(group_id))


@blueprint.post("/groups/<int:group_id>/apps")
@requires(Permission.MANAGE)
def change_group_apps(group_id: int):
    layer = _group(group_id)
    return _change(layer["name"], layer["url"], lambda **more: _layer_page(layer, **more))


def _school(code: str) -> dict[str, Any]:
    school = schools.get_school_by_code(db_session(), current_principal(), code)
    return {"name": f"school:{school.code}", "school": school, "group": None,
            "url": url_for("dashboard.school_apps", code=school.code),
            "policy_url": url_for("dashboard.school_policy", code=school.code),
            "title": _("Apps of %(school)s", school=school.name)}


def _group(group_id: int) -> dict[str, Any]:
    group = groups.get_group(db_session(), current_principal(), group_id)
    return {"name": f"group:{group.school.code}/{group.name}", "school": group.school, "group": group,
            "url": url_for("dashboard.group_apps", group_id=group.id),
            "policy_url": url_for("dashboard.group_policy", group_id=group.id),
            "title": _("Apps of %(group)s (%(school)s)", group=group.name, school=group.school.name)}


def _layer_page(layer: dict[str, Any], status: int = 200, **more: Any):
    session, principal = db_session(), current_principal()
    shown = overview.layer_apps(session, principal, layer["name"])
    html = render_template("layer_apps.html", layer=layer, shown=shown, form=more.pop("form", {}),
                           may_change=principal.can(Permission.MANAGE, layer["school"].id),
                           licence_of={info.adam_id: info for info in overview.catalogue(
                               session, principal, school=layer["school"].code).apps}, **more)
    return _with_icons(html, status)


def _change(layer_name: str, url: str, page, *, lockable: bool = False):
    fields = form_data(*_FORM)
    fields["keep_on_unenroll"] = request.form.get("keep_on_unenroll") == "1"
    if lockable:
        fields["lock"] = request.form.get("lock") == "1"
    try:
        data = load(AppForm(), fields)
        configuration = settings.UNCHANGED
        if data["configuration"] is not None:
            configuration = configuration_from_text(data["configuration"])
        result = settings.set_app(
            db_session(), current_principal(), layer_name, data["app"], data["state"], configuration=configuration,
            remove_on_unenroll=False if data["keep_on_unenroll"] else None, lock=data["lock"], note=data["note"],
            dry_run=data["intent"] == "preview",
        )
    except InvalidInput as refused:
        return page(status=422, refused=refused, form=fields)
    if data["intent"] == "preview":
        codes = policy.school_codes(db_session(), current_principal(), result.report.school_ids())
        return page(preview=result, report=report_out(result.report, codes), form=fields)
    if result.version is None:
        notice(_("Nothing changed: the layer already says so."))
    else:
        notice(_("Saved as version %(number)s; %(count)s command(s) queued, %(licences)s licence(s) to assign.",
                 number=result.version.number, count=result.report.queued,
                 licences=sum(result.report.licences.values())))
    return redirect(url)
