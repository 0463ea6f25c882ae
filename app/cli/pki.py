"""`flokk ca ...` and `flokk apns ...`: Flokk's CA, issued certificates and the Apple push certificate."""

from __future__ import annotations

from pathlib import Path

import click

from app.cli import CliState, pass_state, print_table
from app.errors import InvalidInput
from app.services.pki import certificate_authority, certificates, push_certificates

_file = click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)


def _read(path: Path, what: str, limit: int = 1024 * 1024) -> bytes:
    data = path.read_bytes()
    if len(data) > limit:
        raise InvalidInput(f"the {what} file {path} is too large to be a certificate or key")
    return data


def _password(path: Path | None) -> bytes | None:
    if path is None:
        return None
    return _read(path, "password").rstrip(b"\r\n")


@click.group()
def ca() -> None:
    """Flokk's certificate authority and the certificates it issued."""


@ca.command("show")
@click.option("--pem", is_flag=True, help="Print the CA certificate (PEM) instead.")
@pass_state
def ca_show(state: CliState, pem: bool) -> None:
    """Subject, fingerprint and expiry of the CA."""
    with state.unit_of_work() as session:
        summary = certificate_authority.summary(session, state.principal)
    if pem:
        click.echo(summary.certificate_pem.rstrip())
        return
    click.echo(f"Subject:      {summary.subject}")
    click.echo(f"SHA-256:      {summary.fingerprint}")
    click.echo(f"Valid until:  {summary.not_after}")
    click.echo(f"Origin:       {summary.origin}")


@ca.command("import")
@click.argument("certificate", type=_file)
@click.argument("key", type=_file)
@click.option("--key-password-file", type=_file, help="File holding the key's password, if it is encrypted.")
@click.option("--replace", is_flag=True, help="Retire the current CA (its certificates stay valid until they expire).")
@pass_state
def ca_import(state: CliState, certificate: Path, key: Path, key_password_file: Path | None, replace: bool) -> None:
    """Use your own CA (PEM or DER certificate, PEM key) instead of the generated one."""
    with state.unit_of_work() as session:
        record = certificate_authority.import_ca(
            session,
            state.principal,
            _read(certificate, "certificate"),
            _read(key, "key"),
            password=_password(key_password_file),
            replace=replace,
        )
        click.echo(f"Imported CA {record.subject} (valid until {record.not_after:%Y-%m-%d}).")


@ca.command("certificates")
@click.option("--school", help="Only this school's certificates (its code).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def ca_certificates(state: CliState, school: str | None, as_json: bool) -> None:
    """Certificates the CA issued, with their school, device and state."""
    with state.unit_of_work() as session:
        rows = [
            {
                "serial": item.serial,
                "school": item.school.code,
                "device_id": item.device_id,
                "subject": item.subject,
                "not_after": item.not_after.strftime("%Y-%m-%d"),
                "state": "revoked" if item.revoked_at else "valid",
            }
            for item in certificates.list_issued(session, state.principal, school_code=school)
        ]
    print_table(rows, ["serial", "school", "device_id", "not_after", "state", "subject"], as_json)


@ca.command("revoke")
@click.argument("serial")
@click.option("--reason", required=True, help="Why (kept in the audit log).")
@pass_state
def ca_revoke(state: CliState, serial: str, reason: str) -> None:
    """Revoke a certificate: the device holding it can no longer check in."""
    with state.unit_of_work() as session:
        record = certificates.revoke(session, state.principal, serial, reason=reason)
        click.echo(f"Revoked certificate {record.serial}.")


@click.group()
def apns() -> None:
    """The Apple push certificate (APNs) Flokk wakes devices with."""


@apns.command("import")
@click.argument("certificate", type=_file)
@click.argument("key", type=_file)
@click.option("--key-password-file", type=_file, help="File holding the key's password, if it is encrypted.")
@click.option("--new-topic", is_flag=True, help="Accept a certificate with another topic (every device must enrol again).")
@pass_state
def apns_import(state: CliState, certificate: Path, key: Path, key_password_file: Path | None, new_topic: bool) -> None:
    """Store the MDM push certificate from identity.apple.com and its private key (encrypted at rest)."""
    with state.unit_of_work() as session:
        record = push_certificates.import_push_certificate(
            session,
            state.principal,
            _read(certificate, "certificate"),
            _read(key, "key"),
            password=_password(key_password_file),
            allow_new_topic=new_topic,
        )
        click.echo(f"Imported the push certificate for topic {record.topic} (valid until {record.not_after:%Y-%m-%d}).")


@apns.command("show")
@pass_state
def apns_show(state: CliState) -> None:
    """Topic and expiry of the push certificate in use."""
    with state.unit_of_work() as session:
        summary = push_certificates.summary(session, state.principal)
    click.echo(f"Topic:        {summary.topic}")
    click.echo(f"Subject:      {summary.subject}")
    click.echo(f"SHA-256:      {summary.fingerprint}")
    warning = " (EXPIRED)" if summary.expired else " (renew soon)" if summary.expires_soon else ""
    click.echo(f"Valid until:  {summary.not_after:%Y-%m-%d}{warning}")


COMMANDS = (ca, apns)
