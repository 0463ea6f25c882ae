"""Admin accounts, their grants, and API tokens (central IT)."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.http import db_session, settings
from app.http.dashboard import blueprint, form_data, notice
from app.http.rules import current_principal, requires
from app.schemas import load
from app.schemas.admin import AdminCreate, ApiTokenCreate, GrantInput, SsoRuleCreate
from app.services.access import GROUP_ROLES, Permission, Role, accounts, api_tokens, sso_rules
from app.services.access.accounts import GrantSpec
from app.services.fleet import schools


#: Roles an admin or token may be given directly (a teacher's comes per class from single sign-on).
#: Least privilege first: a new right defaults to the first role (read-only) at one school, never central admin everywhere.
_PRIVILEGE_ORDER = [Role.AUDITOR, Role.SCHOOL_ICT, Role.CENTRAL_HELPDESK, Role.CENTRAL_ADMIN]
GRANTABLE_ROLES = sorted((role for role in Role if role not in GROUP_ROLES),
                         key=lambda role: _PRIVILEGE_ORDER.index(role) if role in _PRIVILEGE_ORDER else -1)


def _grant_from_form() -> dict:
    return load(GrantInput(), form_data("role", "school"))


@blueprint.get("/admins")
@requires(Permission.AUDIT, central=True)
def admin_list():
    session, principal = db_session(), current_principal()
    return render_template("admins.html", admins=accounts.list_admins(session, principal),
                           schools=schools.list_schools(session, principal), roles=GRANTABLE_ROLES, sso_roles=list(Role),
                           rules=sso_rules.list_rules(session, principal), providers=settings().oidc_providers())


@blueprint.post("/admins")
@requires(Permission.ADMINISTER, central=True)
def create_admin():
    grant = _grant_from_form()
    data = load(AdminCreate(), {**form_data("email", "display_name"), "grants": [{k: v for k, v in grant.items() if v}]})
    admin, password = accounts.create_admin(
        db_session(), current_principal(), email=data["email"], display_name=data["display_name"],
        grants=[GrantSpec(item["role"], item["school"]) for item in data["grants"]],
    )
    return render_template("secret.html", title=_("Admin %(email)s created", email=admin.email),
                           label=_("One-time password (shown only now; it must be changed at the first sign-in)"),
                           secret=password, back=url_for("dashboard.admin", admin_id=admin.id)), 201


@blueprint.get("/admins/<int:admin_id>")
@requires(Permission.AUDIT, central=True)
def admin(admin_id: int):
    session, principal = db_session(), current_principal()
    return render_template("admin.html", admin=accounts.get_admin(session, principal, admin_id),
                           schools=schools.list_schools(session, principal), roles=GRANTABLE_ROLES)


@blueprint.post("/admins/<int:admin_id>/grants")
@requires(Permission.ADMINISTER, central=True)
def add_grant(admin_id: int):
    data = _grant_from_form()
    accounts.add_grant(db_session(), current_principal(), admin_id, GrantSpec(data["role"], data["school"]))
    notice(_("The grant is added."))
    return redirect(url_for("dashboard.admin", admin_id=admin_id))


@blueprint.post("/admins/<int:admin_id>/grants/<int:grant_id>/delete")
@requires(Permission.ADMINISTER, central=True)
def remove_grant(admin_id: int, grant_id: int):
    accounts.remove_grant(db_session(), current_principal(), admin_id, grant_id)
    notice(_("The grant is removed."))
    return redirect(url_for("dashboard.admin", admin_id=admin_id))


@blueprint.post("/admins/<int:admin_id>/active")
@requires(Permission.ADMINISTER, central=True)
def set_active(admin_id: int):
    active = request.form.get("active") == "1"
    accounts.set_active(db_session(), current_principal(), admin_id, active)
    notice(_("The account is activated.") if active else _("The account is deactivated."))
    return redirect(url_for("dashboard.admin", admin_id=admin_id))


@blueprint.post("/admins/<int:admin_id>/reset-password")
@requires(Permission.ADMINISTER, central=True)
def reset_password(admin_id: int):
    admin, password = accounts.reset_password(db_session(), current_principal(), admin_id)
    return render_template("secret.html", title=_("New one-time password for %(email)s", email=admin.email),
                           label=_("One-time password (shown only now; it must be changed at the first sign-in)"),
                           secret=password, back=url_for("dashboard.admin", admin_id=admin.id))


@blueprint.get("/api-tokens")
@requires(Permission.AUDIT, central=True)
def api_token_list():
    session, principal = db_session(), current_principal()
    return render_template("api_tokens.html", tokens=api_tokens.list_tokens(session, principal), status=api_tokens.token_status,
                           schools=schools.list_schools(session, principal), roles=GRANTABLE_ROLES,
                           default_days=settings().api_token_days)


@blueprint.post("/api-tokens")
@requires(Permission.ADMINISTER, central=True)
def create_api_token():
    grant = _grant_from_form()
    fields = form_data("name", "expires_in_days")
    data = load(ApiTokenCreate(), {**fields, "grants": [{k: v for k, v in grant.items() if v}]})
    token, raw = api_tokens.create_token(
        db_session(), current_principal(), name=data["name"],
        grants=[GrantSpec(item["role"], item["school"]) for item in data["grants"]],
        expires_in_days=data["expires_in_days"] or settings().api_token_days,
    )
    return render_template("secret.html", title=_("API token %(name)s created", name=token.name),
                           label=_("The token (shown only now; send it as Authorization: Bearer ...)"),
                           secret=raw, back=url_for("dashboard.api_token_list")), 201


@blueprint.post("/api-tokens/<int:api_token_id>/revoke")
@requires(Permission.ADMINISTER, central=True)
def revoke_api_token(api_token_id: int):
    api_tokens.revoke_token(db_session(), current_principal(), api_token_id)
    notice(_("The API token is revoked."))
    return redirect(url_for("dashboard.api_token_list"))


@blueprint.post("/sso-rules")
@requires(Permission.ADMINISTER, central=True)
def create_sso_rule():
    data = load(SsoRuleCreate(), form_data("provider", "claim_value", "role", "school", "affiliation"))
    sso_rules.add_rule(db_session(), current_principal(), provider=data["provider"], claim_value=data["claim_value"],
                       grant=GrantSpec(data["role"], data["school"]), affiliation=data["affiliation"])
    notice(_("The single sign-on rule is added."))
    return redirect(url_for("dashboard.admin_list"))


@blueprint.post("/sso-rules/<int:rule_id>/delete")
@requires(Permission.ADMINISTER, central=True)
def delete_sso_rule(rule_id: int):
    sso_rules.remove_rule(db_session(), current_principal(), rule_id)
    notice(_("The single sign-on rule is removed."))
    return redirect(url_for("dashboard.admin_list"))
