"""`flokk token ...`: API tokens for automation."""

from __future__ import annotations

import click

from app.cli import CliState, pass_state, print_table, validated
from app.cli.admin import ROLE_CHOICE, grant_specs
from app.schemas import InputSchema
from app.schemas.enrollment import Duration
from app.services.access import api_tokens


class _Expiry(InputSchema):
    expires = Duration(required=True)


@click.group()
def token() -> None:
    """API tokens (Authorization: Bearer ...)."""


@token.command("create")
@click.argument("name")
@click.option("--role", required=True, type=ROLE_CHOICE)
@click.option("--school", "schools", multiple=True, help="A school's code (repeat for several); none: all schools.")
@click.option("--expires", help="Lifetime such as 90d, 12w or 24h [default: FLOKK_API_TOKEN_DAYS days].")
@pass_state
def create(state: CliState, name: str, role: str, schools: tuple[str, ...], expires: str | None) -> None:
    """Create a token; it is printed once and stored only as a hash."""
    specs = grant_specs(role, schools)
    days = state.settings.api_token_days
    if expires is not None:
        lifetime = validated(_Expiry(), expires=expires)["expires"]
        days = max(1, round(lifetime.total_seconds() / 86400))
    with state.unit_of_work() as session:
        created, raw = api_tokens.create_token(session, state.principal, name=name, grants=specs, expires_in_days=days)
        click.echo(f"Created API token {created.id} ({created.name}), valid until {created.expires_at:%Y-%m-%d}.")
    click.echo(f"  Token:   {raw}")
    click.echo("  (shown only now; send it as: Authorization: Bearer <token>)")


@token.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def list_(state: CliState, as_json: bool) -> None:
    with state.unit_of_work() as session:
        rows = [
            {"id": item.id, "name": item.name, "status": api_tokens.token_status(item),
             "grants": ", ".join(f"{g.role}@{g.school.code if g.school else 'all'}" for g in item.grants),
             "expires": item.expires_at.strftime("%Y-%m-%d") if item.expires_at else "never",
             "last_used": item.last_used_at.strftime("%Y-%m-%d %H:%M") if item.last_used_at else "never"}
            for item in api_tokens.list_tokens(session, state.principal)
        ]
    print_table(rows, ["id", "name", "status", "grants", "expires", "last_used"], as_json)


@token.command("revoke")
@click.argument("token_id", type=int)
@pass_state
def revoke(state: CliState, token_id: int) -> None:
    with state.unit_of_work() as session:
        api_tokens.revoke_token(session, state.principal, token_id)
    click.echo(f"Revoked API token {token_id}.")
