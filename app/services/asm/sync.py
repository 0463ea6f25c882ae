"""Syncing the devices Apple School Manager assigned to Flokk: a full fetch, then incremental syncs.

The first sync of a token (and any sync whose cursor Apple no longer knows)
pages through ``/server/devices``; later ones ask ``/devices/sync`` for the
changes since the stored cursor. Each page is stored together with the
cursor that follows it, and ``checkpoint`` (the caller's commit) runs after
every page, so a sync that fails half-way resumes from where it stopped,
never leaving half a fleet. A device ASM no longer assigns to Flokk is
marked deleted, never removed (its school, class and history stay).

Sync may repeat a device: the change with the latest ``op_date`` wins.
Apple's refusals become the token's state (terms to accept, token to
renew, service unavailable), shown to central IT; the sync tries again at
its next turn.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.orm import Session

from app.db import context
from app.errors import NotFound
from app.models.asm import AsmDevice, AsmToken, SyncState
from app.models.base import utcnow
from app.services import audit
from app.services.access import Principal, require_central
from app.services.asm import profiles, tokens
from app.services.asm.assignment import RuleSet
from mdm_protocol.asm import client as dep

log = logging.getLogger("flokk.asm")

#: Apple keeps a sync cursor for 7 days; an older one goes straight to a full fetch.
CURSOR_LIFETIME = dt.timedelta(days=7) - dt.timedelta(hours=1)
_DEVICE_FIELDS = ("model", "description", "color", "asset_tag", "os", "device_family", "profile_status", "profile_uuid",
                  "device_assigned_by", "device_assigned_date")

Progress = Callable[[str], None]


@dataclass
class SyncReport:
    token_id: int
    label: str
    state: str = SyncState.OK
    full: bool = False
    pages: int = 0
    seen: int = 0
    added: int = 0
    modified: int = 0
    deleted: int = 0
    assigned_by_rule: int = 0
    profiles: profiles.AssignReport | None = None
    message: str | None = None
    calls: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.state == SyncState.OK

    def summary(self) -> str:
        if not self.ok:
            return f"{self.label}: {self.message}"
        kind = "full fetch" if self.full else "sync"
        text = (f"{self.label}: {kind} of {self.seen} device(s) in {self.pages} page(s): {self.added} new, "
                f"{self.modified} changed, {self.deleted} no longer assigned to Flokk, {self.assigned_by_rule} given a school by rule")
        if self.profiles is not None:
            text += f"; {self.profiles.defined} profile(s) defined, {self.profiles.assigned} device(s) given their school's profile"
            if self.profiles.removed:
                text += f", {self.profiles.removed} no school expects had theirs removed"
            if self.profiles.refused:
                text += " (Apple refused " + ", ".join(f"{n} {k}" for k, n in sorted(self.profiles.refused.items())) + ")"
        return text


def sync_all(
    session: Session, principal: Principal, *, token_id: int | None = None, full: bool = False,
    progress: Progress | None = None, checkpoint: Callable[[], None] | None = None,
) -> list[SyncReport]:
    """`flokk asm sync`: every token (or one), now."""
    require_central(principal)
    statement = select(AsmToken.id).order_by(AsmToken.id)
    if token_id is not None:
        statement = statement.where(AsmToken.id == token_id)
    ids = list(session.scalars(statement))
    if token_id is not None and not ids:
        raise NotFound(f"no Apple School Manager token {token_id}")
    # A token merged into another by an earlier sync of this run is gone: skipped.
    return [sync_token(session, each, full=full, progress=progress, checkpoint=checkpoint)
            for each in ids if session.get(AsmToken, each) is not None]


def sync_due(session: Session, *, now: dt.datetime | None = None) -> list[SyncReport]:
    """Scheduler job (every minute): sync the tokens asked for, and those not synced for FLOKK_ASM_SYNC_MINUTES.

    Commits after every page (a failure leaves a cursor to resume from)."""
    now = now or utcnow()
    every = dt.timedelta(minutes=context(session).settings.asm_sync_minutes)
    due = list(session.scalars(
        select(AsmToken.id).where(or_(
            AsmToken.sync_requested_at.is_not(None),
            AsmToken.last_sync_at.is_(None),
            AsmToken.last_sync_at <= now - every,
        )).order_by(AsmToken.id)
    ))
    reports = []
    for token_id in due:
        if session.get(AsmToken, token_id) is None:
            continue
        report = sync_token(session, token_id, checkpoint=session.commit)
        (log.info if report.ok else log.warning)("Apple School Manager %s", report.summary())
        reports.append(report)
    return reports


def sync_token(
    session: Session, token_id: int, *, full: bool = False, progress: Progress | None = None,
    checkpoint: Callable[[], None] | None = None, client: dep.DepClient | None = None,
) -> SyncReport:
    """Sync one token: devices, school assignment by rule, each school's ADE profile at Apple."""
    token = session.get(AsmToken, token_id)
    if token is None:
        raise NotFound(f"no Apple School Manager token {token_id}")
    report = SyncReport(token.id, token.label)
    say = progress or (lambda message: None)
    commit = checkpoint or (lambda: None)
    client = client or tokens.client_for(session, token)
    previous_state = token.sync_state
    try:
        token = tokens.learn_account(session, token, client.account())
        report.token_id, report.label = token.id, token.label
        now = utcnow()
        cursor_fresh = token.sync_cursor_at is not None and now - token.sync_cursor_at < CURSOR_LIFETIME
        if full or token.sync_cursor is None or not cursor_fresh or token.fetch_cursor is not None:
            _full_fetch(session, client, token, report, say, commit)
        else:
            try:
                _incremental(session, client, token, report, say, commit)
            except (dep.CursorExpired, dep.CursorInvalid) as error:
                say(f"{token.label}: Apple no longer knows the sync cursor ({error.code}): fetching every device again")
                token.sync_cursor = None
                _full_fetch(session, client, token, report, say, commit)
        report.profiles = profiles.assign_pending(session, client, token, progress=say)
        if report.profiles.problems:
            report.message = "; ".join(report.profiles.problems)[:500]
    except dep.TermsNotSigned as error:
        _failed(report, SyncState.TERMS_NOT_SIGNED, str(error))
    except dep.TokenRejected as error:
        _failed(report, SyncState.TOKEN_REJECTED, str(error))
    except dep.Unavailable as error:
        _failed(report, SyncState.UNAVAILABLE, str(error))
    except dep.DepError as error:
        _failed(report, SyncState.ERROR, str(error))
    report.calls = dict(client.calls)
    _finish(session, token, report, previous_state)
    commit()
    return report


