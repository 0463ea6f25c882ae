"""The MDM service's storage Protocols over SQLAlchemy, for one request's unit of work.

``SqlMdmStore`` is the IdentityStore, EnrollmentStore and CommandQueue of
:mod:`mdm_protocol.service`. The queue's two hot statements are single
conditional UPDATEs:

- taking the next command marks it sent in the same statement, choosing the
  row with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two workers serving
  the same device at once never hand out the same command (SQLite serialises
  writers, which gives the same guarantee);
- recording a report only changes a command that is still open, so a
  repeated report for the same CommandUUID changes nothing.

Re-enrolment (the store's half of the identity rule): a new certificate may
take over a known device when it comes from the device's own school's
enrollment link (an erased iPad enrolling again), or from a school central
IT (or Apple School Manager) said expects the device
(:mod:`app.services.fleet.transfers`). A
certificate from any other school's link is refused, so holding a link is
never enough to move a device. Every rebinding and every move is audited.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import plistlib
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import LargeBinary, bindparam, cast, delete, func, insert, literal, or_, select, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from app.db import DriverStatement, context
from app.errors import NotFound
from app.models.base import UTCDateTime, utcnow
from app.models.commands import OPEN_STATUSES, Command, CommandStatus
from app.models.devices import Device, DeviceUser, EnrollmentState, InstalledProfile, Platform, SeenSignature
from app.models.pki import IssuedCertificate
from app.services import audit
from app.services.access import Principal, system_principal
from app.services.apps import reports as app_reports
from app.services.asm import enrolment as ade
from app.services.fleet import transfers
from app.services.mdm import commands as command_queue
from app.services.pki import certificates
from app.services.pki.certificates import BoundDevice, CertificateIdentity
from app.services.policy import reconciler as policy_reconcile
from mdm_protocol import checkin
from mdm_protocol import commands as mdm_commands
from mdm_protocol.checkin import Enrollment
from mdm_protocol.reports import CommandReport, InventoryUpdate, Status
from mdm_protocol.service import PendingCommand, Recorded, RecordOutcome

UNLOCK_TOKEN_LABEL = "unlock-token"
BOOTSTRAP_TOKEN_LABEL = "bootstrap-token"
#: A command sent this long ago without any answer is offered again when the
#: device next connects (the answer was lost with the connection).
REDELIVER_AFTER = dt.timedelta(minutes=10)
#: last_seen_at is written at most this often per device on the hot path.
SEEN_RESOLUTION = dt.timedelta(seconds=60)
#: A signed message is refused when its signature was accepted less than this long ago.
#: A device never sends one signature twice but as a network retry (seconds);
#: someone replaying a captured body gets nothing for a day. Beyond the window
#: an Idle would fetch one command (once per window); an Authenticate with the
#: device's own certificate never resets it (see ``authenticate``).
REPLAY_WINDOW = dt.timedelta(hours=24)
_RENEWAL_HOPS = 5


class SqlMdmStore:
    """IdentityStore, EnrollmentStore and CommandQueue over one session."""

    def __init__(self, session: Session, principal: Principal | None = None) -> None:
        self.session = session
        self.principal = principal or system_principal("mdm")
        self.postgres = session.get_bind().dialect.name == "postgresql"
        self._devices: dict[str, Device] = {}
        #: Devices as the certificate lookup read them (``CertificateIdentity.device``), by UDID: the
        #: hot path (Idle, reports) works from these columns and loads a Device object only when needed.
        self._bound: dict[str, BoundDevice] = {}
        self._users: dict[tuple[int, str], DeviceUser] = {}
        self._pending_binding: tuple[CertificateIdentity, str] | None = None

    # --- IdentityStore ------------------------------------------------------------------

    def bound_device(self, identity: CertificateIdentity) -> str | None:
        if identity.device_id is None:
            return None
        bound = identity.device
        if bound is not None and bound.id == identity.device_id:
            if bound.udid is None:
                return None
            self._bound[bound.udid] = bound
            return bound.udid
        device = self.session.get(Device, identity.device_id)
        if device is None or device.udid is None:
            return None
        self._devices[device.udid] = device
        return device.udid

    def renews_certificate_of(self, identity: CertificateIdentity, device_id: str) -> bool:
        device = self._device(device_id)
        if device is None:
            return False
        record = self.session.get(IssuedCertificate, identity.certificate_id)
        for _ in range(_RENEWAL_HOPS):
            if record is None or record.renewed_from_id is None:
                return False
            record = self.session.get(IssuedCertificate, record.renewed_from_id)
            if record is not None and record.device_id == device.id:
                return record.revoked_at is None
        return False

    def enrolment_refusal(self, identity: CertificateIdentity, device_id: str) -> str | None:
        device = self._device(device_id)
        if device is None or device.school_id == identity.school_id:
            return None
        if transfers.allowed_by(self.session, device, identity.school_id) is not None:
            return None
        return ("the device is enrolled in another school: moving it needs central IT's permission first "
                "(flokk device transfer)")

    def bind(self, identity: CertificateIdentity, device_id: str) -> None:
        device = self._device(device_id)
        if device is None:  # first Authenticate: bound once the device row exists
            self._pending_binding = (identity, device_id)
            return
        self._bind(identity, device)

    def _bind(self, identity: CertificateIdentity, device: Device) -> None:
        certificates.bind_device(self.session, identity, device.id)
        superseded = self.session.scalars(
            select(IssuedCertificate).where(
                IssuedCertificate.device_id == device.id,
                IssuedCertificate.id != identity.certificate_id,
                IssuedCertificate.revoked_at.is_(None),
            )
        ).all()
        for old in superseded:
            certificates.revoke(self.session, self.principal, old.serial, reason="superseded by a newer identity")
        audit.record(
            self.session,
            _device_actor(device.udid),
            "device.identity_bound",
            school_id=device.school_id,
            target=device,
            details={"certificate": identity.serial, "superseded": [old.serial for old in superseded]},
        )

    # --- EnrollmentStore -----------------------------------------------------------------

    def authenticate(self, message: checkin.Authenticate, identity: CertificateIdentity) -> None:
        udid = message.enrollment.device_id
        device = self._device(udid)
        details: dict[str, Any] = {"serial_number": message.serial_number, "product": message.product_name}
        if device is None:
            device = Device(
                school_id=identity.school_id,
                group_id=identity.group_id,
                platform=_platform(message.product_name, message.model),
                udid=udid,
                enrollment_state=EnrollmentState.PENDING,
            )
            self.session.add(device)
            self._devices[udid] = device
        elif identity.device_id == device.id:
            # The certificate already spoke for this device before this request: a
            # retried (or replayed) Authenticate. It says who the device is again and
            # resets nothing: the queue, the state and the school stay as they are.
            details["repeated"] = True
        else:
            details.update(self._reenrol(device, identity))
        device.serial_number = _fit(message.serial_number, 64) or device.serial_number
        device.model = _fit(message.product_name or message.model, 64) or device.model
        device.os_version = _fit(message.os_version, 32) or device.os_version
        device.name = _fit(message.device_name, 200) or device.name
        device.push_topic = message.topic
        device.last_seen_at = utcnow()
        self.session.flush()
        if self._pending_binding is not None and self._pending_binding[1] == udid:
            self._bind(self._pending_binding[0], device)
            self._pending_binding = None
        ade.on_authenticate(self.session, device, message)
        audit.record(
            self.session, _device_actor(udid), "device.authenticate", school_id=device.school_id, target=device,
            details=details,
        )

    def _reenrol(self, device: Device, identity: CertificateIdentity) -> dict[str, Any]:
        """A known device with a new certificate (erased, or its profile installed again): it starts over.

        ``enrolment_refusal`` allowed it: the certificate is from the device's
        school, or from a school central IT (or Apple School Manager) said
        expects it (then it moves).
        """
        details: dict[str, Any] = {"reenrolled_from": device.enrollment_state}
        if device.school_id != identity.school_id:
            transfers.take(self.session, device, identity.school_id)
            details["moved_from_school_id"] = device.school_id
            self._move_to_school(device, identity)
        details["cancelled_commands"] = self._cancel_open_commands(device)
        device.enrollment_state = EnrollmentState.PENDING
        return details

    def _move_to_school(self, device: Device, identity: CertificateIdentity) -> None:
        device.school_id, device.group_id = identity.school_id, identity.group_id
        for model in (DeviceUser, InstalledProfile):  # rows of the device that carry its school
            self.session.execute(
                update(model).where(model.device_id == device.id).values(school_id=identity.school_id)
                .execution_options(synchronize_session=False)
            )

    def token_update(self, message: checkin.TokenUpdate) -> bool:
        device = self._required_device(message.enrollment.device_id)
        now = utcnow()
        if message.enrollment.is_user_channel:
            user = self._user(device, message.enrollment, create=True)
            assert user is not None
            first = user.push_token is None
            user.short_name = _fit(message.enrollment.user_short_name, 200)
            user.long_name = _fit(message.enrollment.user_long_name, 200)
            user.push_token, user.push_magic = message.token.hex(), message.push_magic
            user.push_token_invalid_at, user.last_seen_at = None, now
            return first
        first = device.enrollment_state != EnrollmentState.ENROLLED
        device.push_topic = message.topic
        device.push_token, device.push_magic = message.token.hex(), message.push_magic
        device.push_token_invalid_at = None
        device.push_attempts, device.next_push_at, device.last_seen_at = 0, None, now
        if message.unlock_token:
            device.unlock_token = self._seal(message.unlock_token, UNLOCK_TOKEN_LABEL)
        ade.on_token_update(self.session, device, message, first=first)
        if first:
            device.enrollment_state, device.enrolled_at = EnrollmentState.ENROLLED, now
            audit.record(self.session, _device_actor(device.udid), "device.enrol", school_id=device.school_id,
                         target=device)
        self.session.flush()
        return first

    def check_out(self, message: checkin.CheckOut) -> None:
        device = self._required_device(message.enrollment.device_id)
        cancelled = self._cancel_open_commands(device)
        device.enrollment_state = EnrollmentState.UNENROLLED
        device.push_token = device.push_magic = None
        device.unlock_token = device.bootstrap_token = None
        device.next_push_at = None
        revoked = []
        for record in self.session.scalars(
            select(IssuedCertificate).where(IssuedCertificate.device_id == device.id, IssuedCertificate.revoked_at.is_(None))
        ).all():
            certificates.revoke(self.session, self.principal, record.serial, reason="device checked out of MDM")
            revoked.append(record.serial)
        audit.record(
            self.session, _device_actor(device.udid), "device.checkout", school_id=device.school_id, target=device,
            details={"cancelled_commands": cancelled, "revoked_certificates": revoked},
        )

    def set_bootstrap_token(self, message: checkin.SetBootstrapToken) -> None:
        device = self._required_device(message.enrollment.device_id)
        token = message.bootstrap_token
        device.bootstrap_token = self._seal(token, BOOTSTRAP_TOKEN_LABEL) if token else None
        audit.record(self.session, _device_actor(device.udid), "device.bootstrap_token_set",
                     school_id=device.school_id, target=device, details={"cleared": token is None})

    def bootstrap_token(self, enrollment: Enrollment) -> bytes | None:
        device = self._required_device(enrollment.device_id)
        if device.bootstrap_token is None:
            return None
        return context(self.session).secrets.open(device.bootstrap_token, label=BOOTSTRAP_TOKEN_LABEL)

    def user_authenticate(self, message: checkin.UserAuthenticate) -> None:
        self._required_device(message.enrollment.device_id)

    def delivery_secrets(self, enrollment: Enrollment) -> Mapping[str, Any]:
        device = self._required_device(enrollment.device_id)
        if device.unlock_token is None:
            return {}
        return {"unlock_token": context(self.session).secrets.open(device.unlock_token, label=UNLOCK_TOKEN_LABEL)}

    def seen(self, enrollment: Enrollment) -> None:
        now = utcnow()
        bound = self._bound.get(enrollment.device_id)
        if bound is not None and not enrollment.is_user_channel and enrollment.device_id not in self._devices:
            if _stale(bound.last_seen_at, now) or bound.push_attempts or bound.next_push_at is not None:
                self.session.execute(_mark_seen(), {"b_device_id": bound.id, "b_now": now})
            return
        device = self._required_device(enrollment.device_id)
        if enrollment.is_user_channel:
            user = self._user(device, enrollment)
            if user is not None and _stale(user.last_seen_at, now):
                user.last_seen_at = now
        if _stale(device.last_seen_at, now) or device.push_attempts or device.next_push_at is not None:
            device.last_seen_at = now
            device.push_attempts, device.next_push_at = 0, None

    def enrolled(self, enrollment: Enrollment) -> None:
        """A new iPad: its school's and group's policy is queued right after its first inventory
        (then, for Automated Device Enrollment, what lets it leave Setup Assistant)."""
        device = self._required_device(enrollment.device_id)
        policy_reconcile.reconcile_device(self.session, device.id)
        ade.on_enrolled(self.session, device)

    # --- SignatureLedger ---------------------------------------------------------------------

    def first_use(self, signature_id: bytes) -> bool:
        now = utcnow()
        if self.postgres:  # every signed request: the driver's own statement, no ORM or type processing
            result = self.session.connection().exec_driver_sql(
                _REMEMBER_SIGNATURE_PG, (signature_id, now, now - REPLAY_WINDOW)
            )
        else:
            result = self.session.execute(
                _remember_signature(), {"b_digest": signature_id, "b_now": now, "b_forgotten_before": now - REPLAY_WINDOW}
            )
        return result.first() is not None

    # --- CommandQueue ----------------------------------------------------------------------

    def enqueue(self, enrollment: Enrollment, items: Sequence[mdm_commands.Command]) -> None:
        device = self._required_device(enrollment.device_id)
        user = self._user(device, enrollment) if enrollment.is_user_channel else None
        command_queue.enqueue_commands(
            self.session, self.principal, [device.id], items, device_user_id=user.id if user else None
        )

    def next_command(self, enrollment: Enrollment, *, include_not_now: bool) -> PendingCommand | None:
        now = utcnow()
        user = None
        if enrollment.is_user_channel:
            user = self._user(self._required_device(enrollment.device_id), enrollment)
        row = _take_next(self.postgres, include_not_now, enrollment.is_user_channel).execute(
            self.session,
            {"b_device_id": self._device_id(enrollment.device_id), "b_user_id": user.id if user else -1, "b_now": now,
             "b_redeliver_before": now - REDELIVER_AFTER},
        ).first()
        return PendingCommand(row.uuid, row.request_type, row.body) if row else None

    def record(self, enrollment: Enrollment, report: CommandReport) -> Recorded:
        udid = enrollment.device_id
        device_id = self._device_id(udid)
        user = None
        if enrollment.is_user_channel:
            user = self._user(self._required_device(udid), enrollment)
        values: dict[str, Any] = {
            "b_uuid": report.command_uuid, "b_device_id": device_id, "b_user_id": user.id if user else -1,
        }
        if report.status is Status.NOT_NOW:
            statement = _record_not_now(enrollment.is_user_channel)
        else:
            statement = _record_answer(enrollment.is_user_channel)
            values.update(
                b_status=CommandStatus.ACKNOWLEDGED if report.status is Status.ACKNOWLEDGED else CommandStatus.ERROR,
                b_completed_at=utcnow(),
                b_result=plistlib.dumps(_without_secrets(report.raw), fmt=plistlib.FMT_BINARY),
                b_error_chain=[item.as_json() for item in report.error_chain] if report.is_error else None,
            )
        row = self.session.execute(statement, values).first()
        if row is not None:
            if report.status is not Status.NOT_NOW:
                _audit_result(self.session, udid, report, row)
                if user is None and ade.answer_needs_device(row.request_type, report,
                                                            has_bypass_code=self._has_bypass_code(udid)):
                    ade.on_answer(self.session, self._required_device(udid), row.request_type, report)
            return Recorded(RecordOutcome.APPLIED, row.request_type)
        device = self._required_device(udid)
        known = self.session.scalar(
            select(Command.request_type).where(
                Command.uuid == report.command_uuid, Command.device_id == device.id, self._channel(device, enrollment)
            )
        )
        return Recorded(RecordOutcome.REPEATED, known) if known else Recorded(RecordOutcome.UNKNOWN)

    def store_inventory(self, enrollment: Enrollment, update_: InventoryUpdate) -> None:
        udid = enrollment.device_id
        device_id = self._device_id(udid)
        values: dict[str, Any] = {"inventory": _merged_section(self.postgres, update_.section, update_.value)}
        fields = update_.device_fields
        for field_name, column, length in _PROMOTED_FIELDS:
            if field_name in fields:
                values[column] = _fit(fields[field_name], length)
        if "is_supervised" in fields:
            values["supervised"] = bool(fields["is_supervised"])
        # One UPDATE merges the section in the database: two answers arriving at
        # once both land, without reading (or locking) the whole inventory first.
        devices = Device.__table__  # Core: no ORM bulk-update machinery on the hot path
        self.session.execute(update(devices).where(devices.c.id == device_id).values(**values))
        if udid in self._devices:
            self.session.expire(self._devices[udid], list(values))
        if update_.profiles is None and update_.section not in app_reports.SECTIONS:
            return  # the usual answer (DeviceInformation, SecurityInfo …): nothing else to do
        device = self._required_device(udid)
        if update_.profiles is not None:
            self._replace_installed_profiles(device, update_)
        apps_reported = app_reports.store(self.session, device, update_.section, update_.value)
        if (update_.profiles is not None or apps_reported) and device.enrollment_state == EnrollmentState.ENROLLED:
            # What is installed changed: the policy reconciler queues only the difference.
            policy_reconcile.reconcile_device(self.session, device.id)

    def device(self, udid: str) -> Device | None:
        """The device row for a UDID (cached for the rest of the request)."""
        return self._device(udid)

    # --- helpers -----------------------------------------------------------------------------

    def _replace_installed_profiles(self, device: Device, update_: InventoryUpdate) -> None:
        now = utcnow()
        self.session.execute(delete(InstalledProfile).where(InstalledProfile.device_id == device.id))
        organisations = {
            item.get("PayloadIdentifier"): item.get("PayloadOrganization")
            for item in update_.value or ()
            if isinstance(item, dict)
        }
        rows = {
            profile.identifier: {
                "school_id": device.school_id,
                "device_id": device.id,
                "identifier": profile.identifier[:255],
                "uuid": profile.uuid[:64],
                "display_name": (profile.display_name or "")[:255] or None,
                "organization": (organisations.get(profile.identifier) or "")[:255] or None,
                "removal_disallowed": bool(profile.removal_disallowed),
                "is_managed": bool(profile.is_managed) if profile.is_managed is not None else True,
                "reported_at": now,
            }
            for profile in update_.profiles or ()
        }
        if rows:
            self.session.execute(insert(InstalledProfile), list(rows.values()))

    def _cancel_open_commands(self, device: Device) -> int:
        result = self.session.execute(
            update(Command)
            .where(Command.device_id == device.id, Command.status.in_(OPEN_STATUSES))
            .values(status=CommandStatus.CANCELLED, completed_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return result.rowcount or 0

    def _channel(self, device: Device, enrollment: Enrollment) -> Any:
        if not enrollment.is_user_channel:
            return Command.device_user_id.is_(None)
        user = self._user(device, enrollment)
        return Command.device_user_id == (user.id if user else -1)

    def _device_id(self, udid: str) -> int:
        """The device's id, from the certificate lookup when it read the device (no query)."""
        bound = self._bound.get(udid)
        return bound.id if bound is not None else self._required_device(udid).id

    def _has_bypass_code(self, udid: str) -> bool:
        if udid in self._devices or udid not in self._bound:
            return self._required_device(udid).activation_lock_bypass_code is not None
        return self._bound[udid].has_bypass_code

    def _device(self, udid: str) -> Device | None:
        device = self._devices.get(udid)
        if device is None:
            device = self.session.scalar(select(Device).where(Device.udid == udid))
            if device is not None:
                self._devices[udid] = device
        return device

    def _required_device(self, udid: str) -> Device:
        device = self._device(udid)
        if device is None:
            raise NotFound(f"no device {udid}")
        return device

    def _user(self, device: Device, enrollment: Enrollment, *, create: bool = False) -> DeviceUser | None:
        key = (device.id, _user_key(str(enrollment.user_id)))
        user = self._users.get(key)
        if user is None:
            user = self.session.scalar(
                select(DeviceUser).where(DeviceUser.device_id == device.id, DeviceUser.user_id == key[1])
            )
        if user is None and create:
            user = DeviceUser(school_id=device.school_id, device_id=device.id, user_id=key[1])
            self.session.add(user)
            self.session.flush()
        if user is not None:
            self._users[key] = user
        return user

    def _seal(self, secret: bytes, label: str) -> bytes:
        return context(self.session).secrets.seal(secret, label=label)


