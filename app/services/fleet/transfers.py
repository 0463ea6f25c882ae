"""Moving a device to another school: central IT says which school expects it.

A device is enrolled in one school. Holding another school's enrollment link
is not enough to take it over (the MDM store refuses such an Authenticate,
403, audited): the move is central IT's decision. ``allow`` records that a
school expects the device; the device's next enrolment with that school's
link moves it there and uses the record up (:func:`take`). An iPad that
Apple School Manager assigned to the school, enrolling through ADE, may move
there too (:func:`allowed_by`). Nothing changes before the device enrols,
and the audit log has who allowed the move and why.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.errors import InvalidInput, NotFound
from app.models.base import utcnow
from app.models.devices import Device, DeviceTransfer
from app.services import audit
from app.services.access import Principal, require_central
from app.services.asm import enrolment as ade
from app.services.fleet.devices import find_device
from app.services.fleet.schools import get_school_by_code

DEFAULT_LIFETIME = dt.timedelta(days=14)
#: ``allowed_by`` of a move Apple School Manager vouched for.
ASM = "asm"


def allow(
    session: Session,
    principal: Principal,
    device_ref: str,
    school_code: str,
    *,
    reason: str,
    expires_in: dt.timedelta | None = None,
) -> DeviceTransfer:
    """Let ``school_code`` take the device over at its next enrolment there (replaces an earlier one)."""
    require_central(principal)
    reason = reason.strip()
    if not reason:
        raise InvalidInput("say why the device moves to another school")
    device = find_device(session, principal, device_ref)
    school = get_school_by_code(session, principal, school_code)
    if school.id == device.school_id:
        raise InvalidInput(f"the device is already in {school.code}")
    session.execute(delete(DeviceTransfer).where(DeviceTransfer.device_id == device.id))
    transfer = DeviceTransfer(
        device_id=device.id,
        school_id=school.id,
        allowed_by=principal.label,
        reason=reason[:500],
        expires_at=utcnow() + (expires_in or DEFAULT_LIFETIME),
    )
    session.add(transfer)
    session.flush()
    audit.record(session, principal, "device.transfer_allowed", school_id=device.school_id, target=device,
                 details={"to_school_id": school.id, "reason": transfer.reason,
                          "expires_at": transfer.expires_at.isoformat()})
    return transfer


def cancel(session: Session, principal: Principal, device_ref: str) -> None:
    require_central(principal)
    device = find_device(session, principal, device_ref)
    transfer = session.scalar(select(DeviceTransfer).where(DeviceTransfer.device_id == device.id))
    if transfer is None:
        raise NotFound(f"no move to another school is waiting for device {device_ref}")
    session.delete(transfer)
    audit.record(session, principal, "device.transfer_cancelled", school_id=device.school_id, target=device,
                 details={"to_school_id": transfer.school_id})


def pending(session: Session, device_id: int) -> DeviceTransfer | None:
    """The move waiting for a device, if any and not expired."""
    transfer = session.scalar(select(DeviceTransfer).where(DeviceTransfer.device_id == device_id))
    if transfer is None or transfer.expires_at <= utcnow():
        return None
    return transfer


def allowed_by(session: Session, device: Device, school_id: int) -> str | None:
    """Who lets ``school_id`` take the device over now (the re-enrolment rule's question), or None.

    Central IT's pending transfer, or Apple School Manager: the serial is
    assigned to that school and the iPad enrolled through ADE with Apple-signed
    MachineInfo naming this UDID (:func:`app.services.asm.enrolment.authorises_move`).
    """
    transfer = pending(session, device.id)
    if transfer is not None and transfer.school_id == school_id:
        return transfer.allowed_by
    if ade.authorises_move(session, udid=device.udid or "", serial_number=device.serial_number, school_id=school_id):
        return ASM
    return None


def take(session: Session, device: Device, school_id: int) -> None:
    """Record the move as the device enrols at ``school_id`` (audited; a transfer is used up)."""
    by = allowed_by(session, device, school_id)
    if by is None:
        raise InvalidInput("no move of this device to that school was allowed")
    transfer = pending(session, device.id)
    reason = "assigned to the school in Apple School Manager"
    if by != ASM and transfer is not None:
        reason = transfer.reason
        session.delete(transfer)
    audit.record(session, f"device:{device.udid}", "device.moved", school_id=school_id, target=device,
                 details={"from_school_id": device.school_id, "to_school_id": school_id, "allowed_by": by,
                          "reason": reason})
