"""The audit log: search and CSV export (per school, or all for central auditors)."""

from __future__ import annotations

from flask import Response, jsonify

from app.http import db_session
from app.http.api import blueprint, query
from app.http.api.openapi import operation
from app.http.rules import current_principal, requires
from app.schemas.admin import AuditEventOut, AuditQuery
from app.schemas.api import AuditPageOut
from app.services import audit_trail
from app.services.access import Permission


def audit_filter(data: dict) -> audit_trail.AuditFilter:
    return audit_trail.AuditFilter(**{key: data.get(key) for key in ("school", "since", "until", "action", "actor", "outcome")})


@blueprint.get("/audit")
@requires(Permission.AUDIT)
@operation(query=AuditQuery, response=AuditPageOut)
def search_audit():
    data = query(AuditQuery())
    found = audit_trail.search(db_session(), current_principal(), audit_filter(data), limit=data["limit"], before_id=data["before_id"])
    return jsonify(events=AuditEventOut(many=True).dump(found), next_before_id=found[-1].id if found else None)


@blueprint.get("/audit/export.csv")
@requires(Permission.AUDIT)
@operation(query=AuditQuery, media_type="text/csv")
def export_audit():
    data = query(AuditQuery())
    text = audit_trail.export_csv(db_session(), current_principal(), audit_filter(data))
    name = f"flokk-audit-{data['school'] or 'all'}.csv"
    return Response(text, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})