# --- the hot statements, built once per shape (SQLAlchemy then reuses their compiled form) ---


#: Core, not the ORM: these statements name the table's columns, so SQLAlchemy compiles each once
#: and executes it without the ORM's bulk-update machinery (no identity map to synchronise).
_COMMANDS = Command.__table__.c


def _channel_of(user_channel: bool) -> Any:
    if user_channel:
        return _COMMANDS.device_user_id == bindparam("b_user_id")
    return _COMMANDS.device_user_id.is_(None)


@lru_cache(maxsize=None)
def _take_next(postgres: bool, include_not_now: bool, user_channel: bool) -> DriverStatement:
    """UPDATE … RETURNING that takes the oldest deliverable command and marks it sent."""
    c = _COMMANDS
    now = bindparam("b_now", type_=UTCDateTime())
    deliverable = c.status == CommandStatus.QUEUED
    if include_not_now:
        deliverable = or_(
            deliverable,
            c.status == CommandStatus.NOT_NOW,
            (c.status == CommandStatus.SENT) & (c.sent_at < bindparam("b_redeliver_before", type_=UTCDateTime())),
        )
    candidate = (
        select(c.id)
        .where(
            c.device_id == bindparam("b_device_id"),
            _channel_of(user_channel),
            deliverable,
            or_(c.expires_at.is_(None), c.expires_at > now),
        )
        .order_by(c.id)
        .limit(1)
    )
    if postgres:
        candidate = candidate.with_for_update(skip_locked=True)
    return DriverStatement(
        update(Command.__table__)
        .where(c.id == candidate.scalar_subquery())
        .values(status=CommandStatus.SENT, sent_at=now, delivery_count=c.delivery_count + 1)
        .returning(c.uuid, c.request_type, c.body)
    )


