"""An in-memory implementation of mdm_protocol.service's Protocols: the reference for tests.

It keeps the rules the Protocols promise (atomic take-and-mark-sent, NotNow
skipped within a connection, final answers recorded once) so the service's
behaviour can be tested without a database, and so the SQL store can be held
to the same contract (tests/app/mdm/test_queue_contract.py).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mdm_protocol import checkin, commands
from mdm_protocol.checkin import Enrollment
from mdm_protocol.reports import CommandReport, InventoryUpdate, Status
from mdm_protocol.service import PendingCommand, RecordOutcome, Recorded

FINAL = {"acknowledged", "error", "expired", "cancelled"}


@dataclass
class Row:
    id: int
    uuid: str
    request_type: str
    body: bytes
    status: str = "queued"
    result: dict[str, Any] | None = None
    error_chain: list[dict[str, Any]] | None = None
    deliveries: int = 0


@dataclass
class DeviceRecord:
    device_id: str
    state: str = "pending"
    authenticate: checkin.Authenticate | None = None
    token: bytes | None = None
    push_magic: str | None = None
    unlock_token: bytes | None = None
    bootstrap_token: bytes | None = None
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    inventory: dict[str, Any] = field(default_factory=dict)
    profiles: list[Any] = field(default_factory=list)
    seen: int = 0
    enrolled_hooks: int = 0
    school: str | None = None


@dataclass(frozen=True)
class Cert:
    """A stand-in for a verified certificate; ``renews`` names the one it renewed."""

    fingerprint: str
    renews: str | None = None
    #: The school whose enrollment link issued it (None: the rule is not exercised).
    school: str | None = None


class MemoryStore:
    def __init__(self) -> None:
        self.devices: dict[str, DeviceRecord] = {}
        self.queues: dict[tuple[str, str | None], list[Row]] = {}
        self.bindings: dict[str, str] = {}  # fingerprint -> device id
        self.signatures: set[bytes] = set()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    # IdentityStore
    def bound_device(self, identity: Cert) -> str | None:
        return self.bindings.get(identity.fingerprint)

    def renews_certificate_of(self, identity: Cert, device_id: str) -> bool:
        return identity.renews is not None and self.bindings.get(identity.renews) == device_id

    def enrolment_refusal(self, identity: Cert, device_id: str) -> str | None:
        record = self.devices.get(device_id)
        if record is None or record.school is None or record.school == identity.school:
            return None
        return "the device belongs to another school"

    def bind(self, identity: Cert, device_id: str) -> None:
        self.bindings[identity.fingerprint] = device_id

    # SignatureLedger
    def first_use(self, signature_id: bytes) -> bool:
        with self._lock:
            if signature_id in self.signatures:
                return False
            self.signatures.add(signature_id)
            return True

    # EnrollmentStore
    def authenticate(self, message: checkin.Authenticate, identity: Any) -> None:
        record = self.devices.setdefault(message.enrollment.device_id, DeviceRecord(message.enrollment.device_id))
        record.school = record.school or getattr(identity, "school", None)
        record.authenticate = message
        record.state = "pending"

    def token_update(self, message: checkin.TokenUpdate) -> bool:
        record = self.devices[message.enrollment.device_id]
        if message.enrollment.is_user_channel:
            first = message.enrollment.user_id not in record.users
            record.users[message.enrollment.user_id] = {"token": message.token, "magic": message.push_magic}
            return first
        first = record.state != "enrolled"
        record.state = "enrolled"
        record.token, record.push_magic = message.token, message.push_magic
        if message.unlock_token:
            record.unlock_token = message.unlock_token
        return first

    def check_out(self, message: checkin.CheckOut) -> None:
        record = self.devices[message.enrollment.device_id]
        record.state = "unenrolled"
        for (device_id, _), rows in self.queues.items():
            if device_id == record.device_id:
                for row in rows:
                    if row.status not in FINAL:
                        row.status = "cancelled"
        for fingerprint, device_id in list(self.bindings.items()):
            if device_id == record.device_id:
                del self.bindings[fingerprint]

    def set_bootstrap_token(self, message: checkin.SetBootstrapToken) -> None:
        self.devices[message.enrollment.device_id].bootstrap_token = message.bootstrap_token

    def bootstrap_token(self, enrollment: Enrollment) -> bytes | None:
        return self.devices[enrollment.device_id].bootstrap_token

    def user_authenticate(self, message: checkin.UserAuthenticate) -> None:
        pass

    def delivery_secrets(self, enrollment: Enrollment) -> Mapping[str, Any]:
        record = self.devices[enrollment.device_id]
        return {"unlock_token": record.unlock_token} if record.unlock_token else {}

    def seen(self, enrollment: Enrollment) -> None:
        self.devices[enrollment.device_id].seen += 1

    def enrolled(self, enrollment: Enrollment) -> None:
        self.devices[enrollment.device_id].enrolled_hooks += 1

    # CommandQueue
    def enqueue(self, enrollment: Enrollment, items: Sequence[commands.Command]) -> list[str]:
        uuids = []
        for item in items:
            command_uuid = commands.new_command_uuid()
            self._queue(enrollment).append(Row(next(self._ids), command_uuid, item.request_type, item.to_plist(command_uuid)))
            uuids.append(command_uuid)
        return uuids

    def next_command(self, enrollment: Enrollment, *, include_not_now: bool) -> PendingCommand | None:
        wanted = {"queued", "not_now"} if include_not_now else {"queued"}
        with self._lock:
            for row in self._queue(enrollment):
                if row.status in wanted:
                    row.status = "sent"
                    row.deliveries += 1
                    return PendingCommand(row.uuid, row.request_type, row.body)
        return None

    def record(self, enrollment: Enrollment, report: CommandReport) -> Recorded:
        with self._lock:
            row = next((r for r in self._queue(enrollment) if r.uuid == report.command_uuid), None)
            if row is None:
                return Recorded(RecordOutcome.UNKNOWN)
            if row.status in FINAL:
                return Recorded(RecordOutcome.REPEATED, row.request_type)
            if report.status is Status.NOT_NOW:
                row.status = "not_now"
            elif report.status is Status.ACKNOWLEDGED:
                row.status, row.result = "acknowledged", report.response()
            else:
                row.status = "error"
                row.error_chain = [item.as_json() for item in report.error_chain]
            return Recorded(RecordOutcome.APPLIED, row.request_type)

    def store_inventory(self, enrollment: Enrollment, update: InventoryUpdate) -> None:
        record = self.devices[enrollment.device_id]
        record.inventory[update.section] = update.value
        if update.profiles is not None:
            record.profiles = list(update.profiles)

    # helpers for tests
    def rows(self, device_id: str, user_id: str | None = None) -> list[Row]:
        return self._queue(Enrollment(device_id, user_id))

    def _queue(self, enrollment: Enrollment) -> list[Row]:
        return self.queues.setdefault((enrollment.device_id, enrollment.user_id), [])

