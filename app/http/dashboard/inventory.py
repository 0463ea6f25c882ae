"""Schools, devices, groups and enrollment tokens."""

from __future__ import annotations

import csv
import datetime as dt
import io

from flask import Response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app import qr
from app.errors import NotReady
from app.http import db_session, flokk, settings
from app.http.dashboard import blueprint, charts, device_health, form_data, labels, notice
from app.http.rules import current_principal, requires
from app.models.base import parse_row_id, utcnow
from app.schemas import load
from app.schemas.admin import SchoolQuery, CommandSubmit, DeviceExportQuery, DeviceMove, DeviceQuery, DeviceRemoval, GroupCommandSubmit, GroupCreate
from app.schemas.enrollment import TokenCreate
from app.schemas.schools import SchoolCreate
from app.services import declarations
from app.services.access import Permission, approvals
from app.services.apps import connection as app_connection
from app.services.apps import overview as app_overview
from app.services.asm import tokens as asm_tokens
from app.services.fleet import devices, groups, overview, schools
from app.services.google import devices as google_devices
from app.services.fleet.device_removal import REMOVE_DEVICE
from app.services import rosters
from app.services.mdm import enrollment
from app.services.pki import certificate_authority, push_certificates


@blueprint.get("/")
@requires(Permission.VIEW)
def index():
    """The overview: the fleet at a glance (per school for central IT, ``?school=`` for one), what needs doing."""
    data = load(SchoolQuery(), {key: value for key, value in request.args.items() if value.strip()})
    session, principal = db_session(), current_principal()
    # A teacher's grants name classes, not schools: their front page lists their classes.
    classes = groups.list_groups(session, principal) if principal.group_ids(Permission.VIEW) else []
    visible_schools = schools.list_schools(session, principal)
    glance = overview.overview(session, principal, school_code=data["school"])
    soon = utcnow() + dt.timedelta(days=7)
    expiring_links = [token for token in enrollment.list_tokens(session, principal, school_code=data["school"])
                      if enrollment.token_state(token) == enrollment.TokenState.ACTIVE
                      and token.expires_at is not None and token.expires_at <= soon]
    return render_template("index.html", schools=visible_schools, school_names={school.id: school for school in visible_schools},
                           counts=devices.counts_by_school(session, principal), focus=data["school"],
                           glance=glance, charts=_charts(glance), school_rows={row.school_id: row for row in glance.schools}, expiring_links=expiring_links,
                           expiring_api_tokens=_expiring_api_tokens(session, principal),
                           certificates=_certificates(session, principal), classes=classes,
                           class_counts=groups.device_counts(session, principal) if classes else {})


def _charts(glance: overview.Overview) -> dict:
    versions = [(version or _("other"), count) for version, count in glance.os_versions]
    return {
        "versions": charts.horizontal_bars(versions, title=_("Devices by OS version")),
        "last_seen": charts.columns([(day.strftime("%d.%m"), count) for day, count in glance.last_seen_days],
                                    title=_("Devices by the day they last checked in, the last 30 days")),
    }


def _expiring_api_tokens(session, principal) -> list:
    """Central IT's API tokens that stop working within 30 days."""
    if not principal.can(Permission.ADMINISTER, None):
        return []
    from app.services.access import api_tokens

    soon = utcnow() + dt.timedelta(days=30)
    return [token for token in api_tokens.list_tokens(session, principal)
            if api_tokens.token_status(token) == "active" and token.expires_at is not None and token.expires_at <= soon]


def _certificates(session, principal) -> dict | None:
    """Central IT's view of what keeps Flokk reachable: the push certificate and the CA (None for others)."""
    if not principal.can(Permission.ADMINISTER, None):
        return None
    found: dict = {}
    for name, read in (("push", push_certificates.summary), ("ca", certificate_authority.summary),
                       ("apps", app_connection.summary)):
        try:
            found[name] = read(session, principal)
        except NotReady:
            found[name] = None
    found["asm"] = asm_tokens.list_tokens(session, principal)
    return found


