"""The organisation's apps: the Apps and Books assets, their store metadata and what Apple says is assigned.

A sync reads every page of ``assets`` (counts), looks up names, icons and
bundle ids of apps not looked up in a week, and compares Apple's
``assignments`` with Flokk's licence rows: a licence Apple no longer lists is
wanted again, one Apple lists that Flokk did not know (assigned before Flokk,
or by hand) is recorded for the device with that serial number. Then the
licence worker carries on (``licences.process``). A failure in the middle
leaves what was read so far and the error on the token; the next sync
starts again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import FlokkError
from app.models.apps import AppAsset, AppLicence, AppsToken, LicenceState
from app.models.base import utcnow
from app.models.devices import Device
from app.services import audit
from app.services.access import Principal, require_central
from app.services.apps import connection, licences
from mdm_protocol.apps_and_books import AppsAndBooksError, ServiceUnavailable

log = logging.getLogger("flokk.apps")

#: Store metadata is looked up again after this long (names and icons change with app updates).
METADATA_MAX_AGE = dt.timedelta(days=7)
_APP_TYPES = frozenset({"App", "Application", "Software"})

Progress = Callable[[str], None]


@dataclass
class SyncReport:
    assets: int = 0
    added: int = 0
    removed: int = 0
    looked_up: int = 0
    assignments: int = 0
    imported: int = 0
    lost: int = 0
    taken_over: bool = False
    error: str | None = None
    #: The error to report (Apple's refusal, or the location taken over), kept when not raised.
    failure: FlokkError | None = None
    licences: licences.LicenceReport = field(default_factory=licences.LicenceReport)


def sync(session: Session, principal: Principal, *, progress: Progress | None = None, raise_errors: bool = True) -> SyncReport:
    """Read Apple's assets and assignments into Flokk, then run the licence worker once."""
    require_central(principal)
    say = progress or (lambda text: None)
    token = connection.usable(session)
    report = SyncReport()
    try:
        _sync(session, token, report, say)
    except AppsAndBooksError as error:
        token.last_error = str(error)[:500]
        report.error = token.last_error
        report.failure = connection.apple_error(error)
        log.warning("Apps and Books sync stopped: %s", error)
        if raise_errors:
            raise report.failure from None
        return report
    if report.taken_over:
        report.failure = connection.AppleUnavailable(token.last_error or "another MDM has claimed the location")
        if raise_errors:
            raise report.failure
        return report
    token.last_sync_at, token.sync_requested_at, token.last_error = utcnow(), None, None
    audit.record(session, principal, "apps.sync", details={
        "assets": report.assets, "added": report.added, "removed": report.removed, "looked_up": report.looked_up,
        "assignments": report.assignments, "imported": report.imported, "lost": report.lost,
    })
    report.licences = licences.process(session, progress=say)
    return report


def _sync(session: Session, token: AppsToken, report: SyncReport, say: Progress) -> None:
    client = connection.client_for(session, token)
    token.max_serial_numbers = client.service_config().max_serial_numbers
    assets = list(client.assets())
    if not connection.still_ours(session, token, client):
        report.taken_over = True
        return
    report.assets = len(assets)
    say(f"{len(assets)} apps and books in {token.location_name or 'the location'}")
    existing = {(row.adam_id, row.pricing_param): row for row in session.scalars(select(AppAsset).where(AppAsset.token_id == token.id))}
    now = utcnow()
    for asset in assets:
        row = existing.pop((asset.adam_id, asset.pricing_param), None)
        if row is None:
            row = AppAsset(token_id=token.id, adam_id=asset.adam_id[:32], pricing_param=asset.pricing_param[:16],
                           name=asset.adam_id[:32])
            session.add(row)
            report.added += 1
        row.product_type = asset.product_type[:32]
        row.device_assignable, row.revocable = asset.device_assignable, asset.revocable
        row.platforms = list(asset.supported_platforms)
        row.total_count, row.assigned_count, row.available_count = asset.total_count, asset.assigned_count, asset.available_count
        row.synced_at = now
    for gone in existing.values():
        session.delete(gone)
        report.removed += 1
    session.flush()
    report.looked_up = _look_up(session, token, say)
    _compare_assignments(session, token, client, report, say)


