"""API tokens for automation: shown once, stored as a SHA-256 hash, with an expiry and revocation."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import threading
import time
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, select
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
    """The principal of a bearer token, or Unauthenticated; records its use (throttled).

    Every request reads the token's row (one indexed Core statement: revoked, expired, last use),
    so a revocation in any worker counts from the next request on. What a token may do (its grants,
    fixed when it is created) is kept per process for ``PRINCIPAL_TTL`` seconds.
    """
    row = hashed = None
    if raw.startswith(PREFIX) and len(raw) < 200:
        hashed = token_hash(raw)
        row = session.execute(_token_state(), {"b_hash": hashed}).first()
    now = utcnow()
    if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        raise Unauthenticated("invalid, expired or revoked API token")
    if row.last_used_at is None or now - row.last_used_at >= USE_AUDIT_INTERVAL:
        token = session.get(ApiToken, row.id)
        if token is None:  # removed in between
            raise Unauthenticated("invalid, expired or revoked API token")
        audit.record(session, token.label, "api_token.use", target=token, details={"name": token.name})
        token.last_used_at = now
    return _principal(session, hashed, row.id)


#: How long a worker keeps a token's principal (its grants, which never change after creation).
PRINCIPAL_TTL = 60.0
#: token hash -> (when cached, token id, principal); keyed by the hash, which no other token ever has.
_principals: dict[str, tuple[float, int, Principal]] = {}
_principals_lock = threading.Lock()
_MAX_PRINCIPALS = 10_000


def _principal(session: Session, hashed: str, token_id: int) -> Principal:
    moment = time.monotonic()
    cached = _principals.get(hashed)
    if cached is not None and cached[1] == token_id and moment - cached[0] < PRINCIPAL_TTL:
        return cached[2]
    token = session.scalar(select(ApiToken).options(selectinload(ApiToken.grants)).where(ApiToken.id == token_id))
    if token is None:
        raise Unauthenticated("invalid, expired or revoked API token")
    principal = principal_for_token(token)
    with _principals_lock:
        if len(_principals) >= _MAX_PRINCIPALS:
            _principals.clear()
        _principals[hashed] = (moment, token_id, principal)
    return principal


def forget_cached_principals() -> None:
    """Drop every cached principal (tests; a token's grants never change otherwise)."""
    with _principals_lock:
        _principals.clear()


@lru_cache(maxsize=None)
def _token_state() -> Any:
    tokens = ApiToken.__table__
    return select(tokens.c.id, tokens.c.revoked_at, tokens.c.expires_at, tokens.c.last_used_at).where(
        tokens.c.token_hash == bindparam("b_hash")
    )


def token_status(token: ApiToken) -> str:
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= utcnow():
        return "expired"
    return "active"
