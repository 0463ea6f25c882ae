"""`flokk apps ...`: the Apps and Books connection, the app catalogue, app lists as policy, a device's apps.

Apps are policy settings (``app:<App Store id>``): ``flokk apps set`` is a
policy change with the usual locks, preview (``--dry-run``), history and
restore (``flokk policy history/restore``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from app.cli import CliState, pass_state, print_table
from app.cli.policy import print_change
from app.errors import InvalidInput
from app.services.apps import catalogue as app_catalogue
from app.services.apps import connection, licences, overview, settings
from app.services.fleet import devices as fleet_devices
from profiles.payloads.app import STATES

_file = click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)


@click.group("apps")
def apps_group() -> None:
    """Apps: the Apps and Books connection, the catalogue, app lists per layer, a device's apps."""


@apps_group.group("token")
def token_group() -> None:
    """The Apps and Books content token (.vpptoken) from Apple School Manager."""


@token_group.command("import")
@click.argument("file", type=_file)
@click.option("--force", is_flag=True, help="Take the location over from another MDM that has claimed it.")
@click.option("--organisation", help="Organisation, when there are several.")
@pass_state
def token_import(state: CliState, file: Path, force: bool, organisation: str | None) -> None:
    """Store the content token (sealed) and claim its location for this Flokk."""
    data = file.read_bytes()[: 64 * 1024 + 1]
    with state.unit_of_work() as session:
        imported = connection.import_token(session, state.principal, data, force=force, organisation=organisation)
        token = imported.token
        click.echo(f"Imported the Apps and Books token for {token.location_name or token.location_uid} "
                   f"({token.organisation_name}), valid until {token.expires_at:%Y-%m-%d}.")
        if imported.took_over:
            click.echo(f"Took the location over from {imported.took_over}.")
        if not imported.notifications:
            click.echo("Apple cannot reach Flokk's notification address: Flokk polls Apple instead.")
        click.echo("Next: flokk apps sync")


@token_group.command("show")
@pass_state
def token_show(state: CliState) -> None:
    """The location, its expiry and when Flokk last synced."""
    with state.unit_of_work() as session:
        summary = connection.summary(session, state.principal)
    warning = " (EXPIRED)" if summary.expired else " (renew soon)" if summary.expires_soon else ""
    click.echo(f"Organisation:  {summary.organisation_name}")
    click.echo(f"Location:      {summary.location_name} ({summary.location_uid}, {summary.country})")
    click.echo(f"Valid until:   {summary.expires_at:%Y-%m-%d}{warning}")
    click.echo(f"Claimed:       {summary.claimed_at:%Y-%m-%d %H:%M} by {summary.claimed_by}" if summary.claimed_at else "Claimed:       no")
    click.echo(f"Notifications: {'on' if summary.notifications else 'off (Flokk polls Apple)'}")
    click.echo(f"Last sync:     {summary.last_sync_at:%Y-%m-%d %H:%M}" if summary.last_sync_at else "Last sync:     never")
    if summary.foreign_mdm:
        click.echo(f"Taken over by: {summary.foreign_mdm} (import the token again with --force)")
    if summary.last_error:
        click.echo(f"Last error:    {summary.last_error}")


@apps_group.command("sync")
@pass_state
def sync(state: CliState) -> None:
    """Read the apps, licence counts and assignments from Apple, then assign and release licences."""
    with state.unit_of_work() as session:
        # Apple's refusal is kept on the token (committed), then reported as the error it is.
        report = app_catalogue.sync(session, state.principal, progress=click.echo, raise_errors=False)
        failure = report.failure
        if failure is None:
            click.echo(f"{report.assets} apps and books ({report.added} new, {report.removed} gone), "
                       f"{report.looked_up} looked up; {report.assignments} licences assigned at Apple "
                       f"({report.imported} new to Flokk, {report.lost} no longer there).")
            _print_licences(report.licences)
    if failure is not None:
        raise failure


@apps_group.command("licences")
@pass_state
def licence_round(state: CliState) -> None:
    """One round of the licence worker now (the scheduler runs one every minute)."""
    with state.unit_of_work() as session:
        _print_licences(licences.process(session, progress=click.echo))


def _print_licences(report: licences.LicenceReport) -> None:
    click.echo(f"Licences: {report.assigned} assigned, {report.freed} released, {report.waiting} waiting for a free "
               f"licence, {report.pending_events} request(s) still with Apple.")
    for error in report.errors:
        click.echo(f"Apple refused: {error}")


