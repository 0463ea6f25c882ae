"""The `flokk` command line: set-up, serving, and automation for central IT.

Each command group lives in its own module and is added to ``main`` below.
User errors print one line and exit with 1; an invalid setting exits with 2.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from typing import Any

import click
from sqlalchemy.orm import Session

from app import __version__, request_context
from app.config import ConfigError, Settings, load_settings, warn_if_generated_secret
from app.db import Database
from app.errors import FlokkError
from app.logs import configure_logging
from app.schemas import load
from app.services.access import Principal, cli_principal


class CliState:
    """Settings, database and principal of one CLI invocation, built on first use."""

    def __init__(self) -> None:
        self.create_secret = False
        self.last_push = None

    @cached_property
    def settings(self) -> Settings:
        settings = load_settings(create_secret=self.create_secret)
        configure_logging(settings.log_format, settings.log_level)
        logging.getLogger("alembic").setLevel(logging.WARNING)
        if self.create_secret:
            warn_if_generated_secret(settings)
        return settings

    @cached_property
    def db(self) -> Database:
        return Database(self.settings)

    @cached_property
    def principal(self) -> Principal:
        return cli_principal()

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One committed unit of work; devices it queued commands for are pushed after the commit
        (the outcome is in ``last_push``)."""
        from app.services.mdm import push

        with request_context.origin(source="cli"), self.db.unit_of_work() as session:
            yield session
            wakes = push.take_wakes(session)
        if wakes:
            self.last_push = push.wake_committed(self.db, wakes)


pass_state = click.make_pass_decorator(CliState, ensure=True)


class FlokkGroup(click.Group):
    """Turns Flokk's errors into one clear line and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        from app.cli.progress import CliProgress
        from app.services import progress

        try:
            with progress.reporting(CliProgress()):
                return super().invoke(ctx)
        except ConfigError as error:
            click.echo(f"Error: invalid setting {error}", err=True)
            sys.exit(2)
        except FlokkError as error:
            click.echo(f"Error: {error}", err=True)
            sys.exit(1)


def validated(schema: Any, **values: Any) -> dict[str, Any]:
    """Check CLI input with the same marshmallow schema the API uses."""
    return load(schema, {key: value for key, value in values.items() if value is not None})


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[str], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(list(rows), indent=2, default=str))
        return
    if not rows:
        click.echo("(none)")
        return
    widths = {column: max(len(column), *(len(str(row.get(column, "") or "")) for row in rows)) for column in columns}
    click.echo("  ".join(column.upper().ljust(widths[column]) for column in columns).rstrip())
    for row in rows:
        click.echo("  ".join(str(row.get(column, "") or "").ljust(widths[column]) for column in columns).rstrip())


@click.group(cls=FlokkGroup)
@click.version_option(__version__, prog_name="flokk")
def main() -> None:
    """Flokk: mobile device management for school iPads and Chromebooks."""


def _register() -> None:
    from app.cli import (admin, apps, asm, audit, commands, devices, enroll, google, pki, policy, rosters, run, schools,
                         setup, tokens, webhooks)

    groups = (*setup.COMMANDS, schools.school, *pki.COMMANDS, *enroll.COMMANDS, *asm.COMMANDS, admin.admin, tokens.token,
              audit.audit)
    for group_or_command in (*groups, *policy.COMMANDS, *apps.COMMANDS, devices.device, commands.command, rosters.roster,
                             webhooks.webhook, run.run, *google.COMMANDS):
        main.add_command(group_or_command)
    from app.cli import updates

    main.add_command(updates.updates_group)


_register()
