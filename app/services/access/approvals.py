"""Actions that need a second central admin: destructive commands, removing a device, and any
command to many devices at once.

``submit`` is the one way admins send commands: it queues a non-destructive
command to a few devices at once, and turns a destructive or bulk one into an
``ApprovalRequest`` (with a reason) that nothing is queued for until a central
admin other than the requester approves it. Requests expire.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import context
from app.errors import Conflict, Forbidden, Gone, InvalidInput
from app.models.approvals import ApprovalRequest, ApprovalStatus
from app.models.base import utcnow
from app.models.devices import Device
from app.services import audit
from app.services.access import Permission, Principal, command_rights, get_for, require_central, same_principal, scoped
from app.services.fleet import device_removal
from app.services.fleet.device_removal import REMOVE_DEVICE
from app.services.google import commands as chromebook_commands
from app.services.mdm import commands
from profiles.values import from_json, to_json

DESTRUCTIVE = command_rights.DESTRUCTIVE
BULK = "bulk"
MIN_REASON_LENGTH = 5


@dataclass(frozen=True)
class Submitted:
    """Either the commands were queued, or an approval request was made."""

    queued: commands.Queued | None = None
    approval: ApprovalRequest | None = None


def _queue(request_type: str) -> Any:
    """Where a command is queued: Google for Chromebook commands, the MDM queue for Apple's."""
    return chromebook_commands if chromebook_commands.handles(request_type) else commands


def needs_approval(session: Session, request_type: str, params: Mapping[str, Any], device_count: int) -> str | None:
    """DESTRUCTIVE for what wipes or unmanages (``command_rights``; for Chromebooks powerwash, wiping
    users and deprovisioning), BULK over the threshold, else None."""
    if request_type == REMOVE_DEVICE:
        return DESTRUCTIVE
    if chromebook_commands.handles(request_type):
        if request_type in chromebook_commands.DESTRUCTIVE:
            return DESTRUCTIVE
    elif command_rights.approval_needed(session, request_type, params) is not None:
        return DESTRUCTIVE
    if device_count > context(session).settings.approval_bulk_threshold:
        return BULK
    return None


def submit(
    session: Session,
    principal: Principal,
    device_ids: Sequence[int],
    request_type: str,
    params: Mapping[str, Any] | None = None,
    *,
    reason: str | None = None,
) -> Submitted:
    """The one way admins send commands (API, CLI, dashboard): checked against the role's commands
    (``access.ROLE_COMMANDS``) and ``command_rights``, then queued or turned into an approval request."""
    params = dict(params or {})
    wanted = list(dict.fromkeys(device_ids))
    if request_type == REMOVE_DEVICE:
        targets = [(device.id, device.school_id) for device in (_removable(session, principal, device_id) for device_id in wanted)]
        kind: str | None = DESTRUCTIVE
    else:
        queue = _queue(request_type)
        queue.check_params(request_type, params)
        kind = needs_approval(session, request_type, params, len(wanted))
        permission = Permission.REQUEST_DESTRUCTIVE if kind == DESTRUCTIVE else Permission.COMMAND
        targets = queue.load_targets(session, principal, wanted, permission, command=request_type)
        if kind is None:
            if queue is commands:  # the targets were just checked, with this command: not again
                return Submitted(queued=commands.enqueue(session, principal, wanted, request_type, params,
                                                         check=False, targets=targets))
            return Submitted(queued=queue.enqueue(session, principal, wanted, request_type, params, check=False))
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON_LENGTH:
        what = "a destructive command" if kind == DESTRUCTIVE else f"a command to {len(wanted)} devices"
        raise InvalidInput(f"{what} needs a reason for the approver", details={"reason": ["Say why (at least 5 characters)."]})
    schools = {school_id for _, school_id in targets}
    request = ApprovalRequest(
        school_id=schools.pop() if len(schools) == 1 else None,
        request_type=request_type,
        params=to_json(params),  # data (a profile's bytes) as {"$data": base64}
        device_ids=[device_id for device_id, _ in targets],
        device_count=len(targets),
        reason=reason,
        kind=kind,
        status=ApprovalStatus.PENDING,
        requested_by=principal.label,
        requester_kind=principal.kind,
        requester_id=principal.id,
        expires_at=utcnow() + dt.timedelta(hours=context(session).settings.approval_expiry_hours),
    )
    session.add(request)
    session.flush()
    audit.record(session, principal, "approval.request", school_id=request.school_id, target=request,
                 details={"request_type": request_type, "devices": request.device_count, "kind": kind, "reason": reason})
    return Submitted(approval=request)


def _removable(session: Session, principal: Principal, device_id: int) -> Device:
    device = get_for(session, Device, device_id, principal, Permission.REQUEST_DESTRUCTIVE)
    if not principal.can(Permission.REQUEST_DESTRUCTIVE, device.school_id, device.group_id, command=REMOVE_DEVICE):
        raise Forbidden("you may not ask for a device to be removed from Flokk")
    return device