@blueprint.post("/schools")
@requires(Permission.ADMINISTER, central=True)
def create_school():
    data = load(SchoolCreate(), form_data("name", "code"))
    created = schools.create_school(db_session(), current_principal(), **data)
    notice(_("School %(name)s added.", name=created.name))
    return redirect(url_for("dashboard.school", code=created.code))


@blueprint.get("/schools/<code>")
@requires(Permission.VIEW)
def school(code: str):
    session, principal = db_session(), current_principal()
    found = schools.get_school_by_code(session, principal, code)
    page = devices.search_devices(session, principal, devices.DeviceFilter(school=found.code), limit=20)
    return render_template(
        "school.html",
        school=found,
        page=page,
        groups=groups.list_groups(session, principal, school_code=found.code),
        tokens=enrollment.list_tokens(session, principal, school_code=found.code),
        token_state=token_state_label,
    )


@blueprint.get("/devices")
@requires(Permission.VIEW)
def device_list():
    data = load(DeviceQuery(), _query_args())
    limit, offset, sort = data.pop("limit"), data.pop("offset"), data.pop("sort")
    session, principal = db_session(), current_principal()
    page = devices.search_devices(session, principal, devices.DeviceFilter(**data), limit=limit, offset=offset, sort=sort)
    visible_schools = schools.list_schools(session, principal)
    # Classes to filter by: the chosen school's (or the only school's); a fleet-wide list would be thousands long.
    school_code = data.get("school") or (visible_schools[0].code if len(visible_schools) == 1 else None)
    classes = groups.list_groups(session, principal, school_code=school_code) if school_code else []
    query = {key: ("yes" if value is True else "no" if value is False else value) for key, value in data.items()
             if value is not None}
    if sort:
        query["sort"] = sort
    return render_template("devices.html", page=page, query=query, offset=offset, limit=limit, sort=sort or devices.DEFAULT_SORT,
                           schools=visible_schools, classes=classes,
                           # A school's versions to choose from; over a whole fleet (a scan of every device) a field to type in.
                           os_versions=devices.os_versions(session, principal, school_code=school_code) if school_code else None,
                           platforms=labels.PLATFORMS, not_seen_days=labels.NOT_SEEN_DAYS, states=labels.ENROLLMENT_STATES)


def _query_args() -> dict[str, str]:
    """The list's query string: empty fields left out, ``supervised=yes|no`` as a boolean."""
    return {key: value for key, value in request.args.items() if value.strip()}


#: The columns of a device export, in order.
EXPORT_COLUMNS = ("name", "serial_number", "school", "class", "platform", "model", "os_version", "state", "supervised",
                  "last_seen", "enrolled_at", "udid")


