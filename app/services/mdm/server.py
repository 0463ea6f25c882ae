"""Serving the MDM protocol: a request's body and signer in, the answer out.

Wires :class:`mdm_protocol.service.MdmService` to the SQL store and turns its
refusals into Flokk's errors: identity problems are 401/403 and audited
(durably: the audit entry survives the rollback that undoes everything else),
malformed messages are 400 and logged, oversize bodies 413. Nothing a device
sends can cause a 500.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from app.errors import FlokkError, Forbidden, Unauthenticated
from app.services import audit
from app.services.mdm.identity import RequestIdentity
from app.services.declarations.store import SqlDeclarationStore
from app.services.mdm.store import SqlMdmStore
from app.services.pki.certificates import CertificateIdentity, UntrustedCertificate
from mdm_protocol import checkin, plist
from mdm_protocol.declarative.service import DeclarativeService
from mdm_protocol.service import MdmError, MdmService, Reply

log = logging.getLogger("flokk.mdm")


class MalformedMessage(FlokkError):
    status = 400
    code = "malformed_message"


class MessageTooLarge(FlokkError):
    status = 413
    code = "message_too_large"


def serve(session: Session, endpoint: str, body: bytes, sender: RequestIdentity, *, max_body_bytes: int) -> Reply:
    """Handle one CheckInURL (``endpoint="checkin"``) or ServerURL (``"command"``) request."""
    store = SqlMdmStore(session)
    declarative = DeclarativeService(SqlDeclarationStore(session))
    service = MdmService(store, store, store, signatures=store, max_body_bytes=max_body_bytes, declarative=declarative)
    handler = service.checkin if endpoint == "checkin" else service.command
    identity = sender.certificate
    try:
        return handler(body, identity, signature_id=sender.signature_id)
    except MdmError as error:
        raise _refusal(session, error, body, identity) from None
    except UntrustedCertificate as error:  # raised while binding: the certificate is another device's
        refuse_identity(session, error.message, body, identity)
        raise


def refuse_identity(session: Session, reason: str, body: bytes, identity: CertificateIdentity | None) -> None:
    """Audit a refused device identity, durably (it survives the rollback)."""
    claimed = claimed_device(body)
    audit.record(
        session,
        f"device:{claimed or 'unknown'}",
        "mdm.identity_refused",
        outcome=audit.DENIED,
        school_id=identity.school_id if identity is not None else None,
        target=("device", claimed) if claimed else None,
        details={"reason": reason, "certificate": identity.serial if identity is not None else None},
        durable=True,
    )
    log.warning("refused MDM request claiming %s: %s", claimed or "no device", reason)


def claimed_device(body: bytes) -> str | None:
    """The UDID a body claims to speak for, if it can be read at all (for audit only)."""
    try:
        message = plist.load_dict(body, max_bytes=1024 * 1024)
    except (plist.PlistError, TypeError):
        return None
    try:
        return checkin.Enrollment.from_message(message).device_id
    except checkin.CheckinError:
        return None


def _refusal(session: Session, error: MdmError, body: bytes, identity: CertificateIdentity) -> FlokkError:
    if error.security:
        refuse_identity(session, error.reason, body, identity)
        return Unauthenticated(error.reason) if error.status == 401 else Forbidden(error.reason)
    log.warning("refused MDM message (%s): %s", error.status, error.reason)
    if error.status == 413:
        return MessageTooLarge(error.reason)
    return MalformedMessage(error.reason)
