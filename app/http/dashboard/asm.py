"""Apple School Manager in the dashboard: tokens, sync state and ADE choices for central IT; the iPads
expected at each school for its ICT contact; a device's escrowed bypass code for central IT."""

from __future__ import annotations

from flask import Response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.errors import InvalidInput
from app.http import db_session
from app.http.dashboard import blueprint, form_data, notice
from app.http.dashboard.labels import N_
from app.http.rules import current_principal, requires
from app.schemas import load
from app.schemas.asm import (
    MAX_TOKEN_CHARS,
    AsmDeviceQuery,
    AssignmentChange,
    BulkAssignment,
    RuleCreate,
    SchoolProfileChange,
    SettingsChange,
    ServerTokenImport,
)
from app.services.access import Permission
from app.services.asm import assignment, devices, enrolment, keys, profiles, tokens
from app.services.fleet import groups, schools
from mdm_protocol.asm.profile import skippable_panes

MAX_CSV_BYTES = 4 * 1024 * 1024
#: A token's sync state and an expected device's state, in words.
SYNC_STATES = {
    "never": N_("not synced yet"),
    "ok": N_("in order"),
    "terms_not_signed": N_("Apple's new terms must be accepted in Apple School Manager"),
    "token_rejected": N_("Apple refuses the token: import a new one"),
    "unavailable": N_("Apple did not answer; Flokk tries again"),
    "error": N_("failed"),
}
DEVICE_STATES = {
    "expected": N_("expected"),
    "enrolled": N_("enrolled"),
    "unassigned": N_("no school yet"),
    "deleted": N_("released in Apple School Manager"),
    "all": N_("all"),
}


def _labels() -> dict:
    return {"asm_state_label": lambda state: _(SYNC_STATES.get(state, state)),
            "asm_device_state_label": lambda state: _(DEVICE_STATES.get(state, state))}


@blueprint.get("/asm")
@requires(Permission.VIEW, central=True)
def asm_overview():
    session, principal = db_session(), current_principal()
    return render_template(
        "asm.html",
        tokens=tokens.list_tokens(session, principal),
        settings=profiles.get_settings(session, principal),
        panes=skippable_panes(),
        rules=assignment.list_rules(session, principal),
        schools=schools.list_schools(session, principal),
        fields=sorted(assignment.RULE_FIELDS),
        **_labels(),
    )


@blueprint.get("/asm/key.pem")
@requires(Permission.ADMINISTER, central=True)
def asm_key_file():
    pem = keys.public_certificate(db_session(), current_principal())
    return Response(pem, mimetype="application/x-pem-file",
                    headers={"Content-Disposition": 'attachment; filename="flokk-asm.pem"'})


@blueprint.post("/asm/tokens")
@requires(Permission.ADMINISTER, central=True)
def asm_import_token():
    upload = request.files.get("token")
    data = upload.read(MAX_TOKEN_CHARS + 1) if upload is not None and upload.filename else b""
    if not data and request.form.get("token_text", "").strip():
        data = load(ServerTokenImport(), {"token": request.form["token_text"].strip()})["token"].encode("utf-8", "replace")
    if not data:
        raise InvalidInput(_("Choose the server token file (.p7m) downloaded from Apple School Manager."))
    imported = tokens.import_token(db_session(), current_principal(), data[: MAX_TOKEN_CHARS + 1])
    notice(_("The server token is imported; Flokk syncs it within a minute.") if not imported.renewed
           else _("The server token is renewed."))
    return redirect(url_for("dashboard.asm_overview"))


@blueprint.post("/asm/tokens/<int:asm_token_id>/sync")
@requires(Permission.ADMINISTER, central=True)
def asm_request_sync(asm_token_id: int):
    tokens.request_sync(db_session(), current_principal(), asm_token_id)
    notice(_("Flokk syncs this token within a minute."))
    return redirect(url_for("dashboard.asm_overview"))


@blueprint.post("/asm/settings")
@requires(Permission.ADMINISTER, central=True)
def asm_change_settings():
    fields = form_data("language", "region", "support_email")
    raw = {**fields, "skip_setup_items": request.form.getlist("skip_setup_items"),
           "anchor_flokk_ca": request.form.get("anchor_flokk_ca") == "1"}
    for name in ("language", "region", "support_email"):
        raw.setdefault(name, None)
    profiles.update_settings(db_session(), current_principal(), load(SettingsChange(), raw))
    notice(_("Saved: every school's profile is defined again at Apple at the next sync."))
    return redirect(url_for("dashboard.asm_overview"))


