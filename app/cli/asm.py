"""`flokk asm ...`: Apple School Manager — the server token, syncing, where each iPad is expected."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from app.cli import CliState, pass_state, print_table
from app.errors import InvalidInput
from app.services.asm import assignment, devices, enrolment, keys, profiles, sync, tokens
from app.services.fleet.devices import find_device

_file = click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)


def _when(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


@click.group()
def asm() -> None:
    """Apple School Manager: iPads that arrive supervised, zero-touch, in their school."""


@asm.command("key")
@click.option("--new", is_flag=True, help="Make a new key pair (tokens already imported keep working).")
@pass_state
def key(state: CliState, new: bool) -> None:
    """Print the public key certificate (PEM) to upload to the device management server in ASM."""
    with state.unit_of_work() as session:
        click.echo(keys.public_certificate(session, state.principal, new=new).rstrip())


@asm.command("import")
@click.argument("token_file", metavar="TOKEN.p7m", type=_file)
@pass_state
def import_(state: CliState, token_file: Path) -> None:
    """Import the server token downloaded from ASM (decrypted, checked with Apple, stored encrypted)."""
    data = token_file.read_bytes()[: 2 * 1024 * 1024]
    with state.unit_of_work() as session:
        imported = tokens.import_token(session, state.principal, data)
        token = imported.token
        verb = "Renewed" if imported.renewed else "Imported"
        click.echo(f"{verb} the token of {token.org_name or '?'} (device management server {token.server_name or '?'}), "
                   f"id {token.id}.")
        if token.access_token_expiry:
            click.echo(f"Expires: {token.access_token_expiry:%Y-%m-%d}")
        click.echo("The scheduler syncs it within a minute; `flokk asm sync` does it now.")


@asm.command("tokens")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def tokens_(state: CliState, as_json: bool) -> None:
    """Tokens with their organisation, expiry, last sync and device counts."""
    with state.unit_of_work() as session:
        rows = [
            {
                "id": item.token.id, "organisation": item.token.org_name, "server": item.token.server_name,
                "expires": item.token.access_token_expiry.strftime("%Y-%m-%d") if item.token.access_token_expiry else "",
                "warning": "EXPIRED" if item.expired else ("renew soon" if item.expires_soon else ""),
                "last_sync": _when(item.token.last_sync_at), "state": item.token.sync_state,
                "message": item.token.sync_message or "", "devices": item.devices, "expected": item.expected,
                "unassigned": item.unassigned, "enrolled": item.enrolled, "deleted": item.deleted,
            }
            for item in tokens.list_tokens(session, state.principal)
        ]
    print_table(rows, ["id", "organisation", "server", "expires", "warning", "last_sync", "state", "devices", "expected",
                       "unassigned", "enrolled", "deleted"], as_json)
    for row in rows:
        if row["message"] and not as_json:
            click.echo(f"Token {row['id']}: {row['message']}")


@asm.command("sync")
@click.option("--token", "token_id", type=int, help="Only this token (its id).")
@click.option("--full", is_flag=True, help="Fetch every device again instead of the changes since the last sync.")
@pass_state
def sync_(state: CliState, token_id: int | None, full: bool) -> None:
    """Sync now: devices from ASM, schools by rule, each school's ADE profile at Apple."""
    with state.unit_of_work() as session:
        reports = sync.sync_all(session, state.principal, token_id=token_id, full=full,
                                progress=lambda line: click.echo(line, err=True), checkpoint=session.commit)
    if not reports:
        click.echo("No Apple School Manager token yet: `flokk asm key`, then `flokk asm import TOKEN.p7m`.")
    failed = False
    for report in reports:
        if report.ok:
            click.echo(report.summary())
        else:
            failed = True
            click.echo(f"Error: {report.summary()}", err=True)
    if failed:
        sys.exit(1)


@asm.command("devices")
@click.option("--school", "school_code", help="Only devices expected at this school.")
@click.option("--state", "device_state", type=click.Choice(devices.STATES),
              help="expected, enrolled, unassigned, deleted or all [default: all still assigned to Flokk].")
