"""After a reconciliation: tell devices whose declarations changed, and turn declarative management on.

Runs over the same devices and policy caches as the profile reconciler
(``app.services.policy.reconciler``), after its profile commands, so a
device switching to declarations removes its old profiles first. For each
enrolled Apple device:

* managed declaratively: its set's ``DeclarationsToken`` is compared with the
  one it was last told; only when they differ is a ``DeclarativeManagement``
  command (with the new ``SyncTokens``) queued and the token remembered, so a
  change for one school wakes only that school's devices;
* able to speak it (iPadOS 15 or later per Apple's schema) but never asked since
  it enrolled: a ``DeclarativeManagement`` command without tokens turns it on;
  the device switches to declarations when it first answers
  (``app.services.declarations.store``).

A dry run (the policy preview) counts the devices that would be told.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, String, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from app.models.base import UTCDateTime, utcnow
from app.models.commands import Command, CommandStatus
from app.models.declarations import DeclarativeDevice
from app.models.devices import Device
from app.services import audit
from app.services.access import Permission, Principal
from app.services.bulk import id_in
from app.services.declarations import sets
from app.services.mdm import commands, push
from app.services.policy.situations import DeviceSituation, PolicyCache
from mdm_protocol.declarative import command as declarative_command
from mdm_protocol.declarative import support
from mdm_protocol.declarative.declarations import SyncTokens

_CHUNK = 5000


@dataclass
class SyncReport:
    """Devices per school told their declarations changed, and turned on; seconds spent."""

    told: Counter[int] = field(default_factory=Counter)
    enabled: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def told_count(self) -> int:
        return sum(self.told.values())

    @property
    def enabled_count(self) -> int:
        return sum(self.enabled.values())


@dataclass(frozen=True)
class _State:
    enabled_at: dt.datetime | None
    token: str | None
    enrolled_at: dt.datetime | None


def sync(
    session: Session,
    principal: Principal,
    groups: Iterable[tuple[PolicyCache, Sequence[DeviceSituation]]],
    *,
    dry_run: bool = False,
) -> SyncReport:
    report = SyncReport()
    groups = [(cache, list(devices)) for cache, devices in groups]
    states = _states(session, [device.id for _, devices in groups for device in devices])
    told: list[tuple[DeviceSituation, str]] = []
    enable: list[DeviceSituation] = []
    for cache, devices in groups:
        for device in devices:
            state = states.get(device.id)
            if device.declarative:
                token = sets.token_of(session, cache, device)
                if token is not None and (state is None or state.token != token):
                    told.append((device, token))
            elif support.speaks_declarative(device.platform, device.os_version) and _not_asked(state):
                enable.append(device)
    report.told.update(device.school_id for device, _ in told)
    report.enabled.update(device.school_id for device in enable)
    if dry_run or not (told or enable):
        return report
    now = utcnow()
    bodies = declarative_command.SyncBodies()
    enabling = declarative_command.sync_command()
    _queue(session, principal, [
        *((device, lambda uuid, token=token: bodies.body(uuid, SyncTokens(token, now))) for device, token in told),
        *((device, enabling.to_plist) for device in enable),
    ])
    _remember_tokens(session, [(device.id, token) for device, token in told], now)
    _remember(session, [{"device_id": device.id, "school_id": device.school_id, "enabled_at": now, "confirmed_at": None,
                         "declarations_token": None, "token_changed_at": None} for device in enable])
    for school_id in sorted(set(report.told) | set(report.enabled)):
        audit.record(session, principal, "declarations.sync", school_id=school_id,
                     details={"told": report.told[school_id], "enabled": report.enabled[school_id]})
    return report


def _not_asked(state: _State | None) -> bool:
    """Never asked to speak declaratively since it (last) enrolled."""
    if state is None or state.enabled_at is None:
        return True
    return state.enrolled_at is not None and state.enabled_at < state.enrolled_at


def _states(session: Session, device_ids: Sequence[int]) -> dict[int, _State]:
    found: dict[int, _State] = {}
    for start in range(0, len(device_ids), _CHUNK):
        chunk = device_ids[start : start + _CHUNK]
        rows = session.execute(
            select(Device.id, DeclarativeDevice.enabled_at, DeclarativeDevice.declarations_token, Device.enrolled_at)
            .join(DeclarativeDevice, DeclarativeDevice.device_id == Device.id)
            .where(id_in(session, Device.id, chunk))
        )
        for device_id, enabled_at, token, enrolled_at in rows:
            found[device_id] = _State(enabled_at, token, enrolled_at)
    return found


_COMMAND_COLUMNS = ("uuid", "school_id", "device_id", "request_type", "body", "status", "created_by", "created_at",
                    "expires_at", "delivery_count", "not_now_count")


def _queue(session: Session, principal: Principal, items: list[tuple[DeviceSituation, Callable[[str], bytes]]]) -> None:
    """One DeclarativeManagement command per device, each with its own body (its own tokens), in bulk.

    The same checks and bookkeeping as ``commands.enqueue``: the principal's
    right to command each device, a fresh push back-off, a push after commit.
    """
    targets = dict(commands.load_targets(session, principal, [device.id for device, _ in items], Permission.COMMAND))
    now = utcnow()
    expires = now + commands.DEFAULT_LIFETIME
    rows = []
    for device, body in items:
        command_uuid = str(uuid.uuid4()).upper()
        rows.append((command_uuid, targets[device.id], device.id, declarative_command.REQUEST_TYPE, body(command_uuid),
                     CommandStatus.QUEUED.value, principal.label, now, expires, 0, 0))
    _insert(session, Command.__table__, _COMMAND_COLUMNS, rows)
    device_ids = [device.id for device, _ in items]
    push.reset_backoff(session, device_ids)
    push.wake_after_commit(session, device_ids)


def _insert(session: Session, table: Any, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Many rows at once: COPY on PostgreSQL (in the same transaction), batched INSERTs elsewhere."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        with connection.connection.driver_connection.cursor() as cursor:
            with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    for start in range(0, len(rows), _CHUNK):
        connection.execute(table.insert(), [dict(zip(columns, row)) for row in rows[start : start + _CHUNK]])


def _remember_tokens(session: Session, told: list[tuple[int, str]], now: dt.datetime) -> None:
    """The token each device was just told (its row exists: it answered declaratively)."""
    if not told:
        return
    table = DeclarativeDevice.__table__
    if session.get_bind().dialect.name == "postgresql":
        # One statement for every device: the ids and tokens as two arrays.
        pairs = func.unnest(bindparam("ids", type_=ARRAY(Integer)), bindparam("tokens", type_=ARRAY(String))).table_valued(
            "device_id", "token").render_derived()
        session.execute(
            update(table).where(table.c.device_id == pairs.c.device_id)
            .values(declarations_token=pairs.c.token, token_changed_at=bindparam("now", type_=UTCDateTime())),
            {"ids": [device_id for device_id, _ in told], "tokens": [token for _, token in told], "now": now},
        )
    else:
        session.execute(
            update(table).where(table.c.device_id == bindparam("b_id"))
            .values(declarations_token=bindparam("b_token"), token_changed_at=now),
            [{"b_id": device_id, "b_token": token} for device_id, token in told],
        )
    _expire_rows(session)


def _remember(session: Session, rows: list[dict]) -> None:
    """Insert or update each device's row with the given columns, in bulk (ON CONFLICT)."""
    if not rows:
        return
    table = DeclarativeDevice.__table__
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    by_columns: dict[tuple[str, ...], list[dict]] = {}
    for row in rows:
        by_columns.setdefault(tuple(sorted(row)), []).append(row)
    for columns, batch in by_columns.items():
        for start in range(0, len(batch), _CHUNK):
            chunk = [{"status_items": {}, "update_failure_count": 0, **row} for row in batch[start : start + _CHUNK]]
            statement = dialect.insert(table)
            statement = statement.on_conflict_do_update(
                index_elements=[table.c.device_id],
                set_={name: statement.excluded[name] for name in columns if name != "device_id"},
            )
            session.execute(statement, chunk)
    _expire_rows(session)


def _expire_rows(session: Session) -> None:
    """Rows loaded before a bulk write are stale now."""
    for instance in list(session.identity_map.values()):
        if isinstance(instance, DeclarativeDevice):
            session.expire(instance)
