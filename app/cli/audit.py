"""`flokk audit`: read or export the audit log."""

from __future__ import annotations

import json

import click

from app.cli import CliState, pass_state, print_table, validated
from app.schemas.admin import AuditQuery
from app.services import audit_trail


@click.command()
@click.option("--school", help="Only this school's events (its code).")
@click.option("--since", help="From this date or time (ISO 8601, UTC), e.g. 2026-08-01.")
@click.option("--until", help="Before this date or time.")
@click.option("--action", help="An action, or a prefix ending in '.', e.g. 'approval.'.")
@click.option("--actor", help="Who, e.g. admin:kari@skole.no.")
@click.option("--outcome", type=click.Choice(["success", "denied", "failure"]))
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True, help="Newest N events.")
@click.option("--csv", "as_csv", is_flag=True, help="Every matching event as CSV (oldest first).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def audit(state: CliState, school, since, until, action, actor, outcome, limit: int, as_csv: bool, as_json: bool) -> None:
    """Who did what, where, when and with what outcome."""
    data = validated(AuditQuery(), school=school, since=since, until=until, action=action, actor=actor, outcome=outcome)
    where = audit_trail.AuditFilter(**{key: data.get(key) for key in ("school", "since", "until", "action", "actor", "outcome")})
    with state.unit_of_work() as session:
        if as_csv:
            click.echo(audit_trail.export_csv(session, state.principal, where), nl=False)
            return
        rows = [
            {"id": event.id, "time": event.occurred_at.strftime("%Y-%m-%d %H:%M:%S"), "actor": event.actor,
             "action": event.action, "outcome": event.outcome, "school_id": event.school_id,
             "target": f"{event.target_type or ''} {event.target_id or ''}".strip(), "source": event.source,
             "details": event.details if as_json else json.dumps(event.details, sort_keys=True, default=str)[:80]}
            for event in audit_trail.search(session, state.principal, where, limit=limit)
        ]
    print_table(rows, ["id", "time", "actor", "action", "outcome", "school_id", "target", "source", "details"], as_json)