def _full_fetch(session: Session, client: dep.DepClient, token: AsmToken, report: SyncReport, say: Progress,
                commit: Callable[[], None]) -> None:
    report.full = True
    rules = RuleSet.load(session)
    cursor = token.fetch_cursor
    if cursor is None:
        token.fetch_started_at = utcnow()
    else:
        say(f"{token.label}: resuming the fetch where the last one stopped")
    while True:
        try:
            page = client.fetch_devices(cursor)
        except (dep.CursorExhausted, dep.CursorExpired, dep.CursorInvalid):
            if cursor is None:
                raise
            say(f"{token.label}: the interrupted fetch cannot resume: starting again")
            cursor, token.fetch_started_at = None, utcnow()
            continue
        _store(session, token, page.devices, rules, report, incremental=False)
        report.pages += 1
        cursor = page.cursor
        token.fetch_cursor = cursor if page.more_to_follow else None
        say(f"{token.label}: {report.seen} device(s) fetched")
        commit()
        if not page.more_to_follow:
            break
    started = token.fetch_started_at or utcnow()
    gone = session.execute(
        update(AsmDevice)
        .where(AsmDevice.token_id == token.id, AsmDevice.deleted_at.is_(None), AsmDevice.updated_at < started)
        .values(deleted_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount or 0
    report.deleted += gone
    now = utcnow()
    token.sync_cursor, token.sync_cursor_at = cursor, now
    token.last_full_sync_at, token.fetch_started_at = now, None


def _incremental(session: Session, client: dep.DepClient, token: AsmToken, report: SyncReport, say: Progress,
                 commit: Callable[[], None]) -> None:
    rules = RuleSet.load(session)
    cursor = token.sync_cursor
    assert cursor is not None
    while True:
        page = client.sync_devices(cursor)
        _store(session, token, page.devices, rules, report, incremental=True)
        report.pages += 1
        cursor = page.cursor or cursor
        token.sync_cursor, token.sync_cursor_at = cursor, utcnow()
        if page.devices:
            say(f"{token.label}: {report.seen} change(s) synced")
        commit()
        if not page.more_to_follow:
            break


def _store(session: Session, token: AsmToken, devices: Sequence[dep.DepDevice], rules: RuleSet, report: SyncReport,
           *, incremental: bool) -> None:
    """One page: the latest change per serial, inserted or updated in bulk; rules fill in new devices' school."""
    latest: dict[str, dep.DepDevice] = {}
    for device in devices:
        known = latest.get(device.serial_number)
        if known is None or (device.op_date or dt.datetime.min.replace(tzinfo=dt.UTC)) >= (known.op_date or dt.datetime.min.replace(tzinfo=dt.UTC)):
            latest[device.serial_number] = device
    report.seen += len(latest)
    if not latest:
        return
    existing = {
        row.serial_number: row
        for row in session.execute(
            select(AsmDevice.id, AsmDevice.serial_number, AsmDevice.token_id, AsmDevice.op_date, AsmDevice.deleted_at)
            .where(AsmDevice.serial_number.in_(list(latest)))
        )
    }
    now = utcnow()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    deletions: list[dict[str, Any]] = []
    for serial, device in latest.items():
        row = existing.get(serial)
        if incremental and row is not None and row.op_date and device.op_date and device.op_date < row.op_date:
            continue  # an older change than the one applied already
        if device.op_type == "deleted":
            if row is not None and row.token_id == token.id and row.deleted_at is None:
                deletions.append({"id": row.id, "deleted_at": device.op_date or now, "op_date": device.op_date or row.op_date,
                                  "updated_at": now})
                report.deleted += 1
            continue
        values = {name: getattr(device, name) for name in _DEVICE_FIELDS}
        values.update(token_id=token.id, op_date=device.op_date, deleted_at=None, updated_at=now)
        if row is None:
            values.update(serial_number=serial, first_seen_at=now)
            rule = rules.match(values, token.id)
            values.update(school_id=rule.school_id if rule else None, group_id=rule.group_id if rule else None,
                          assigned_via=f"rule:{rule.id}" if rule else None, assigned_at=now if rule else None)
            report.assigned_by_rule += rule is not None
            inserts.append(values)
            report.added += 1
        else:
            updates.append({"id": row.id, **values})
            if incremental or row.deleted_at is not None:
                report.modified += 1
    if inserts:
        # A Core insert (multi-row VALUES): the ORM's bulk path sends one statement per row.
        session.execute(insert(AsmDevice.__table__), inserts)
    for rows in (updates, deletions):
        if rows:
            session.execute(update(AsmDevice), rows)


def _failed(report: SyncReport, state: str, message: str) -> None:
    report.state, report.message = state, message[:500]


def _finish(session: Session, token: AsmToken, report: SyncReport, previous_state: str) -> None:
    now = utcnow()
    token.sync_state = report.state
    token.sync_message = report.message
    token.sync_requested_at = None
    token.last_sync_at = now  # the last attempt: a refused sync waits its turn like any other
    changed = report.added or report.modified or report.deleted or (report.profiles and (report.profiles.assigned or report.profiles.defined))
    if changed or report.state != previous_state:
        audit.record(
            session, "system:asm", "asm.sync", outcome=audit.SUCCESS if report.ok else audit.FAILURE, target=token,
            details={"state": report.state, "full": report.full, "added": report.added, "modified": report.modified,
                     "deleted": report.deleted, "assigned_by_rule": report.assigned_by_rule,
                     "profiles_defined": report.profiles.defined if report.profiles else 0,
                     "profiles_assigned": report.profiles.assigned if report.profiles else 0,
                     "message": report.message},
        )