@apps_group.command("list")
@click.option("--school", help="Licence counts of this school only (its code).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def list_(state: CliState, school: str | None, as_json: bool) -> None:
    """The Apps and Books apps: licences in total, assigned, free, per school, and the baseline's state."""
    with state.unit_of_work() as session:
        found = overview.catalogue(session, state.principal, school=school)
    rows = [{
        "app": info.adam_id, "name": info.name, "bundle_id": info.bundle_id or "", "total": info.total,
        "assigned": info.assigned, "free": info.available,
        "schools": ", ".join(f"{found.schools.get(school_id, school_id)}={count}" for school_id, count in sorted(info.assigned_in.items())),
        "waiting": sum(info.waiting_in.values()),
        "baseline": (info.baseline_state or "") + (" (locked)" if info.baseline_locked else ""),
    } for info in found.apps]
    print_table(rows, ["app", "name", "bundle_id", "total", "assigned", "free", "waiting", "baseline", "schools"], as_json)


@apps_group.command("set")
@click.argument("layer", metavar="LAYER")
@click.argument("app", metavar="APP")
@click.argument("state_name", metavar="STATE", type=click.Choice([*STATES, settings.INHERIT]))
@click.option("--config", "configuration", help="Managed app configuration: a JSON object, or @FILE.")
@click.option("--no-config", is_flag=True, help="Drop this layer's configuration of the app.")
@click.option("--remove-on-unenroll/--keep-on-unenroll", default=None,
              help="Remove the app when the device leaves management (default: remove).")
@click.option("--lock/--no-lock", default=None, help="Forbid more specific layers to change it (baseline).")
@click.option("--note", help="Why, kept with the version.")
@click.option("--dry-run", is_flag=True, help="Only show what would happen.")
@pass_state
def set_(state: CliState, layer: str, app: str, state_name: str, configuration: str | None, no_config: bool,
         remove_on_unenroll: bool | None, lock: bool | None, note: str | None, dry_run: bool) -> None:
    """Make APP required, available or removed in LAYER (baseline, school:CODE, group:CODE/NAME, device:SERIAL)."""
    config: Any = settings.UNCHANGED
    if no_config:
        config = None
    elif configuration is not None:
        config = _configuration(configuration)
    with state.unit_of_work() as session:
        result = settings.set_app(session, state.principal, layer, app, state_name, configuration=config,
                                  remove_on_unenroll=remove_on_unenroll, lock=lock, note=note, dry_run=dry_run)
        print_change(session, result, dry_run)


@apps_group.command("remove")
@click.argument("layer", metavar="LAYER")
@click.argument("app", metavar="APP")
@click.option("--note", help="Why, kept with the version.")
@click.option("--dry-run", is_flag=True, help="Only show what would happen.")
@pass_state
def remove(state: CliState, layer: str, app: str, note: str | None, dry_run: bool) -> None:
    """Take APP off LAYER's own list (devices then follow the layers above; to force removal: set ... removed)."""
    with state.unit_of_work() as session:
        result = settings.set_app(session, state.principal, layer, app, settings.INHERIT, note=note, dry_run=dry_run)
        print_change(session, result, dry_run)


def _configuration(text: str) -> Any:
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise InvalidInput(f"cannot read {path}: {error}") from None
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        raise InvalidInput(f"--config must be a JSON object ({getattr(error, 'msg', 'too deep')})") from None
    if not isinstance(value, dict):
        raise InvalidInput("--config must be a JSON object, e.g. {\"ServerURL\": \"https://...\"}")
    return value


@apps_group.command("device")
@click.argument("device", metavar="DEVICE")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def device(state: CliState, device: str, as_json: bool) -> None:
    """A device's apps: the policy's state and where it comes from, its licence, what it reported, what happens next."""
    with state.unit_of_work() as session:
        found = fleet_devices.find_device(session, state.principal, device)
        rows = overview.device_apps(session, state.principal, found.id)
    print_table([{
        "app": row.adam_id or "", "name": row.name, "policy": row.desired or "", "from": row.set_in or "",
        "lock": "locked" if row.locked else "", "licence": row.licence or "", "reported": row.reported or "",
        "next": row.doing,
    } for row in rows], ["app", "name", "policy", "from", "lock", "licence", "reported", "next"], as_json)


COMMANDS = (apps_group,)
