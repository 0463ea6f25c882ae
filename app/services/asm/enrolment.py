"""An iPad in Setup Assistant: its enrollment profile from signed MachineInfo, then supervised and configured.

The ADE profile's ``url`` receives the iPad's MachineInfo, signed by the
device's Apple certificate: Flokk checks the signature and the chain to
Apple's device CA, finds the serial among the devices ASM assigned to Flokk
and answers the school's enrollment profile with a one-time SCEP challenge
(no secret in any URL). The iPad then enrols as any other.

The MDM store calls the ``on_*`` hooks below (small and additive, so the
check-in rules stay in ``app.services.mdm.store``):

- Authenticate from the UDID and serial a verified MachineInfo named: the
  device is ADE-enrolled and supervised, and joins the class ASM expects;
- TokenUpdate with ``AwaitingConfiguration``: the device waits in Setup
  Assistant; once its first inventory and its school's policy are queued,
  ``DeviceConfigured`` follows (and again if it still waits later);
- a supervised device is asked for its Activation Lock bypass code, which
  is escrowed sealed and readable only by central IT (audited).

:func:`expected_school_id` is the "expected at school X" record the
re-enrolment rules may consult before moving a device between schools.
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography import x509
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from app.db import context
from app.errors import FlokkError, Forbidden, NotFound, Unauthenticated
from app.models.asm import AsmDevice
from app.models.base import utcnow
from app.models.commands import Command, CommandStatus
from app.models.devices import Device
from app.services import audit
from app.services.access import Principal, get_for, require_central, system_principal
from app.services.mdm import enrollment
from app.services.mdm.enrollment import EnrollmentProfile
from mdm_protocol import checkin
from mdm_protocol.asm import machine_info
from mdm_protocol.reports import CommandReport, Status

log = logging.getLogger("flokk.asm")

BYPASS_CODE_LABEL = "activation-lock-bypass-code"
BYPASS_REQUEST = "ActivationLockBypassCode"
CONFIGURED = "DeviceConfigured"
ACTOR = "device:ade"
_OPEN = (CommandStatus.QUEUED, CommandStatus.SENT, CommandStatus.NOT_NOW)


class MalformedMachineInfo(FlokkError):
    status = 400
    code = "malformed_machine_info"


# --- the profile URL ---------------------------------------------------------------------


def enrollment_profile(session: Session, body: bytes) -> EnrollmentProfile:
    """The enrollment profile for the iPad whose signed MachineInfo is ``body``.

    A malformed body is 400, a signature that does not verify or chain to
    Apple's device CA 401, a serial Flokk does not expect at any school 403;
    each refusal is audited and stores nothing.
    """
    try:
        info = machine_info.verify(body, anchors(context(session).settings.asm_device_ca))
    except machine_info.UntrustedMachineInfo as error:
        _refuse(session, str(error), None)
        raise Unauthenticated(str(error)) from None
    except machine_info.MachineInfoError as error:
        _refuse(session, str(error), None)
        raise MalformedMachineInfo(str(error)) from None
    device = session.scalar(select(AsmDevice).where(AsmDevice.serial_number == info.serial).with_for_update())
    if device is None or device.deleted_at is not None:
        reason = f"serial {info.serial} is not assigned to this Flokk in Apple School Manager"
        _refuse(session, reason, info)
        raise Forbidden(reason)
    if device.school_id is None or device.school is None:
        reason = f"serial {info.serial} is not expected at any school yet: central IT assigns it in Flokk"
        _refuse(session, reason, info)
        raise Forbidden(reason)
    profile = enrollment.profile_for(session, device.school, asm_device_id=device.id)
    device.enrolling_udid, device.profile_served_at = info.udid, utcnow()
    audit.record(
        session, f"device:{info.udid}", "asm.enrollment_profile", school_id=device.school_id, target=device,
        details={"serial": info.serial, "product": info.product, "os_version": info.os_version,
                 "challenge_id": profile.challenge_id},
    )
    return profile


@lru_cache(maxsize=4)
def _anchors(path: str) -> tuple[x509.Certificate, ...]:
    return machine_info.load_anchors(path)


def anchors(path: Path | None) -> tuple[x509.Certificate, ...]:
    """The device CA certificates (FLOKK_ASM_DEVICE_CA, else Apple's shipped chain), read once per process."""
    return _anchors(str(path or machine_info.APPLE_DEVICE_CA))


def _refuse(session: Session, reason: str, info: machine_info.MachineInfo | None) -> None:
    audit.record(
        session, f"device:{info.udid}" if info else ACTOR, "asm.enrollment_profile", outcome=audit.DENIED,
        target=("asm_device", info.serial) if info else None, details={"reason": reason[:300]}, durable=True,
    )
    log.warning("refused an ADE enrollment profile: %s", reason)


# --- hooks the MDM store calls ----------------------------------------------------------------


def on_authenticate(session: Session, device: Device, message: checkin.Authenticate) -> None:
    """Authenticate from an iPad that fetched its profile through ADE: supervised, ADE, its expected class."""
    serial = (message.serial_number or device.serial_number or "").upper()
    if not serial:
        return
    expected = session.scalar(select(AsmDevice).where(AsmDevice.serial_number == serial))
    if expected is None or expected.enrolling_udid != device.udid:
        return
    device.ade_enrolled = device.supervised = True
    if device.group_id is None and expected.group_id is not None and expected.school_id == device.school_id:
        device.group_id = expected.group_id
    expected.device_id = device.id


def on_token_update(session: Session, device: Device, message: checkin.TokenUpdate, *, first: bool) -> None:
    """Remember whether the iPad waits in Setup Assistant; one that still waits later is told to go on."""
    device.awaiting_configuration = bool(message.awaiting_configuration and device.ade_enrolled)
    if not first and device.awaiting_configuration:
        _queue_once(session, device, CONFIGURED)


def on_enrolled(session: Session, device: Device) -> None:
    """After the first inventory and the school's policy: the bypass code, then DeviceConfigured."""
    if device.supervised and device.activation_lock_bypass_code is None:
        _queue_once(session, device, BYPASS_REQUEST)
    if device.awaiting_configuration:
        _queue_once(session, device, CONFIGURED)


def answer_needs_device(request_type: str | None, report: CommandReport, *, has_bypass_code: bool) -> bool:
    """Whether :func:`on_answer` has anything to do with this answer (the MDM hot path loads the
    device only then)."""
    if report.status is not Status.ACKNOWLEDGED:
        return False
    if request_type in (BYPASS_REQUEST, CONFIGURED):
        return True
    if request_type == "DeviceInformation":
        answers = report.raw.get("QueryResponses")
        return isinstance(answers, dict) and answers.get("IsSupervised") is True and not has_bypass_code
    return False


def on_answer(session: Session, device: Device, request_type: str | None, report: CommandReport) -> None:
    """An answer the store has recorded: escrow the bypass code, note DeviceConfigured, ask a newly
    supervised device for its code."""
    if report.status is not Status.ACKNOWLEDGED:
        return
    if request_type == BYPASS_REQUEST:
        code = report.raw.get(BYPASS_REQUEST)
        if isinstance(code, str) and code.strip():
            device.activation_lock_bypass_code = context(session).secrets.seal(code.strip().encode(), label=BYPASS_CODE_LABEL)
            device.bypass_code_escrowed_at = utcnow()
            audit.record(session, f"device:{device.udid}", "device.bypass_code_escrow", school_id=device.school_id,
                         target=device)
    elif request_type == CONFIGURED:
        device.awaiting_configuration = False
        audit.record(session, f"device:{device.udid}", "device.configured", school_id=device.school_id, target=device)
    elif request_type == "DeviceInformation":
        answers = report.raw.get("QueryResponses")
        if isinstance(answers, dict) and answers.get("IsSupervised") is True and device.activation_lock_bypass_code is None:
            # Asked once per enrolment: the daily inventory must not ask a device with no code every day.
            _queue_once(session, device, BYPASS_REQUEST, since=device.enrolled_at)


def expected_school_id(session: Session, serial_number: str | None) -> int | None:
    """The school Apple School Manager assignment says this serial belongs to (None: no such record)."""
    if not serial_number:
        return None
    return session.scalar(
        select(AsmDevice.school_id).where(AsmDevice.serial_number == serial_number.upper(), AsmDevice.deleted_at.is_(None))
    )


def authorises_move(session: Session, *, udid: str, serial_number: str | None, school_id: int) -> bool:
    """Whether Apple School Manager vouches for this device joining ``school_id``: the serial is expected
    there, and the iPad fetched its profile through ADE with Apple-signed MachineInfo naming this UDID.

    For the re-enrolment rules: a certificate from school A's enrollment may not take over a device of
    school B unless an admin moved it or a record like this expects it at A.
    """
    if not serial_number:
        return False
    row = session.scalar(select(AsmDevice).where(AsmDevice.serial_number == serial_number.upper()))
    return (row is not None and row.deleted_at is None and row.school_id == school_id
            and row.enrolling_udid is not None and row.enrolling_udid == udid)


def _queue_once(session: Session, device: Device, request_type: str, *, since: dt.datetime | None = None) -> None:
    """Queue the command unless one is still open (or, with ``since``, unless one was queued since then)."""
    from app.services.mdm import commands as command_queue  # the queue imports the store's module tree

    already = Command.status.in_(_OPEN) if since is None else Command.created_at >= since
    waiting = session.scalar(select(exists().where(
        Command.device_id == device.id, Command.request_type == request_type, Command.device_user_id.is_(None), already,
    )))
    if not waiting:
        command_queue.enqueue(session, system_principal("asm"), [device.id], request_type, {}, check=False)


# --- central IT reads the escrowed code ------------------------------------------------------


def bypass_code(session: Session, principal: Principal, device_id: int) -> dict[str, Any]:
    """The escrowed Activation Lock bypass code (central IT only; every read is audited)."""
    require_central(principal)
    device = get_for(session, Device, device_id, principal)
    if device.activation_lock_bypass_code is None:
        raise NotFound("no Activation Lock bypass code is escrowed for this device")
    code = context(session).secrets.open(device.activation_lock_bypass_code, label=BYPASS_CODE_LABEL).decode()
    audit.record(session, principal, "device.bypass_code_read", school_id=device.school_id, target=device)
    return {"device_id": device.id, "serial_number": device.serial_number, "code": code,
            "escrowed_at": device.bypass_code_escrowed_at}
