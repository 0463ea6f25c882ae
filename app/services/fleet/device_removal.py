"""Removing a device from Flokk: destructive, so it waits for a second central admin like an erase.

``approvals.submit(..., REMOVE_DEVICE)`` makes the request; on approval
``remove`` revokes the device's identity certificates (so it can no longer
speak to Flokk), cancels its waiting commands, forgets its push and escrowed
tokens and marks it unenrolled. The row stays, with its commands and audit
trail, for the history.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.models.base import utcnow
from app.models.commands import Command, CommandStatus
from app.models.devices import Device, EnrollmentState
from app.models.pki import IssuedCertificate
from app.services import audit
from app.services.access import Principal
from app.services.pki import certificates

#: Flokk's own action in approval requests (not an Apple command).
REMOVE_DEVICE = "RemoveDevice"
_WAITING = (CommandStatus.QUEUED, CommandStatus.SENT, CommandStatus.NOT_NOW)


def remove(session: Session, principal: Principal, device_ids: Sequence[int], *, reason: str) -> int:
    """Carry out an approved removal (``principal`` is the approving central admin)."""
    removed = 0
    now = utcnow()
    for device_id in device_ids:
        device = session.scalar(select(Device).where(Device.id == device_id).with_for_update())
        if device is None:
            continue
        revoked = []
        for record in session.scalars(
            select(IssuedCertificate).where(IssuedCertificate.device_id == device.id, IssuedCertificate.revoked_at.is_(None))
        ):
            certificates.revoke(session, principal, record.serial, reason="device removed from Flokk")
            revoked.append(record.serial)
        cancelled = session.execute(
            update(Command)
            .where(Command.device_id == device.id, Command.status.in_(_WAITING))
            .values(status=CommandStatus.CANCELLED, completed_at=now)
        ).rowcount
        device.enrollment_state = EnrollmentState.UNENROLLED
        device.push_token = device.push_magic = None
        device.unlock_token = device.bootstrap_token = None
        audit.record(session, principal, "device.remove", school_id=device.school_id, target=device,
                     details={"serial_number": device.serial_number, "certificates_revoked": revoked,
                              "commands_cancelled": cancelled, "reason": reason})
        removed += 1
    return removed
