"""`flokk google ...`: the Google Workspace for Education domain of the Chromebooks."""

from __future__ import annotations

import json
from pathlib import Path

import click

from app.cli import CliState, pass_state, print_table
from app.db import commit
from app.errors import InvalidInput
from app.services.fleet import devices
from app.services.google import connection, inventory, moves, org_units, policy
from mdm_protocol.google.keys import MAX_KEY_BYTES

_file = click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)


def _when(moment) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "never"


@click.group()
def google() -> None:
    """Chromebooks through Google's Admin SDK and Chrome Policy API."""


@google.command("connect")
@click.argument("key_file", metavar="KEY.json", type=_file)
@click.option("--admin", "admin_email", required=True, metavar="EMAIL", help="The Google admin Flokk acts as (domain-wide delegation).")
@click.option("--customer", metavar="ID", help="The Google customer id (C01abc2de); default: the admin's own.")
@click.option("--parent-ou", default="/", show_default=True, metavar="PATH",
              help="The organisational unit above the schools' units: the baseline and its locks are applied there.")
@click.option("--recent-users/--no-recent-users", default=False, show_default=True,
              help="Keep each Chromebook's recent users (personal data: only when your privacy assessment allows it).")
@pass_state
def connect(state: CliState, key_file: Path, admin_email: str, customer: str | None, parent_ou: str, recent_users: bool) -> None:
    """Connect the domain with a service account KEY.json; tested before anything is saved."""
    if key_file.stat().st_size > MAX_KEY_BYTES:
        raise InvalidInput(f"{key_file} is larger than a service account key ({MAX_KEY_BYTES} bytes at most)")
    with state.unit_of_work() as session:
        saved = connection.connect(session, state.principal, key_file.read_bytes(), admin_email, customer=customer,
                                   parent_ou=parent_ou, recent_users=recent_users)
        click.echo(f"Connected {saved.domain or saved.customer_id} (customer {saved.customer_id}) as {saved.admin_email} "
                   f"with {saved.client_email}; schools' units go under {parent_ou}.")
    click.echo("The key is stored encrypted. Next: `flokk google map SCHOOL_CODE OU_PATH` for each school, then `flokk google sync`.")


@google.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def status(state: CliState, as_json: bool) -> None:
    """The connection, the last sync and the schools' organisational units."""
    with state.unit_of_work() as session:
        found = connection.status(session, state.principal)
        if found.connection is None:
            if as_json:
                click.echo(json.dumps({"connected": False}))
            else:
                click.echo("Not connected: `flokk google connect KEY.json --admin EMAIL`.")
            return
        data = _status_dict(found)
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    row = data["connection"]
    click.echo(f"Domain:       {row['domain'] or ''} (customer {row['customer_id']})")
    click.echo(f"Acting as:    {row['admin_email']} with {row['service_account']} (key {row['key_id'][:8]}…)")
    click.echo(f"Connected:    {row['connected_at']} by {row['connected_by']}")
    click.echo(f"Recent users: {'kept' if row['recent_users'] else 'not kept'}")
    sync = data["sync"]
    click.echo(f"Last sync:    {sync['last_sync_at']} (full: {sync['last_full_sync_at']})")
    if sync["in_progress"]:
        click.echo(f"In progress:  {sync['kind']} sync, {sync['pages']} pages read; it resumes at the next run")
    if sync["error"]:
        click.echo(f"Last error:   {sync['error']}")
    click.echo(f"Chromebooks:  {data['chromebooks']['in_google']} in Google, {data['chromebooks']['gone_from_google']} gone from Google")
    click.echo("")
    print_table(data["units"], ["kind", "school", "group", "ou_path", "applied_at", "drift", "error"], False)


def _status_dict(found: connection.Status) -> dict:
    row = found.connection
    assert row is not None
    return {
        "connected": True,
        "connection": {"customer_id": row.customer_id, "domain": row.domain, "admin_email": row.admin_email,
                       "service_account": row.client_email, "key_id": row.key_id, "project": row.project_id,
                       "connected_at": _when(row.connected_at), "connected_by": row.connected_by,
                       "recent_users": row.store_recent_users},
        "sync": {"last_sync_at": _when(row.last_sync_at), "last_full_sync_at": _when(row.last_full_sync_at),
                 "in_progress": row.sync_run is not None, "kind": row.sync_kind, "pages": row.sync_pages,
                 "error": row.last_sync_error, "result": row.last_sync_result,
                 "requested": row.sync_requested_at is not None},
        "chromebooks": found.chromebooks,
        "units": [
            {"kind": unit.kind, "school": found.schools.get(unit.school_id or 0, ""), "group": unit.group.name if unit.group else "",
             "ou_path": unit.ou_path, "applied_at": _when(unit.applied_at) if unit.applied_at else "",
             "drift": len(unit.drift or []), "error": unit.policy_error or ""}
            for unit in ([found.parent] if found.parent else []) + found.units
        ],
    }


