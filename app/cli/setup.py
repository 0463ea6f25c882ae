"""`flokk init`, `flokk db ...`, `flokk serve`, `flokk scheduler`."""

from __future__ import annotations

import click

from app import migrate
from app.cli import CliState, pass_state
from app.errors import FlokkError
from app.services import setup


@click.command()
@click.option("--organisation", default="Flokk", show_default=True, help="Name of the organisation (municipality).")
@click.option("--admin-email", default="admin@localhost", show_default=True, help="Sign-in of the first central admin.")
@pass_state
def init(state: CliState, organisation: str, admin_email: str) -> None:
    """Migrate the database and create what a new Flokk needs. Safe to run again."""
    state.create_secret = True
    migrate.upgrade(state.db.engine)
    with state.unit_of_work() as session:
        report = setup.initialise(session, state.principal, organisation=organisation, admin_email=admin_email)
    for line in report.lines:
        click.echo(line)
    if report.admin_password:
        click.echo("")
        click.echo(f"  Sign in as:          {report.admin_email}")
        click.echo(f"  One-time password:   {report.admin_password}")
        click.echo("  (shown only now; you will be asked to choose a new one)")
    click.echo("Flokk is initialised.")


@click.group()
def db() -> None:
    """Database schema migrations."""


@db.command()
@pass_state
def upgrade(state: CliState) -> None:
    """Bring the database schema up to date."""
    before = migrate.current_revision(state.db.engine)
    migrate.upgrade(state.db.engine)
    after = migrate.current_revision(state.db.engine)
    click.echo(f"Database at revision {after}" + (" (already up to date)" if before == after else f" (was {before or 'empty'})"))


@db.command()
@pass_state
def current(state: CliState) -> None:
    """Show the database's schema revision."""
    click.echo(migrate.current_revision(state.db.engine) or "empty")


@db.command()
@click.option("-m", "--message", required=True, help="What the migration changes.")
@pass_state
def revision(state: CliState, message: str) -> None:
    """(Developers) write a migration from the difference between models and database."""
    migrate.revision(state.db.engine, message)


@click.command()
@click.option("--bind", default="127.0.0.1:8443", show_default=True,
              help="Address and port to listen on; only this machine by default (production: e.g. 0.0.0.0:8443).")
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="Worker processes [default: one per core, 2 to 8].")
@click.option("--threads", type=click.IntRange(1, 64), default=4, show_default=True, help="Threads per worker.")
@click.option("--no-tls", is_flag=True, help="Plain HTTP, for running behind a TLS-terminating proxy.")
@pass_state
def serve(state: CliState, bind: str, workers: int | None, threads: int, no_tls: bool) -> None:
    """Serve Flokk with gunicorn (HTTPS with a generated certificate unless one is configured)."""
    from app.server import default_workers
    from app.server import serve as run_server
    from app.tls import tls_files

    state.create_secret = True
    settings = state.settings
    if not migrate.is_up_to_date(state.db.engine):
        raise FlokkError("the database schema is not up to date: run `flokk init` (or `flokk db upgrade`) first")
    issuer = None if no_tls else _flokk_ca(state)
    state.db.dispose()
    certfile = keyfile = None
    if not no_tls:
        cert, key, generated = tls_files(settings, issuer=issuer)
        certfile, keyfile = str(cert), str(key)
        if generated:
            kind = "issued by Flokk's CA" if issuer is not None else "self-signed"
            click.echo(f"Using the generated TLS certificate ({kind}) in {cert}", err=True)
    click.echo(f"Flokk listening on {'http' if no_tls else 'https'}://{bind}", err=True)
    run_server(settings, bind=bind, workers=workers or default_workers(), threads=threads, certfile=certfile, keyfile=keyfile)


def _flokk_ca(state: CliState):
    """Flokk's CA, to issue the generated TLS certificate (None before `flokk init` made one)."""
    from app.services.pki import certificate_authority

    with state.unit_of_work() as session:
        if certificate_authority.active_record(session) is None:
            return None
        return certificate_authority.load_ca(session)


@click.command()
@click.option("--metrics-bind", metavar="HOST:PORT", default=None,
              help="Serve the scheduler's own metrics (job runs, pushes, webhooks) at http://HOST:PORT/metrics, "
                   "with FLOKK_METRICS_TOKEN when set; bind an admin-only address.")
@pass_state
def scheduler(state: CliState, metrics_bind: str | None) -> None:
    """Run the periodic jobs (run exactly one of these per Flokk)."""
    import os

    from app.metrics import MULTIPROC_ENV
    from app.scheduler import run_scheduler, serve_metrics

    os.environ.pop(MULTIPROC_ENV, None)  # one process: its counters live in memory
    if metrics_bind:
        serve_metrics(metrics_bind, state.settings.metrics_token)
    run_scheduler(state.db)


COMMANDS = (init, db, serve, scheduler)
