"""`flokk enroll token ...`: a school's enrollment URLs."""

from __future__ import annotations

import click

from app.cli import CliState, pass_state, print_table, validated
from app.schemas.enrollment import TokenCreate
from app.services.mdm import enrollment


@click.group()
def enroll() -> None:
    """Enrolling devices into schools."""


@enroll.group()
def token() -> None:
    """Enrollment tokens: the secret in a school's enrollment URL."""


@token.command("create")
@click.option("--school", required=True, help="The school's code.")
@click.option("--expires", help="Lifetime such as 30d, 12h or 2w [default: never expires].")
@click.option("--max-uses", type=int, help="How many devices may enrol with it [default: no limit].")
@click.option("--label", help="A note for admins, e.g. 'cart 2'.")
@click.option("--group", help="Devices enrolled with it join this group (class, cart) of the school.")
@pass_state
def create(
    state: CliState, school: str, expires: str | None, max_uses: int | None, label: str | None, group: str | None
) -> None:
    """Create an enrollment URL for a school."""
    data = validated(TokenCreate(), school=school, expires=expires, max_uses=max_uses, label=label, group=group)
    with state.unit_of_work() as session:
        created = enrollment.create_token(
            session,
            state.principal,
            school_code=data["school"],
            expires_in=data["expires"],
            max_uses=data["max_uses"],
            label=data["label"],
            group=data["group"],
        )
        token_row = created.token
        click.echo(f"Enrollment token {token_row.id} for {token_row.school.name} ({token_row.school.code}).")
        click.echo(f"Expires:   {token_row.expires_at:%Y-%m-%d %H:%M} UTC" if token_row.expires_at else "Expires:   never")
        click.echo(f"Max uses:  {token_row.max_uses or 'no limit'}")
        click.echo("Open this URL on the iPad (Safari) to enrol it:")
        click.echo(f"  {created.url}")


@token.command("list")
@click.option("--school", help="Only this school's tokens (its code).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def list_(state: CliState, school: str | None, as_json: bool) -> None:
    """List enrollment tokens (not their secrets: use `url ID`)."""
    with state.unit_of_work() as session:
        rows = [
            {
                "id": item.id,
                "school": item.school.code,
                "label": item.label,
                "state": enrollment.token_state(item),
                "uses": f"{item.use_count}/{item.max_uses}" if item.max_uses else str(item.use_count),
                "expires": item.expires_at.strftime("%Y-%m-%d %H:%M") if item.expires_at else "never",
            }
            for item in enrollment.list_tokens(session, state.principal, school_code=school)
        ]
    print_table(rows, ["id", "school", "state", "uses", "expires", "label"], as_json)


@token.command("url")
@click.argument("token_id", type=int)
@pass_state
def url(state: CliState, token_id: int) -> None:
    """Print a token's enrollment URL again."""
    with state.unit_of_work() as session:
        click.echo(enrollment.url_of(session, state.principal, token_id))


@token.command("revoke")
@click.argument("token_id", type=int)
@pass_state
def revoke(state: CliState, token_id: int) -> None:
    """Revoke a token: its URL stops working at once."""
    with state.unit_of_work() as session:
        revoked = enrollment.revoke_token(session, state.principal, token_id)
        click.echo(f"Revoked enrollment token {revoked.id} of {revoked.school.code}.")


COMMANDS = (enroll,)
