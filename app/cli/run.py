"""`flokk run`: the web server and the scheduler together, for a trial or a single machine.

Both run as child processes (`flokk serve`, `flokk scheduler`); Ctrl-C (or
SIGTERM) stops both, and when one of them stops the other is stopped too.
Production runs them separately: N `flokk serve` nodes and exactly one
scheduler (README, Production).
"""

from __future__ import annotations

import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

import click
from sqlalchemy import select

from app import migrate
from app.cli import CliState, pass_state
from app.errors import FlokkError

STARTUP_SECONDS = 60


@click.command("run")
@click.option("--bind", default="127.0.0.1:8443", show_default=True,
              help="Address and port of the web server (only this machine by default).")
@pass_state
def run(state: CliState, bind: str) -> None:
    """Start the web server and the scheduler together; Ctrl-C stops both."""
    state.create_secret = True
    state.settings  # noqa: B018 - validates the settings (and makes the secret key) before anything starts
    if not migrate.is_up_to_date(state.db.engine):
        raise FlokkError("the database schema is not up to date: run `flokk init` first")
    admin_email = _first_admin(state)
    state.db.dispose()
    command = [sys.executable, "-m", "app.cli"]
    children = [
        subprocess.Popen([*command, "serve", "--bind", bind]),
        subprocess.Popen([*command, "scheduler"]),
    ]
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host, _, port = bind.rpartition(":")
    address = f"https://{'localhost' if host in ('127.0.0.1', '0.0.0.0', '', '[::]', '[::1]') else host}:{port}"
    if _wait_until_up(address, children, lambda: stopping):
        click.echo("")
        click.echo(f"Flokk is running at {address}  (web server and scheduler; Ctrl-C stops both)")
        if admin_email:
            click.echo(f"  Sign in as {admin_email} with the one-time password `flokk init` printed the first time")
            click.echo(f"  (lost it? .venv/bin/flokk admin reset-password {admin_email}).")
        click.echo("  The browser warns about the self-signed certificate the first time: accept it for this trial.")
        click.echo("  The command line: .venv/bin/flokk --help (or `. .venv/bin/activate` first, then flokk ...).")
        click.echo("")
    code = _supervise(children, lambda: stopping)
    sys.exit(code)


def _first_admin(state: CliState) -> str | None:
    from app.models.accounts import AdminUser

    with state.unit_of_work() as session:
        return session.scalar(select(AdminUser.email).where(AdminUser.is_active.is_(True)).order_by(AdminUser.id).limit(1))


def _wait_until_up(address: str, children: list[subprocess.Popen], stopping) -> bool:
    unverified = ssl.create_default_context()
    unverified.check_hostname, unverified.verify_mode = False, ssl.CERT_NONE  # our own, just generated
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline and not stopping() and all(child.poll() is None for child in children):
        try:
            with urllib.request.urlopen(f"{address}/healthz", context=unverified, timeout=2):
                return True
        except (OSError, urllib.error.URLError):
            time.sleep(0.3)
    return False


def _supervise(children: list[subprocess.Popen], stopping) -> int:
    """Wait until asked to stop or one child ends; then stop the others. Returns the exit code."""
    code = 0
    while not stopping():
        ended = [child for child in children if child.poll() is not None]
        if ended:
            code = ended[0].returncode or 0
            click.echo(f"Error: {'the web server' if ended[0] is children[0] else 'the scheduler'} stopped "
                       f"(exit code {code}); stopping the other", err=True)
            code = code or 1
            break
        time.sleep(0.2)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return code


