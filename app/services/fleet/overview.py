"""The fleet at a glance (the dashboard's front page): devices by state, OS versions, when devices last
checked in, commands waiting or failed, per school for central IT. Every count goes through the tenancy
choke point (``access.scoped``): an ICT contact's overview is their own school's.

Flokk keeps each device's last check-in, not a history of check-ins: the 30-day chart counts devices by
the day they last checked in (a device that checks in daily counts on today).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import case, distinct, func
from sqlalchemy.orm import Session

from app.models.base import utcnow
from app.models.commands import OPEN_STATUSES, Command, CommandStatus
from app.models.devices import Device, EnrollmentState
from app.services.access import Principal, scoped
from app.services.fleet.devices import version_key
from app.services.fleet.schools import get_school_by_code

DAYS = 30
#: OS versions named in the chart; the rest are added up as "other".
TOP_VERSIONS = 8


@dataclass(frozen=True)
class SchoolRow:
    school_id: int
    devices: int
    enrolled: int
    not_seen_30: int


@dataclass(frozen=True)
class Overview:
    total: int = 0
    enrolled: int = 0
    pending: int = 0
    unenrolled: int = 0
    not_seen_7: int = 0
    not_seen_30: int = 0
    never_seen: int = 0
    with_open_commands: int = 0
    failed_commands_30: int = 0
    os_versions: list[tuple[str, int]] = field(default_factory=list)
    #: (day, devices whose last check-in was that day), oldest first, ``DAYS`` days ending today.
    last_seen_days: list[tuple[dt.date, int]] = field(default_factory=list)
    schools: list[SchoolRow] = field(default_factory=list)


def overview(session: Session, principal: Principal, *, school_code: str | None = None,
             now: dt.datetime | None = None) -> Overview:
    moment = now or utcnow()
    devices = scoped(Device, principal)
    commands = scoped(Command, principal)
    if school_code is not None:
        school_id = get_school_by_code(session, principal, school_code).id
        devices = devices.where(Device.school_id == school_id)
        commands = commands.where(Command.school_id == school_id)
    week, month = moment - dt.timedelta(days=7), moment - dt.timedelta(days=DAYS)
    enrolled = Device.enrollment_state == EnrollmentState.ENROLLED

    def count_if(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    counts = session.execute(devices.with_only_columns(
        func.count(),
        count_if(enrolled),
        count_if(Device.enrollment_state == EnrollmentState.PENDING),
        count_if(Device.enrollment_state == EnrollmentState.UNENROLLED),
        count_if(enrolled & ((Device.last_seen_at < week) | Device.last_seen_at.is_(None))),
        count_if(enrolled & ((Device.last_seen_at < month) | Device.last_seen_at.is_(None))),
        count_if(Device.last_seen_at.is_(None)),
        maintain_column_froms=True,
    )).one()
    versions = session.execute(devices.with_only_columns(Device.os_version, func.count(), maintain_column_froms=True)
                               .where(Device.os_version.is_not(None)).group_by(Device.os_version)).all()
    ranked = sorted(((version, count) for version, count in versions), key=lambda item: (-item[1], version_key(item[0])))
    shown = ranked[:TOP_VERSIONS]
    if len(ranked) > TOP_VERSIONS:
        shown.append(("", sum(count for _version, count in ranked[TOP_VERSIONS:])))  # "" = other versions

    day = func.date(Device.last_seen_at)
    by_day = {str(found): count for found, count in session.execute(
        devices.with_only_columns(day, func.count(), maintain_column_froms=True)
        .where(Device.last_seen_at >= month).group_by(day))}
    today = moment.date()
    days = [today - dt.timedelta(days=offset) for offset in range(DAYS - 1, -1, -1)]

    open_devices = session.scalar(commands.with_only_columns(func.count(distinct(Command.device_id)))
                                  .where(Command.status.in_(OPEN_STATUSES))) or 0
    failed = session.scalar(commands.with_only_columns(func.count())
                            .where(Command.status == CommandStatus.ERROR, Command.completed_at >= month)) or 0

    per_school = [SchoolRow(school_id, total, enrolled_count, stale) for school_id, total, enrolled_count, stale in session.execute(
        devices.with_only_columns(Device.school_id, func.count(), count_if(enrolled),
                                  count_if(enrolled & ((Device.last_seen_at < month) | Device.last_seen_at.is_(None))))
        .group_by(Device.school_id))]
    return Overview(
        total=counts[0], enrolled=counts[1], pending=counts[2], unenrolled=counts[3], not_seen_7=counts[4],
        not_seen_30=counts[5], never_seen=counts[6], with_open_commands=open_devices, failed_commands_30=failed,
        os_versions=shown, last_seen_days=[(each, by_day.get(each.isoformat(), 0)) for each in days], schools=per_school,
    )
