"""Flokk's certificate authority: created at `flokk init`, or imported; its key sealed at rest.

The CA issues device identity certificates over SCEP and signs enrollment
profiles. Its key is kept sealed with the secrets box (FLOKK_SECRET_KEY);
each process opens it once and keeps the opened CA in memory.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import context
from app.errors import Conflict, InvalidInput, NotReady
from app.models.base import utcnow
from app.models.pki import CertificateAuthorityRecord
from app.services import audit
from app.services.access import Principal, require_central
from mdm_protocol.ca import DEFAULT_CA_KEY_SIZE, CAError, CertificateAuthority
from mdm_protocol.certificates import display_fingerprint, load_certificate

KEY_LABEL = "ca-key"

_opened: dict[str, CertificateAuthority] = {}
_opened_lock = threading.Lock()


@dataclass(frozen=True)
class CASummary:
    """What `flokk ca show` and the dashboard show about the CA."""

    subject: str
    fingerprint: str
    not_after: str
    origin: str
    certificate_pem: str


def active_record(session: Session) -> CertificateAuthorityRecord | None:
    return session.scalar(
        select(CertificateAuthorityRecord)
        .where(CertificateAuthorityRecord.retired_at.is_(None))
        .order_by(CertificateAuthorityRecord.id.desc())
        .limit(1)
    )


def ca_name(organisation: str) -> str:
    """The generated CA's common name, as iPads show it under the trusted certificates."""
    if "flokk" in organisation.lower():
        return f"{organisation} CA"
    return f"{organisation} Flokk CA"


def ensure_ca(session: Session, principal: Principal, organisation: str, *, key_size: int = DEFAULT_CA_KEY_SIZE) -> bool:
    """Create the CA when there is none (`flokk init`); True when one was created."""
    require_central(principal)
    if active_record(session) is not None:
        return False
    authority = CertificateAuthority.create(ca_name(organisation), organization=organisation, key_size=key_size)
    _store(session, principal, authority, origin="generated")
    return True


def import_ca(
    session: Session,
    principal: Principal,
    certificate_pem: bytes,
    key_pem: bytes,
    *,
    password: bytes | None = None,
    replace: bool = False,
) -> CertificateAuthorityRecord:
    """Use central IT's own CA instead of the generated one.

    With ``replace`` the current CA is retired: the certificates it issued stay
    valid until they expire, new ones come from the imported CA.
    """
    require_central(principal)
    try:
        authority = CertificateAuthority.from_pem(certificate_pem, key_pem, password=password)
    except CAError as error:
        raise InvalidInput(str(error)) from None
    current = active_record(session)
    if current is not None and current.fingerprint == authority.fingerprint:
        raise Conflict("this CA is already Flokk's CA")
    known = session.scalar(
        select(CertificateAuthorityRecord).where(CertificateAuthorityRecord.fingerprint == authority.fingerprint)
    )
    if known is not None:
        raise Conflict("this CA was used before and retired; it cannot be imported again")
    if current is not None:
        if not replace:
            raise Conflict("Flokk already has a CA: pass --replace to retire it (its certificates stay valid)")
        current.retired_at = utcnow()
        audit.record(session, principal, "ca.retire", target=("ca", current.fingerprint))
    return _store(session, principal, authority, origin="imported")


def _store(
    session: Session, principal: Principal, authority: CertificateAuthority, *, origin: str
) -> CertificateAuthorityRecord:
    secrets = context(session).secrets
    record = CertificateAuthorityRecord(
        subject=authority.certificate.subject.rfc4514_string(),
        fingerprint=authority.fingerprint,
        certificate_pem=authority.certificate_pem().decode(),
        key_sealed=secrets.seal(authority.key_pem(), label=KEY_LABEL),
        not_after=authority.certificate.not_valid_after_utc,
        origin=origin,
        created_by=principal.label,
    )
    session.add(record)
    session.flush()
    audit.record(
        session,
        principal,
        "ca.create" if origin == "generated" else "ca.import",
        target=("ca", record.fingerprint),
        details={"subject": record.subject, "not_after": record.not_after.isoformat()},
    )
    return record


def load_ca(session: Session) -> CertificateAuthority:
    """The active CA with its key, opened from the sealed copy (once per process)."""
    record = active_record(session)
    if record is None:
        raise NotReady("Flokk has no CA yet: run `flokk init`")
    return open_record(session, record)


def open_record(session: Session, record: CertificateAuthorityRecord) -> CertificateAuthority:
    cache_key = record.fingerprint
    with _opened_lock:
        opened = _opened.get(cache_key)
    if opened is not None:
        return opened
    key_pem = context(session).secrets.open(record.key_sealed, label=KEY_LABEL)
    try:
        opened = CertificateAuthority.from_pem(record.certificate_pem.encode(), key_pem, trusted_key=True)
    except CAError as error:
        raise NotReady(f"Flokk's CA cannot be used ({error}): import a new one with `flokk ca import`") from None
    with _opened_lock:
        _opened[cache_key] = opened
    return opened


def summary(session: Session, principal: Principal) -> CASummary:
    require_central(principal)
    record = active_record(session)
    if record is None:
        raise NotReady("Flokk has no CA yet: run `flokk init`")
    return CASummary(
        subject=record.subject,
        fingerprint=display_fingerprint(load_certificate(record.certificate_pem.encode())),
        not_after=record.not_after.strftime("%Y-%m-%d %H:%M UTC"),
        origin=record.origin,
        certificate_pem=record.certificate_pem,
    )

