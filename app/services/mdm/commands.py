"""Queueing MDM commands: checked against Apple's schema, scoped, audited, in bulk.

One row per device (or user channel) per command, with the exact plist body
the device will receive, so the hot path (check-in fetching its next
command) only reads bytes. Queueing for 50,000 devices is one bulk insert.
"""

from __future__ import annotations

import datetime as dt
import plistlib
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.errors import Forbidden, InvalidInput, NotFound
from app.models.base import utcnow
from app.models.commands import Command, CommandStatus
from app.models.devices import Device, EnrollmentState, Platform
from app.services import audit, progress
from app.services.access import WIPING_COMMANDS, Permission, Principal, group_filter, restrict
from app.services.bulk import id_in, text_in
from app.services.mdm import push
from mdm_protocol import apple_schema
from mdm_protocol import commands as mdm_commands

DEFAULT_LIFETIME = dt.timedelta(days=14)
#: Commands that destroy data or lock a pupil out: they need the destructive right (``access.WIPING_COMMANDS``).
DESTRUCTIVE_REQUEST_TYPES = WIPING_COMMANDS
_BATCH = 5000
_APPLE_PLATFORMS = frozenset({Platform.IOS, Platform.IPADOS, Platform.MACOS})


@dataclass(frozen=True)
class Queued:
    request_type: str
    command_uuids: dict[int, str]  # device id -> CommandUUID

    def __len__(self) -> int:
        return len(self.command_uuids)


def command_body(command_uuid: str, request_type: str, params: Mapping[str, Any]) -> bytes:
    """The plist a device receives: CommandUUID and Command with its RequestType."""
    return plistlib.dumps(
        {"CommandUUID": command_uuid, "Command": {"RequestType": request_type, **params}}, sort_keys=True
    )



def check_params(request_type: str, params: Mapping[str, Any]) -> None:
    """Refuse an unknown command or a wrong parameter, naming the key.

    Commands of Flokk's catalogue go through their typed builder (iPadOS
    availability, Settings items, DeviceInformation queries, delivery-time
    secrets); others are checked against Apple's schema alone.
    """
    if request_type in mdm_commands.CATALOGUE:
        try:
            mdm_commands.build(request_type, params)
        except mdm_commands.CommandError as error:
            details = {error.key: [error.reason]} if error.key else None
            raise InvalidInput(f"invalid parameters for {request_type}: {error}", details=details) from None
        return
    try:
        spec = apple_schema.command(request_type)
    except apple_schema.UnknownSchema:
        raise InvalidInput(f"unknown command {request_type!r}") from None
    problems = apple_schema.check(spec.keys, params)
    if problems:
        details: dict[str, list[str]] = {}
        for problem in problems:
            details.setdefault(problem.path, []).append(problem.reason)
        raise InvalidInput(f"invalid parameters for {request_type}", details=details)


def enqueue(
    session: Session,
    principal: Principal,
    device_ids: Sequence[int],
    request_type: str,
    params: Mapping[str, Any] | None = None,
    *,
    lifetime: dt.timedelta = DEFAULT_LIFETIME,
    check: bool = True,
    device_user_id: int | None = None,
    targets: Sequence[tuple[int, int]] | None = None,
) -> Queued:
    """Queue one command for each device; all or nothing.

    ``check=False`` is for callers that built ``params`` from a typed builder
    already checked against the schema. ``device_user_id`` queues on a user
    channel (Shared iPad) of the single device given. ``targets``: what
    ``load_targets`` already answered for these devices with ``Permission.COMMAND``
    and this command (``approvals.submit``), not asked again; a destructive
    command's targets are always checked here for the destructive right.
    """
    params = dict(params or {})
    if check:
        check_params(request_type, params)
    permission = Permission.DESTRUCTIVE if request_type in DESTRUCTIVE_REQUEST_TYPES else Permission.COMMAND
    if targets is None or permission is not Permission.COMMAND:
        targets = load_targets(session, principal, device_ids, permission)
    if device_user_id is not None and len(targets) != 1:
        raise InvalidInput("a user channel belongs to one device")
    now = utcnow()
    expires_at = now + lifetime
    uuids: dict[int, str] = {}
    rows: list[dict[str, Any]] = []
    # Render the plist once; each device's body differs only in its CommandUUID (same length).
    placeholder = str(uuid.uuid4()).upper()
    template = command_body(placeholder, request_type, params)
    for device_id, school_id in targets:
        command_uuid = str(uuid.uuid4()).upper()
        uuids[device_id] = command_uuid
        rows.append(
            {
                "uuid": command_uuid,
                "school_id": school_id,
                "device_id": device_id,
                "device_user_id": device_user_id,
                "request_type": request_type,
                "body": template.replace(placeholder.encode("ascii"), command_uuid.encode("ascii"), 1),
                "status": CommandStatus.QUEUED,
                "created_by": principal.label,
                "created_at": now,
                "expires_at": expires_at,
            }
        )
    with progress.task(f"queueing {request_type}", total=len(rows)) as advance:
        for start in range(0, len(rows), _BATCH):
            # A Core insert: the ORM's bulk path costs twice the time for nothing here.
            session.execute(Command.__table__.insert(), rows[start : start + _BATCH])
            advance(len(rows[start : start + _BATCH]))
    # Wake the devices once this unit of work commits, with a fresh push back-off.
    push.reset_backoff(session, list(uuids))
    push.wake_after_commit(session, uuids)
    per_school = Counter(school_id for _, school_id in targets)
    for school_id, count in sorted(per_school.items()):
        audit.record(
            session,
            principal,
            "command.queue",
            school_id=school_id,
            target=("command", request_type),
            details={"request_type": request_type, "devices": count},
        )
    return Queued(request_type, uuids)


