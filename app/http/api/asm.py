"""Apple School Manager: server tokens and sync (central IT), expected devices (everyone for their schools),
assignment rules and ADE profile settings, and a device's escrowed Activation Lock bypass code (central IT)."""

from __future__ import annotations

from flask import Response, jsonify

from app.http import db_session
from app.http.api import blueprint, body, query
from app.http.api.openapi import operation
from app.http.rules import current_principal, requires
from app.schemas.asm import (
    AsmDeviceOut,
    AsmDevicePageOut,
    AsmDeviceQuery,
    AsmSyncRequestedOut,
    AssignedOut,
    AssignmentChange,
    BulkAssignment,
    BypassCodeOut,
    RuleCreate,
    RuleCreatedOut,
    RuleListOut,
    RuleOut,
    SchoolProfileChange,
    SchoolProfileOut,
    SettingsChange,
    SettingsOut,
    ServerTokenImport,
    ServerTokenListOut,
    ServerTokenOut,
)
from app.services.access import Permission
from app.services.asm import assignment, devices, enrolment, keys, profiles, tokens


@blueprint.get("/asm/key")
@requires(Permission.ADMINISTER, central=True)
@operation(media_type="application/x-pem-file", errors=(409,))
def asm_key():
    """The certificate to upload to the device management server in ASM (PEM)."""
    pem = keys.public_certificate(db_session(), current_principal())
    return Response(pem, mimetype="application/x-pem-file",
                    headers={"Content-Disposition": 'attachment; filename="flokk-asm.pem"'})


@blueprint.get("/asm/tokens")
@requires(Permission.VIEW, central=True)
@operation(response=ServerTokenListOut)
def list_asm_tokens():
    return jsonify(tokens=ServerTokenOut(many=True).dump(tokens.list_tokens(db_session(), current_principal())))


@blueprint.post("/asm/tokens")
@requires(Permission.ADMINISTER, central=True)
@operation(body=ServerTokenImport, responses={200: ServerTokenOut, 201: ServerTokenOut})
def import_asm_token():
    """The downloaded ``.p7m`` as text in ``token``; 201 (new) or 200 (renewed)."""
    data = body(ServerTokenImport())
    session, principal = db_session(), current_principal()
    imported = tokens.import_token(session, principal, data["token"].encode("utf-8", "replace"))
    summary = tokens.get_summary(session, principal, imported.token.id)
    return jsonify(ServerTokenOut().dump(summary)), 200 if imported.renewed else 201


@blueprint.get("/asm/tokens/<int:asm_token_id>")
@requires(Permission.VIEW, central=True)
@operation(response=ServerTokenOut)
def show_asm_token(asm_token_id: int):
    return jsonify(ServerTokenOut().dump(tokens.get_summary(db_session(), current_principal(), asm_token_id)))


@blueprint.post("/asm/tokens/<int:asm_token_id>/sync")
@requires(Permission.ADMINISTER, central=True)
@operation(response=AsmSyncRequestedOut, status=202)
def request_asm_sync(asm_token_id: int):
    """202: the scheduler syncs the token at its next minute."""
    tokens.request_sync(db_session(), current_principal(), asm_token_id)
    return jsonify(status="sync_requested"), 202


@blueprint.get("/asm/devices")
@requires(Permission.VIEW)
@operation(query=AsmDeviceQuery, response=AsmDevicePageOut)
def list_asm_devices():
    data = query(AsmDeviceQuery())
    limit, offset = data.pop("limit"), data.pop("offset")
    page = devices.search(db_session(), current_principal(), devices.DeviceFilter(**data), limit=limit, offset=offset)
    return jsonify(total=page.total, devices=AsmDeviceOut(many=True).dump(page.devices))


@blueprint.get("/asm/devices/<int:asm_device_id>")
@requires(Permission.VIEW)
@operation(response=AsmDeviceOut)
def show_asm_device(asm_device_id: int):
    return jsonify(AsmDeviceOut().dump(devices.get(db_session(), current_principal(), asm_device_id)))


