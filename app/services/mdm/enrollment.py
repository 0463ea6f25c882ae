"""Enrolling an iPad into its school: tokens, the profile behind the URL, the SCEP challenge.

A school's enrollment token is the secret in its enrollment URL
(``/enroll/<token>``); central IT or the school's ICT contact creates and
revokes it. Each profile download mints a fresh one-time SCEP challenge bound
to the token, so the certificate the device then gets (and the device itself)
lands in the token's school. A token may expire and may be limited to a
number of devices (counted when a certificate is issued).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.x509.oid import NameOID
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app import endpoints
from app.config import Settings
from app.db import context
from app.errors import Gone, InvalidInput, NotFound, NotReady
from app.models.base import utcnow
from app.models.enrollment import EnrollmentToken
from app.models.pki import EnrollmentChallenge
from app.models.tenancy import Group, School
from app.services import audit
from app.services.access import Permission, Principal, get_for, require, scoped
from app.services.fleet.schools import get_school_by_code
from app.services.pki import certificate_authority, push_certificates
from mdm_protocol import enrollment_profile

TOKEN_LABEL = "enrollment-token"
#: How long the challenge in a downloaded profile stays good: the profile is
#: usually installed within minutes; a day leaves room for a slow afternoon.
CHALLENGE_LIFETIME = dt.timedelta(hours=24)
_TOKEN_FORMAT = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
DEVICE_COMMON_NAME = "Flokk device"


class TokenState:
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"
    USED_UP = "used up"


@dataclass(frozen=True)
class CreatedToken:
    token: EnrollmentToken
    url: str


@dataclass(frozen=True)
class EnrollmentProfile:
    """A signed .mobileconfig, ready to serve."""

    data: bytes
    filename: str
    school_id: int
    content_type: str = enrollment_profile.CONTENT_TYPE
    challenge_id: int | None = None


@dataclass(frozen=True)
class ChallengeGrant:
    """The facts a good challenge establishes: which school and token the new certificate is for."""

    school_id: int
    school_code: str
    organisation: str
    enrollment_token_id: int | None  # None: Automated Device Enrollment
    challenge_id: int


class ChallengeRefused(Exception):
    """The challenge password is not good (any more); ``school_id`` is known when the challenge was real."""

    def __init__(self, reason: str, school_id: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.school_id = school_id


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_url(settings: Settings, secret: str) -> str:
    return f"{settings.public_url}{endpoints.ENROLL}/{secret}"


def token_state(token: EnrollmentToken, now: dt.datetime | None = None) -> str:
    moment = now or utcnow()
    if token.revoked_at is not None:
        return TokenState.REVOKED
    if token.expires_at is not None and token.expires_at <= moment:
        return TokenState.EXPIRED
    if token.max_uses is not None and token.use_count >= token.max_uses:
        return TokenState.USED_UP
    return TokenState.ACTIVE


# ------------------------------------------------------------------ tokens


def create_token(
    session: Session,
    principal: Principal,
    *,
    school_code: str,
    expires_in: dt.timedelta | None = None,
    max_uses: int | None = None,
    label: str | None = None,
    group: str | None = None,
) -> CreatedToken:
    """A new enrollment URL for a school (central IT, or that school's ICT contact)."""
    school = get_school_by_code(session, principal, school_code)
    require(principal, Permission.MANAGE, school.id)
    if expires_in is not None and expires_in <= dt.timedelta(0):
        raise InvalidInput("the expiry must lie in the future")
    if max_uses is not None and max_uses < 1:
        raise InvalidInput("max uses must be at least 1")
    group_id = None
    if group is not None:
        found = session.scalar(select(Group).where(Group.school_id == school.id, Group.name == group))
        if found is None:
            raise NotFound(f"no group {group!r} in school {school.code}")
        group_id = found.id
    secret = secrets.token_urlsafe(24)
    token = EnrollmentToken(
        school_id=school.id,
        group_id=group_id,
        label=label,
        token_hash=hash_secret(secret),
        token_sealed=context(session).secrets.seal(secret.encode(), label=TOKEN_LABEL),
        created_by=principal.label,
        expires_at=utcnow() + expires_in if expires_in is not None else None,
        max_uses=max_uses,
    )
    session.add(token)
    session.flush()
    audit.record(
        session,
        principal,
        "enrollment_token.create",
        school_id=school.id,
        target=token,
        details={
            "expires_at": token.expires_at.isoformat() if token.expires_at else None,
            "max_uses": max_uses,
            "label": label,
            "group_id": group_id,
        },
    )
    return CreatedToken(token, token_url(context(session).settings, secret))


def list_tokens(session: Session, principal: Principal, *, school_code: str | None = None) -> list[EnrollmentToken]:
    statement = scoped(EnrollmentToken, principal, Permission.VIEW).order_by(EnrollmentToken.id)
    if school_code is not None:
        school = get_school_by_code(session, principal, school_code)
        statement = statement.where(EnrollmentToken.school_id == school.id)
    return list(session.scalars(statement))


def get_token(session: Session, principal: Principal, token_id: int) -> EnrollmentToken:
    """One token the principal may see (without its secret)."""
    return get_for(session, EnrollmentToken, token_id, principal, Permission.VIEW)


def url_of(session: Session, principal: Principal, token_id: int) -> str:
    """The enrollment URL again, for an admin allowed to manage the token's school."""
    token = _token_for(session, principal, token_id)
    secret = context(session).secrets.open(token.token_sealed, label=TOKEN_LABEL).decode()
    return token_url(context(session).settings, secret)


def revoke_token(session: Session, principal: Principal, token_id: int) -> EnrollmentToken:
    token = _token_for(session, principal, token_id, lock=True)
    if token.revoked_at is not None:
        raise InvalidInput(f"enrollment token {token_id} is already revoked")
    token.revoked_at = utcnow()
    audit.record(session, principal, "enrollment_token.revoke", school_id=token.school_id, target=token)
    return token


def _token_for(session: Session, principal: Principal, token_id: int, *, lock: bool = False) -> EnrollmentToken:
    try:
        return get_for(session, EnrollmentToken, token_id, principal, Permission.MANAGE, lock=lock)
    except NotFound:
        raise NotFound(f"no enrollment token {token_id}") from None


# --------------------------------------------------------- the device side


def find_token(session: Session, secret: str, *, lock: bool = False) -> EnrollmentToken:
    """The token behind an enrollment URL, or NotFound (also for malformed secrets)."""
    if not _TOKEN_FORMAT.match(secret or ""):
        raise NotFound("this enrollment link is not valid")
    statement = select(EnrollmentToken).where(EnrollmentToken.token_hash == hash_secret(secret))
    if lock:
        statement = statement.with_for_update()
    token = session.scalar(statement)
    if token is None:
        raise NotFound("this enrollment link is not valid")
    return token


def build_profile(session: Session, secret: str) -> EnrollmentProfile:
    """The signed enrollment profile for a token's school, with a fresh challenge.

    NotFound for an unknown token, Gone for a revoked, expired or used-up one,
    NotReady when central IT has not imported the push certificate (or there
    is no CA): never a profile that cannot work.
    """
    token = find_token(session, secret)
    state = token_state(token)
    if state != TokenState.ACTIVE:
        audit.record(
            session,
            "device:enrollment",
            "enrollment.profile",
            outcome=audit.DENIED,
            school_id=token.school_id,
            target=token,
            details={"reason": f"token {state}"},
            durable=True,
        )
        raise Gone(f"this enrollment link is {state}")
    try:
        profile = profile_for(session, token.school, enrollment_token_id=token.id)
    except NotReady as error:
        audit.record(
            session,
            "device:enrollment",
            "enrollment.profile",
            outcome=audit.FAILURE,
            school_id=token.school_id,
            target=token,
            details={"reason": error.message},
            durable=True,
        )
        raise
    audit.record(
        session,
        "device:enrollment",
        "enrollment.profile",
        school_id=token.school_id,
        target=token,
        details={"challenge_id": profile.challenge_id},
    )
    return profile


def profile_for(
    session: Session, school: School, *, enrollment_token_id: int | None = None, asm_device_id: int | None = None
) -> EnrollmentProfile:
    """The school's signed enrollment profile with a fresh one-time challenge, tied to the enrollment
    link or the Apple School Manager device it was made for. NotReady without a push certificate or CA."""
    topic = push_certificates.active_topic(session)
    authority = certificate_authority.load_ca(session)
    settings = context(session).settings
    challenge = secrets.token_urlsafe(24)
    row = EnrollmentChallenge(
        school_id=school.id,
        enrollment_token_id=enrollment_token_id,
        asm_device_id=asm_device_id,
        challenge_hash=hash_secret(challenge),
        expires_at=utcnow() + CHALLENGE_LIFETIME,
    )
    session.add(row)
    session.flush()
    organisation = school.organisation.name
    profile_settings = enrollment_profile.EnrollmentSettings(
        identifier=f"{reverse_host(settings.public_url)}.flokk.enrollment.{school.code}",
        display_name=f"{school.name} (Flokk)",
        organization=organisation,
        description=f"Enrols this iPad into {school.name}, managed by {organisation} with Flokk.",
        server_url=settings.public_url + endpoints.MDM_SERVER,
        check_in_url=settings.public_url + endpoints.MDM_CHECKIN,
        topic=topic,
        scep_url=settings.public_url + endpoints.SCEP,
        challenge=challenge,
        ca_certificate=authority.certificate,
        scep_subject=_subject_pairs(organisation, school.code),
    )
    data = enrollment_profile.signed(profile_settings, authority.certificate, authority.private_key)
    return EnrollmentProfile(data=data, filename=f"flokk-{school.code}.mobileconfig", school_id=school.id,
                             challenge_id=row.id)


def device_subject(organisation: str, school_code: str) -> x509.Name:
    """The subject Flokk writes into every device certificate (whatever the device asked for)."""
    oids = {"O": NameOID.ORGANIZATION_NAME, "OU": NameOID.ORGANIZATIONAL_UNIT_NAME, "CN": NameOID.COMMON_NAME}
    return x509.Name(
        [x509.NameAttribute(oids[attribute], value) for attribute, value in _subject_pairs(organisation, school_code)]
    )


def consume_challenge(session: Session, challenge: str, *, now: dt.datetime | None = None) -> ChallengeGrant:
    """Check a SCEP challenge and use it up; count one use of its token. Raises ChallengeRefused."""
    moment = now or utcnow()
    row = session.scalar(
        select(EnrollmentChallenge)
        .where(EnrollmentChallenge.challenge_hash == hash_secret(challenge))
        .with_for_update()
    )
    if row is None:
        raise ChallengeRefused("the challenge password is wrong")
    if row.used_at is not None:
        raise ChallengeRefused("the challenge password was used already; download the profile again", row.school_id)
    if row.expires_at <= moment:
        raise ChallengeRefused("the challenge password has expired; download the profile again", row.school_id)
    token = None
    if row.enrollment_token_id is not None:  # None: an Automated Device Enrollment challenge (no link)
        token = session.get(EnrollmentToken, row.enrollment_token_id, with_for_update=True)
        assert token is not None  # the foreign key cascades
        state = token_state(token, moment)
        if state != TokenState.ACTIVE:
            raise ChallengeRefused(f"the enrollment token is {state}", row.school_id)
        token.use_count += 1
    row.used_at = moment
    school = session.get(School, row.school_id)
    assert school is not None
    return ChallengeGrant(
        school_id=school.id,
        school_code=school.code,
        organisation=school.organisation.name,
        enrollment_token_id=token.id if token is not None else None,
        challenge_id=row.id,
    )


def purge_expired_challenges(session: Session, *, now: dt.datetime | None = None) -> int:
    """Delete challenges that expired more than a day ago (a scheduler job); returns how many."""
    cutoff = (now or utcnow()) - dt.timedelta(days=1)
    result = session.execute(delete(EnrollmentChallenge).where(EnrollmentChallenge.expires_at < cutoff))
    return result.rowcount or 0


def _subject_pairs(organisation: str, school_code: str) -> list[tuple[str, str]]:
    return [("O", organisation), ("OU", school_code), ("CN", DEVICE_COMMON_NAME)]


def reverse_host(public_url: str) -> str:
    host = urlsplit(public_url).hostname or "localhost"
    parts = [part for part in re.split(r"[^A-Za-z0-9-]+", host) if part]
    return ".".join(reversed(parts)) or "localhost"
