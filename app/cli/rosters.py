"""`flokk roster ...`: classes from teaching groups, and Apple Classroom for a class."""

from __future__ import annotations

import json
import sys

import click

from app.cli import CliState, pass_state, print_table
from app.services import rosters
from app.services.fleet import devices
from app.services.rosters import classroom, uploads


@click.group()
def roster() -> None:
    """Classes made from a school's teaching groups (Feide, or the administrative system's export)."""


@roster.command("link")
@click.argument("school_code")
@click.argument("org_unit")
@pass_state
def link(state: CliState, school_code: str, org_unit: str) -> None:
    """Name the school's Feide organisation unit (fc:org:<realm>:unit:<organisation number>)."""
    with state.unit_of_work() as session:
        rosters.link_feide(session, state.principal, school_code, org_unit)
    click.echo(f"{school_code} is linked to {org_unit}.")


@roster.command("unlink")
@click.argument("school_code")
@pass_state
def unlink(state: CliState, school_code: str) -> None:
    """Forget the school's Feide organisation unit (its classes stay)."""
    with state.unit_of_work() as session:
        rosters.link_feide(session, state.principal, school_code, None)
    click.echo(f"{school_code} is no longer linked to Feide.")


@roster.command("import")
@click.argument("school_code")
@click.argument("file", type=click.File("rb"))
@pass_state
def import_(state: CliState, school_code: str, file) -> None:
    """Import the school's complete class export (CSV; - reads standard input). All or nothing."""
    data = file.read(uploads.MAX_BYTES + 1)
    with state.unit_of_work() as session:
        result = uploads.import_csv(session, state.principal, school_code, data)
    click.echo(f"Imported {school_code}: {result.summary()}.")


@roster.command("show")
@click.argument("school_code")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def show(state: CliState, school_code: str, as_json: bool) -> None:
    """The school's Feide link, last import and classes."""
    with state.unit_of_work() as session:
        found, classes = rosters.describe_school(session, state.principal, school_code)
        counts = rosters.member_counts(session, [item.id for item in classes])
        rows = [
            {"group_id": item.group_id, "class": item.group.name, "teaching_group": item.external_id, "source": item.source,
             "teachers": counts.get(item.id, {}).get("teacher", 0), "pupils": counts.get(item.id, {}).get("student", 0)}
            for item in classes
        ]
        header = {
            "feide_org_unit": found.feide_org_unit if found else None,
            "last_import": (f"{found.last_import_at:%Y-%m-%d %H:%M} ({found.last_import_source}): {found.last_import_outcome}"
                            if found and found.last_import_at else None),
        }
    if as_json:
        click.echo(json.dumps({**header, "classes": rows}, indent=2))
        return
    click.echo(f"Feide organisation unit: {header['feide_org_unit'] or 'not linked'}")
    click.echo(f"Last import: {header['last_import'] or 'never'}")
    print_table(rows, ["group_id", "class", "teaching_group", "source", "teachers", "pupils"], False)


@roster.command("classroom")
@click.argument("reference", metavar="SCHOOLCODE/CLASS")
@click.option("--teacher-device", help="The teacher's iPad (id, UDID or serial number): queue Classroom to it and the class.")
@click.option("--teacher", help="Whose iPad it is, when the class has several teachers (Feide id).")
@pass_state
def classroom_(state: CliState, reference: str, teacher_device: str | None, teacher: str | None) -> None:
    """Show a class's Apple Classroom payload, or (with --teacher-device) install it."""
    with state.unit_of_work() as session:
        found = rosters.find_class(session, state.principal, reference)
        if teacher_device is None:
            view = classroom.describe(session, state.principal, found.group_id)
            json.dump(view.payload, sys.stdout, indent=2, ensure_ascii=False)
            click.echo()
            return
        device = devices.find_device(session, state.principal, teacher_device)
        done = classroom.install(session, state.principal, found.group_id, teacher_device_id=device.id, teacher=teacher)
    click.echo(f"Classroom queued for the teacher's iPad and {len(done.member_device_ids)} iPad(s) of the class ({done.identifier}).")
