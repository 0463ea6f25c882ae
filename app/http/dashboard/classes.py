"""Classes: a school's classes from its teaching groups, their rosters, and Apple Classroom."""

from __future__ import annotations

from flask import redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from app.errors import InvalidInput
from app.http import db_session, settings
from app.http.dashboard import blueprint, form_data, notice
from app.http.rules import current_principal, requires
from app.schemas import load
from app.schemas.rosters import ClassroomInstall, FeideLink, RosterUpload
from app.services import rosters
from app.services.access import Permission
from app.services.fleet import schools
from app.services.rosters import classroom, feide_import, link_feide, uploads
from mdm_protocol import feide


@blueprint.get("/schools/<code>/classes")
@requires(Permission.VIEW)
def school_classes(code: str):
    db, principal = db_session(), current_principal()
    found = schools.get_school_by_code(db, principal, code)
    link, classes = rosters.describe_school(db, principal, code)
    return render_template("classes.html", school=found, link=link, classes=classes,
                           counts=rosters.member_counts(db, [item.id for item in classes]),
                           feide_signed_in=feide_import.SESSION_KEY in session)


@blueprint.post("/schools/<code>/classes/import")
@requires(Permission.MANAGE)
def import_classes(code: str):
    upload = request.files.get("roster")
    raw = upload.read(uploads.MAX_BYTES + 1) if upload is not None and upload.filename else request.form.get("roster", "")
    if not raw:
        raise InvalidInput(_("Choose the export file (CSV) to import."), details={"roster": [_("No file.")]})
    if isinstance(raw, str):
        raw = load(RosterUpload(), {"csv": raw})["csv"]
    result = uploads.import_csv(db_session(), current_principal(), code, raw)
    notice(_("Imported: %(summary)s.", summary=result.summary()))
    return redirect(url_for("dashboard.school_classes", code=code))


@blueprint.post("/schools/<code>/classes/feide")
@requires(Permission.MANAGE)
def import_classes_from_feide(code: str):
    client = feide.GroupsClient(settings().oidc_feide_groups_url)
    result = feide_import.import_from_feide(db_session(), current_principal(), code, session.get(feide_import.SESSION_KEY),
                                            client=client)
    notice(_("Imported from Feide: %(summary)s.", summary=result.summary()))
    return redirect(url_for("dashboard.school_classes", code=code))


@blueprint.post("/schools/<code>/feide-link")
@requires(Permission.ADMINISTER, central=True)
def link_school_to_feide(code: str):
    data = load(FeideLink(), {"feide_org_unit": form_data("feide_org_unit").get("feide_org_unit")})
    link_feide(db_session(), current_principal(), code, data["feide_org_unit"])
    notice(_("The school's Feide organisation unit is saved."))
    return redirect(url_for("dashboard.school_classes", code=code))


@blueprint.get("/groups/<int:group_id>/class")
@requires(Permission.VIEW)
def class_page(group_id: int):
    view = classroom.describe(db_session(), current_principal(), group_id)
    return render_template("class.html", view=view, roster=view.roster)


@blueprint.post("/groups/<int:group_id>/classroom")
@requires(Permission.MANAGE)
def install_classroom(group_id: int):
    data = load(ClassroomInstall(), form_data("teacher_device_id", "teacher"))
    done = classroom.install(db_session(), current_principal(), group_id, teacher_device_id=data["teacher_device_id"],
                             teacher=data["teacher"])
    notice(_("Classroom is queued for the teacher's iPad and %(count)s iPad(s) of the class.", count=len(done.member_device_ids)))
    return redirect(url_for("dashboard.class_page", group_id=group_id))