@blueprint.put("/asm/devices/<int:asm_device_id>/assignment")
@requires(Permission.MANAGE)
@operation(body=AssignmentChange, response=AsmDeviceOut)
def change_asm_assignment(asm_device_id: int):
    """``{"group": "5A"}`` (the school's class) or ``{"school": "nordby", "group": null}`` (central IT)."""
    changed = assignment.change(db_session(), current_principal(), asm_device_id, body(AssignmentChange()))
    return jsonify(AsmDeviceOut().dump(changed))


@blueprint.post("/asm/assignments")
@requires(Permission.ADMINISTER, central=True)
@operation(body=BulkAssignment, response=AssignedOut)
def assign_asm_devices():
    data = body(BulkAssignment())
    count = assignment.assign(db_session(), current_principal(), data["serials"], data["school"], data["group"])
    return jsonify(assigned=count)


@blueprint.get("/asm/rules")
@requires(Permission.VIEW, central=True)
@operation(response=RuleListOut)
def list_asm_rules():
    return jsonify(rules=RuleOut(many=True).dump(assignment.list_rules(db_session(), current_principal())))


@blueprint.post("/asm/rules")
@requires(Permission.ADMINISTER, central=True)
@operation(body=RuleCreate, response=RuleCreatedOut, status=201)
def create_asm_rule():
    data = body(RuleCreate())
    rule, count = assignment.add_rule(
        db_session(), current_principal(), field=data["field"], pattern=data["pattern"], school_code=data["school"],
        group=data["group"], token_id=data["token_id"], position=data["position"],
    )
    return jsonify({**RuleOut().dump(rule), "assigned": count}), 201


@blueprint.delete("/asm/rules/<int:asm_rule_id>")
@requires(Permission.ADMINISTER, central=True)
@operation(status=204)
def delete_asm_rule(asm_rule_id: int):
    assignment.delete_rule(db_session(), current_principal(), asm_rule_id)
    return "", 204


@blueprint.get("/asm/settings")
@requires(Permission.VIEW, central=True)
@operation(response=SettingsOut)
def asm_settings():
    return jsonify(SettingsOut().dump(profiles.get_settings(db_session(), current_principal())))


@blueprint.put("/asm/settings")
@requires(Permission.ADMINISTER, central=True)
@operation(body=SettingsChange, response=SettingsOut)
def change_asm_settings():
    changed = profiles.update_settings(db_session(), current_principal(), body(SettingsChange()))
    return jsonify(SettingsOut().dump(changed))


@blueprint.get("/asm/schools/<code>")
@requires(Permission.VIEW)
@operation(response=SchoolProfileOut)
def asm_school_profile(code: str):
    school, row = profiles.school_profile(db_session(), current_principal(), code)
    return jsonify(school=school.code, support_phone=row.support_phone, department=row.department or school.name)


@blueprint.put("/asm/schools/<code>")
@requires(Permission.MANAGE)
@operation(body=SchoolProfileChange, response=SchoolProfileOut)
def change_asm_school_profile(code: str):
    data = body(SchoolProfileChange())
    session, principal = db_session(), current_principal()
    profiles.update_school_profile(session, principal, code, support_phone=data["support_phone"], department=data["department"])
    school, row = profiles.school_profile(session, principal, code)
    return jsonify(school=school.code, support_phone=row.support_phone, department=row.department or school.name)


@blueprint.get("/devices/<int:device_id>/activation-lock-bypass-code")
@requires(Permission.ADMINISTER, central=True)
@operation(response=BypassCodeOut)
def device_bypass_code(device_id: int):
    """Escrowed at enrolment; central IT only, and every read is in the audit log."""
    shown = enrolment.bypass_code(db_session(), current_principal(), device_id)
    return jsonify(device_id=shown["device_id"], serial_number=shown["serial_number"], code=shown["code"],
                   escrowed_at=shown["escrowed_at"].isoformat() if shown["escrowed_at"] else None)
