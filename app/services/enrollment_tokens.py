"""Enrollment tokens for the dashboard and API (interim).

Issue 3 builds the full enrollment service (``app.services.enrollment``) with
the same functions (create_token, list_tokens, url_of, revoke_token,
token_state); until it lands on main this small one serves the admin side,
with the same sealing label and URL so tokens stay compatible. When it lands,
the views import that module instead and this file goes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import context
from app.errors import InvalidInput, NotFound
from app.models.base import utcnow
from app.models.enrollment import EnrollmentToken
from app.models.tenancy import Group
from app.services import audit
from app.services.access import Permission, Principal, get_for, require, scoped
from app.services.schools import get_school_by_code

TOKEN_LABEL = "enrollment-token"
ENROLL_PATH = "/enroll"


class TokenState:
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"
    USED_UP = "used up"


@dataclass(frozen=True)
class CreatedToken:
    token: EnrollmentToken
    url: str


def _url(session: Session, secret: str) -> str:
    return f"{context(session).settings.public_url}{ENROLL_PATH}/{secret}"


def token_state(token: EnrollmentToken, now: dt.datetime | None = None) -> str:
    moment = now or utcnow()
    if token.revoked_at is not None:
        return TokenState.REVOKED
    if token.expires_at is not None and token.expires_at <= moment:
        return TokenState.EXPIRED
    if token.max_uses is not None and token.use_count >= token.max_uses:
        return TokenState.USED_UP
    return TokenState.ACTIVE


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
    school = get_school_by_code(session, principal, school_code)
    require(principal, Permission.MANAGE, school.id)
    if expires_in is not None and expires_in <= dt.timedelta(0):
        raise InvalidInput("the expiry must lie in the future")
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
        token_hash=hashlib.sha256(secret.encode()).hexdigest(),
        token_sealed=context(session).secrets.seal(secret.encode(), label=TOKEN_LABEL),
        created_by=principal.label,
        expires_at=utcnow() + expires_in if expires_in is not None else None,
        max_uses=max_uses,
    )
    session.add(token)
    session.flush()
    audit.record(session, principal, "enrollment_token.create", school_id=school.id, target=token,
                 details={"expires_at": token.expires_at.isoformat() if token.expires_at else None,
                          "max_uses": max_uses, "label": label, "group_id": group_id})
    return CreatedToken(token, _url(session, secret))


def list_tokens(session: Session, principal: Principal, *, school_code: str | None = None) -> list[EnrollmentToken]:
    statement = scoped(EnrollmentToken, principal, Permission.VIEW).order_by(EnrollmentToken.id)
    if school_code is not None:
        school = get_school_by_code(session, principal, school_code)
        statement = statement.where(EnrollmentToken.school_id == school.id)
    return list(session.scalars(statement))


def get_token(session: Session, principal: Principal, token_id: int) -> EnrollmentToken:
    return get_for(session, EnrollmentToken, token_id, principal, Permission.VIEW)


def url_of(session: Session, principal: Principal, token_id: int) -> str:
    token = get_for(session, EnrollmentToken, token_id, principal, Permission.MANAGE)
    return _url(session, context(session).secrets.open(token.token_sealed, label=TOKEN_LABEL).decode())


def revoke_token(session: Session, principal: Principal, token_id: int) -> EnrollmentToken:
    token = get_for(session, EnrollmentToken, token_id, principal, Permission.MANAGE, lock=True)
    if token.revoked_at is not None:
        raise InvalidInput(f"enrollment token {token_id} is already revoked")
    token.revoked_at = utcnow()
    audit.record(session, principal, "enrollment_token.revoke", school_id=token.school_id, target=token)
    return token
