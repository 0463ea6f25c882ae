"""Small builders for rows tests need; each flushes and returns the object."""

from __future__ import annotations

import functools
import itertools

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Device, Group, Organisation, School
from app.models.base import utcnow
from app.models.devices import EnrollmentState, Platform

_numbers = itertools.count(1)


def organisation(session: Session, name: str = "Bergvik kommune") -> Organisation:
    found = session.scalar(select(Organisation).where(Organisation.name == name))
    if found:
        return found
    created = Organisation(name=name)
    session.add(created)
    session.flush()
    return created


def school(session: Session, code: str | None = None, name: str | None = None) -> School:
    number = next(_numbers)
    created = School(
        code=code or f"school{number}", name=name or f"School {number}", organisation=organisation(session)
    )
    session.add(created)
    session.flush()
    return created


def group(session: Session, school: School, name: str | None = None, kind: str = "class") -> Group:
    created = Group(school_id=school.id, name=name or f"Class {next(_numbers)}", kind=kind)
    session.add(created)
    session.flush()
    return created


def device(
    session: Session,
    school: School,
    *,
    platform: str = Platform.IPADOS,
    state: str = EnrollmentState.ENROLLED,
    group: Group | None = None,
    udid: str | None = None,
) -> Device:
    number = next(_numbers)
    created = Device(
        school_id=school.id,
        group_id=group.id if group else None,
        platform=platform,
        udid=udid or (f"UDID-{number:08d}" if platform != Platform.CHROMEOS else None),
        serial_number=f"SER{number:07d}",
        enrollment_state=state,
        enrolled_at=utcnow() if state == EnrollmentState.ENROLLED else None,
    )
    session.add(created)
    session.flush()
    return created


# --- Apple School Manager -----------------------------------------------------------------


@functools.cache
def _asm_key_pair():
    """One RSA key for the run (generating one per test costs more than the test)."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Flokk Apple School Manager (test)")])
    now = dt.datetime.now(dt.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
                   .not_valid_after(now + dt.timedelta(days=365)).sign(key, hashes.SHA256()))
    return certificate, key


def asm_token_file(session: Session) -> bytes:
    """A server token (S/MIME) with fresh credentials, encrypted to Flokk's ASM key (made here if missing)."""
    from cryptography.hazmat.primitives import serialization

    from app.db import context
    from app.models.asm import AsmKey
    from mdm_protocol.certificates import fingerprint
    from tests.fakes.dep import FakeDep
    from tests.support.ade import smime_token

    certificate, key = _asm_key_pair()
    if session.scalar(select(AsmKey).where(AsmKey.fingerprint == fingerprint(certificate))) is None:
        key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        session.add(AsmKey(certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode(),
                           key_sealed=context(session).secrets.seal(key_pem, label="asm-key"),
                           fingerprint=fingerprint(certificate), not_after=certificate.not_valid_after_utc,
                           created_by="test"))
        session.flush()
    return smime_token(FakeDep.new_credentials().as_json(), certificate)


def asm_token(session: Session):
    """A token as `flokk asm import` leaves it (its credentials are never used by the tests that take this)."""
    from app.models.asm import AsmToken

    number = next(_numbers)
    created = AsmToken(consumer_key_hash=f"test-{number}", credentials_sealed=b"-", imported_by="test",
                       imported_at=utcnow(), sync_state="ok", org_name="Bergvik kommune", server_name=f"Flokk {number}")
    session.add(created)
    session.flush()
    return created


def asm_device(session: Session, token, school: School | None, *, group: Group | None = None):
    from app.models.asm import AsmDevice

    created = AsmDevice(token_id=token.id, serial_number=f"DMP{next(_numbers):09d}", model="iPad (10th generation)",
                        school_id=school.id if school else None, group_id=group.id if group else None,
                        device_assigned_by="it@bergvik.kommune.no", first_seen_at=utcnow(), updated_at=utcnow())
    session.add(created)
    session.flush()
    return created
