"""`flokk webhook ...`: tell central IT's other systems of events (signed, retried by the scheduler)."""

from __future__ import annotations

import click

from app.cli import CliState, pass_state, print_table, validated
from app.schemas.webhooks import WebhookCreate
from app.services import webhooks


@click.group()
def webhook() -> None:
    """Webhooks: URLs told of events (delivered by `flokk scheduler`)."""


@webhook.command("events")
def events() -> None:
    """The event types a webhook can subscribe to."""
    for kind, description in webhooks.EVENT_TYPES.items():
        click.echo(f"{kind:22}  {description}")


@webhook.command("add")
@click.argument("name")
@click.argument("url")
@click.option("--event", "events_wanted", multiple=True, metavar="TYPE",
              help="An event type (repeat for several; `flokk webhook events` lists them) [default: all].")
@pass_state
def add(state: CliState, name: str, url: str, events_wanted: tuple[str, ...]) -> None:
    """Register URL for events; prints the signing secret once."""
    data = validated(WebhookCreate(), name=name, url=url, events=list(events_wanted or webhooks.EVENT_TYPES))
    with state.unit_of_work() as session:
        created, secret = webhooks.create_webhook(session, state.principal, **data)
        click.echo(f"Created webhook {created.id} ({created.name}) for {', '.join(created.events)}.")
    click.echo(f"  Secret:  {secret}")
    click.echo("  (shown only now; check each delivery's webhook-signature with it, as Standard Webhooks says)")


@webhook.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def list_(state: CliState, as_json: bool) -> None:
    """Webhooks with their last delivery's status and what waits or failed."""
    with state.unit_of_work() as session:
        rows = [
            {"id": item.webhook.id, "name": item.webhook.name, "url": webhooks.shown_url(item.webhook.url),
             "events": ", ".join(item.webhook.events), "last": item.last_status, "waiting": item.pending, "failed": item.failed}
            for item in webhooks.list_webhooks(session, state.principal)
        ]
    print_table(rows, ["id", "name", "url", "events", "last", "waiting", "failed"], as_json)


@webhook.command("deliveries")
@click.argument("webhook_id", type=int)
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_state
def deliveries(state: CliState, webhook_id: int, limit: int, as_json: bool) -> None:
    """A webhook's latest deliveries, newest first."""
    with state.unit_of_work() as session:
        rows = [
            {"id": item.id, "event": f"{item.event_type} #{item.event_id}", "status": item.status, "attempts": item.attempts,
             "answer": item.last_status_code or item.last_error or "",
             "last_attempt": f"{item.last_attempt_at:%Y-%m-%d %H:%M:%S}" if item.last_attempt_at else "",
             "next_attempt": f"{item.next_attempt_at:%Y-%m-%d %H:%M:%S}" if item.next_attempt_at else ""}
            for item in webhooks.deliveries(session, state.principal, webhook_id, limit=limit)
        ]
    print_table(rows, ["id", "event", "status", "attempts", "answer", "last_attempt", "next_attempt"], as_json)


@webhook.command("remove")
@click.argument("webhook_id", type=int)
@pass_state
def remove(state: CliState, webhook_id: int) -> None:
    """Delete a webhook and its deliveries."""
    with state.unit_of_work() as session:
        webhooks.delete_webhook(session, state.principal, webhook_id)
    click.echo(f"Removed webhook {webhook_id}.")
