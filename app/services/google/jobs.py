"""The Chromebook scheduler jobs: sync the inventory, send and follow commands, apply policy.

Each job is a no-op for an organisation without a Google connection. A
sync commits after every page (the job is its boundary), so stopping the
scheduler in the middle leaves a cursor the next run resumes from. Google's
failures are logged and retried at the next run; they never stop the
scheduler.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import db
from app.errors import FlokkError
from app.models.google import GoogleConnection
from app.models.tenancy import Organisation
from app.scheduler import Job
from app.services.access import system_principal
from app.services.google import commands, inventory, policy

log = logging.getLogger("flokk.scheduler")

#: An incremental sync at least this often (a full one daily, see ``inventory.FULL_EVERY``).
SYNC_EVERY = dt.timedelta(minutes=15)


def _connected(session: Session) -> list[tuple[GoogleConnection, str]]:
    return list(session.execute(select(GoogleConnection, Organisation.name)
                                .join(Organisation, Organisation.id == GoogleConnection.organisation_id)).tuples())


def sync_inventory(session: Session) -> int:
    """Sync each connected domain that asked for it, was interrupted, or is due."""
    synced = 0
    for connection, organisation in _connected(session):
        if not inventory.sync_due(connection, SYNC_EVERY):
            continue
        try:
            report = inventory.sync(session, system_principal("google"), organisation=organisation,
                                    checkpoint=lambda: db.commit(session))
        except FlokkError as error:
            log.warning("Chromebook sync of %s: %s", organisation, error.message)
            continue
        log.info("Chromebook sync of %s: %s", organisation, report.summary())
        synced += report.seen
    return synced


def follow_commands(session: Session) -> int:
    """Send what is still queued, then ask Google about what was sent."""
    issued = commands.issue_queued(session)
    polled = commands.poll(session)
    if issued or polled:
        log.info("Chromebook commands: sent %s, followed %s", dict(issued), dict(polled))
    return sum(issued.values()) + sum(polled.values())


def apply_policy(session: Session) -> int:
    """Send each organisation's changed Chrome policy and read back drift."""
    changes = 0
    for _, organisation in _connected(session):
        try:
            report = policy.apply(session, system_principal("google"), organisation=organisation)
        except FlokkError as error:
            log.warning("Chrome policy of %s: %s", organisation, error.message)
            continue
        changes += report.changes
    return changes


def jobs() -> list[Job]:
    return [
        Job("google.sync_inventory", sync_inventory, seconds=300),
        Job("google.follow_commands", follow_commands, seconds=60),
        Job("google.apply_policy", apply_policy, seconds=600),
    ]
