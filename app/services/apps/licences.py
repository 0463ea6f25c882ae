"""The licence worker: assign and release Apps and Books licences in Apple's batch sizes, and follow the events.

The reconciler only records intent (a licence row ``wanted``, or
``releasing``); this worker talks to Apple, from the scheduler every minute
and after a sync:

1. licences of devices that left Flokk (unenrolled, removed) are released;
2. pending events are polled (not more often than every 30 seconds, as
   Apple asks; an event pending for 10 minutes is asked for again);
   finished ones move their rows on (associated, released, or wanted again
   with Apple's reason);
3. releases are sent, then associations, per app in batches of
   ``maxSerialNumbers`` (1,000). Only as many serial numbers as the app has
   free licences are sent; the rest wait with that reason and go out when
   licences are freed (a release, Apple's ASSET_COUNT notification, a sync).

Devices whose licences were just assigned are reconciled at once, so their
InstallApplication is queued without waiting for their next check-in.
Every step is written before the next: an interruption leaves rows in a
state the next run continues from.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.models.apps import AppAsset, AppLicence, AppsEvent, AppsToken, LicenceState
from app.models.base import utcnow
from app.models.devices import Device, EnrollmentState
from app.services import audit
from app.services.apps import connection
from app.services.bulk import id_in
from mdm_protocol.apps_and_books import AppsAndBooksClient, AppsAndBooksError, EventStatus, InvalidToken, RequestRefused
from mdm_protocol.apps_and_books.client import Failure

log = logging.getLogger("flokk.apps")

#: Apple: "wait at least 30 seconds between subsequent status queries" while an event is pending.
POLL_INTERVAL = dt.timedelta(seconds=30)
#: Apple: "If the status remains PENDING after 10 minutes, retry the request."
EVENT_TIMEOUT = dt.timedelta(minutes=10)
#: A refused association is tried again after this long (Apple's error is shown meanwhile).
RETRY_AFTER = dt.timedelta(minutes=15)
_CHUNK = 5000

Progress = Callable[[str], None]


@dataclass
class LicenceReport:
    requested: int = 0
    released: int = 0
    assigned: int = 0
    freed: int = 0
    failed: int = 0
    waiting: int = 0
    pending_events: int = 0
    requests: int = 0
    devices_reconciled: int = 0
    queued: int = 0
    errors: list[str] = field(default_factory=list)


def process(session: Session, *, progress: Progress | None = None, now: dt.datetime | None = None) -> LicenceReport:
    """One round for every usable token; safe to run at any time, from any process."""
    say = progress or (lambda text: None)
    now = now or utcnow()
    report = LicenceReport()
    ready: set[int] = set()
    for token in list(session.scalars(select(AppsToken).order_by(AppsToken.id))):
        if token.foreign_mdm or token.expires_at <= now:
            continue
        client = connection.client_for(session, token)
        try:
            _release_retired(session, token)
            ready |= _poll(session, token, client, report, now)
            created = _send(session, token, client, report, now, LicenceState.RELEASING)
            created += _send(session, token, client, report, now, LicenceState.ASSOCIATING)
            ready |= _poll(session, token, client, report, now, only=created)
        except AppsAndBooksError as error:
            token.last_error = f"licences: {error}"[:500]
            report.errors.append(str(error))
            log.warning("Apps and Books licence round stopped: %s", error)
        report.requests += client.requests
        connection.still_ours(session, token, client)
        report.pending_events += session.query(AppsEvent).filter(AppsEvent.token_id == token.id,
                                                                  AppsEvent.status == "PENDING").count()
    if report.requested or report.released or report.assigned or report.freed or report.failed:
        say(f"asked Apple to assign {report.requested} and release {report.released} licence(s)")
        audit.record(session, "system:apps", "apps.licences", details={
            "requested": report.requested, "released": report.released, "assigned": report.assigned,
            "freed": report.freed, "failed": report.failed, "waiting": report.waiting})
    if report.waiting:
        say(f"{report.waiting} licence(s) wait for a free licence")
    if ready:
        from app.services.access import system_principal
        from app.services.apps.stage import reconcile_devices

        reconciled = reconcile_devices(session, system_principal("apps"), sorted(ready))
        report.devices_reconciled, report.queued = reconciled.devices, reconciled.queued
        say(f"{report.assigned} licence(s) assigned: {reconciled.queued} command(s) queued for {reconciled.devices} device(s)")
    return report


def _release_retired(session: Session, token: AppsToken) -> None:
    """Devices that left Flokk give their licences back; wanted ones are simply dropped."""
    retired = select(Device.id).where(Device.enrollment_state == EnrollmentState.UNENROLLED)
    session.execute(delete(AppLicence).where(AppLicence.token_id == token.id, AppLicence.state == LicenceState.WANTED,
                                             AppLicence.device_id.in_(retired)))
    session.execute(
        update(AppLicence)
        .where(AppLicence.token_id == token.id, AppLicence.state == LicenceState.ASSOCIATED, AppLicence.device_id.in_(retired))
        .values(state=LicenceState.RELEASING, event_id=None, reason="the device left Flokk", updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def _poll(session: Session, token: AppsToken, client: AppsAndBooksClient, report: LicenceReport, now: dt.datetime,
          only: Sequence[str] | None = None) -> set[int]:
    statement = select(AppsEvent).where(AppsEvent.token_id == token.id, AppsEvent.status == "PENDING")
    if only is not None:
        if not only:
            return set()
        statement = statement.where(AppsEvent.event_id.in_(list(only)))
    ready: set[int] = set()
    for event in session.scalars(statement.order_by(AppsEvent.created_at)):
        if only is None and event.checked_at is not None and now - event.checked_at < POLL_INTERVAL:
            continue
        event.checked_at = now
        try:
            status = client.event_status(event.event_id)
        except RequestRefused as error:  # 9708: Apple does not know the event (any more): ask again
            _give_up(session, event, f"Apple lost the request ({error}); asking again", now)
            continue
        if not status.finished:
            if now - event.created_at > EVENT_TIMEOUT:
                _give_up(session, event, "Apple did not finish the request in 10 minutes; asking again", now)
            continue
        ready |= apply_status(session, event, status, now, report)
    return ready


def apply_status(session: Session, event: AppsEvent, status: EventStatus, now: dt.datetime,
                 report: LicenceReport | None = None) -> set[int]:
    """Move the event's licence rows on: done, or waiting again with Apple's reason. Returns device ids done."""
    report = report or LicenceReport()
    failed_serials: dict[str, Failure] = {}
    for failure in status.failures:
        for serial in failure.serial_numbers:
            failed_serials[serial] = failure
    everything_failed = status.status == "FAILED" and not failed_serials
    general = status.failures[0] if status.failures else Failure(None, "Apple reported the request as failed")
    rows = session.execute(select(AppLicence.id, AppLicence.serial_number, AppLicence.device_id)
                           .where(AppLicence.event_id == event.event_id)).all()
    asset = session.scalar(select(AppAsset).where(AppAsset.token_id == event.token_id, AppAsset.adam_id == event.adam_id,
                                                  AppAsset.pricing_param == event.pricing_param))
    done: set[int] = set()
    associate = event.kind == "ASSOCIATE"
    failed_rows = [row for row in rows if everything_failed or row.serial_number in failed_serials]
    ok_ids = [row.id for row in rows if not (everything_failed or row.serial_number in failed_serials)]
    for row in failed_rows:
        failure = failed_serials.get(row.serial_number, general)
        _set(session, [row.id], event_id=None, reason=_reason(failure, asset), updated_at=now,
             state=LicenceState.WANTED if associate else LicenceState.RELEASING,
             next_attempt_at=None if failure.number == 9709 else now + RETRY_AFTER)
    if associate:
        # Failed rows no longer carry the event: the rest are done, in one statement.
        session.execute(update(AppLicence).where(AppLicence.event_id == event.event_id)
                        .values(state=LicenceState.ASSOCIATED, event_id=None, reason=None, next_attempt_at=None,
                                updated_at=now).execution_options(synchronize_session=False))
        report.assigned += len(ok_ids)
        report.failed += len(failed_rows)
        if asset is not None:
            asset.available_count += len(failed_rows)  # counted as taken when sent
            asset.assigned_count += len(ok_ids)
    else:
        session.execute(delete(AppLicence).where(AppLicence.event_id == event.event_id))
        report.freed += len(ok_ids)
        if asset is not None:
            asset.available_count += len(ok_ids)
            asset.assigned_count = max(0, asset.assigned_count - len(ok_ids))
    succeeded = set(ok_ids)
    done |= {row.device_id for row in rows if row.id in succeeded and row.device_id is not None}
    event.status = status.status
    event.finished_at = now
    event.failures = [{"errorNumber": item.number, "errorMessage": item.message} for item in status.failures] or None
    return done


def _reason(failure: Failure, asset: AppAsset | None) -> str:
    if failure.number == 9709:
        return _no_free_licence(asset)
    return f"Apple: {failure.message}" + (f" (error {failure.number})" if failure.number else "")


def _no_free_licence(asset: AppAsset | None) -> str:
    name = asset.name if asset else "the app"
    total = f"all {asset.total_count} licences" if asset else "every licence"
    return f"no free licence: {total} of {name} are in use; buy more in Apple School Manager or free some"


def _give_up(session: Session, event: AppsEvent, reason: str, now: dt.datetime) -> None:
    """Forget an event Apple does not finish: its rows are sent again in this or the next round."""
    state = LicenceState.WANTED if event.kind == "ASSOCIATE" else LicenceState.RELEASING
    session.execute(update(AppLicence).where(AppLicence.event_id == event.event_id)
                    .values(state=state, event_id=None, reason=reason, updated_at=now)
                    .execution_options(synchronize_session=False))
    if event.kind == "ASSOCIATE":
        asset = session.scalar(select(AppAsset).where(AppAsset.token_id == event.token_id, AppAsset.adam_id == event.adam_id,
                                                      AppAsset.pricing_param == event.pricing_param))
        if asset is not None:
            asset.available_count += event.requested
    event.status, event.finished_at = "ABANDONED", now


def _send(session: Session, token: AppsToken, client: AppsAndBooksClient, report: LicenceReport, now: dt.datetime,
          target: LicenceState) -> list[str]:
    """Send the waiting associations (``target`` ASSOCIATING) or releases (RELEASING); returns the new event ids."""
    associate = target is LicenceState.ASSOCIATING
    source = LicenceState.WANTED if associate else LicenceState.RELEASING
    statement = (
        select(AppLicence.id, AppLicence.adam_id, AppLicence.pricing_param, AppLicence.serial_number)
        .where(AppLicence.token_id == token.id, AppLicence.state == source, AppLicence.event_id.is_(None),
               (AppLicence.next_attempt_at.is_(None)) | (AppLicence.next_attempt_at <= now))
        .order_by(AppLicence.id)
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)  # a second worker (CLI) takes other rows
    groups: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
    for row_id, adam_id, pricing, serial in session.execute(statement):
        groups[(adam_id, pricing)].append((row_id, serial))
    assets = {(row.adam_id, row.pricing_param): row
              for row in session.scalars(select(AppAsset).where(AppAsset.token_id == token.id))}
    created: list[str] = []
    for (adam_id, pricing), rows in sorted(groups.items()):
        asset = assets.get((adam_id, pricing))
        if associate:
            rows = _within_free_licences(session, asset, rows, report, now)
        for start in range(0, len(rows), max(1, token.max_serial_numbers)):
            chunk = rows[start:start + token.max_serial_numbers]
            ids, serials = [row_id for row_id, _ in chunk], sorted({serial for _, serial in chunk})
            try:
                event = (client.associate if associate else client.disassociate)([(adam_id, pricing)], serials)
            except InvalidToken:
                raise
            except AppsAndBooksError as error:
                _set(session, ids, reason=f"Apple refused: {error}", next_attempt_at=now + RETRY_AFTER)
                report.errors.append(str(error))
                continue
            session.add(AppsEvent(event_id=event.event_id[:64], token_id=token.id, kind="ASSOCIATE" if associate else "DISASSOCIATE",
                                  adam_id=adam_id, pricing_param=pricing, requested=len(serials), created_at=now))
            _set(session, ids, state=target, event_id=event.event_id[:64], reason=None, next_attempt_at=None)
            if associate:
                report.requested += len(ids)
                if asset is not None:
                    asset.available_count -= len(ids)
            else:
                report.released += len(ids)
            created.append(event.event_id[:64])
    session.flush()
    return created


def _within_free_licences(session: Session, asset: AppAsset | None, rows: list[tuple[int, str]],
                          report: LicenceReport, now: dt.datetime) -> list[tuple[int, str]]:
    """The rows the app has free licences for (oldest first); the rest wait, saying why."""
    if asset is None:
        _set(session, [row_id for row_id, _ in rows], reason="not among the location's Apps and Books apps (run flokk apps sync)",
             next_attempt_at=now + RETRY_AFTER)
        return []
    if not asset.device_assignable:
        _set(session, [row_id for row_id, _ in rows], reason="Apple does not allow assigning this app's licences to devices",
             next_attempt_at=now + RETRY_AFTER)
        return []
    free = max(0, asset.available_count)
    waiting = rows[free:]
    if waiting:
        _set(session, [row_id for row_id, _ in waiting], reason=_no_free_licence(asset))
        report.waiting += len(waiting)
    return rows[:free]


def _set(session: Session, ids: Sequence[int], **values) -> None:
    values.setdefault("updated_at", utcnow())
    for start in range(0, len(ids), _CHUNK):
        session.execute(update(AppLicence).where(id_in(session, AppLicence.id, list(ids[start:start + _CHUNK])))
                        .values(**values).execution_options(synchronize_session=False))