@lru_cache(maxsize=None)
def _mark_seen() -> Any:
    """The device connected: last seen now, push back-off reset (``seen``, from the bound device's columns)."""
    devices = Device.__table__
    return (
        update(devices)
        .where(devices.c.id == bindparam("b_device_id"))
        .values(last_seen_at=bindparam("b_now", type_=UTCDateTime()), push_attempts=0, next_push_at=None)
    )


#: A row comes back when the signature is new, or was seen before the window. On PostgreSQL the
#: table is UNLOGGED (migration 0010): an Idle that writes nothing else commits without a WAL flush.
_REMEMBER_SIGNATURE_PG = (
    "INSERT INTO mdm_seen_signatures (digest, seen_at) VALUES (%s, %s) ON CONFLICT (digest) "
    "DO UPDATE SET seen_at = excluded.seen_at WHERE mdm_seen_signatures.seen_at < %s RETURNING 1"
)


@lru_cache(maxsize=None)
def _remember_signature() -> Any:
    """The same as ``_REMEMBER_SIGNATURE_PG``, for SQLite."""
    table = SeenSignature.__table__  # Core, not the ORM's bulk INSERT
    statement = sqlite.insert(table).values(
        digest=bindparam("b_digest", type_=LargeBinary()), seen_at=bindparam("b_now", type_=UTCDateTime())
    )
    return statement.on_conflict_do_update(
        index_elements=[table.c.digest],
        set_={"seen_at": statement.excluded.seen_at},
        where=table.c.seen_at < bindparam("b_forgotten_before", type_=UTCDateTime()),
    ).returning(table.c.seen_at)


