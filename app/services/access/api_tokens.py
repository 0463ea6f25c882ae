"""API tokens for automation: shown once, stored as a SHA-256 hash, with an expiry and revocation."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.errors import InvalidInput, NotFound, Unauthenticated
from app.models.accounts import ApiToken, RoleGrant
from app.models.base import utcnow
from app.services import audit
from app.services.access import Principal, principal_for_token, require_central
from app.services.access.accounts import GrantSpec, require_admin_reader, resolve_grants

PREFIX = "flk_"
#: A token's use is written to the audit log at most this often (every change it makes is audited anyway).
USE_AUDIT_INTERVAL = dt.timedelta(hours=1)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_token(
    session: Session, principal: Principal, *, name: str, grants: Sequence[GrantSpec], expires_in_days: int
) -> tuple[ApiToken, str]:
    """A new token and its secret (returned once, never stored)."""
    require_central(principal)
    if not grants:
        raise InvalidInput("a token needs at least one grant", details={"grants": ["Give at least one role."]})
    resolved = resolve_grants(session, principal, grants)
    raw = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name.strip(),
        token_hash=token_hash(raw),
        created_by=principal.label,
        expires_at=utcnow() + dt.timedelta(days=expires_in_days),
    )
    for role, school_id in resolved:
        token.grants.append(RoleGrant(role=role, school_id=school_id, created_by=principal.label))
    session.add(token)
    session.flush()
    audit.record(session, principal, "api_token.create", target=token,
                 details={"name": token.name, "grants": [[role, school] for role, school in resolved],
                          "expires_at": token.expires_at.isoformat()})
    return token, raw


def list_tokens(session: Session, principal: Principal) -> list[ApiToken]:
    require_admin_reader(principal)
    return list(session.scalars(select(ApiToken).options(selectinload(ApiToken.grants)).order_by(ApiToken.id)))


def revoke_token(session: Session, principal: Principal, token_id: int) -> ApiToken:
    require_central(principal)
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"no API token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(session, principal, "api_token.revoke", target=token, details={"name": token.name})
    return token


def authenticate(session: Session, raw: str) -> Principal:
    """The principal of a bearer token, or Unauthenticated; records its use (throttled)."""
    token = None
    if raw.startswith(PREFIX) and len(raw) < 200:
        token = session.scalar(
            select(ApiToken).options(selectinload(ApiToken.grants)).where(ApiToken.token_hash == token_hash(raw))
        )
    now = utcnow()
    if token is None or token.revoked_at is not None or (token.expires_at is not None and token.expires_at <= now):
        raise Unauthenticated("invalid, expired or revoked API token")
    if token.last_used_at is None or now - token.last_used_at >= USE_AUDIT_INTERVAL:
        audit.record(session, token.label, "api_token.use", target=token, details={"name": token.name})
        token.last_used_at = now
    return principal_for_token(token)


def token_status(token: ApiToken) -> str:
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= utcnow():
        return "expired"
    return "active"
