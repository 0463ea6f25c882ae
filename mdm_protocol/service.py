"""The MDM service: check-in and command handling over small storage Protocols.

Implements the server behaviour of Apple's *MDM protocol* (Device
Management documentation: "Check-in", "Sending MDM commands to a device",
"Handling NotNow responses") without a web framework or a database, in the
manner of micromdm/nanomdm's ``service`` package: the HTTP layer verifies
who signed the body and hands over that identity and the raw bytes; the
service parses, checks that the identity may speak for the enrollment,
applies the message through the Protocols below and says what to answer.

Rules that live here, once, for every storage backend:

- identity: the certificate that signed a message must be bound to the
  device it names. The first Authenticate binds an unbound certificate; a
  certificate bound to another device is refused; a renewed certificate
  (SCEP RenewalReq) is re-bound on first use. An Authenticate with a new
  certificate for a device that already exists (an erased iPad enrolling
  again) binds only when the store allows that re-enrolment
  (:meth:`IdentityStore.enrolment_refusal`: Flokk refuses a move to another
  school nobody allowed).
- replay: a signed message is accepted once. The same signature again
  within the ledger's window (a captured body sent by someone else, or a
  network retry) is refused before it changes anything; the command a
  retried Idle would have fetched is offered again later, so nothing is lost.
- NotNow: a command the device answered NotNow is skipped for the rest of
  that connection (every report but Idle) and offered again when the device
  next connects (Idle), so it never blocks the queue and is never lost.
- A report for a command already answered changes nothing; a report for an
  unknown CommandUUID is logged and answered with the next command.
"""

from __future__ import annotations

import enum
import logging
import plistlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from mdm_protocol import checkin, commands, plist, reports
from mdm_protocol.checkin import Enrollment
from mdm_protocol.reports import CommandReport, InventoryUpdate

log = logging.getLogger("flokk.mdm")

PLIST_CONTENT_TYPE = "application/xml"


class MdmError(Exception):
    """A request the service refuses; ``status`` is the HTTP status to answer.

    ``security`` marks refusals about identity (401/403) that must be audited.
    """

    def __init__(self, status: int, reason: str, *, security: bool = False) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.security = security


@dataclass(frozen=True)
class Reply:
    """What to answer: status, body and whether the device should be woken after commit."""

    status: int = 200
    body: bytes = b""
    content_type: str | None = None
    #: The queue changed for a device that is not connected now: push it.
    wake: Enrollment | None = None
    #: The command delivered in this reply, for logs and metrics.
    command_uuid: str | None = None
    #: What the device sent: a check-in's MessageType or a report's Status (for metrics).
    message_type: str | None = None


@dataclass(frozen=True)
class PendingCommand:
    """A command taken off the queue for delivery (already marked sent)."""

    uuid: str
    request_type: str
    body: bytes


class RecordOutcome(enum.Enum):
    APPLIED = "applied"  # first report for this command: status and result stored
    REPEATED = "repeated"  # the command already had its final answer: nothing changed
    UNKNOWN = "unknown"  # no such command for this enrollment


@dataclass(frozen=True)
class Recorded:
    outcome: RecordOutcome
    request_type: str | None = None


# --- the storage Protocols ---------------------------------------------------------


class IdentityStore(Protocol):
    """Which device a (verified) signing certificate speaks for."""

    def bound_device(self, identity: Any) -> str | None:
        """The device id (UDID/EnrollmentID) the certificate is bound to, or None."""

    def renews_certificate_of(self, identity: Any, device_id: str) -> bool:
        """True when the certificate was issued by renewing one bound to ``device_id``."""

    def enrolment_refusal(self, identity: Any, device_id: str) -> str | None:
        """Why a new (unbound, not renewed) certificate may not enrol as ``device_id``, or None if it may."""

    def bind(self, identity: Any, device_id: str) -> None:
        """Bind the certificate to the device (re-binding on renewal or re-enrollment)."""


class SignatureLedger(Protocol):
    """The signed messages already accepted, for a bounded window."""

    def first_use(self, signature_id: bytes) -> bool:
        """Remember the signature; False when it was seen before (the request is then refused).

        Two requests with the same signature at once: exactly one gets True.
        """


class EnrollmentStore(Protocol):
    """Enrollments: what check-in messages change."""

    def authenticate(self, message: checkin.Authenticate, identity: Any) -> None: ...

    def token_update(self, message: checkin.TokenUpdate) -> bool:
        """Store push details; True when this enrolled the channel for the first time."""

    def check_out(self, message: checkin.CheckOut) -> None: ...

    def set_bootstrap_token(self, message: checkin.SetBootstrapToken) -> None: ...

    def bootstrap_token(self, enrollment: Enrollment) -> bytes | None: ...

    def user_authenticate(self, message: checkin.UserAuthenticate) -> None: ...

    def delivery_secrets(self, enrollment: Enrollment) -> Mapping[str, Any]:
        """Secrets commands may need at delivery (``unlock_token``)."""

    def seen(self, enrollment: Enrollment) -> None:
        """The device connected (resets its push back-off)."""

    def enrolled(self, enrollment: Enrollment) -> None:
        """The device channel just enrolled and has its first commands: what else should follow."""