def enqueue_commands(
    session: Session,
    principal: Principal,
    device_ids: Sequence[int],
    items: Sequence[mdm_commands.Command],
    *,
    device_user_id: int | None = None,
) -> list[Queued]:
    """Queue several built (already checked) commands, in order, for each device."""
    return [
        enqueue(session, principal, device_ids, item.request_type, item.params, check=False,
                device_user_id=device_user_id)
        for item in items
    ]


def load_targets(
    session: Session,
    principal: Principal,
    device_ids: Sequence[int],
    permission: Permission,
    *,
    command: str | None = None,
) -> list[tuple[int, int]]:
    """(device id, school id) of each device, all or nothing: NotFound outside the principal's
    scope, Forbidden without ``permission`` at a device's school (or class), or, given
    ``command``, without a role there that may send it (``access.ROLE_COMMANDS``);
    InvalidInput for a device that cannot take MDM commands. Used by ``enqueue`` and by
    ``approvals.submit``."""
    wanted = list(dict.fromkeys(device_ids))
    if not wanted:
        raise InvalidInput("no devices given")
    found: dict[int, tuple[int, int | None, str, str]] = {}
    for start in range(0, len(wanted), _BATCH):
        chunk = wanted[start : start + _BATCH]
        devices = Device.__table__  # Core columns: no ORM compile step for a plain row read
        statement = restrict(
            select(devices.c.id, devices.c.school_id, devices.c.group_id, devices.c.platform,
                   devices.c.enrollment_state).where(id_in(session, devices.c.id, chunk)),
            principal,
            Permission.VIEW,
            devices.c.school_id,
            group_filter(Device),
        )
        for device_id, school_id, group_id, platform, state in session.execute(statement):
            found[device_id] = (school_id, group_id, platform, state)
    missing = [device_id for device_id in wanted if device_id not in found]
    if missing:
        raise NotFound(f"no device {missing[0]}" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    for device_id in wanted:
        school_id, group_id, platform, state = found[device_id]
        if not principal.can(permission, school_id, group_id, command=command):
            if command is not None and principal.can(permission, school_id, group_id):
                raise Forbidden(f"your role may not send {command} (device {device_id}): it is for central IT")
            raise Forbidden(f"you may not send this command to device {device_id}")
        if platform not in _APPLE_PLATFORMS:
            raise InvalidInput(f"device {device_id} is a {platform} device: MDM commands are for Apple devices")
        if state == EnrollmentState.UNENROLLED:
            raise InvalidInput(f"device {device_id} is not enrolled")
    return [(device_id, found[device_id][0]) for device_id in wanted]


def cancel_queued(session: Session, command_uuids: Sequence[str]) -> int:
    """Cancel the commands that are still queued (a device that fetched one keeps it); how many were."""
    cancelled = 0
    now = utcnow()
    uuids = list(command_uuids)
    for start in range(0, len(uuids), _BATCH):
        result = session.execute(
            update(Command)
            .where(text_in(session, Command.uuid, uuids[start:start + _BATCH]), Command.status == CommandStatus.QUEUED)
            .values(status=CommandStatus.CANCELLED, completed_at=now)
            .execution_options(synchronize_session=False)
        )
        cancelled += result.rowcount or 0
    return cancelled
