"""Chromebook commands in the same command history as the iPads'.

A command is a row of ``commands`` (status ``queued → sent → acknowledged |
error | expired | cancelled``, as for iPads) plus a ``chromebook_commands``
row with Google's command id. Remote commands go out with
``issueCommand`` and are polled with ``commands.get`` until Google calls
them final; status changes (disable, re-enable, deprovision) go out with
``batchChangeStatus``, 50 devices a call, and are final at once. A web
request sends up to ``REQUEST_ISSUE_LIMIT`` commands itself; the scheduler
sends the rest and polls. Powerwash, wiping users and deprovisioning are
destructive: they reach here only through an approval (``access.approvals``).

``check_params``, ``load_targets`` and ``enqueue`` mirror ``mdm.commands`` so
approvals treat both platforms alike.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import Forbidden, InvalidInput, NotFound
from app.models.base import utcnow
from app.models.commands import Command, CommandStatus
from app.models.devices import Device, EnrollmentState, Platform
from app.models.google import Chromebook, ChromebookCommand
from app.models.tenancy import School
from app.services import audit
from app.services.access import Permission, Principal, group_filter, restrict
from app.services.google import client_for, connection_of
from app.services.mdm.commands import Queued
from mdm_protocol.google import commands as catalogue
from mdm_protocol.google import errors
from mdm_protocol.google.client import GoogleClient

DESTRUCTIVE = catalogue.DESTRUCTIVE
LIFETIME = dt.timedelta(days=14)
#: A web request issues at most this many itself; the scheduler issues the rest within a minute.
REQUEST_ISSUE_LIMIT = 50
FIRST_POLL = dt.timedelta(seconds=20)
MAX_POLL_GAP = dt.timedelta(minutes=30)
_UNKNOWN_DEVICE = "Google does not know this Chromebook (deleted in Google?); nothing was sent"


def handles(request_type: str) -> bool:
    return request_type in catalogue.CATALOGUE


def check_params(request_type: str, params: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return catalogue.command(request_type).check(params)
    except catalogue.ChromeCommandError as error:
        details = {error.key: [str(error)]} if error.key else None
        raise InvalidInput(f"invalid parameters for {request_type}: {error}", details=details) from None


def load_targets(
    session: Session,
    principal: Principal,
    device_ids: Sequence[int],
    permission: Permission,
    *,
    command: str | None = None,
) -> list[tuple[int, int]]:
    """(device id, school id) of each Chromebook, all or nothing, like ``mdm.commands.load_targets``
    (scope, the right, the role's commands when ``command`` is given)."""
    wanted = list(dict.fromkeys(device_ids))
    if not wanted:
        raise InvalidInput("no devices given")
    statement = restrict(
        select(Device.id, Device.school_id, Device.group_id, Device.platform, Device.enrollment_state, Device.google_device_id)
        .where(Device.id.in_(wanted)), principal, Permission.VIEW, Device.school_id, group_filter(Device))
    found = {row.id: row for row in session.execute(statement)}
    missing = [device_id for device_id in wanted if device_id not in found]
    if missing:
        raise NotFound(f"no device {missing[0]}" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    for device_id in wanted:
        row = found[device_id]
        if not principal.can(permission, row.school_id, row.group_id, command=command):
            if command is not None and principal.can(permission, row.school_id, row.group_id):
                raise Forbidden(f"your role may not send {command} (device {device_id}): it is for central IT")
            raise Forbidden(f"you may not send this command to device {device_id}")
        if row.platform != Platform.CHROMEOS or not row.google_device_id:
            raise InvalidInput(f"device {device_id} is not a Chromebook: Chromebook commands go to Chromebooks")
        if row.enrollment_state == EnrollmentState.UNENROLLED:
            raise InvalidInput(f"device {device_id} is deprovisioned or gone from Google")
    return [(device_id, found[device_id].school_id) for device_id in wanted]


def enqueue(
    session: Session,
    principal: Principal,
    device_ids: Sequence[int],
    request_type: str,
    params: Mapping[str, Any] | None = None,
    *,
    issue_limit: int | None = REQUEST_ISSUE_LIMIT,
    check: bool = True,
) -> Queued:
    """Record one command per Chromebook and send up to ``issue_limit`` of them to Google now.

    Parameters are always checked (and typed) here; ``check`` is accepted for the MDM queue's signature."""
    command = catalogue.command(request_type) if handles(request_type) else None
    if command is None:
        raise InvalidInput(f"unknown Chromebook command {request_type!r}")
    checked = check_params(request_type, params or {})
    permission = Permission.DESTRUCTIVE if command.destructive else Permission.COMMAND
    targets = load_targets(session, principal, device_ids, permission, command=request_type)
    google_ids = dict(session.execute(select(Device.id, Device.google_device_id).where(Device.id.in_([t[0] for t in targets]))).all())
    now = utcnow()
    uuids: dict[int, str] = {}
    for device_id, school_id in targets:
        body = _body(command, checked, google_ids[device_id])
        row = Command(uuid=str(uuid.uuid4()).upper(), school_id=school_id, device_id=device_id, request_type=request_type,
                      body=json.dumps(body, sort_keys=True).encode(), status=CommandStatus.QUEUED,
                      created_by=principal.label, created_at=now, expires_at=now + LIFETIME)
        session.add(row)
        session.flush()
        session.add(ChromebookCommand(command_id=row.id, google_device_id=google_ids[device_id]))
        uuids[device_id] = row.uuid
    for school_id, count in sorted(Counter(school_id for _, school_id in targets).items()):
        audit.record(session, principal, "command.queue", school_id=school_id, target=("command", request_type),
                     details={"request_type": request_type, "devices": count, "platform": Platform.CHROMEOS})
    session.flush()
    if issue_limit:
        issue_queued(session, limit=issue_limit, uuids=list(uuids.values()))
    return Queued(request_type, uuids)


def _body(command: catalogue.ChromeCommand, params: Mapping[str, Any], google_id: str) -> dict[str, Any]:
    """The request as Google gets it (the command's record)."""
    if command.kind == catalogue.STATUS:
        body: dict[str, Any] = {"deviceIds": [google_id], "changeChromeOsDeviceStatusAction": command.action}
        if "reason" in params:
            body["deprovisionReason"] = catalogue.DEPROVISION_REASONS[params["reason"]]
        return body
    body = {"commandType": command.request_type}
    payload = command.issue_payload(params)
    if payload is not None:
        body["payload"] = payload
    return body


def _queued(session: Session, limit: int, uuids: Sequence[str] | None) -> list[tuple[Command, ChromebookCommand]]:
    statement = (select(Command, ChromebookCommand).join(ChromebookCommand, ChromebookCommand.command_id == Command.id)
                 .where(Command.status == CommandStatus.QUEUED).order_by(Command.id).limit(limit))
    if uuids is not None:
        statement = statement.where(Command.uuid.in_(list(uuids)))
    return list(session.execute(statement).tuples())


def issue_queued(session: Session, *, limit: int = 1000, uuids: Sequence[str] | None = None) -> Counter[str]:
    """Send queued Chromebook commands to Google; quota or outage leaves the rest queued for the next round."""
    outcome: Counter[str] = Counter()
    pending = _queued(session, limit, uuids)
    for (organisation_id,), rows in _by_organisation(session, pending).items():
        connection = connection_of(session, organisation_id)
        if connection is None:
            outcome["no_google_connection"] += len(rows)
            continue
        client = client_for(session, connection)
        try:
            _issue(session, client, rows, outcome)
        except errors.GoogleError as error:  # retryable: try again next round
            outcome["left_queued"] += sum(1 for command, _ in rows if command.status == CommandStatus.QUEUED)
            audit.record(session, "system:google", "command.issue", outcome=audit.FAILURE,
                         details={"error": error.message[:500]})
    return outcome


def _by_organisation(session: Session, rows: list[tuple[Command, ChromebookCommand]]) -> dict[tuple[int], list]:
    if not rows:
        return {}
    schools = dict(session.execute(select(School.id, School.organisation_id)
                                   .where(School.id.in_({command.school_id for command, _ in rows}))).all())
    grouped: dict[tuple[int], list] = defaultdict(list)
    for command, link in rows:
        grouped[(schools[command.school_id],)].append((command, link))
    return grouped


def _issue(session: Session, client: GoogleClient, rows: list[tuple[Command, ChromebookCommand]], outcome: Counter[str]) -> None:
    now = utcnow()
    batches: dict[tuple[str, str], list[tuple[Command, ChromebookCommand]]] = defaultdict(list)
    for command, link in rows:
        body = json.loads(command.body)
        if "changeChromeOsDeviceStatusAction" in body:
            batches[(body["changeChromeOsDeviceStatusAction"], body.get("deprovisionReason") or "")].append((command, link))
            continue
        try:
            link.google_command_id = client.issue_command(link.google_device_id, body["commandType"], body.get("payload"))
        except errors.GoogleError as error:
            if error.retryable:
                raise
            _final(command, CommandStatus.ERROR, now, _UNKNOWN_DEVICE if isinstance(error, errors.NotFound) else error.message)
            outcome["refused"] += 1
            continue
        command.status, command.sent_at, command.delivery_count = CommandStatus.SENT, now, command.delivery_count + 1
        link.next_poll_at = now + FIRST_POLL
        outcome["sent"] += 1
    for (action, reason), items in batches.items():
        for start in range(0, len(items), catalogue.STATUS_BATCH):
            chunk = items[start : start + catalogue.STATUS_BATCH]
            results = client.batch_change_status([link.google_device_id for _, link in chunk], action, reason or None)
            for (command, _link), result in zip(chunk, results, strict=True):
                command.sent_at, command.delivery_count = now, command.delivery_count + 1
                command.result = json.dumps({"deviceId": result.device_id, "error": result.error}).encode()
                if result.error:
                    _final(command, CommandStatus.ERROR, now, result.error)
                    outcome["refused"] += 1
                else:
                    _final(command, CommandStatus.ACKNOWLEDGED, now, None)
                    _after_status_change(session, command)
                    outcome["done"] += 1
    session.flush()


def _after_status_change(session: Session, command: Command) -> None:
    """What Google now says of the device, without waiting for the next sync."""
    status = {"DISABLE": "DISABLED", "REENABLE": "ACTIVE", "DEPROVISION": "DEPROVISIONED"}[command.request_type]
    inventory = session.get(Chromebook, command.device_id)
    if inventory is not None:
        inventory.status = status
    if status == "DEPROVISIONED":
        device = session.get(Device, command.device_id)
        if device is not None:
            device.enrollment_state = EnrollmentState.UNENROLLED


def _final(command: Command, status: str, now: dt.datetime, error: str | None) -> None:
    command.status, command.completed_at = status, now
    if error:
        command.error_chain = [{"ErrorDomain": "Google", "LocalizedDescription": error[:1000]}]


#: Google's command states → Flokk's statuses.
_STATES = {"EXPIRED": CommandStatus.EXPIRED, "CANCELLED": CommandStatus.CANCELLED}


def poll(session: Session, *, limit: int = 500, now_all: bool = False) -> Counter[str]:
    """Ask Google how sent commands went (``commands.get``), with back-off, until each is final;
    ``now_all`` asks about every sent command at once (the CLI)."""
    outcome: Counter[str] = Counter()
    now = utcnow()
    due = ChromebookCommand.next_poll_at.is_not(None) if now_all else ChromebookCommand.next_poll_at <= now
    rows = list(session.execute(
        select(Command, ChromebookCommand).join(ChromebookCommand, ChromebookCommand.command_id == Command.id)
        .where(Command.status == CommandStatus.SENT, due)
        .order_by(ChromebookCommand.next_poll_at).limit(limit)).tuples())
    for (organisation_id,), items in _by_organisation(session, rows).items():
        connection = connection_of(session, organisation_id)
        if connection is None:
            continue
        client = client_for(session, connection)
        for command, link in items:
            try:
                answer = client.get_command(link.google_device_id, link.google_command_id or "")
            except errors.GoogleError as error:
                if error.retryable:
                    outcome["google_unavailable"] += 1
                    break
                _final(command, CommandStatus.ERROR, now, _UNKNOWN_DEVICE if isinstance(error, errors.NotFound) else error.message)
                link.next_poll_at = None
                outcome["error"] += 1
                continue
            link.polls += 1
            outcome[_record(command, link, answer, now)] += 1
    session.flush()
    return outcome


def _record(command: Command, link: ChromebookCommand, answer: Mapping[str, Any], now: dt.datetime) -> str:
    state = str(answer.get("state") or "")
    command.result = json.dumps(dict(answer), sort_keys=True).encode()
    if state == "EXECUTED_BY_CLIENT":
        result = answer.get("commandResult") or {}
        if result.get("result") == "SUCCESS":
            _final(command, CommandStatus.ACKNOWLEDGED, now, None)
        else:
            _final(command, CommandStatus.ERROR, now,
                   str(result.get("errorMessage") or f"the Chromebook answered {result.get('result') or 'nothing'}"))
        link.next_poll_at = None
        return command.status
    if state in _STATES:
        _final(command, _STATES[state], now, None)
        link.next_poll_at = None
        return command.status
    gap = min(MAX_POLL_GAP, FIRST_POLL * (2 ** min(link.polls, 10)))
    link.next_poll_at = now + gap
    return "waiting"


def result_of(command: Command) -> dict[str, Any] | None:
    """Google's last word on a Chromebook command (what the command pages show)."""
    if command.result is None:
        return None
    try:
        found = json.loads(command.result)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None
