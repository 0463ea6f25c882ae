"""The OS update pages: every school's target and progress, and one school's iPads against theirs.

Central IT sets the baseline target (version, build, deadline, lock) on
``/os-updates``; a school's ICT contact may give their school a later
deadline on the school's page unless central IT locked it. Both forms preview
(nothing saved) or save; a refusal (a locked deadline, a deadline that has
passed, a version Apple's format does not allow) shows on the page with the
reason, status 422, nothing saved.
"""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.errors import InvalidInput
from app.http import db_session
from app.http.dashboard import blueprint, form_data, notice
from app.http.dashboard.labels import N_
from app.http.rules import current_principal, requires
from app.schemas import load
from app.schemas.updates import TargetForm
from app.services.access import Permission
from app.services.declarations import Mode, updates
from app.services.declarations.updates import KEYS, State
from app.services.fleet import schools

_FIELDS = ("version", "build", "deadline", "note", "intent")
#: Bar segments: (what they count, colour).
BAR = (("done", "#2e7d32"), ("pending", "#1f4e79"), ("failed", "#c62828"), ("unreachable", "#9e9e9e"))
#: Where an iPad stands against its OS update target.
UPDATE_STATES = {
    State.DONE: N_("done"),
    State.PENDING: N_("not started"),
    State.WAITING: N_("waiting to start"),
    State.DOWNLOADING: N_("downloading"),
    State.PREPARED: N_("ready to install"),
    State.INSTALLING: N_("installing"),
    State.FAILED: N_("failed"),
    State.NOT_DECLARATIVE: N_("not managed declaratively"),
    State.TOO_OLD: N_("iPadOS too old for an update by declaration"),
    State.UNKNOWN: N_("iPadOS version not reported yet"),
}
#: How a device gets its settings (``app.services.declarations.Mode``).
MODES = {
    Mode.DECLARATIVE: N_("declarations: the device reports by itself"),
    Mode.ASKED: N_("declarative management turned on; waiting for the device to answer"),
    Mode.PROFILES: N_("profiles and commands"),
    Mode.UNABLE: N_("profiles and commands (its iPadOS is too old for declarations)"),
}
#: What the device says about one declaration.
DECLARATION_STATES = {
    "applied": N_("applied"),
    "invalid": N_("not applied"),
    "inactive": N_("not active"),
    "unknown": N_("not evaluated yet"),
    "not_reported": N_("not reported yet"),
    "older_version": N_("an older version reported"),
}


@blueprint.app_context_processor
def _update_helpers() -> dict[str, Any]:
    """Labels the OS update pages and a device's page show (translated at render time)."""
    return {
        "keys": KEYS,
        "update_state_label": lambda state: _(UPDATE_STATES.get(state, str(state))),
        "declarative_mode_label": lambda mode: _(MODES.get(mode, str(mode))),
        "declaration_state_label": lambda state: _(DECLARATION_STATES.get(state, state)),
    }


@blueprint.get("/os-updates")
@requires(Permission.VIEW)
def os_updates():
    return _overview_page()


@blueprint.post("/os-updates")
@requires(Permission.ADMINISTER, central=True)
def change_baseline_update():
    return _change("baseline", None)


@blueprint.get("/schools/<code>/os-update")
@requires(Permission.VIEW)
def school_os_update(code: str):
    return _school_page(code)


@blueprint.post("/schools/<code>/os-update")
@requires(Permission.MANAGE)
def change_school_update(code: str):
    school = schools.get_school_by_code(db_session(), current_principal(), code)
    return _change(f"school:{school.code}", school.code)


def _change(layer: str, code: str | None):
    fields = form_data(*_FIELDS)
    if code is None:
        fields["lock"] = request.form.get("lock") == "1"
    try:
        data = load(TargetForm(), fields)
        changed = updates.set_target(
            db_session(), current_principal(), layer, version=data["version"], build=data["build"],
            deadline=data["deadline"], lock=data["lock"] or None, note=data["note"], dry_run=data["intent"] == "preview",
        )
    except InvalidInput as refused:
        page = _overview_page if code is None else lambda **more: _school_page(code, **more)
        return page(refused=refused, form=fields), 422
    if data["intent"] == "preview":
        page = _overview_page if code is None else lambda **more: _school_page(code, **more)
        return page(preview=changed, form=fields)
    result = changed.result
    if result.version is None:
        notice(_("Nothing changed: the layer already says so."))
    else:
        notice(_("Saved as version %(number)s; %(count)s device(s) are told to fetch the new target.",
                 number=result.version.number, count=result.report.declarations.told_count))
    return redirect(url_for("dashboard.os_updates") if code is None else url_for("dashboard.school_os_update", code=code))


def _overview_page(**more: Any):
    session, principal = db_session(), current_principal()
    views = updates.overview(session, principal)
    baseline = views[0].target if views else None
    return render_template("os_updates.html", views=views, baseline=baseline, bar=BAR,
                           may_change=principal.can(Permission.ADMINISTER, None), form=more.pop("form", {}), **more)


def _school_page(code: str, **more: Any):
    session, principal = db_session(), current_principal()
    (view,) = updates.overview(session, principal, school=code, with_devices=True)
    layer = f"school:{view.school.code}"
    locked = view.target.locked("deadline", below=layer)
    return render_template(
        "school_os_update.html", view=view, bar=BAR, locked=locked, layer=layer,
        below=[update for update in view.devices if update.state is not State.DONE],
        may_change=principal.can(Permission.MANAGE, view.school.id) and locked is None,
        form=more.pop("form", {}), **more,
    )
