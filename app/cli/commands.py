"""`flokk command ...`: queue MDM commands and follow them."""

from __future__ import annotations

import click

from app.cli import CliState, pass_state, print_table
from app.services.fleet import devices
from mdm_protocol import commands as mdm_commands


@click.group()
def command() -> None:
    """MDM commands for iPads."""


@command.command("send")
@click.argument("target", metavar="DEVICE")
@click.argument("request_type")
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE",
              help="A command parameter, Apple's key name; repeat as needed. Data: base64 or @file.")
@click.option("--reason", help="Why: needed when the command waits for a second central admin's approval "
                               "(destructive commands, and commands to many devices).")
@click.option("--user", metavar="USER", help="Send it on this user's channel of a Shared iPad (user id or short "
                                             "name, as `flokk device show` lists them) instead of the device's.")
@pass_state
def send(state: CliState, target: str, request_type: str, params: tuple[str, ...], reason: str | None,
         user: str | None) -> None:
    """Queue REQUEST_TYPE for DEVICE (id, UDID, serial, or school:CODE for a school's iPads) and push it.

    Destructive commands (EraseDevice, ClearPasscode, DeleteUser) and commands
    to more devices than FLOKK_APPROVAL_BULK_THRESHOLD become an approval
    request instead, which a second central admin decides (dashboard or API).
    """
    refs, school = ([], target.split(":", 1)[1]) if target.startswith("school:") else ([target], None)
    with state.unit_of_work() as session:
        submitted = devices.send_command(
            session, state.principal, refs, request_type, params, school_code=school, reason=reason, user=user
        )
        approval = submitted.approval
        if approval is not None:
            click.echo(
                f"{request_type} for {approval.device_count} device(s) waits for a second central admin's "
                f"approval (request {approval.id})."
            )
            return
        queued = submitted.queued
    if len(queued) == 1:
        click.echo(f"Queued {request_type} as {next(iter(queued.command_uuids.values()))}.")
    else:
        click.echo(f"Queued {request_type} for {len(queued)} devices.")
    report = state.last_push
    if report is None:
        click.echo("Not pushed now (no push certificate, or APNs unreachable): "
                   "the devices get the command when they next connect.")
    else:
        click.echo(f"Push: {report.summary()}.")


@command.command("list")
@click.argument("ref", metavar="DEVICE")
@click.option("--limit", default=50, show_default=True, help="How many of the latest commands.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def list_(state: CliState, ref: str, limit: int, as_json: bool) -> None:
    """The latest commands of a device and what became of them."""
    with state.unit_of_work() as session:
        rows = [
            {
                "uuid": item.uuid,
                "request_type": item.request_type,
                "status": item.status,
                "queued": item.created_at.strftime("%Y-%m-%d %H:%M"),
                "sent": item.sent_at.strftime("%Y-%m-%d %H:%M") if item.sent_at else "",
                "completed": item.completed_at.strftime("%Y-%m-%d %H:%M") if item.completed_at else "",
                "error": _first_error(item.error_chain),
            }
            for item in devices.command_history(session, state.principal, ref, limit=limit)
        ]
    print_table(rows, ["uuid", "request_type", "status", "queued", "sent", "completed", "error"], as_json)


@command.command("types")
def types() -> None:
    """The commands Flokk can send, with their parameters and the roles that may send them."""
    from app.services.access import WIPING_COMMANDS, roles_that_send
    from mdm_protocol import apple_schema

    for name, entry in sorted(mdm_commands.CATALOGUE.items()):
        keys = [
            key.name
            for key in apple_schema.command(name).keys
            if key.available_on(mdm_commands.DEFAULT_PLATFORM) and key.name not in mdm_commands.DELIVERY_SECRETS.get(name, {})
        ]
        flag = " (destructive: needs approval)" if name in WIPING_COMMANDS else ""
        lines = [f"{name:<26}{entry.summary}{flag}", f"{'':<26}roles: {', '.join(roles_that_send(name))}"]
        if keys:
            lines.append(f"{'':<26}parameters: {', '.join(keys)}")
        click.echo("\n".join(lines))


def _first_error(chain) -> str:
    if not chain:
        return ""
    first = chain[0]
    return f"{first.get('ErrorDomain') or ''} {first.get('ErrorCode') or ''}: {first.get('LocalizedDescription') or ''}".strip()