@blueprint.post("/asm/rules")
@requires(Permission.ADMINISTER, central=True)
def asm_add_rule():
    data = load(RuleCreate(), form_data("field", "pattern", "school", "group", "position"))
    rule, count = assignment.add_rule(db_session(), current_principal(), field=data["field"], pattern=data["pattern"],
                                   school_code=data["school"], group=data["group"], position=data["position"])
    notice(_("Rule added: %(count)s device(s) without a school are now expected at %(school)s.",
             count=count, school=data["school"]))
    return redirect(url_for("dashboard.asm_overview"))


@blueprint.post("/asm/rules/<int:asm_rule_id>/delete")
@requires(Permission.ADMINISTER, central=True)
def asm_delete_rule(asm_rule_id: int):
    assignment.delete_rule(db_session(), current_principal(), asm_rule_id)
    notice(_("Rule removed; the devices it assigned keep their school."))
    return redirect(url_for("dashboard.asm_overview"))


@blueprint.post("/asm/assignments")
@requires(Permission.ADMINISTER, central=True)
def asm_assign():
    """A CSV file of serial,school[,class], or serials typed in with one school."""
    session, principal = db_session(), current_principal()
    upload = request.files.get("csv")
    if upload is not None and upload.filename:
        data = upload.read(MAX_CSV_BYTES + 1)
        if len(data) > MAX_CSV_BYTES:
            raise InvalidInput(_("The CSV file is too large."))
        count = assignment.assign_csv(session, principal, data.decode("utf-8-sig", "replace"))
    else:
        fields = form_data("serials", "school", "group")
        if not fields.get("serials") or not fields.get("school"):
            raise InvalidInput(_("Give serial numbers and a school, or a CSV file."))
        data = load(BulkAssignment(), {"serials": fields["serials"].replace(",", " ").split(), "school": fields["school"],
                                       "group": fields.get("group")})
        count = assignment.assign(session, principal, data["serials"], data["school"], data["group"])
    notice(_("%(count)s device(s) assigned; Apple gets their school's profile within a minute.", count=count))
    return redirect(url_for("dashboard.asm_overview"))


@blueprint.get("/asm/devices")
@requires(Permission.VIEW)
def asm_devices():
    data = load(AsmDeviceQuery(), {key: value for key, value in request.args.items() if value.strip()})
    limit, offset = data.pop("limit"), data.pop("offset")
    session, principal = db_session(), current_principal()
    if data.get("state") is None:
        data["state"] = "expected"
    page = devices.search(session, principal, devices.DeviceFilter(**data), limit=limit, offset=offset)
    school, school_profile, school_groups = None, None, []
    if data.get("school"):
        school, school_profile = profiles.school_profile(session, principal, data["school"])
        school_groups = groups.list_groups(session, principal, school_code=school.code)
    return render_template("asm_devices.html", page=page, query=data, offset=offset, limit=limit, states=devices.STATES,
                           schools=schools.list_schools(session, principal), school=school,
                           school_profile=school_profile, groups=school_groups, state_of=devices.state_of,
                           profile_state=devices.profile_state, **_labels())


@blueprint.post("/asm/devices/<int:asm_device_id>/assignment")
@requires(Permission.MANAGE)
def asm_set_assignment(asm_device_id: int):
    fields = form_data("school", "group")
    changes = {"group": fields.get("group")}
    if "school" in request.form:
        changes["school"] = fields.get("school")
    changed = assignment.change(db_session(), current_principal(), asm_device_id, load(AssignmentChange(), changes))
    notice(_("Saved: %(serial)s.", serial=changed.serial_number))
    return redirect(url_for("dashboard.asm_devices", school=changed.school.code if changed.school else None))


@blueprint.post("/asm/schools/<code>/profile")
@requires(Permission.MANAGE)
def asm_change_school_profile(code: str):
    data = load(SchoolProfileChange(), form_data("support_phone", "department"))
    profiles.update_school_profile(db_session(), current_principal(), code, support_phone=data["support_phone"],
                                   department=data["department"])
    notice(_("Saved: new iPads of the school show this in Setup Assistant after the next sync."))
    return redirect(url_for("dashboard.asm_devices", school=code))


@blueprint.post("/devices/<int:device_id>/bypass-code")
@requires(Permission.ADMINISTER, central=True)
def device_bypass_code(device_id: int):
    shown = enrolment.bypass_code(db_session(), current_principal(), device_id)
    return render_template("secret.html", title=_("Activation Lock bypass code"),
                           label=_("Use it to clear Activation Lock on %(serial)s after an erase. Showing it is recorded in the audit log.",
                                   serial=shown["serial_number"] or device_id),
                           secret=shown["code"], back=url_for("dashboard.device", device_id=device_id))
