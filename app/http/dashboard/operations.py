"""Commands, approvals and the audit log."""

from __future__ import annotations

from flask import Response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.http import db_session
from app.http.api.audit import audit_filter
from app.http.dashboard import blueprint, form_data, notice
from app.http.rules import current_principal, requires
from app.schemas import load
from app.schemas.admin import ApprovalDecision, ApprovalQuery, ApprovalRejection, AuditQuery, CommandQuery
from app.services import audit_trail
from app.services.access import Permission, approvals
from app.services.fleet import schools
from app.services.mdm import command_history


def _args() -> dict[str, str]:
    return {key: value for key, value in request.args.items() if value.strip()}


@blueprint.get("/commands")
@requires(Permission.VIEW)
def command_list():
    data = load(CommandQuery(), _args())
    limit = data.pop("limit")
    session, principal = db_session(), current_principal()
    found = command_history.list_commands(session, principal, command_history.CommandFilter(**data), limit=limit)
    return render_template("commands.html", commands=found, query=data, schools=schools.list_schools(session, principal))


@blueprint.get("/approvals")
@requires(Permission.VIEW)
def approval_list():
    data = load(ApprovalQuery(), _args())
    session, principal = db_session(), current_principal()
    found = approvals.list_requests(session, principal, status=data["status"])
    return render_template("approvals.html", requests=found, status=data["status"],
                           devices=approvals.devices_of(session, principal, found),
                           schools={school.id: school for school in schools.list_schools(session, principal)})


@blueprint.post("/approvals/<int:approval_id>/approve")
@requires(Permission.APPROVE, central=True)
def approve(approval_id: int):
    data = load(ApprovalDecision(), form_data("note"))
    decided = approvals.approve(db_session(), current_principal(), approval_id, note=data["note"])
    notice(_("Approved: %(count)s command(s) queued.", count=decided.queued_count))
    return redirect(url_for("dashboard.approval_list"))


@blueprint.post("/approvals/<int:approval_id>/reject")
@requires(Permission.APPROVE, central=True)
def reject(approval_id: int):
    data = load(ApprovalRejection(), form_data("note"))
    approvals.reject(db_session(), current_principal(), approval_id, note=data["note"])
    notice(_("The request is rejected."))
    return redirect(url_for("dashboard.approval_list"))


@blueprint.get("/audit")
@requires(Permission.AUDIT)
def audit_log():
    data = load(AuditQuery(), _args())
    session, principal = db_session(), current_principal()
    events = audit_trail.search(session, principal, audit_filter(data), limit=data["limit"], before_id=data["before_id"])
    raw = {key: value for key, value in _args().items() if key != "before_id"}
    return render_template("audit.html", events=events, query=raw, limit=data["limit"],
                           schools=schools.list_schools(session, principal))


@blueprint.get("/audit/export.csv")
@requires(Permission.AUDIT)
def audit_export():
    data = load(AuditQuery(), _args())
    text = audit_trail.export_csv(db_session(), current_principal(), audit_filter(data))
    name = f"flokk-audit-{data['school'] or 'all'}.csv"
    return Response(text, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})
