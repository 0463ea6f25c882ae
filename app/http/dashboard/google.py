"""Central IT's Google page (connection, units, sync, Chrome policy) and moving a Chromebook between schools."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.errors import InvalidInput
from app.http import db_session
from app.http.dashboard import blueprint, form_data, notice
from app.http.rules import current_principal, requires
from app.schemas import load
from app.schemas.google import ChromebookMove, GoogleConnect, PolicyApply, SyncRequest, UnitMapForm
from app.services.access import Permission
from app.services.fleet import schools
from app.services.google import connection, moves, org_units, policy
from mdm_protocol.google.keys import MAX_KEY_BYTES
from mdm_protocol.google.transport import SCOPES


@blueprint.get("/google")
@requires(Permission.VIEW, central=True)
def google_page():
    session, principal = db_session(), current_principal()
    found = connection.status(session, principal)
    return render_template("google.html", status=found, scopes=SCOPES,
                           schools=schools.list_schools(session, principal),
                           units=([found.parent] if found.parent else []) + found.units)


@blueprint.post("/google/connection")
@requires(Permission.ADMINISTER, central=True)
def google_connect():
    fields = form_data("admin", "customer", "parent_ou", "key")
    upload = request.files.get("key_file")
    if upload is not None and upload.filename:
        raw = upload.read(MAX_KEY_BYTES + 1)
        try:
            fields["key"] = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(_("The key file is not a JSON text file.")) from None
    data = load(GoogleConnect(), {**fields, "recent_users": request.form.get("recent_users") == "on"})
    saved = connection.connect(db_session(), current_principal(), data["key"], data["admin"], customer=data["customer"],
                               parent_ou=data["parent_ou"], recent_users=data["recent_users"])
    notice(_("Connected %(domain)s. Map each school to its organisational unit next.", domain=saved.domain or saved.customer_id))
    return redirect(url_for("dashboard.google_page"))


@blueprint.post("/google/units")
@requires(Permission.ADMINISTER, central=True)
def google_map():
    data = load(UnitMapForm(), {**form_data("school", "group", "ou_path"), "create": request.form.get("create") == "on"})
    school, group = data["school"], data["group"]
    row = org_units.map_unit(db_session(), current_principal(), school, data["ou_path"], group=group, create=data["create"])
    notice(_("%(school)s is mapped to %(path)s.", school=school + (f" / {group}" if group else ""), path=row.ou_path))
    return redirect(url_for("dashboard.google_page"))


@blueprint.post("/google/sync")
@requires(Permission.COMMAND, central=True)
def google_sync():
    data = load(SyncRequest(), {"full": request.form.get("full") == "on"})
    connection.request_sync(db_session(), current_principal(), full=data["full"])
    notice(_("A sync is requested: the scheduler runs it within a few minutes."))
    return redirect(url_for("dashboard.google_page"))


@blueprint.post("/google/policy")
@requires(Permission.MANAGE, central=True)
def google_apply():
    data = load(PolicyApply(), {"force": request.form.get("force") == "on"})
    report = policy.apply(db_session(), current_principal(), force=data["force"])
    failed = [plan.unit.ou_path for plan in report.units if plan.error]
    if failed:
        notice(_("Chrome policy sent, but Google refused it for %(units)s: see the table.", units=", ".join(failed)))
    else:
        notice(_("Chrome policy sent: %(count)s change(s).", count=report.changes))
    return redirect(url_for("dashboard.google_page"))


@blueprint.post("/devices/<int:chromebook_id>/school")
@requires(Permission.MANAGE)
def move_chromebook(chromebook_id: int):
    raw = request.form.get("group_id", "")
    data = load(ChromebookMove(), {**form_data("school"), "group_id": int(raw) if raw.isdigit() else None if raw == "" else raw})
    moves.move_to_school(db_session(), current_principal(), chromebook_id, data["school"], data["group_id"])
    notice(_("The Chromebook is moved, in Google too."))
    return redirect(url_for("dashboard.device", device_id=chromebook_id))
