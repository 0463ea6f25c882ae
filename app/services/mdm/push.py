"""Waking iPads with APNs: right after commands are queued, and again with back-off.

A push only says "connect to Flokk"; what to do is in the queue. So a device
is pushed when something is waiting for it, and pushed again — after 2, 4,
8 ... minutes, at most every 6 hours, at most 12 times — while it has queued
commands and has not connected since they were queued. Connecting resets the
back-off (``SqlMdmStore.seen``). A token APNs calls invalid (410
Unregistered, 400 BadDeviceToken) is marked and the device flagged: it is not
pushed again until it sends a new TokenUpdate.

The push certificate comes from :mod:`app.services.pki.push_certificates`; the
APNs host from ``FLOKK_APNS_URL``. Pushing happens outside the transaction
that queued the commands (after its commit) and records outcomes in its own.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session

from app import metrics
from app.db import context
from app.errors import NotReady
from app.models.base import utcnow
from app.models.commands import Command, CommandStatus
from app.models.devices import Device, DeviceUser, EnrollmentState
from app.services import audit, progress
from app.services.bulk import id_in
from app.services.pki import push_certificates
from mdm_protocol import apns

log = logging.getLogger("flokk.push")

BACKOFF_BASE = dt.timedelta(minutes=2)
BACKOFF_CAP = dt.timedelta(hours=6)
MAX_ATTEMPTS = 12
_CHUNK = 5000
#: Pushes sent over one APNs connection; a bulk push shows its progress per chunk.
PUSH_CHUNK = 10_000



@dataclass
class PushReport:
    """How a round of pushes went, by outcome."""

    outcomes: Counter[str] = field(default_factory=Counter)
    invalid_device_ids: list[int] = field(default_factory=list)
    skipped: int = 0

    @property
    def sent(self) -> int:
        return self.outcomes[apns.Outcome.SENT]

    def summary(self) -> str:
        parts = [f"{count} {outcome.replace('_', ' ')}" for outcome, count in sorted(self.outcomes.items())]
        if self.skipped:
            parts.append(f"{self.skipped} without a valid push token")
        return ", ".join(parts) or "nothing to push"


#: Key in ``Session.info``: devices to push once this unit of work has committed.
WAKE_AFTER_COMMIT = "flokk.wake_after_commit"
#: A web request pushes at most this many devices itself, after its response;
#: more (a bulk command) are left to the push job, which runs every minute.
REQUEST_PUSH_LIMIT = 1000


def wake_after_commit(session: Session, device_ids: Iterable[int]) -> None:
    """Ask for these devices to be pushed once the unit of work commits (never before:
    a device woken early would find its queue still empty)."""
    session.info.setdefault(WAKE_AFTER_COMMIT, set()).update(device_ids)


def take_wakes(session: Session) -> list[int]:
    """The devices the unit of work asked to push (and forget them)."""
    return sorted(session.info.pop(WAKE_AFTER_COMMIT, ()))


def wake_committed(db: Any, device_ids: Sequence[int], *, limit: int | None = None) -> PushReport | None:
    """Push after a commit, in a unit of work of its own; never raises (the push job retries).

    With ``limit`` and more devices than that, nothing is pushed here: the
    push job takes them (their next push is due at once).
    """
    from app import request_context

    if not device_ids or (limit is not None and len(device_ids) > limit):
        return None
    try:
        with request_context.origin(source="push"), db.unit_of_work() as session:
            return wake(session, device_ids)
    except NotReady as error:
        log.warning("%d device(s) not pushed: %s", len(device_ids), error.message)
    except Exception:  # a push problem must never fail what was already committed
        log.exception("pushing %d device(s) failed; the push job will retry", len(device_ids))
    return None


class BackgroundPusher:
    """Pushes after commit from one thread per worker process, off every request's path.

    A request hands over the devices its committed unit of work queued commands for and goes
    on; what several requests hand over within ``linger`` seconds is pushed together, over one
    APNs connection (a class-wide command sent device by device, a morning's enrolments). Like
    ``wake_committed`` after a response: never raises, and more than ``limit`` devices at once
    are left to the push job. The thread starts on first use (``flokk serve`` makes one pusher
    per worker, after the fork); it is a daemon: a push lost at shutdown is the push job's.
    """

    def __init__(self, db: Any, *, linger: float = 0.02, limit: int = REQUEST_PUSH_LIMIT) -> None:
        self.db = db
        self.linger = linger
        self.limit = limit
        self._queue: queue.SimpleQueue[list[int]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, device_ids: Sequence[int]) -> None:
        if not device_ids or len(device_ids) > self.limit:
            return  # nothing, or a bulk command: the push job takes it (its next push is due at once)
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="flokk-push", daemon=True)
                    self._thread.start()
        self._queue.put(list(device_ids))

    def _run(self) -> None:
        while True:
            batch = set(self._queue.get())
            deadline = time.monotonic() + self.linger
            while len(batch) < self.limit:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    batch.update(self._queue.get(timeout=remaining))
                except queue.Empty:
                    break
            wake_committed(self.db, sorted(batch))


def next_delay(attempts: int) -> dt.timedelta:
    """Back-off after ``attempts`` pushes without an answer: 2, 4, 8 ... minutes, capped."""
    return min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(0, attempts - 1)))


def apns_settings(session: Session) -> apns.ApnsSettings:
    """The APNs client settings: the active push certificate and FLOKK_APNS_*; NotReady without one."""
    certificate = push_certificates.active_push_certificate(session)
    settings = context(session).settings
    return apns.ApnsSettings(
        topic=certificate.topic,
        cert_pem=certificate.certificate_pem(),
        key_pem=certificate.key_pem(),
        url=settings.apns_url,
        ca_file=str(settings.apns_ca_file) if settings.apns_ca_file else None,
    )


def wake(session: Session, device_ids: Iterable[int], *, sender=apns.send) -> PushReport:
    """Push these devices now (those enrolled with a valid token) and record the outcome."""
    wanted = list(dict.fromkeys(device_ids))
    report = PushReport()
    targets: list[tuple[int, str, str, int, int]] = []
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        rows = session.execute(
            select(Device.id, Device.push_token, Device.push_magic, Device.push_attempts, Device.school_id).where(
                id_in(session, Device.id, chunk),
                Device.enrollment_state == EnrollmentState.ENROLLED,
                Device.push_token.is_not(None),
                Device.push_magic.is_not(None),
                Device.push_token_invalid_at.is_(None),
            )
        ).all()
        targets.extend((row.id, row.push_token, row.push_magic, row.push_attempts, row.school_id) for row in rows)
    report.skipped = len(wanted) - len(targets)
    users = _user_channels_waiting(session, [target[0] for target in targets])
    if not targets:
        return report
    settings = apns_settings(session)
    pushes = [apns.Push(bytes.fromhex(token), magic, ref=(device_id, attempts, school_id))
              for device_id, token, magic, attempts, school_id in targets]
    pushes.extend(apns.Push(bytes.fromhex(token), magic, ref=(USER_CHANNEL, user_id, school_id))
                  for user_id, token, magic, school_id in users)
    results: list[apns.PushResult] = []
    with progress.task("pushing", total=len(pushes)) as advance:
        for start in range(0, len(pushes), PUSH_CHUNK):  # one connection each: progress shows, nothing else changes
            results.extend(sender(settings, pushes[start : start + PUSH_CHUNK]))
            advance(len(pushes[start : start + PUSH_CHUNK]))
    metrics.count_pushes(Counter(result.outcome for result in results))
    _record(session, [r for r in results if r.push.ref[0] != USER_CHANNEL], report)
    _record_users(session, [r for r in results if r.push.ref[0] == USER_CHANNEL], report)
    log.info("pushed %d device(s) and %d user channel(s): %s", len(targets), len(users), report.summary())
    return report


#: Marks a push for a user channel (Shared iPad) in ``Push.ref``.
USER_CHANNEL = "user"


def _user_channels_waiting(session: Session, device_ids: Sequence[int]) -> list[tuple[int, str, str, int]]:
    """User channels of these devices with a valid token and queued commands of their own.

    A user channel connects only when its own token is pushed; it is pushed
    together with its device (no back-off of its own: the device's governs).
    """
    found: list[tuple[int, str, str, int]] = []
    now = utcnow()
    for start in range(0, len(device_ids), _CHUNK):
        waiting = exists().where(
            Command.device_user_id == DeviceUser.id,
            Command.status == CommandStatus.QUEUED,
            or_(Command.expires_at.is_(None), Command.expires_at > now),
        )
        rows = session.execute(
            select(DeviceUser.id, DeviceUser.push_token, DeviceUser.push_magic, DeviceUser.school_id).where(
                id_in(session, DeviceUser.device_id, device_ids[start : start + _CHUNK]),
                DeviceUser.push_token.is_not(None),
                DeviceUser.push_magic.is_not(None),
                DeviceUser.push_token_invalid_at.is_(None),
                waiting,
            )
        ).all()
        found.extend((row.id, row.push_token, row.push_magic, row.school_id) for row in rows)
    return found


def _record_users(session: Session, results: Sequence[apns.PushResult], report: PushReport) -> None:
    """Count user-channel pushes; a token APNs calls invalid is marked until the next TokenUpdate."""
    now = utcnow()
    for result in results:
        _, user_id, school_id = result.push.ref  # type: ignore[misc]
        report.outcomes[result.outcome] += 1
        if result.outcome is apns.Outcome.INVALID_TOKEN:
            session.execute(
                update(DeviceUser)
                .where(DeviceUser.id == user_id, DeviceUser.push_token_invalid_at.is_(None))
                .values(push_token_invalid_at=now)
                .execution_options(synchronize_session=False)
            )
            audit.record(session, "system:push", "device_user.push_token_invalid", outcome=audit.FAILURE,
                         school_id=school_id, target=("device_user", user_id), details={"reason": result.reason})


def due_for_push(session: Session, *, now: dt.datetime | None = None, limit: int = 50_000) -> list[int]:
    """Devices with queued commands (on any of their channels) they have not connected for since,
    whose next push is due."""
    now = now or utcnow()
    waiting = exists().where(
        Command.device_id == Device.id,
        Command.status == CommandStatus.QUEUED,
        or_(Command.expires_at.is_(None), Command.expires_at > now),
        or_(Device.last_seen_at.is_(None), Command.created_at > Device.last_seen_at),
    )
    statement = (
        select(Device.id)
        .where(
            Device.enrollment_state == EnrollmentState.ENROLLED,
            Device.push_token.is_not(None),
            Device.push_token_invalid_at.is_(None),
            Device.push_attempts < MAX_ATTEMPTS,
            or_(Device.next_push_at.is_(None), Device.next_push_at <= now),
            waiting,
        )
        .order_by(Device.next_push_at.is_not(None), Device.next_push_at, Device.id)
        .limit(limit)
    )
    return list(session.scalars(statement))


def reset_backoff(session: Session, device_ids: Sequence[int]) -> None:
    """New commands were queued: the next push is due now, with a fresh back-off."""
    for start in range(0, len(device_ids), _CHUNK):
        devices = Device.__table__  # Core: every API enqueue runs this
        session.execute(
            update(devices)
            .where(
                id_in(session, devices.c.id, device_ids[start : start + _CHUNK]),
                or_(devices.c.push_attempts != 0, devices.c.next_push_at.is_not(None)),  # write only what changes
            )
            .values(push_attempts=0, next_push_at=None)
        )


def _record(session: Session, results: Sequence[apns.PushResult], report: PushReport) -> None:
    now = utcnow()
    # Devices grouped by their new attempt count: one UPDATE per group and
    # chunk, not one per device (a school's 5,000 iPads share one count).
    pushed: dict[int, list[int]] = defaultdict(list)
    invalid: list[tuple[int, int, str | None]] = []
    for result in results:
        device_id, attempts, school_id = result.push.ref  # type: ignore[misc]
        report.outcomes[result.outcome] += 1
        if result.outcome is apns.Outcome.INVALID_TOKEN:
            invalid.append((device_id, school_id, result.reason))
            continue
        pushed[attempts + 1].append(device_id)  # a refused or abandoned push still counts: the back-off grows
    for attempts, device_ids in pushed.items():
        for start in range(0, len(device_ids), _CHUNK):
            session.execute(
                update(Device)
                .where(id_in(session, Device.id, device_ids[start : start + _CHUNK]))
                .values(last_push_at=now, push_attempts=attempts, next_push_at=now + next_delay(attempts))
                .execution_options(synchronize_session=False)
            )
    for device_id, school_id, reason in invalid:
        session.execute(
            update(Device)
            .where(and_(Device.id == device_id, Device.push_token_invalid_at.is_(None)))
            .values(push_token_invalid_at=now, last_push_at=now)
            .execution_options(synchronize_session=False)
        )
        report.invalid_device_ids.append(device_id)
        audit.record(session, "system:push", "device.push_token_invalid", outcome=audit.FAILURE,
                     school_id=school_id, target=("device", device_id), details={"reason": reason})
    failures = [r for r in results if r.outcome in (apns.Outcome.FAILED, apns.Outcome.GAVE_UP)]
    if failures:
        first = failures[0]
        log.warning("%d push(es) not delivered, e.g. status %s %s", len(failures), first.status, first.reason)
