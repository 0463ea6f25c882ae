"""The scheduler's app jobs: the licence worker, syncs, token expiry, and asking devices how installs went."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.models.apps import AppDelivery, AppLicence, DeviceApp, DeviceAppReport, LicenceState
from app.models.base import utcnow
from app.models.commands import Command, CommandStatus
from app.models.devices import Device, EnrollmentState
from app.services.access import system_principal
from app.services.apps import catalogue, connection, licences
from app.services.apps.stage import AppWork, Tally
from app.services.policy.situations import situations, situations_query
from profiles.apps import IN_PROGRESS

#: An install or removal the device acknowledged is asked about after this long (time to download).
AFTER_COMMAND = dt.timedelta(minutes=2)
#: An install still in progress at the last report is asked about again after this long.
IN_PROGRESS_RECHECK = dt.timedelta(minutes=10)
#: Devices holding Flokk's licences report their managed apps at least this often.
DAILY = dt.timedelta(days=1)
_LIMIT = 5000


def refresh_app_states(session: Session) -> int:
    """Queue ManagedApplicationList for devices that acknowledged an install or removal since their last
    report, whose installs were still in progress, or whose report is a day old while they hold licences."""
    now = utcnow()
    acknowledged = (
        select(AppDelivery.device_id)
        .join(Command, Command.uuid == AppDelivery.command_uuid)
        .outerjoin(DeviceAppReport, DeviceAppReport.device_id == AppDelivery.device_id)
        .where(AppDelivery.action.in_(("install", "remove")), Command.status == CommandStatus.ACKNOWLEDGED,
               Command.completed_at < now - AFTER_COMMAND,
               or_(DeviceAppReport.managed_reported_at.is_(None), Command.completed_at > DeviceAppReport.managed_reported_at))
    )
    busy = select(DeviceApp.device_id).where(DeviceApp.managed.is_(True), DeviceApp.status.in_(sorted(IN_PROGRESS)),
                                             DeviceApp.reported_at < now - IN_PROGRESS_RECHECK)
    holders = select(AppLicence.device_id).where(AppLicence.device_id.is_not(None),
                                                 AppLicence.state == LicenceState.ASSOCIATED)
    fresh = select(DeviceAppReport.device_id).where(DeviceAppReport.managed_reported_at >= now - DAILY)
    # A device with an app command (or this question) still open answers that first.
    asking = (select(AppDelivery.device_id).join(Command, Command.uuid == AppDelivery.command_uuid)
              .where(Command.status.in_((CommandStatus.QUEUED, CommandStatus.SENT, CommandStatus.NOT_NOW))))
    # ... or has just answered one (its download takes a moment).
    recent = (select(AppDelivery.device_id).join(Command, Command.uuid == AppDelivery.command_uuid)
              .where(AppDelivery.action.in_(("install", "remove")), Command.completed_at >= now - AFTER_COMMAND))
    wanted = set(session.scalars(acknowledged.distinct())) | set(session.scalars(busy.distinct()))
    wanted |= set(session.scalars(holders.distinct())) - set(session.scalars(fresh))
    wanted -= set(session.scalars(asking)) | set(session.scalars(recent))
    if not wanted:
        return 0
    chosen = sorted(wanted)[:_LIMIT]
    found = situations(session, situations_query().where(Device.id.in_(chosen),
                                                         Device.enrollment_state == EnrollmentState.ENROLLED))
    if not found:
        return 0
    tally = Tally()
    AppWork(queries=list(found)).carry_out(session, system_principal("apps"), tally)
    return tally.queued


def jobs() -> list:
    from app.scheduler import Job

    return [
        Job("apps.licences", licences.process, seconds=60),
        Job("apps.sync", catalogue.scheduled_sync, seconds=60),
        Job("apps.refresh_install_state", refresh_app_states, seconds=120),
        Job("apps.token_expiry", connection.warn_before_expiry, seconds=24 * 3600),
    ]
