"""`flokk updates ...`: OS updates by a deadline, as central IT runs them.

``set`` changes the target (version, build, local deadline) of the baseline
or of a school, group or device layer, through the policy (locks, versions,
audit, the devices told); ``show`` lists each school's target, where each
value comes from, and how its iPads stand (done, pending, failed, cannot be
reached by declaration).
"""

from __future__ import annotations

import json

import click

from app.cli import CliState, pass_state, print_table
from app.schemas.updates import school_updates_out
from app.services.declarations import updates
from app.services.declarations.updates import KEYS, SchoolUpdates


@click.group("updates")
def updates_group() -> None:
    """OS updates: target iPadOS version and deadline, and progress per school."""


@updates_group.command("set")
@click.option("--school", help="School code: set the school's target (default: the baseline, for every school).")
@click.option("--group", help="Group name in --school: set the group's target.")
@click.option("--device", help="One device (serial, UDID or #id).")
@click.option("--version", help="Target iPadOS version, e.g. 26.1.")
@click.option("--build", help="Target build, e.g. 23B85.")
@click.option("--deadline", help="Local date and time the update is forced, e.g. '2026-10-16 16:00'.")
@click.option("--details-url", help="An https:// page telling users about the update.")
@click.option("--lock/--no-lock", default=None, help="Lock what is set so more specific layers cannot change it.")
@click.option("--unset", multiple=True, type=click.Choice(list(KEYS)), help="Inherit this from the layer above again.")
@click.option("--note", help="Why, kept with the policy version.")
@click.option("--dry-run", is_flag=True, help="Only show how many devices would be asked to update.")
@pass_state
def set_(state: CliState, school: str | None, group: str | None, device: str | None, version: str | None,
         build: str | None, deadline: str | None, details_url: str | None, lock: bool | None, unset: tuple[str, ...],
         note: str | None, dry_run: bool) -> None:
    """Set the OS update target: "all iPads to 26.1 by Friday 16:00", or a school's later deadline."""
    layer = updates.layer_of(school=school, group=group, device=device)
    with state.unit_of_work() as session:
        changed = updates.set_target(session, state.principal, layer, version=version, build=build, deadline=deadline,
                                     details_url=details_url, lock=lock, unset=unset, note=note, dry_run=dry_run)
        result = changed.result
        if dry_run:
            click.echo(f"Preview of {result.layer} (nothing saved):")
        elif result.version is None:
            click.echo(f"{result.layer} already says so; nothing changed.")
        else:
            click.echo(f"Saved {result.layer} version {result.version.number}:")
        for line in result.changes:
            click.echo(f"  {line}")
        told = result.report.declarations
        verb = "would tell" if dry_run else "told"
        click.echo(f"{verb.capitalize()} {told.told_count} device(s) managed declaratively that their declarations changed.")
        _print_schools(changed.schools, as_json=False)


@updates_group.command("show")
@click.option("--school", help="Only this school (its code).")
@click.option("--devices", "with_devices", is_flag=True, help="List the school's iPads with their state (with --school).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def show(state: CliState, school: str | None, with_devices: bool, as_json: bool) -> None:
    """Each school's target (and where it was set) and its iPads' progress."""
    with state.unit_of_work() as session:
        views = updates.overview(session, state.principal, school=school, with_devices=with_devices and bool(school))
        if as_json:
            click.echo(json.dumps([school_updates_out(view, devices=with_devices) for view in views], indent=2, default=str))
            return
        _print_schools(views, as_json=False)
        if with_devices and school and views:
            rows = [
                {"device": update.name, "os": update.os_version or "?", "target": update.target_version,
                 "state": update.state.value.replace("_", " "), "reason": update.reason or ""}
                for update in views[0].devices
            ]
            click.echo("")
            print_table(rows, ["device", "os", "target", "state", "reason"], as_json=False)


def _print_schools(views: list[SchoolUpdates], *, as_json: bool) -> None:
    rows = []
    for view in views:
        target = view.target
        deadline = target.settings.get(KEYS["deadline"])
        locked = sorted({setting.locked_in for setting in target.settings.values() if setting.locked_in})
        rows.append({
            "school": view.school.code,
            "version": target.value("version") or "(none)",
            "build": target.value("build") or "",
            "deadline": f"{deadline.value.replace('T', ' ')[:16]} ({deadline.layer})" if deadline else "",
            "locked": ", ".join(f"in {layer}" for layer in locked),
            "devices": view.total,
            "done": view.done,
            "pending": view.pending,
            "failed": view.failed,
            "unreachable": view.unreachable,
        })
    print_table(rows, ["school", "version", "build", "deadline", "locked", "devices", "done", "pending", "failed",
                       "unreachable"], as_json)

