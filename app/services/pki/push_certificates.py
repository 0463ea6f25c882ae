"""Central IT's MDM push certificate: imported once a year, its key sealed at rest.

The enrollment profile names its topic; the APNs client pushes with it.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import context
from app.errors import InvalidInput, NotReady
from app.models.base import utcnow
from app.models.pki import PushCertificateRecord
from app.services import audit
from app.services.access import Principal, require_central
from mdm_protocol import push_certificate
from mdm_protocol.certificates import display_fingerprint, load_certificate
from mdm_protocol.push_certificate import PushCertificate, PushCertificateError

log = logging.getLogger("flokk.pki")

KEY_LABEL = "push-key"
#: Apple push certificates last a year; warn central IT this long before.
RENEWAL_WARNING = dt.timedelta(days=30)


@dataclass(frozen=True)
class PushSummary:
    topic: str
    subject: str
    fingerprint: str
    not_after: dt.datetime
    expires_soon: bool
    expired: bool


def import_push_certificate(
    session: Session,
    principal: Principal,
    certificate_data: bytes,
    key_data: bytes,
    *,
    password: bytes | None = None,
    allow_new_topic: bool = False,
) -> PushCertificateRecord:
    """Check and store a push certificate; the previous one is marked replaced.

    A renewed certificate must keep the topic: devices enrolled with the old
    topic can never be woken with another one. ``allow_new_topic`` is for the
    rare deliberate switch (those devices must enrol again).
    """
    require_central(principal)
    try:
        loaded = push_certificate.load(certificate_data, key_data, password=password)
    except PushCertificateError as error:
        raise InvalidInput(str(error)) from None
    current = _current(session)
    if current is not None and current.topic != loaded.topic and not allow_new_topic:
        raise InvalidInput(
            f"the new certificate's topic {loaded.topic} differs from the current {current.topic}: "
            "renew the existing push certificate at identity.apple.com instead of creating a new one "
            "(enrolled devices only answer the current topic), or pass --new-topic if every device will enrol again"
        )
    if current is not None:
        current.replaced_at = utcnow()
    record = PushCertificateRecord(
        topic=loaded.topic,
        subject=loaded.subject,
        fingerprint=loaded.fingerprint,
        not_after=loaded.not_after,
        certificate_pem=loaded.certificate_pem().decode(),
        key_sealed=context(session).secrets.seal(loaded.key_pem(), label=KEY_LABEL),
        imported_by=principal.label,
    )
    session.add(record)
    session.flush()
    audit.record(
        session,
        principal,
        "push_certificate.import",
        target=("push_certificate", record.fingerprint),
        details={"topic": record.topic, "not_after": record.not_after.isoformat()},
    )
    return record


def active_push_certificate(session: Session) -> PushCertificate:
    """The push certificate in use, with its key, for the APNs client and the enrollment profile.

    Raises NotReady when none was imported or it has expired.
    """
    record = _usable(session)
    key_pem = context(session).secrets.open(record.key_sealed, label=KEY_LABEL)
    return push_certificate.load(record.certificate_pem.encode(), key_pem, trusted_key=True)


def active_topic(session: Session) -> str:
    """The APNs topic enrollment profiles name (no key needed). Raises NotReady like above."""
    return _usable(session).topic


def summary(session: Session, principal: Principal) -> PushSummary:
    require_central(principal)
    record = _current(session)
    if record is None:
        raise NotReady("no Apple push certificate has been imported yet: run `flokk apns import CERT KEY`")
    now = utcnow()
    return PushSummary(
        topic=record.topic,
        subject=record.subject,
        fingerprint=display_fingerprint(load_certificate(record.certificate_pem.encode())),
        not_after=record.not_after,
        expires_soon=record.not_after - now <= RENEWAL_WARNING,
        expired=record.not_after <= now,
    )


def _usable(session: Session) -> PushCertificateRecord:
    record = _current(session)
    if record is None:
        raise NotReady("no Apple push certificate has been imported yet: run `flokk apns import CERT KEY`")
    if record.not_after <= utcnow():
        raise NotReady(
            f"the Apple push certificate expired on {record.not_after:%Y-%m-%d}: renew it and run `flokk apns import`"
        )
    return record


def _current(session: Session) -> PushCertificateRecord | None:
    return session.scalar(
        select(PushCertificateRecord)
        .where(PushCertificateRecord.replaced_at.is_(None))
        .order_by(PushCertificateRecord.id.desc())
        .limit(1)
    )


def warn_before_expiry(session: Session) -> str | None:
    """Scheduler job (daily): a warning in the log and the audit log while the push certificate
    expires within RENEWAL_WARNING or has expired. Without it no iPad can be woken, and a
    certificate renewed with another Apple ID means every iPad must enrol again."""
    record = _current(session)
    if record is None:
        return None
    left = record.not_after - utcnow()
    if left > RENEWAL_WARNING:
        return None
    if left.total_seconds() <= 0:
        message = f"the Apple push certificate for {record.topic} expired on {record.not_after:%Y-%m-%d}: no iPad can be woken"
    else:
        message = (f"the Apple push certificate for {record.topic} expires on {record.not_after:%Y-%m-%d} "
                   f"({left.days} days): renew it at identity.apple.com with the same Apple ID, then `flokk apns import`")
    log.warning(message)
    audit.record(session, "system:pki", "push_certificate.expiring", outcome=audit.FAILURE,
                 target=("push_certificate", record.id), details={"not_after": record.not_after.isoformat()})
    return message