def _answerable(user_channel: bool) -> Any:
    """Still waiting for an answer; a late answer to a command that expired after
    it was sent is still the truth about the device."""
    c = _COMMANDS
    return (
        c.uuid == bindparam("b_uuid"),
        c.device_id == bindparam("b_device_id"),
        _channel_of(user_channel),
        or_(
            c.status.in_((CommandStatus.SENT, CommandStatus.NOT_NOW)),
            (c.status == CommandStatus.EXPIRED) & c.sent_at.is_not(None),
        ),
    )


@lru_cache(maxsize=None)
def _record_not_now(user_channel: bool) -> Any:
    c = _COMMANDS
    return (
        update(Command.__table__)
        .where(*_answerable(user_channel))
        .values(status=CommandStatus.NOT_NOW, not_now_count=c.not_now_count + 1)
        .returning(c.request_type)
    )


@lru_cache(maxsize=None)
def _record_answer(user_channel: bool) -> Any:
    c = _COMMANDS
    return (
        update(Command.__table__)
        .where(*_answerable(user_channel))
        .values(
            status=bindparam("b_status"),
            completed_at=bindparam("b_completed_at", type_=UTCDateTime()),
            result=bindparam("b_result", type_=LargeBinary()),
            error_chain=bindparam("b_error_chain", type_=c.error_chain.type),
        )
        .returning(c.request_type, c.created_by, c.school_id)
    )


