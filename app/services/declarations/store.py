"""The DeclarativeManagement check-in over SQLAlchemy: a device's set, its tokens, its status.

``SqlDeclarationStore`` is the ``DeclarationStore`` of
:mod:`mdm_protocol.declarative.service`, for one request's unit of work. The
service has already checked that the request is signed by the device it
names. The first declarative request a device makes after it enrolled
switches it to declarations: its old policy profiles are removed by command
(the reconciler), and from then on every setting reaches it as a declaration.
User channels (Shared iPad users) are offered an empty set: Flokk declares to
devices only.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.models.base import utcnow
from app.models.declarations import DeclarativeDevice
from app.models.devices import Device, EnrollmentState
from app.services import audit
from app.services.declarations import sets
from app.services.declarations import status as status_records
from app.services.policy import reconciler
from mdm_protocol.checkin import Enrollment
from mdm_protocol.declarative.declarations import DeclarationSet, SyncTokens
from mdm_protocol.declarative.status import StatusReport

log = logging.getLogger("flokk.mdm")

EMPTY = DeclarationSet(())
#: The Timestamp of a set that never changed (a user channel's empty set).
_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


class SqlDeclarationStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def declaration_set(self, enrollment: Enrollment) -> DeclarationSet:
        device = self._device(enrollment)
        if enrollment.is_user_channel or device.enrollment_state != EnrollmentState.ENROLLED:
            return EMPTY
        self._confirm(device)
        found = sets.for_device(self.session, device.id)
        return found.declarations if found is not None and found.declarations is not None else EMPTY

    def sync_tokens(self, enrollment: Enrollment, declarations: DeclarationSet) -> SyncTokens:
        if enrollment.is_user_channel:
            return SyncTokens(declarations.token, _EPOCH)
        device = self._device(enrollment)
        row = self._row(device)
        if row.declarations_token != declarations.token or row.token_changed_at is None:
            row.declarations_token, row.token_changed_at = declarations.token, utcnow()
        return SyncTokens(declarations.token, row.token_changed_at)

    def record_status(self, enrollment: Enrollment, report: StatusReport) -> None:
        device = self._device(enrollment)
        if enrollment.is_user_channel or device.enrollment_state != EnrollmentState.ENROLLED:
            log.info("status from %s ignored: %s", enrollment.device_id,
                     "user channel" if enrollment.is_user_channel else "not enrolled")
            return
        self._confirm(device)
        if status_records.record(self.session, device, self._row(device), report):
            # The OS changed: the declarations the device takes may have too.
            reconciler.reconcile_device(self.session, device.id)

    # --- helpers ---------------------------------------------------------------------------

    def _confirm(self, device: Device) -> None:
        """The device speaks declaratively: from now on its settings go as declarations.

        Its set's token is remembered before the reconciler runs, so it is not
        sent a DeclarativeManagement command for the sync it is doing right now.
        """
        row = self._row(device)
        if row.confirmed_at is not None and device.enrolled_at is not None and row.confirmed_at >= device.enrolled_at:
            return
        now = utcnow()
        row.confirmed_at = now
        row.enabled_at = row.enabled_at or now
        self.session.flush()
        found = sets.for_device(self.session, device.id)
        if found is not None and found.declarations is not None:
            row.declarations_token, row.token_changed_at = found.declarations.token, now
            self.session.flush()
        audit.record(self.session, f"device:{device.udid}", "device.declarative", school_id=device.school_id, target=device,
                     details={"declarations_token": row.declarations_token})
        log.info("device %s now managed declaratively", device.udid)
        reconciler.reconcile_device(self.session, device.id)

    def _device(self, enrollment: Enrollment) -> Device:
        device = self.session.scalar(select(Device).where(Device.udid == enrollment.device_id))
        if device is None:
            raise NotFound(f"no device {enrollment.device_id}")
        return device

    def _row(self, device: Device) -> DeclarativeDevice:
        row = self.session.get(DeclarativeDevice, device.id)
        if row is None:
            row = DeclarativeDevice(device_id=device.id, school_id=device.school_id, status_items={},
                                    update_failure_count=0)
            self.session.add(row)
            self.session.flush()
        row.school_id = device.school_id
        return row
