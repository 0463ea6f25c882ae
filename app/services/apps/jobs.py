"""The scheduler's app jobs: the licence worker, syncs, token expiry, and asking devices how installs went."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
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

#: An install still in progress at the last report is asked about again after this long.
IN_PROGRESS_RECHECK = dt.timedelta(minutes=10)
#: Devices holding Flokk's licences report their managed apps at least this often.
DAILY = dt.timedelta(days=1)
_LIMIT = 5000


def refresh_app_states(session: Session) -> int:
    """Queue ManagedApplicationList for devices whose installs were in progress, or whose report is a day old."""
    now = utcnow()
    busy = select(DeviceApp.device_id).where(DeviceApp.managed.is_(True), DeviceApp.status.in_(sorted(IN_PROGRESS)),
                                             DeviceApp.reported_at < now - IN_PROGRESS_RECHECK)
    holders = select(AppLicence.device_id).where(AppLicence.device_id.is_not(None),
                                                 AppLicence.state == LicenceState.ASSOCIATED)
    fresh = select(DeviceAppReport.device_id).where(DeviceAppReport.managed_reported_at >= now - DAILY)
    asking = (select(AppDelivery.device_id).join(Command, Command.uuid == AppDelivery.command_uuid)
              .where(AppDelivery.action == "query",
                     Command.status.in_((CommandStatus.QUEUED, CommandStatus.SENT, CommandStatus.NOT_NOW))))
    wanted = set(session.scalars(busy.distinct())) | (set(session.scalars(holders.distinct())) - set(session.scalars(fresh)))
    wanted -= set(session.scalars(asking))
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
        Job("apps.refresh_install_state", refresh_app_states, seconds=600),
        Job("apps.token_expiry", connection.warn_before_expiry, seconds=24 * 3600),
    ]