@google.command("map")
@click.argument("school_code")
@click.argument("ou_path")
@click.option("--group", metavar="NAME", help="Map this group (class, cart) of the school to a unit below the school's.")
@click.option("--create", is_flag=True, help="Create the unit (and missing ones above it) in Google.")
@pass_state
def map_(state: CliState, school_code: str, ou_path: str, group: str | None, create: bool) -> None:
    """Map a school (or with --group one of its groups) to an organisational unit."""
    with state.unit_of_work() as session:
        row = org_units.map_unit(session, state.principal, school_code, ou_path, group=group, create=create)
        what = f"group {group} of {school_code}" if group else f"school {school_code}"
        click.echo(f"Mapped {what} to {row.ou_path}. Chromebooks under it belong to it from the next sync.")


@google.command("sync")
@click.option("--full", is_flag=True, help="Read every Chromebook (and mark those gone from Google), not only recent ones.")
@pass_state
def sync(state: CliState, full: bool) -> None:
    """Sync the Chromebook inventory now, with progress; resumes an interrupted sync."""
    def progress(report: inventory.SyncReport) -> None:
        click.echo(f"  page {report.pages}: {report.seen} Chromebooks read", err=True)

    with state.unit_of_work() as session:
        report = inventory.sync(session, state.principal, full=full, checkpoint=lambda: commit(session), progress=progress)
        click.echo(report.summary())


@google.command("commands")
@pass_state
def follow(state: CliState) -> None:
    """Send queued Chromebook commands and ask Google about sent ones now (the scheduler does it every minute)."""
    from app.services.access import Permission, require_central
    from app.services.google import commands as chromebook_commands

    with state.unit_of_work() as session:
        require_central(state.principal, Permission.COMMAND)
        issued = chromebook_commands.issue_queued(session)
        followed = chromebook_commands.poll(session, now_all=True)
    click.echo("Sent: " + (", ".join(f"{count} {name}" for name, count in sorted(issued.items())) or "nothing queued"))
    click.echo("Followed: " + (", ".join(f"{count} {name}" for name, count in sorted(followed.items())) or "nothing sent"))


@google.command("apply")
@click.option("--school", "school_code", help="Only this school's units.")
@click.option("--dry-run", is_flag=True, help="Show what would be sent, send nothing.")
@click.option("--force", is_flag=True, help="Send every value again (puts back what was changed in Google's console).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def apply(state: CliState, school_code: str | None, dry_run: bool, force: bool, as_json: bool) -> None:
    """Apply the Chrome policy to the organisational units, then read back drift."""
    with state.unit_of_work() as session:
        report = policy.apply(session, state.principal, school=school_code, dry_run=dry_run, force=force)
        data = report.as_dict()
        drift = {plan.unit.ou_path: list(plan.unit.drift or []) for plan in report.units}
    if as_json:
        click.echo(json.dumps({**data, "drift": drift}, indent=2, default=str))
        return
    for unit in data["units"]:
        parts = [f"{len(unit[name])} {label}" for name, label in (("modify", "set"), ("inherit", "inherited"),
                 ("define_networks", "networks defined"), ("remove_networks", "networks removed")) if unit[name]]
        click.echo(f"{unit['ou_path']}: {', '.join(parts) or 'up to date'}" + (f" — failed: {unit['error']}" if unit["error"] else ""))
        for note in unit["notes"]:
            click.echo(f"  note: {note}")
        for item in drift.get(unit["ou_path"], []):
            click.echo(f"  drift: {item['identifier']} {item['kind']}" + (f" (set at {item['set_at']})" if item.get("set_at") else ""))
    click.echo(("Would send" if dry_run else "Sent") + f" {data['changes']} change(s).")


@google.command("move")
@click.argument("ref", metavar="DEVICE")
@click.option("--school", "school_code", required=True, help="The school the Chromebook now belongs to.")
@click.option("--group", metavar="NAME", help="A group of that school.")
@pass_state
def move(state: CliState, ref: str, school_code: str, group: str | None) -> None:
    """Give a Chromebook (id or serial) to another school or group; it moves between units in Google."""
    from sqlalchemy import select

    from app.models.tenancy import Group, School

    with state.unit_of_work() as session:
        device = devices.find_device(session, state.principal, ref)
        group_id = None
        if group is not None:
            group_id = session.scalar(select(Group.id).join(School, School.id == Group.school_id)
                                      .where(School.code == school_code, Group.name == group))
            if group_id is None:
                raise InvalidInput(f"school {school_code} has no group {group!r}")
        moved = moves.move_to_school(session, state.principal, device.id, school_code, group_id)
        click.echo(f"Moved {moved.serial_number or moved.id} to {school_code}" + (f", group {group}" if group else "") + ".")


COMMANDS = (google,)