def _audit_result(session: Session, udid: str, report: CommandReport, row: Any) -> None:
    """A person's command (or an approved one) gets its outcome in the audit log.

    Flokk's own routine commands (inventory, policy) are left to the command
    table: a row per device per day would drown the trail.
    """
    if row.created_by.startswith("system:"):
        return
    audit.record(
        session,
        _device_actor(udid),
        "command.result",
        outcome=audit.SUCCESS if report.status is Status.ACKNOWLEDGED else audit.FAILURE,
        school_id=row.school_id,
        target=("command", report.command_uuid),
        details={"request_type": row.request_type, "status": report.status.value, "queued_by": row.created_by},
    )


#: DeviceInformation values promoted to device columns: (field, column, column length).
_PROMOTED_FIELDS = (
    ("serial_number", "serial_number", 64),
    ("product_name", "model", 64),
    ("os_version", "os_version", 32),
    ("device_name", "name", 200),
)


def _merged_section(postgres: bool, section: str, value: Any) -> Any:
    """SQL that sets one section of the inventory document, leaving the others as they are."""
    document = json.dumps(value, default=str)
    column = Device.__table__.c.inventory
    if postgres:
        current = func.coalesce(column, cast(literal("{}"), JSONB))
        return current.op("||", return_type=JSONB)(func.jsonb_build_object(section, cast(literal(document), JSONB)))
    return func.json_set(func.coalesce(column, "{}"), f"$.{section}", func.json(literal(document)))


def _without_secrets(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A device's answer as kept with the command: secrets (the bypass code) are escrowed sealed instead."""
    return {key: value for key, value in raw.items() if key not in mdm_commands.RESPONSE_SECRETS}


def _fit(text: str | None, length: int) -> str | None:
    """A device-reported text cut to its column (a device's word is not worth a 500)."""
    return text[:length] if isinstance(text, str) else None


def _user_key(user_id: str) -> str:
    """The user channel's key as stored (64 characters at most; a longer Managed Apple ID is hashed)."""
    if len(user_id) <= 64:
        return user_id
    return "sha256:" + hashlib.sha256(user_id.encode()).hexdigest()[:57]


def _stale(moment: dt.datetime | None, now: dt.datetime) -> bool:
    return moment is None or now - moment >= SEEN_RESOLUTION


def _device_actor(udid: str | None) -> str:
    return f"device:{udid}"


def _platform(product_name: str | None, model: str | None) -> str:
    """Apple's ProductName says what the device is: iPad…, iPhone…/iPod…, or a Mac."""
    name = (product_name or model or "").lower()
    if name.startswith(("iphone", "ipod")):
        return Platform.IOS
    if "mac" in name:
        return Platform.MACOS
    return Platform.IPADOS

