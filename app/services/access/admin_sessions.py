"""Dashboard sessions held server-side: a row per sign-in, looked up on every request.

The browser's cookie is signed, but a signed cookie cannot be taken back:
clearing it at sign-out only asks the browser to forget it, and a copy taken
before stays valid. So the cookie carries a random token and the database the
session: signing out deletes the row; a password change, a password reset and
a deactivation delete all of the admin's rows. Grants need nothing here: the
principal is read from them on every request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from app.models.accounts import AdminSession, AdminUser
from app.models.base import utcnow


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def start(session: Session, admin: AdminUser, *, hours: int) -> str:
    """A new session for ``admin``; returns the token for the cookie (stored only as a hash).

    The admin's expired sessions are cleared on the way, so rows do not pile up.
    """
    now = utcnow()
    session.execute(delete(AdminSession).where(AdminSession.admin_user_id == admin.id, AdminSession.expires_at <= now))
    token = secrets.token_urlsafe(32)
    session.add(AdminSession(admin_user_id=admin.id, token_hash=_hash(token), expires_at=now + dt.timedelta(hours=hours)))
    session.flush()
    return token


def admin_for(session: Session, token: object) -> AdminUser | None:
    """The active admin a session token stands for, or None (unknown, ended or expired)."""
    if not isinstance(token, str) or not token or len(token) > 100:
        return None
    return session.scalar(
        select(AdminUser)
        .join(AdminSession, AdminSession.admin_user_id == AdminUser.id)
        .options(selectinload(AdminUser.grants))
        .where(AdminSession.token_hash == _hash(token), AdminSession.expires_at > utcnow(), AdminUser.is_active.is_(True))
    )


def end(session: Session, token: object) -> None:
    """Sign-out: this session is over, whoever holds a copy of its cookie."""
    if isinstance(token, str) and token:
        session.execute(delete(AdminSession).where(AdminSession.token_hash == _hash(token)))


def end_all(session: Session, admin_id: int) -> int:
    """Every session of an admin (password changed or reset, account deactivated); how many ended."""
    return session.execute(delete(AdminSession).where(AdminSession.admin_user_id == admin_id)).rowcount or 0
