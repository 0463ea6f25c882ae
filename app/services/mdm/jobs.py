"""The MDM scheduler jobs: expire old commands, push again, refresh inventory daily (less for
devices that report by themselves), purge finished commands after the retention period, forget
signatures older than the replay window.

Each job is one bounded unit of work and safe while gunicorn workers serve
devices: expiry and inventory changes are single conditional statements that
only touch rows still in the state they expect, and the scheduler runs them
in its one process (``flokk scheduler``).
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.orm import Session

from app.db import context
from app.errors import NotReady
from app.models.base import utcnow
from app.models.commands import FINAL_STATUSES, OPEN_STATUSES, Command, CommandStatus
from app.models.devices import Device, EnrollmentState, Platform, SeenSignature
from app.scheduler import Job
from app.services import audit
from app.services.access import system_principal
from app.services.bulk import id_in
from app.services.declarations import status as declaration_status
from app.services.mdm import commands as command_queue
from app.services.mdm import push
from app.services.mdm.store import REPLAY_WINDOW
from mdm_protocol import commands as mdm_commands
from mdm_protocol.declarative import command as declarative_command

log = logging.getLogger("flokk.scheduler")

INVENTORY_INTERVAL = dt.timedelta(days=1)
#: Devices given a fresh inventory per run; the hourly job spreads a city's fleet over the day.
INVENTORY_BATCH = 10_000
_APPLE = (Platform.IPADOS, Platform.IOS, Platform.MACOS)
#: Finished commands deleted per statement, and at most per run (short transactions, bounded work).
PURGE_BATCH = 10_000
PURGE_MAX_PER_RUN = 500_000


def expire_commands(session: Session, *, now: dt.datetime | None = None) -> int:
    """Mark commands whose time ran out before the device answered as expired."""
    now = now or utcnow()
    result = session.execute(
        update(Command)
        .where(Command.status.in_(OPEN_STATUSES), Command.expires_at.is_not(None), Command.expires_at <= now)
        .values(status=CommandStatus.EXPIRED, completed_at=now)
        .execution_options(synchronize_session=False)
    )
    count = result.rowcount or 0
    if count:
        log.info("expired %d command(s)", count)
    return count


def push_waiting_devices(session: Session, *, now: dt.datetime | None = None) -> push.PushReport:
    """Push again the devices that have queued commands and have not connected since."""
    due = push.due_for_push(session, now=now)
    if not due:
        return push.PushReport()
    try:
        return push.wake(session, due)
    except NotReady as error:  # no push certificate yet: nothing to do until central IT imports one
        log.warning("%d device(s) wait for a push: %s", len(due), error.message)
        return push.PushReport(skipped=len(due))


def refresh_inventory(session: Session, *, now: dt.datetime | None = None, limit: int = INVENTORY_BATCH) -> int:
    """Queue the inventory queries for enrolled iPads not asked in the last day (pushed by the next job)."""
    now = now or utcnow()
    recent = exists().where(
        Command.device_id == Device.id,
        Command.request_type == "DeviceInformation",
        Command.device_user_id.is_(None),
        or_(Command.created_at > now - INVENTORY_INTERVAL, Command.status.in_(OPEN_STATUSES)),
    )
    device_ids = list(
        session.scalars(
            select(Device.id)
            .where(Device.enrollment_state == EnrollmentState.ENROLLED, Device.platform.in_(_APPLE), ~recent)
            .order_by(Device.id)
            .limit(limit)
        )
    )
    if not device_ids:
        return 0
    # Devices that report by themselves (declarative status) are asked only what they do not report.
    reporting = declaration_status.reporting(session, device_ids, since=now - 2 * INVENTORY_INTERVAL)
    batches: dict[tuple[str, str] | None, list[int]] = {}
    for device_id in device_ids:
        batches.setdefault(reporting.get(device_id), []).append(device_id)
    for facts, ids in batches.items():
        items = declarative_command.inventory_commands(*facts) if facts else mdm_commands.initial_inventory()
        command_queue.enqueue_commands(session, system_principal("inventory"), ids, items)
    push.reset_backoff(session, device_ids)
    log.info("queued the daily inventory for %d device(s) (%d reporting by themselves)", len(device_ids), len(reporting))
    return len(device_ids)


def purge_finished_commands(session: Session, *, now: dt.datetime | None = None) -> int:
    """Delete finished commands (with their bodies and results) older than the retention period.

    A city's daily inventory alone queues four commands per iPad per day; kept
    for ever, their answers would grow the database by gigabytes a month. What
    a command changed lives on in the device's inventory and the audit log.
    """
    now = now or utcnow()
    cutoff = now - dt.timedelta(days=context(session).settings.command_retention_days)
    deleted = 0
    while deleted < PURGE_MAX_PER_RUN:
        ids = list(
            session.scalars(
                select(Command.id)
                .where(Command.completed_at < cutoff, Command.status.in_(FINAL_STATUSES))
                .order_by(Command.completed_at)
                .limit(PURGE_BATCH)
            )
        )
        if not ids:
            break
        session.execute(delete(Command).where(id_in(session, Command.id, ids)).execution_options(synchronize_session=False))
        deleted += len(ids)
    if deleted:
        log.info("deleted %d finished command(s) older than %s", deleted, cutoff.date())
        audit.record(session, "system:command-retention", "command.purge",
                     details={"deleted": deleted, "before": cutoff.isoformat()})
    return deleted


def forget_old_signatures(session: Session, *, now: dt.datetime | None = None) -> int:
    """Delete the signatures seen longer ago than the replay window (the check ignores them anyway)."""
    cutoff = (now or utcnow()) - REPLAY_WINDOW
    result = session.execute(delete(SeenSignature).where(SeenSignature.seen_at < cutoff))
    return result.rowcount or 0


def jobs() -> list[Job]:
    return [
        Job("mdm.expire_commands", expire_commands, seconds=300),
        Job("mdm.forget_old_signatures", forget_old_signatures, seconds=600),
        Job("mdm.purge_finished_commands", purge_finished_commands, seconds=6 * 3600),
        Job("mdm.push_waiting_devices", push_waiting_devices, seconds=60),
        Job("mdm.refresh_inventory", refresh_inventory, seconds=3600),
    ]