class DeclarativeHandler(Protocol):
    """Answers DeclarativeManagement requests (``mdm_protocol.declarative.service``)."""

    def handle(self, message: checkin.DeclarativeManagement) -> Reply: ...


class CommandQueue(Protocol):
    """The per-enrollment command queue."""

    def enqueue(self, enrollment: Enrollment, items: Sequence[commands.Command]) -> None: ...

    def next_command(self, enrollment: Enrollment, *, include_not_now: bool) -> PendingCommand | None:
        """Take the oldest deliverable command and mark it sent, atomically.

        Two requests for the same enrollment at once must never get the same
        command. ``include_not_now`` is False within a connection (after any
        report but Idle), so commands answered NotNow wait for the next one.
        """

    def record(self, enrollment: Enrollment, report: CommandReport) -> Recorded:
        """Store a report's outcome, once: a repeated report changes nothing."""

    def store_inventory(self, enrollment: Enrollment, update: InventoryUpdate) -> None: ...


# --- the service -------------------------------------------------------------------------


class MdmService:
    """Check-in (CheckInURL) and command (ServerURL) handling."""

    def __init__(
        self,
        enrollments: EnrollmentStore,
        queue: CommandQueue,
        identities: IdentityStore,
        *,
        signatures: SignatureLedger | None = None,
        max_body_bytes: int = plist.DEFAULT_MAX_BYTES,
        initial_commands: Callable[[], Sequence[commands.Command]] = commands.initial_inventory,
        declarative: DeclarativeHandler | None = None,
    ) -> None:
        self.enrollments = enrollments
        self.queue = queue
        self.identities = identities
        self.signatures = signatures
        self.max_body_bytes = max_body_bytes
        self.initial_commands = initial_commands
        self.declarative = declarative

    # CheckInURL -------------------------------------------------------------------------

    def checkin(self, body: bytes, identity: Any, *, signature_id: bytes | None = None) -> Reply:
        """``signature_id``: what identifies the body's signature (None when mutual TLS proved the device)."""
        message = self._parse(checkin.parse, body)
        self._authorise(message.enrollment, identity, authenticate=isinstance(message, checkin.Authenticate))
        self._refuse_replay(signature_id)
        handler = getattr(self, f"_on_{type(message).__name__}")
        return replace(handler(message, identity), message_type=type(message).__name__)

    def _on_Authenticate(self, message: checkin.Authenticate, identity: Any) -> Reply:  # noqa: N802
        self.enrollments.authenticate(message, identity)
        return Reply()

    def _on_TokenUpdate(self, message: checkin.TokenUpdate, identity: Any) -> Reply:  # noqa: N802
        first = self.enrollments.token_update(message)
        if first and not message.enrollment.is_user_channel:
            self.queue.enqueue(message.enrollment, list(self.initial_commands()))
            self.enrollments.enrolled(message.enrollment)
            return Reply(wake=message.enrollment)
        return Reply()

    def _on_CheckOut(self, message: checkin.CheckOut, identity: Any) -> Reply:  # noqa: N802
        self.enrollments.check_out(message)
        return Reply()

    def _on_SetBootstrapToken(self, message: checkin.SetBootstrapToken, identity: Any) -> Reply:  # noqa: N802
        self.enrollments.set_bootstrap_token(message)
        return Reply()

    def _on_GetBootstrapToken(self, message: checkin.GetBootstrapToken, identity: Any) -> Reply:  # noqa: N802
        token = self.enrollments.bootstrap_token(message.enrollment)
        if token is None:
            return Reply()  # Apple: an empty answer means "no token escrowed"
        return _plist_reply({"BootstrapToken": token})

    def _on_UserAuthenticate(self, message: checkin.UserAuthenticate, identity: Any) -> Reply:  # noqa: N802
        self.enrollments.user_authenticate(message)
        # A zero-length DigestChallenge: Flokk asks no password of the user;
        # the device goes on to a user-channel TokenUpdate.
        return _plist_reply({"DigestChallenge": ""})

    def _on_DeclarativeManagement(self, message: checkin.DeclarativeManagement, identity: Any) -> Reply:  # noqa: N802
        if self.declarative is None:
            raise MdmError(400, "MessageType 'DeclarativeManagement' is not supported")
        return self.declarative.handle(message)

    # ServerURL -----------------------------------------------------------------------------

    def command(self, body: bytes, identity: Any, *, signature_id: bytes | None = None) -> Reply:
        report = self._parse(reports.parse, body)
        enrollment = report.enrollment
        self._authorise(enrollment, identity, authenticate=False)
        self._refuse_replay(signature_id)
        self.enrollments.seen(enrollment)
        if not report.is_idle:
            self._record(enrollment, report)
        return replace(self._deliver(enrollment, include_not_now=report.is_idle), message_type=report.status.value)

    def _deliver(self, enrollment: Enrollment, *, include_not_now: bool) -> Reply:
        while True:
            pending = self.queue.next_command(enrollment, include_not_now=include_not_now)
            if pending is None:
                return Reply()
            if pending.request_type not in commands.DELIVERY_SECRETS:
                return Reply(body=pending.body, content_type=PLIST_CONTENT_TYPE, command_uuid=pending.uuid)
            body = self._with_secrets(enrollment, pending)
            if body is not None:
                return Reply(body=body, content_type=PLIST_CONTENT_TYPE, command_uuid=pending.uuid)

    def _record(self, enrollment: Enrollment, report: CommandReport) -> None:
        recorded = self.queue.record(enrollment, report)
        if recorded.outcome is RecordOutcome.UNKNOWN:
            log.warning(
                "report %s for unknown command %s from %s", report.status.value, report.command_uuid, enrollment.device_id
            )
            return
        if recorded.outcome is RecordOutcome.REPEATED:
            log.info("repeated report %s for command %s ignored", report.status.value, report.command_uuid)
            return
        if recorded.request_type is None:
            return
        update = reports.inventory_from_response(recorded.request_type, report)
        if update is None:
            return
        if update.problems:
            log.info("%s from %s: dropped %s", recorded.request_type, enrollment.device_id, "; ".join(update.problems))
        if update.value is not None:  # an answer without its data must not erase what is known
            self.queue.store_inventory(enrollment, update)

    def _with_secrets(self, enrollment: Enrollment, pending: PendingCommand) -> bytes | None:
        """The command with its delivery-time secrets, or None (recorded as an error) without them."""
        document = plistlib.loads(pending.body)  # our own bytes, written at enqueue
        command = commands.Command(pending.request_type, {
            key: value for key, value in document["Command"].items() if key != "RequestType"
        })
        try:
            return command.deliverable(pending.uuid, self.enrollments.delivery_secrets(enrollment))
        except commands.CommandError as error:  # without the secret the command cannot work
            log.warning("cannot deliver %s to %s: %s", pending.request_type, enrollment.device_id, error)
            failed = reports.CommandReport(
                enrollment=enrollment,
                status=reports.Status.ERROR,
                command_uuid=pending.uuid,
                error_chain=(reports.ErrorChainItem(None, "Flokk", str(error)),),
            )
            self.queue.record(enrollment, failed)
            return None

    # identity ---------------------------------------------------------------------------------

    def _authorise(self, enrollment: Enrollment, identity: Any, *, authenticate: bool) -> None:
        if identity is None:
            raise MdmError(401, "the message is not signed by a device identity", security=True)
        bound = self.identities.bound_device(identity)
        if bound == enrollment.device_id:
            return
        if bound is not None:
            raise MdmError(403, f"the certificate belongs to another device, not {enrollment.device_id}", security=True)
        if self.identities.renews_certificate_of(identity, enrollment.device_id):
            self.identities.bind(identity, enrollment.device_id)
            return
        if authenticate:
            refusal = self.identities.enrolment_refusal(identity, enrollment.device_id)
            if refusal is not None:
                raise MdmError(403, refusal, security=True)
            self.identities.bind(identity, enrollment.device_id)
            return
        raise MdmError(403, f"the certificate is not the identity of {enrollment.device_id}", security=True)

    def _refuse_replay(self, signature_id: bytes | None) -> None:
        if signature_id is None or self.signatures is None:
            return
        if not self.signatures.first_use(signature_id):
            raise MdmError(403, "this signed message was received before: a replay is refused", security=True)

    def _parse(self, parse: Callable[..., Any], body: bytes) -> Any:
        try:
            return parse(body, max_bytes=self.max_body_bytes)
        except plist.PlistTooLarge as error:
            raise MdmError(413, str(error)) from None
        except checkin.UnsupportedMessage as error:
            raise MdmError(400, str(error)) from None
        except (plist.PlistError, checkin.CheckinError) as error:
            raise MdmError(400, str(error)) from None


def _plist_reply(value: Mapping[str, Any]) -> Reply:
    return Reply(body=plist.dump(value), content_type=PLIST_CONTENT_TYPE)
