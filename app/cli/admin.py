"""`flokk admin ...`: admin accounts, their rights and single sign-on grant rules."""

from __future__ import annotations

import click

from app.cli import CliState, pass_state, print_table, validated
from app.schemas.admin import GrantInput, SsoRuleCreate
from app.services.access import GROUP_ROLES, Role, accounts, sso_rules
from app.services.access.accounts import GrantSpec

ROLE_CHOICE = click.Choice([role.value for role in Role if role not in GROUP_ROLES])
SSO_ROLE_CHOICE = click.Choice([role.value for role in Role])


def grant_specs(role: str, schools: tuple[str, ...]) -> list[GrantSpec]:
    """One grant per school, or one over every school when none is named."""
    for school in schools:
        validated(GrantInput(), role=role, school=school)
    return [GrantSpec(role, school) for school in schools] or [GrantSpec(role, None)]


def _grants_text(grants) -> str:
    return ", ".join(
        f"{grant.role}@{grant.school.code if grant.school else 'all'}" + (f"/{grant.group.name}" if grant.group else "")
        for grant in grants
    )


@click.group()
def admin() -> None:
    """Admin accounts and their rights."""


@admin.command("add")
@click.argument("email")
@click.option("--role", required=True, type=ROLE_CHOICE, help="The role to grant.")
@click.option("--school", "schools", multiple=True, help="A school's code (repeat for several); none: all schools.")
@click.option("--name", help="Display name.")
@pass_state
def add(state: CliState, email: str, role: str, schools: tuple[str, ...], name: str | None) -> None:
    """Create an admin; prints a one-time password that must be changed at the first sign-in."""
    from app.schemas.admin import AdminCreate

    data = validated(AdminCreate(), email=email, display_name=name,
                     grants=[{"role": spec.role, **({"school": spec.school} if spec.school else {})} for spec in grant_specs(role, schools)])
    with state.unit_of_work() as session:
        created, password = accounts.create_admin(
            session, state.principal, email=data["email"], display_name=data["display_name"],
            grants=[GrantSpec(item["role"], item["school"]) for item in data["grants"]],
        )
        click.echo(f"Added admin {created.email}: {_grants_text(created.grants)}.")
    click.echo(f"  One-time password:   {password}")
    click.echo("  (shown only now; it must be changed at the first sign-in)")


@admin.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def list_(state: CliState, as_json: bool) -> None:
    """List admins and their rights."""
    with state.unit_of_work() as session:
        rows = [
            {
                "email": item.email,
                "grants": _grants_text(item.grants),
                "active": "yes" if item.is_active else "no",
                "sign_in": item.sso_provider or "password",
                "last_login": item.last_login_at.strftime("%Y-%m-%d %H:%M") if item.last_login_at else "never",
            }
            for item in accounts.list_admins(session, state.principal)
        ]
    print_table(rows, ["email", "grants", "active", "sign_in", "last_login"], as_json)


@admin.command("grant")
@click.argument("email")
@click.option("--role", required=True, type=ROLE_CHOICE)
@click.option("--school", "schools", multiple=True, help="A school's code (repeat for several); none: all schools.")
@pass_state
def grant(state: CliState, email: str, role: str, schools: tuple[str, ...]) -> None:
    """Give an admin a role (at some schools, or all)."""
    with state.unit_of_work() as session:
        found = accounts.find_admin(session, state.principal, email)
        for spec in grant_specs(role, schools):
            accounts.add_grant(session, state.principal, found.id, spec)
        click.echo(f"{found.email}: {_grants_text(found.grants)}.")


@admin.command("revoke")
@click.argument("email")
@click.option("--role", required=True, type=ROLE_CHOICE)
@click.option("--school", "schools", multiple=True, help="A school's code (repeat for several); none: the all-schools grant.")
@pass_state
def revoke(state: CliState, email: str, role: str, schools: tuple[str, ...]) -> None:
    """Take a role away from an admin."""
    with state.unit_of_work() as session:
        found = accounts.find_admin(session, state.principal, email)
        for spec in grant_specs(role, schools):
            school_id = accounts.resolve_grants(session, state.principal, [spec])[0][1]
            match = next((g for g in found.grants if g.role == spec.role and g.school_id == school_id), None)
            if match is None:
                raise click.ClickException(f"{found.email} has no {spec.role} grant at {spec.school or 'all schools'}")
            accounts.remove_grant(session, state.principal, found.id, match.id)
        click.echo(f"{found.email}: {_grants_text(found.grants) or 'no rights'}.")


@admin.command("deactivate")
@click.argument("email")
@pass_state
def deactivate(state: CliState, email: str) -> None:
    """Stop an admin from signing in (their sessions end at once)."""
    with state.unit_of_work() as session:
        found = accounts.find_admin(session, state.principal, email)
        accounts.set_active(session, state.principal, found.id, False)
        click.echo(f"Deactivated {found.email}.")


@admin.command("reset-password")
@click.argument("email")
@pass_state
def reset_password(state: CliState, email: str) -> None:
    """Give an admin a new one-time password."""
    with state.unit_of_work() as session:
        found = accounts.find_admin(session, state.principal, email)
        _, password = accounts.reset_password(session, state.principal, found.id)
    click.echo(f"  One-time password for {email}:   {password}")


@admin.group("sso-rule")
def sso_rule() -> None:
    """Roles derived from single sign-on claims (a Feide org unit, an Entra group)."""


@sso_rule.command("add")
@click.option("--provider", required=True, type=click.Choice(["feide", "entra"]))
@click.option("--value", "claim_value", required=True,
              help="A group id (the school's Feide org unit, an Entra group), an app role, or type:KIND (type:fc:gogroup:u).")
@click.option("--role", required=True, type=SSO_ROLE_CHOICE)
@click.option("--school", help="The school's code; none: all schools (a teacher rule: the class made from each group).")
@click.option("--affiliation", help="Only when the person's affiliation in the group is this (employee, faculty, student ...).")
@pass_state
def sso_rule_add(state: CliState, provider: str, claim_value: str, role: str, school: str | None, affiliation: str | None) -> None:
    data = validated(SsoRuleCreate(), provider=provider, claim_value=claim_value, role=role, school=school,
                     affiliation=affiliation)
    with state.unit_of_work() as session:
        rule = sso_rules.add_rule(session, state.principal, provider=data["provider"], claim_value=data["claim_value"],
                                  grant=GrantSpec(data["role"], data["school"]), affiliation=data["affiliation"])
        where = "the class made from each group" if role in GROUP_ROLES else school or "all schools"
        condition = f" ({affiliation})" if affiliation else ""
        click.echo(f"Rule {rule.id}: {provider} {claim_value!r}{condition} gives {role} at {where}.")


@sso_rule.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def sso_rule_list(state: CliState, as_json: bool) -> None:
    with state.unit_of_work() as session:
        rows = [
            {"id": rule.id, "provider": rule.provider, "value": rule.claim_value, "affiliation": rule.affiliation,
             "role": rule.role, "school": rule.school.code if rule.school else "all"}
            for rule in sso_rules.list_rules(session, state.principal)
        ]
    print_table(rows, ["id", "provider", "value", "affiliation", "role", "school"], as_json)


@sso_rule.command("remove")
@click.argument("rule_id", type=int)
@pass_state
def sso_rule_remove(state: CliState, rule_id: int) -> None:
    with state.unit_of_work() as session:
        sso_rules.remove_rule(session, state.principal, rule_id)
    click.echo(f"Removed rule {rule_id}.")
