"""`flokk device ...`: the devices of the schools the operator may see."""

from __future__ import annotations

import json

import click

from app.cli import CliState, pass_state, print_table
from app.services.fleet import devices


def _when(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


@click.group()
def device() -> None:
    """Enrolled iPads and Chromebooks."""


@device.command("list")
@click.option("--school", "school_code", help="Only this school's devices (its code).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def list_(state: CliState, school_code: str | None, as_json: bool) -> None:
    """List devices."""
    with state.unit_of_work() as session:
        rows = [
            {
                "id": item.id,
                "school": code,
                "serial": item.serial_number,
                "name": item.name,
                "model": item.model,
                "os": item.os_version,
                "state": item.enrollment_state,
                "last_seen": _when(item.last_seen_at),
                "udid": item.udid,
            }
            for item, code in devices.list_devices(session, state.principal, school_code=school_code)
        ]
    print_table(rows, ["id", "school", "serial", "name", "model", "os", "state", "last_seen"], as_json)


@device.command("show")
@click.argument("ref", metavar="DEVICE")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (with the full inventory).")
@pass_state
def show(state: CliState, ref: str, as_json: bool) -> None:
    """Show one device (by id, UDID or serial number) with its inventory."""
    with state.unit_of_work() as session:
        detail = devices.describe(session, state.principal, ref)
        item = detail.device
        facts = {
            "id": item.id,
            "udid": item.udid,
            "school": detail.school_code,
            "serial": item.serial_number,
            "name": item.name,
            "model": item.model,
            "os_version": item.os_version,
            "platform": item.platform,
            "state": item.enrollment_state,
            "supervised": item.supervised,
            "ade_enrolled": item.ade_enrolled,
            "enrolled_at": _when(item.enrolled_at),
            "last_seen": _when(item.last_seen_at),
            "last_push": _when(item.last_push_at),
            "push_token": "invalid" if item.push_token_invalid_at else ("set" if item.push_token else "none"),
            "open_commands": detail.open_commands,
            "installed_profiles": [
                {"identifier": p.identifier, "name": p.display_name, "managed": p.is_managed}
                for p in detail.installed_profiles
            ],
            "users": [
                {"user_id": u.user_id, "short_name": u.short_name, "last_seen": _when(u.last_seen_at),
                 "push_token": "invalid" if u.push_token_invalid_at else ("set" if u.push_token else "none")}
                for u in detail.users
            ],
        }
        inventory = dict(item.inventory or {})
    if as_json:
        click.echo(json.dumps({**facts, "inventory": inventory}, indent=2, default=str))
        return
    for key, value in facts.items():
        if key in ("installed_profiles", "users"):
            continue
        click.echo(f"{key.replace('_', ' ').capitalize() + ':':<18}{'' if value is None else value}")
    click.echo(f"Installed profiles ({len(facts['installed_profiles'])}):")
    for profile in facts["installed_profiles"]:
        managed = "" if profile["managed"] else " (installed by the user, not by MDM)"
        click.echo(f"  {profile['identifier']}  {profile['name'] or ''}{managed}")
    if facts["users"]:
        click.echo(f"Users (Shared iPad user channels, {len(facts['users'])}):")
        for user in facts["users"]:
            click.echo(f"  {user['short_name'] or user['user_id']}  last seen {user['last_seen'] or 'never'}, "
                       f"push token {user['push_token']}")
    apps = inventory.get("applications") or []
    if apps:
        click.echo(f"Installed apps: {len(apps)}")
    security = inventory.get("security_info") or {}
    if "PasscodePresent" in security:
        click.echo(f"Passcode set:     {'yes' if security['PasscodePresent'] else 'no'}")
