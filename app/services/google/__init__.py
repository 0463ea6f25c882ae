"""Chromebooks through Google: one fleet, one policy, one command history with the iPads.

Central IT connects the organisation's Google Workspace for Education
domain (``connection``), maps schools and groups to organisational units
(``org_units``); Flokk then keeps the Chromebooks in the device table
(``inventory``: paged, resumable sync), sends their commands through Google
(``commands``), moves them between units when they change school or group
(``moves``) and applies each unit's Chrome policy, locks at the parent unit,
reading back what Google resolves to find drift (``policy``). ``jobs`` runs
it all from the scheduler.

This module holds what every part needs: the connection of an
organisation, a signed-in client for it, and Google's errors in Flokk's
terms.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import context
from app.errors import FlokkError, InvalidInput, NotReady
from app.models.google import GoogleConnection
from mdm_protocol.google import errors
from mdm_protocol.google.client import GoogleClient
from mdm_protocol.google.keys import parse_key
from mdm_protocol.google.transport import RetryPolicy

#: The secrets box label of the sealed service account key.
KEY_LABEL = "google-service-account-key"


class GoogleUnavailable(FlokkError):
    """Google could not answer now (quota, outage); the action can be tried again later."""

    status = 503
    code = "google_unavailable"


def retry_policy() -> RetryPolicy:
    """How hard a client tries before giving up (tests make it quick)."""
    return RetryPolicy()


def connection_of(session: Session, organisation_id: int) -> GoogleConnection | None:
    return session.scalar(select(GoogleConnection).where(GoogleConnection.organisation_id == organisation_id))


def require_connection(session: Session, organisation_id: int) -> GoogleConnection:
    found = connection_of(session, organisation_id)
    if found is None:
        raise NotReady("no Google domain is connected yet: `flokk google connect KEY.json --admin EMAIL`")
    return found


def client_for(session: Session, connection: GoogleConnection) -> GoogleClient:
    """A client signed in with the connection's sealed key, acting as its admin."""
    ctx = context(session)
    key = parse_key(ctx.secrets.open(connection.sealed_key, label=KEY_LABEL), checked=True)
    return GoogleClient(
        key,
        connection.admin_email,
        customer=connection.customer_id,
        admin_url=ctx.settings.google_admin_url,
        policy_url=ctx.settings.google_policy_url,
        retry=retry_policy(),
    )


def refused(error: errors.GoogleError, what: str) -> FlokkError:
    """Google's error as Flokk's: try-later for quota and outages, a clear refusal otherwise."""
    if error.retryable:
        return GoogleUnavailable(f"{what}: {error.message}; try again later")
    return InvalidInput(f"{what}: {error.message}")