def submit_to_group(
    session: Session,
    principal: Principal,
    group_id: int,
    request_type: str,
    params: Mapping[str, Any] | None = None,
    *,
    reason: str | None = None,
) -> Submitted:
    """The same command to every enrolled device of a group (a class, a cart) it is for: Apple's
    commands to its iPads and Macs, Chromebook commands to its Chromebooks."""
    from app.models.devices import EnrollmentState, Platform
    from app.models.tenancy import Group

    group = get_for(session, Group, group_id, principal)
    device_ids = list(
        session.scalars(
            scoped(Device, principal)
            .with_only_columns(Device.id)
            .where(
                Device.group_id == group.id,
                Device.enrollment_state != EnrollmentState.UNENROLLED,
                (Device.platform == Platform.CHROMEOS) if chromebook_commands.handles(request_type)
                else (Device.platform != Platform.CHROMEOS),
            )
            .order_by(Device.id)
        )
    )
    if not device_ids:
        kind = "Chromebooks" if chromebook_commands.handles(request_type) else "Apple devices"
        raise InvalidInput(f"group {group.name} has no enrolled {kind}")
    return submit(session, principal, device_ids, request_type, params, reason=reason)


def list_requests(session: Session, principal: Principal, *, status: str | None = None, limit: int = 200) -> list[ApprovalRequest]:
    statement = scoped(ApprovalRequest, principal).order_by(ApprovalRequest.id.desc()).limit(limit)
    if status:
        statement = statement.where(ApprovalRequest.status == status)
    return list(session.scalars(statement))


def count_waiting(session: Session, principal: Principal) -> int:
    """Requests still waiting for a decision that the principal sees (the menu's badge)."""
    from sqlalchemy import func

    statement = (scoped(ApprovalRequest, principal).with_only_columns(func.count())
                 .where(ApprovalRequest.status == ApprovalStatus.PENDING, ApprovalRequest.expires_at > utcnow()))
    return session.scalar(statement) or 0


#: Devices named per request on the approvals page; the rest are counted.
DEVICES_SHOWN = 10


def devices_of(session: Session, principal: Principal, requests: Sequence[ApprovalRequest], *,
               limit: int = DEVICES_SHOWN) -> dict[int, list[Device]]:
    """The first ``limit`` devices of each request that the principal may see (name, serial, class, school),
    in one query: an approver decides on devices, not on a count."""
    from sqlalchemy.orm import joinedload

    wanted = {request.id: [int(device_id) for device_id in request.device_ids[:limit]] for request in requests}
    ids = sorted({device_id for chosen in wanted.values() for device_id in chosen})
    if not ids:
        return {request.id: [] for request in requests}
    found = {device.id: device for device in session.scalars(
        scoped(Device, principal).where(Device.id.in_(ids)).options(joinedload(Device.school), joinedload(Device.group)))}
    return {request_id: [found[device_id] for device_id in chosen if device_id in found] for request_id, chosen in wanted.items()}


def get_request(session: Session, principal: Principal, request_id: int) -> ApprovalRequest:
    return get_for(session, ApprovalRequest, request_id, principal)


def _pending_for_decision(session: Session, principal: Principal, request_id: int) -> ApprovalRequest:
    require_central(principal, Permission.APPROVE)
    request = get_for(session, ApprovalRequest, request_id, principal, lock=True)
    if request.status != ApprovalStatus.PENDING:
        raise Conflict(f"request {request_id} is {request.status}, not pending")
    if request.expires_at <= utcnow():
        raise Gone(f"request {request_id} has expired; ask for it again")
    if same_principal(principal, request.requester_kind, request.requester_id, request.requested_by):
        raise Forbidden("you cannot decide on your own request: another central admin must")
    return request


def approve(session: Session, principal: Principal, request_id: int, *, note: str | None = None) -> ApprovalRequest:
    """Queue the requested commands now, as the approver (who holds the destructive right)."""
    request = _pending_for_decision(session, principal, request_id)
    details: dict[str, Any] = {"request_type": request.request_type, "requested_by": request.requested_by}
    if request.request_type == REMOVE_DEVICE:
        done = device_removal.remove(session, principal, request.device_ids, reason=request.reason)
    else:
        queued = _queue(request.request_type).enqueue(session, principal, request.device_ids, request.request_type,
                                                      from_json(request.params))
        done = len(queued)
        details["command_uuids"] = sorted(queued.command_uuids.values())[:100]
    request.status = ApprovalStatus.APPROVED
    request.decided_by, request.decided_at, request.decision_note = principal.label, utcnow(), note
    request.queued_count = done
    audit.record(session, principal, "approval.approve", school_id=request.school_id, target=request,
                 details={**details, "devices": done})
    return request


def reject(session: Session, principal: Principal, request_id: int, *, note: str) -> ApprovalRequest:
    request = _pending_for_decision(session, principal, request_id)
    if len(note.strip()) < MIN_REASON_LENGTH:
        raise InvalidInput("say why you reject the request", details={"note": ["At least 5 characters."]})
    request.status = ApprovalStatus.REJECTED
    request.decided_by, request.decided_at, request.decision_note = principal.label, utcnow(), note.strip()
    audit.record(session, principal, "approval.reject", school_id=request.school_id, target=request,
                 details={"request_type": request.request_type, "requested_by": request.requested_by, "note": note.strip()})
    return request


def expire_due(session: Session) -> int:
    """Scheduler job: mark undecided requests past their expiry."""
    now = utcnow()
    due = list(
        session.scalars(
            select(ApprovalRequest)
            .where(ApprovalRequest.status == ApprovalStatus.PENDING, ApprovalRequest.expires_at <= now)
            .with_for_update(skip_locked=True)
        )
    )
    for request in due:
        request.status = ApprovalStatus.EXPIRED
        audit.record(session, "system:approvals", "approval.expire", school_id=request.school_id, target=request,
                     details={"request_type": request.request_type, "requested_by": request.requested_by})
    return len(due)
