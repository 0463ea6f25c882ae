"""Who am I; admin accounts and their grants; API tokens; single sign-on grant rules."""

from __future__ import annotations

from flask import jsonify

from app.http import db_session
from app.http.api import blueprint, body
from app.http.api.openapi import operation
from app.http.rules import current_principal, requires, signed_in
from app.schemas.admin import (
    AdminActive,
    AdminCreate,
    AdminOut,
    ApiTokenCreate,
    ApiTokenOut,
    GrantInput,
    GrantOut,
    SsoRuleCreate,
    SsoRuleOut,
)
from app.schemas.api import AdminCreatedOut, AdminListOut, ApiTokenCreatedOut, ApiTokenListOut, ApiTokenStatusOut, MeOut, SsoRuleListOut
from app.services.access import Permission, accounts, api_tokens, sso_rules
from app.services.access.accounts import GrantSpec


def _specs(items: list[dict]) -> list[GrantSpec]:
    return [GrantSpec(item["role"], item["school"]) for item in items]


@blueprint.get("/me")
@signed_in
@operation(response=MeOut)
def me():
    principal = current_principal()
    return jsonify(
        kind=principal.kind,
        id=principal.id,
        label=principal.label,
        grants=[{"role": grant.role.value, "school_id": grant.school_id,
                 **({"group_id": grant.group_id} if grant.group_id is not None else {})} for grant in principal.grants],
    )


@blueprint.get("/admins")
@requires(Permission.AUDIT, central=True)
@operation(response=AdminListOut)
def list_admins():
    return jsonify(admins=AdminOut(many=True).dump(accounts.list_admins(db_session(), current_principal())))


@blueprint.post("/admins")
@requires(Permission.ADMINISTER, central=True)
@operation(body=AdminCreate, response=AdminCreatedOut, status=201)
def create_admin():
    data = body(AdminCreate())
    admin, password = accounts.create_admin(
        db_session(), current_principal(), email=data["email"], display_name=data["display_name"], grants=_specs(data["grants"])
    )
    return jsonify({**AdminOut().dump(admin), "one_time_password": password}), 201


@blueprint.get("/admins/<int:admin_id>")
@requires(Permission.AUDIT, central=True)
@operation(response=AdminOut)
def show_admin(admin_id: int):
    return jsonify(AdminOut().dump(accounts.get_admin(db_session(), current_principal(), admin_id)))


@blueprint.post("/admins/<int:admin_id>/grants")
@requires(Permission.ADMINISTER, central=True)
@operation(body=GrantInput, response=GrantOut, status=201)
def add_grant(admin_id: int):
    data = body(GrantInput())
    grant = accounts.add_grant(db_session(), current_principal(), admin_id, GrantSpec(data["role"], data["school"]))
    return jsonify(GrantOut().dump(grant)), 201


@blueprint.delete("/admins/<int:admin_id>/grants/<int:grant_id>")
@requires(Permission.ADMINISTER, central=True)
@operation(status=204)
def remove_grant(admin_id: int, grant_id: int):
    accounts.remove_grant(db_session(), current_principal(), admin_id, grant_id)
    return "", 204


@blueprint.put("/admins/<int:admin_id>/active")
@requires(Permission.ADMINISTER, central=True)
@operation(body=AdminActive, response=AdminOut)
def set_active(admin_id: int):
    admin = accounts.set_active(db_session(), current_principal(), admin_id, body(AdminActive())["active"])
    return jsonify(AdminOut().dump(admin))


@blueprint.post("/admins/<int:admin_id>/reset-password")
@requires(Permission.ADMINISTER, central=True)
@operation(response=AdminCreatedOut)
def reset_password(admin_id: int):
    admin, password = accounts.reset_password(db_session(), current_principal(), admin_id)
    return jsonify({**AdminOut().dump(admin), "one_time_password": password})


@blueprint.get("/tokens")
@requires(Permission.AUDIT, central=True)
@operation(response=ApiTokenListOut)
def list_tokens():
    found = api_tokens.list_tokens(db_session(), current_principal())
    return jsonify(tokens=[{**ApiTokenOut().dump(token), "status": api_tokens.token_status(token)} for token in found])


@blueprint.post("/tokens")
@requires(Permission.ADMINISTER, central=True)
@operation(body=ApiTokenCreate, response=ApiTokenCreatedOut, status=201)
def create_token():
    data = body(ApiTokenCreate())
    session = db_session()
    token, raw = api_tokens.create_token(
        session, current_principal(), name=data["name"], grants=_specs(data["grants"]),
        expires_in_days=data["expires_in_days"] or _default_days(),
    )
    return jsonify({**ApiTokenOut().dump(token), "token": raw}), 201


def _default_days() -> int:
    from app.http import settings

    return settings().api_token_days


@blueprint.post("/tokens/<int:api_token_id>/revoke")
@requires(Permission.ADMINISTER, central=True)
@operation(response=ApiTokenStatusOut)
def revoke_token(api_token_id: int):
    token = api_tokens.revoke_token(db_session(), current_principal(), api_token_id)
    return jsonify({**ApiTokenOut().dump(token), "status": api_tokens.token_status(token)})


@blueprint.get("/sso-rules")
@requires(Permission.AUDIT, central=True)
@operation(response=SsoRuleListOut)
def list_sso_rules():
    return jsonify(rules=SsoRuleOut(many=True).dump(sso_rules.list_rules(db_session(), current_principal())))


@blueprint.post("/sso-rules")
@requires(Permission.ADMINISTER, central=True)
@operation(body=SsoRuleCreate, response=SsoRuleOut, status=201)
def create_sso_rule():
    data = body(SsoRuleCreate())
    rule = sso_rules.add_rule(
        db_session(), current_principal(), provider=data["provider"], claim_value=data["claim_value"],
        grant=GrantSpec(data["role"], data["school"]), affiliation=data["affiliation"],
    )
    return jsonify(SsoRuleOut().dump(rule)), 201


@blueprint.delete("/sso-rules/<int:rule_id>")
@requires(Permission.ADMINISTER, central=True)
@operation(status=204)
def delete_sso_rule(rule_id: int):
    sso_rules.remove_rule(db_session(), current_principal(), rule_id)
    return "", 204