@click.option("--search", help="Part of a serial number, description, asset tag or assigned-by.")
@click.option("--limit", type=click.IntRange(1, devices.MAX_PAGE), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def devices_(state: CliState, school_code: str | None, device_state: str | None, search: str | None, limit: int,
             as_json: bool) -> None:
    """Devices ASM assigned to Flokk and where they are expected."""
    where = devices.DeviceFilter(school=school_code, state=device_state, search=search)
    with state.unit_of_work() as session:
        page = devices.search(session, state.principal, where, limit=limit)
        rows = [
            {
                "serial": item.serial_number, "model": item.model, "color": item.color,
                "school": item.school.code if item.school else "", "class": item.group.name if item.group else "",
                "state": devices.state_of(item), "profile": devices.profile_state(item),
                "assigned_by": item.device_assigned_by, "id": item.id,
            }
            for item in page.devices
        ]
    print_table(rows, ["serial", "model", "color", "school", "class", "state", "profile", "assigned_by"], as_json)
    if not as_json and page.total > len(rows):
        click.echo(f"({len(rows)} of {page.total}; use --limit or --search)")


@asm.command("assign")
@click.argument("serials", nargs=-1)
@click.option("--school", "school_code", help="The school that expects them.")
@click.option("--group", help="The class they join when they enrol.")
@click.option("--csv", "csv_file", type=_file, help="A CSV of serial,school[,class] rows instead.")
@click.option("--none", "unassign", is_flag=True, help="Expect them at no school.")
@pass_state
def assign(state: CliState, serials: tuple[str, ...], school_code: str | None, group: str | None, csv_file: Path | None,
           unassign: bool) -> None:
    """Expect serials at a school (and class): they get its ADE profile at Apple at the next sync."""
    with state.unit_of_work() as session:
        if csv_file is not None:
            if serials or school_code:
                raise InvalidInput("give either --csv or serials with --school")
            count = assignment.assign_csv(session, state.principal, csv_file.read_text(encoding="utf-8-sig"))
        else:
            if not school_code and not unassign:
                raise InvalidInput("say --school CODE (or --none)")
            count = assignment.assign(session, state.principal, list(serials), None if unassign else school_code, group)
    click.echo(f"{count} device(s) assigned; Apple gets their school's profile within a minute (or run `flokk asm sync`).")


@asm.group("rule")
def rule() -> None:
    """Rules that give new devices their school (first match wins)."""


@rule.command("add")
@click.option("--field", type=click.Choice(sorted(assignment.RULE_FIELDS)), default="assigned_by", show_default=True)
@click.option("--pattern", required=True, help="Case-insensitive pattern, e.g. '*@nordby.bergvik.no' or 'C02*'.")
@click.option("--school", "school_code", required=True)
@click.option("--group", help="The class the devices join.")
@click.option("--token", "token_id", type=int, help="Only devices of this token.")
@click.option("--position", type=click.IntRange(0, 10_000), default=100, show_default=True, help="Lower is tried first.")
@pass_state
def rule_add(state: CliState, field: str, pattern: str, school_code: str, group: str | None, token_id: int | None,
             position: int) -> None:
    with state.unit_of_work() as session:
        created, count = assignment.add_rule(session, state.principal, field=field, pattern=pattern, school_code=school_code,
                                             group=group, token_id=token_id, position=position)
        click.echo(f"Rule {created.id} added; {count} device(s) without a school now expected at {school_code}.")


@rule.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def rule_list(state: CliState, as_json: bool) -> None:
    with state.unit_of_work() as session:
        rows = [{"id": r.id, "position": r.position, "field": r.field, "pattern": r.pattern, "school": r.school.code,
                 "class": r.group.name if r.group else "", "token": r.token_id or "any"}
                for r in assignment.list_rules(session, state.principal)]
    print_table(rows, ["id", "position", "field", "pattern", "school", "class", "token"], as_json)


@rule.command("remove")
@click.argument("rule_id", type=int)
@pass_state
def rule_remove(state: CliState, rule_id: int) -> None:
    """Remove a rule (devices it assigned keep their school)."""
    with state.unit_of_work() as session:
        assignment.delete_rule(session, state.principal, rule_id)
    click.echo(f"Rule {rule_id} removed.")


@asm.command("settings")
@click.option("--skip", help="Setup Assistant panes to skip, comma-separated (Apple's SkipKeys), '' for none.")
@click.option("--language", help="Setup Assistant language, e.g. nb.")
@click.option("--region", help="Region, e.g. NO.")
@click.option("--support-email", help="Support email shown in Setup Assistant.")
@click.option("--anchor-ca/--no-anchor-ca", default=None, help="Make the iPad trust Flokk's CA for Flokk's TLS (off with a public TLS certificate).")
@pass_state
def settings_(state: CliState, skip: str | None, language: str | None, region: str | None, support_email: str | None,
              anchor_ca: bool | None) -> None:
    """Show (or change) what every school's ADE profile shares."""
    changes = {name: value for name, value in (
        ("skip_setup_items", [item for item in skip.split(",") if item.strip()] if skip is not None else None),
        ("language", language), ("region", region), ("support_email", support_email), ("anchor_flokk_ca", anchor_ca),
    ) if value is not None}
    with state.unit_of_work() as session:
        row = (profiles.update_settings(session, state.principal, changes) if changes
               else profiles.get_settings(session, state.principal))
        click.echo(f"Skipped panes:  {', '.join(row.skip_setup_items or []) or '(none)'}")
        click.echo(f"Language:       {row.language or ''}")
        click.echo(f"Region:         {row.region or ''}")
        click.echo(f"Support email:  {row.support_email or ''}")
        click.echo(f"Flokk's CA as anchor: {'yes' if row.anchor_flokk_ca else 'no'}")
    if changes:
        click.echo("Every school's profile is defined again at Apple at the next sync.")


@asm.command("school")
@click.argument("school_code")
@click.option("--phone", help="Support phone shown to pupils in Setup Assistant ('' to clear).")
@click.option("--department", help="Department shown in Setup Assistant [default: the school's name].")
@pass_state
def school(state: CliState, school_code: str, phone: str | None, department: str | None) -> None:
    """Show (or change) a school's support phone and department."""
    with state.unit_of_work() as session:
        if phone is not None or department is not None:
            _, current = profiles.school_profile(session, state.principal, school_code)
            profiles.update_school_profile(
                session, state.principal, school_code,
                support_phone=phone if phone is not None else current.support_phone,
                department=department if department is not None else current.department,
            )
        found, row = profiles.school_profile(session, state.principal, school_code)
        click.echo(f"Support phone:  {row.support_phone or ''}")
        click.echo(f"Department:     {row.department or found.name}")


@asm.command("bypass-code")
@click.argument("ref", metavar="DEVICE")
@pass_state
def bypass_code(state: CliState, ref: str) -> None:
    """Show a device's escrowed Activation Lock bypass code (central IT; the read is audited)."""
    with state.unit_of_work() as session:
        found = find_device(session, state.principal, ref)
        shown = enrolment.bypass_code(session, state.principal, found.id)
    click.echo(shown["code"])


COMMANDS = (asm,)
