"""Notifications from Apple's Apps and Books: licence changes as they happen, without waiting for a poll.

Apple posts to ``/apps/notifications/<nonce>`` with ``Authorization: Bearer
<secret>`` (the secret Flokk set when it claimed the location, derived from
the nonce and Flokk's master key; compared in constant time). A wrong or
missing secret is 401 and audited; the test notification Apple sends while
Flokk claims the location is answered before any database read. A
notification Flokk has already handled (Apple may send one twice) changes
nothing. ``ASSET_MANAGEMENT`` moves licence rows on (a finished assignment
queues the device's InstallApplication at once); ``ASSET_COUNT`` adjusts an
app's licence counts. The event itself is still confirmed by polling, as
Apple advises: notifications are best effort.
"""

from __future__ import annotations

import hmac
import logging
import re

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.db import context
from app.errors import InvalidInput, NotFound, Unauthenticated
from app.models.apps import AppAsset, AppLicence, AppsNotification, AppsToken, LicenceState
from app.models.base import utcnow
from app.models.devices import Device
from app.services import audit
from app.services.apps import connection
from app.services.apps.licences import RETRY_AFTER, _reason
from mdm_protocol.apps_and_books import notifications as wire
from mdm_protocol.apps_and_books.client import Failure

log = logging.getLogger("flokk.apps")
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")


def receive(session: Session, nonce: str, authorization: str | None, body: bytes) -> str:
    """Check and handle one notification; returns what became of it (for the log)."""
    settings = context(session).settings
    scheme, _, offered = (authorization or "").partition(" ")
    expected = connection.notification_secret(settings, nonce) if _NONCE.fullmatch(nonce) else ""
    if not expected or scheme.lower() != "bearer" or not hmac.compare_digest(offered.strip().encode(), expected.encode()):
        audit.record(session, "apple:apps-and-books", "apps.notification", outcome=audit.DENIED,
                     details={"reason": "wrong or missing secret"}, durable=True)
        raise Unauthenticated("the notification does not carry the secret Flokk gave Apple")
    try:
        notification = wire.parse(body)
    except wire.NotificationError as error:
        raise InvalidInput(str(error)) from None
    if notification.notification_type == "TEST_NOTIFICATION":
        return "test"
    token = session.scalar(select(AppsToken).where(AppsToken.notification_nonce == nonce))
    if token is None:
        raise NotFound("this notification address is no longer in use")
    if notification.uid != token.location_uid:
        raise InvalidInput("the notification is for another Apps and Books location")
    if session.get(AppsNotification, notification.notification_id[:200]) is not None:
        return "repeated"
    session.add(AppsNotification(notification_id=notification.notification_id[:200], token_id=token.id,
                                 notification_type=notification.notification_type[:64]))
    try:
        if notification.notification_type == "ASSET_MANAGEMENT":
            return _asset_management(session, token, wire.asset_management(notification))
        if notification.notification_type == "ASSET_COUNT":
            return _asset_count(session, token, wire.asset_count(notification))
    except wire.NotificationError as error:
        raise InvalidInput(str(error)) from None
    return "ignored"


def _asset_management(session: Session, token: AppsToken, change: wire.AssetManagement) -> str:
    """Each assignment moves its row on with one conditional statement: a poll (or another delivery of the
    same news) that got there first leaves nothing to change."""
    now = utcnow()
    done: set[int] = set()
    succeeded = change.result == "SUCCESS"
    failure = Failure(change.error_number, change.error_message or "Apple reported a failure")
    for assignment in change.assignments:
        if not assignment.serial_number:
            continue
        key = (AppLicence.token_id == token.id, AppLicence.adam_id == assignment.adam_id[:32],
               AppLicence.pricing_param == assignment.pricing_param[:16],
               AppLicence.serial_number == assignment.serial_number[:64])
        asset = session.scalar(select(AppAsset).where(AppAsset.token_id == token.id, AppAsset.adam_id == assignment.adam_id,
                                                      AppAsset.pricing_param == assignment.pricing_param))
        if change.type == "ASSOCIATE" and succeeded:
            moved = session.execute(
                update(AppLicence).where(*key, AppLicence.state.in_((LicenceState.WANTED, LicenceState.ASSOCIATING)))
                .values(state=LicenceState.ASSOCIATED, event_id=None, reason=None, next_attempt_at=None, updated_at=now)
                .returning(AppLicence.device_id)).all()
            if not moved and session.scalar(select(AppLicence.id).where(*key)) is None:
                moved = [(_imported(session, token, assignment),)]
            if moved and asset is not None:
                asset.assigned_count += 1
            done |= {device_id for (device_id,) in moved if device_id is not None}
        elif change.type == "ASSOCIATE":
            failed = session.execute(
                update(AppLicence).where(*key, AppLicence.state == LicenceState.ASSOCIATING)
                .values(state=LicenceState.WANTED, event_id=None, reason=_reason(failure, asset), updated_at=now,
                        next_attempt_at=None if failure.number == 9709 else now + RETRY_AFTER))
            if failed.rowcount and asset is not None:
                asset.available_count += 1
        elif succeeded:  # DISASSOCIATE or REVOKE
            gone = session.execute(delete(AppLicence).where(*key))
            if gone.rowcount and asset is not None:
                asset.available_count += 1
                asset.assigned_count = max(0, asset.assigned_count - 1)
        else:
            session.execute(update(AppLicence).where(*key, AppLicence.state == LicenceState.RELEASING)
                            .values(event_id=None, reason=_reason(failure, asset), next_attempt_at=now + RETRY_AFTER,
                                    updated_at=now))
    session.flush()
    if done:
        from app.services.access import system_principal
        from app.services.apps.stage import reconcile_devices

        reconcile_devices(session, system_principal("apps"), sorted(done))
    log.info("Apps and Books %s %s for %d assignment(s)", change.type, change.result, len(change.assignments))
    return f"{change.type.lower()} {change.result.lower()}"


def _imported(session: Session, token: AppsToken, assignment) -> int | None:
    """An assignment Flokk did not ask for (made in Apple School Manager, say): recorded as a sync would."""
    device = session.scalar(select(Device).where(Device.serial_number == assignment.serial_number).limit(1))
    session.add(AppLicence(token_id=token.id, adam_id=assignment.adam_id[:32], pricing_param=assignment.pricing_param[:16],
                           serial_number=assignment.serial_number[:64], device_id=device.id if device else None,
                           school_id=device.school_id if device else None, state=LicenceState.ASSOCIATED))
    return device.id if device else None


def _asset_count(session: Session, token: AppsToken, change: wire.AssetCount) -> str:
    asset = session.scalar(select(AppAsset).where(AppAsset.token_id == token.id, AppAsset.adam_id == change.adam_id,
                                                  AppAsset.pricing_param == change.pricing_param))
    if asset is None:
        token.sync_requested_at = utcnow()  # a new app: the next sync brings it with its metadata
        return "new app: sync requested"
    asset.total_count = max(0, asset.total_count + change.count_delta)
    asset.available_count += change.count_delta
    return "count changed"