@blueprint.get("/devices.csv")
@requires(Permission.VIEW)
def device_export():
    """The device list's current filter and order as CSV (every matching device, not one page)."""
    data = load(DeviceExportQuery(), _query_args())
    sort = data.pop("sort")
    session, principal = db_session(), current_principal()
    where = devices.DeviceFilter(**data)
    devices.check_filter(session, principal, where)  # an unknown school or class: a 4xx before anything is sent
    database = flokk().db

    def rows():
        # The request's session is closed once the response starts: the rows come from a session of their own.
        with database.session() as own:
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(EXPORT_COLUMNS)
            for device in devices.export_devices(own, principal, where, sort=sort):
                writer.writerow([csv_cell(value) for value in (
                    device.name, device.serial_number, device.school.code, device.group.name if device.group else "",
                    labels.PLATFORMS.get(device.platform, device.platform), device.model, device.os_version,
                    device.enrollment_state, "yes" if device.supervised else "no",
                    _iso(device.last_seen_at), _iso(device.enrolled_at), device.udid or device.google_device_id)])
                if buffer.tell() > 64 * 1024:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
            yield buffer.getvalue()

    stamp = utcnow().strftime("%Y%m%d-%H%M")
    return Response(rows(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="flokk-devices-{stamp}.csv"'})


def _iso(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def csv_cell(value) -> str:
    """A value as a spreadsheet cell that is never run as a formula (a device may name itself ``=HYPERLINK(...)``)."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


@blueprint.get("/devices/<int:device_id>")
@requires(Permission.VIEW)
def device(device_id: int):
    session, principal = db_session(), current_principal()
    shown = devices.detail(session, principal, device_id)
    found = shown.device
    chromebook = google_devices.details(session, found)
    return render_template(
        "device.html",
        device=found,
        groups=groups.list_groups(session, principal, school_id=found.school_id),
        commands=devices.recent_commands(session, principal, device_id, limit=20),
        profiles=shown.installed_profiles,
        health=device_health.read(found.inventory),
        users=shown.users,
        # Apps are the school's policy: a class-scoped grant (a teacher) does not see it.
        apps=app_overview.device_apps(session, principal, device_id) if principal.can(Permission.VIEW, found.school_id) else [],
        choices=labels.CHROMEBOOK_COMMANDS if chromebook is not None else labels.COMMANDS,
        with_message=labels.WITH_MESSAGE,
        chromebook=chromebook,
        deprovision_reasons=labels.DEPROVISION_REASONS,
        schools=schools.list_schools(session, principal) if chromebook is not None else [],
        declarative=declarations.describe(session, found),
    )


@blueprint.post("/devices/<int:device_id>/group")
@requires(Permission.MANAGE)
def move_device(device_id: int):
    raw = request.form.get("group_id", "")
    data = load(DeviceMove(), {"group_id": None if raw == "" else parse_row_id(raw) or raw})
    devices.move_to_group(db_session(), current_principal(), device_id, data["group_id"])
    notice(_("The device is moved."))
    return redirect(url_for("dashboard.device", device_id=device_id))


@blueprint.post("/devices/<int:device_id>/commands")
@requires(Permission.COMMAND)
def send_command(device_id: int):
    fields = form_data("request_type", "reason")
    request_type = fields.get("request_type", "")
    params = (labels.chromebook_params(request_type, request.form) if request_type in labels.CHROMEBOOK_COMMANDS
              else labels.screen_text(request_type, request.form))
    data = load(CommandSubmit(), {"device_ids": [device_id], **fields, "params": params})
    submitted = approvals.submit(db_session(), current_principal(), data["device_ids"], data["request_type"], data["params"],
                                 reason=data["reason"])
    _notice_submitted(data["request_type"], submitted)
    return redirect(url_for("dashboard.device", device_id=device_id))


def _notice_submitted(request_type: str, submitted: approvals.Submitted) -> None:
    what = _(labels.label(request_type))
    if submitted.approval is not None:
        notice(_("“%(command)s” needs a central admin's approval: request %(id)s is waiting.",
                 command=what, id=submitted.approval.id))
    else:
        notice(_("“%(command)s” is queued for %(count)s device(s).", command=what, count=len(submitted.queued)))


@blueprint.post("/devices/<int:device_id>/remove")
@requires(Permission.REQUEST_DESTRUCTIVE)
def remove_device(device_id: int):
    data = load(DeviceRemoval(), form_data("reason"))
    submitted = approvals.submit(db_session(), current_principal(), [device_id], REMOVE_DEVICE, reason=data["reason"])
    _notice_submitted(REMOVE_DEVICE, submitted)
    return redirect(url_for("dashboard.device", device_id=device_id))


@blueprint.get("/groups")
@requires(Permission.VIEW)
def group_list():
    session, principal = db_session(), current_principal()
    found = groups.list_groups(session, principal)
    return render_template(
        "groups.html",
        groups=found,
        classes=rosters.group_ids_with_class(session, [group.id for group in found]),
        counts=groups.device_counts(session, principal),
        schools=schools.list_schools(session, principal),
        choices=labels.COMMANDS,
        chromebook_choices=labels.CHROMEBOOK_COMMANDS,
        threshold=settings().approval_bulk_threshold,
    )


@blueprint.post("/groups")
@requires(Permission.MANAGE)
def create_group():
    data = load(GroupCreate(), form_data("school", "name", "kind"))
    groups.create_group(db_session(), current_principal(), school_code=data["school"], name=data["name"], kind=data["kind"])
    notice(_("Group %(name)s created.", name=data["name"]))
    return redirect(url_for("dashboard.group_list"))


@blueprint.post("/groups/<int:group_id>/commands")
@requires(Permission.COMMAND)
def send_group_command(group_id: int):
    data = load(GroupCommandSubmit(), form_data("request_type", "reason"))
    submitted = approvals.submit_to_group(db_session(), current_principal(), group_id, data["request_type"], data["params"],
                                          reason=data["reason"])
    _notice_submitted(data["request_type"], submitted)
    return redirect(url_for("dashboard.group_list"))


@blueprint.post("/groups/<int:group_id>/delete")
@requires(Permission.MANAGE)
def delete_group(group_id: int):
    groups.delete_group(db_session(), current_principal(), group_id)
    notice(_("The group is deleted."))
    return redirect(url_for("dashboard.group_list"))


@blueprint.get("/enrollment-tokens")
@requires(Permission.VIEW)
def token_list():
    session, principal = db_session(), current_principal()
    return render_template(
        "enrollment_tokens.html",
        tokens=enrollment.list_tokens(session, principal),
        token_state=token_state_label,
        schools=schools.list_schools(session, principal),
    )


@blueprint.post("/enrollment-tokens")
@requires(Permission.MANAGE)
def create_token():
    data = load(TokenCreate(), form_data("school", "expires", "max_uses", "label", "group"))
    created = enrollment.create_token(
        db_session(), current_principal(), school_code=data["school"], expires_in=data["expires"],
        max_uses=data["max_uses"], label=data["label"], group=data["group"],
    )
    return render_template("enrollment_token.html", token=created.token, url=created.url, created=True,
                           token_state=token_state_label), 201


@blueprint.get("/enrollment-tokens/<int:enrollment_token_id>")
@requires(Permission.MANAGE)
def token(enrollment_token_id: int):
    session, principal = db_session(), current_principal()
    url = enrollment.url_of(session, principal, enrollment_token_id)
    return render_template("enrollment_token.html", token=enrollment.get_token(session, principal, enrollment_token_id), url=url,
                           created=False, token_state=token_state_label)


@blueprint.get("/enrollment-tokens/<int:enrollment_token_id>/qr.svg")
@requires(Permission.MANAGE)
def token_qr_svg(enrollment_token_id: int):
    """The link as a QR code to show on a screen (the camera of the iPad opens it in Safari)."""
    url = enrollment.url_of(db_session(), current_principal(), enrollment_token_id)
    return Response(qr.svg(url), mimetype="image/svg+xml")


@blueprint.get("/enrollment-tokens/<int:enrollment_token_id>/qr.png")
@requires(Permission.MANAGE)
def token_qr_png(enrollment_token_id: int):
    """The link as a QR code to print or send (a download)."""
    url = enrollment.url_of(db_session(), current_principal(), enrollment_token_id)
    return Response(qr.png(url), mimetype="image/png",
                    headers={"Content-Disposition": f'attachment; filename="flokk-enrollment-{enrollment_token_id}.png"'})


def token_state_label(token) -> str:
    return _(labels.TOKEN_STATES.get(enrollment.token_state(token), enrollment.token_state(token)))


@blueprint.post("/enrollment-tokens/<int:enrollment_token_id>/revoke")
@requires(Permission.MANAGE)
def revoke_token(enrollment_token_id: int):
    enrollment.revoke_token(db_session(), current_principal(), enrollment_token_id)
    notice(_("The enrollment link is revoked: devices can no longer enrol with it."))
    return redirect(url_for("dashboard.token_list"))
