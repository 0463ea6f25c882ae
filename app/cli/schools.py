"""`flokk school ...`"""

from __future__ import annotations

import click

from app.cli import CliState, pass_state, print_table, validated
from app.schemas.schools import SchoolCreate
from app.services.fleet import schools


@click.group()
def school() -> None:
    """Schools of the organisation."""


@school.command("add")
@click.argument("name")
@click.option("--code", required=True, help="Short unique code, e.g. 'nordby'.")
@click.option("--organisation", help="Organisation name, when there are several.")
@pass_state
def add(state: CliState, name: str, code: str, organisation: str | None) -> None:
    """Add a school."""
    data = validated(SchoolCreate(), name=name, code=code, organisation=organisation)
    with state.unit_of_work() as session:
        created = schools.create_school(session, state.principal, **data)
        click.echo(f"Added school {created.name} ({created.code}).")


@school.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def list_(state: CliState, as_json: bool) -> None:
    """List schools."""
    with state.unit_of_work() as session:
        rows = [
            {"code": item.code, "name": item.name, "organisation": item.organisation.name}
            for item in schools.list_schools(session, state.principal)
        ]
    print_table(rows, ["code", "name", "organisation"], as_json)
