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


@school.command("starter-pack")
@click.argument("code")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True),
              help="The PDF file to write, e.g. nordby-starter-pack.pdf.")
@click.option("--language", type=click.Choice(["nb", "en"]), default="nb", show_default=True, help="Language of the pack.")
@click.option("--link", "link_id", type=click.IntRange(min=1), help="Id of the enrollment link to print "
              "(default: the school's newest active link; none: the pack explains how to make one).")
@pass_state
def starter_pack(state: CliState, code: str, out: str, language: str, link_id: int | None) -> None:
    """Write a school's starter pack (welcome letter and guide for its ICT contact) as a PDF."""
    from app import starter_pack_pdf
    from app.services import starter_pack as pack_content

    with state.unit_of_work() as session:
        pack = pack_content.gather(session, state.principal, state.settings, code, link_id=link_id)
    document = starter_pack_pdf.render(pack, language)
    with click.open_file(out, "wb") as handle:
        handle.write(document)
    link = "with the enrollment link" if pack.enrollment_url else "without an enrollment link (none is active)"
    click.echo(f"Wrote the starter pack for {pack.school_name} to {out} ({len(document) // 1024} KB, {link}).")