def _look_up(session: Session, token: AppsToken, say: Progress) -> int:
    """Names, icons and bundle ids of apps whose metadata is missing or a week old; stops at an outage."""
    stale_before = utcnow() - METADATA_MAX_AGE
    rows = [
        row for row in session.scalars(select(AppAsset).where(AppAsset.token_id == token.id).order_by(AppAsset.adam_id))
        if row.product_type in _APP_TYPES and (row.metadata_at is None or row.metadata_at < stale_before)
    ]
    lookup = connection.lookup_for(session, token)
    secret = connection.stoken(session, token)
    done = 0
    for row in rows:
        try:
            found = lookup.lookup(row.adam_id, stoken=secret)
        except ServiceUnavailable as error:
            log.warning("app metadata lookup stopped after %d of %d apps: %s", done, len(rows), error)
            break
        except AppsAndBooksError as error:
            log.info("no metadata for app %s: %s", row.adam_id, error)
            continue
        if found is not None:
            row.name = found.name[:255]
            row.bundle_id = found.bundle_id[:255] if found.bundle_id else None
            row.icon_url = found.icon_url[:1000] if found.icon_url else None
            row.version = found.version[:64] if found.version else None
        row.metadata_at = utcnow()
        done += 1
        if done % 50 == 0:
            say(f"looked up {done} of {len(rows)} apps")
    return done


def _compare_assignments(session: Session, token: AppsToken, client, report: SyncReport, say: Progress) -> None:
    at_apple = {(item.adam_id, item.pricing_param, item.serial_number)
                for item in client.assignments() if item.serial_number}
    report.assignments = len(at_apple)
    say(f"{len(at_apple)} licences assigned to devices")
    known: set[tuple[str, str, str]] = set()
    for row in session.scalars(select(AppLicence).where(AppLicence.token_id == token.id)):
        key = (row.adam_id, row.pricing_param, row.serial_number)
        known.add(key)
        listed = key in at_apple
        if row.state == LicenceState.ASSOCIATED and not listed:
            row.state, row.reason, row.event_id = LicenceState.WANTED, "Apple no longer lists this licence", None
            row.updated_at = utcnow()
            report.lost += 1
        elif row.state == LicenceState.RELEASING and row.event_id is None and not listed:
            session.delete(row)
    missing = at_apple - known
    if not missing:
        return
    serials = sorted({serial for _, _, serial in missing})
    devices: dict[str, tuple[int, int]] = {}
    for start in range(0, len(serials), 5000):
        for device_id, school_id, serial in session.execute(
            select(Device.id, Device.school_id, Device.serial_number).where(Device.serial_number.in_(serials[start:start + 5000]))
        ):
            devices[serial] = (device_id, school_id)
    now = utcnow()
    rows = []
    for adam_id, pricing, serial in sorted(missing):
        device_id, school_id = devices.get(serial, (None, None))
        rows.append({"token_id": token.id, "adam_id": adam_id[:32], "pricing_param": pricing[:16], "serial_number": serial[:64],
                     "device_id": device_id, "school_id": school_id, "state": LicenceState.ASSOCIATED, "updated_at": now})
    for start in range(0, len(rows), 5000):
        session.execute(AppLicence.__table__.insert(), rows[start:start + 5000])
    report.imported = len(rows)


def request_sync(session: Session, principal: Principal) -> AppsToken:
    """The dashboard's and the API's "sync now": the scheduler runs it within a minute."""
    require_central(principal)
    token = connection.usable(session)
    token.sync_requested_at = utcnow()
    audit.record(session, principal, "apps.sync_requested")
    return token


def scheduled_sync(session: Session) -> SyncReport | None:
    """Scheduler job: sync when asked to, or when the last sync is a day old."""
    from app.services.access import system_principal

    token = connection.current(session)
    if token is None:
        return None
    due = token.last_sync_at is None or utcnow() - token.last_sync_at > dt.timedelta(days=1)
    if not (due or token.sync_requested_at):
        return None
    try:
        return sync(session, system_principal("apps"), raise_errors=False)
    except FlokkError as error:  # not usable (expired, taken over): the token says so already
        log.info("Apps and Books sync skipped: %s", error)
        return None

