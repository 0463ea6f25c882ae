"""Admins, API tokens and signed-in clients for tests."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable

from sqlalchemy.orm import Session

from app.models.accounts import AdminUser, ApiToken, RoleGrant
from app.services.access import Principal, Role, passwords, principal_for_admin
from app.services.access.api_tokens import PREFIX, token_hash
from app.http.dashboard import SESSION_TOKEN
from app.services.access import admin_sessions

_numbers = itertools.count(1)
PASSWORD = "correct horse battery staple"
_HASH = None


def _password_hash() -> str:
    global _HASH
    if _HASH is None:
        _HASH = passwords.hash_password(PASSWORD)
    return _HASH


#: (role, school id) or (role, school id, group id): a grant scoped to a school or to one of its groups.
GrantTuple = tuple[Role | str, int | None] | tuple[Role | str, int, int]


def _grant(grant: GrantTuple) -> RoleGrant:
    role, school_id, *group = grant
    return RoleGrant(role=Role(role), school_id=school_id, group_id=group[0] if group else None, created_by="test")


def admin(
    session: Session,
    grants: Iterable[GrantTuple] = (),
    *,
    email: str | None = None,
    password: bool = True,
    must_change: bool = False,
) -> AdminUser:
    """An admin with ``PASSWORD`` (hashed once per run: argon2 is slow on purpose)."""
    created = AdminUser(
        email=email or f"admin{next(_numbers)}@skole.test",
        password_hash=_password_hash() if password else None,
        must_change_password=must_change,
    )
    for grant in grants:
        created.grants.append(_grant(grant))
    session.add(created)
    session.flush()
    return created


def api_token(session: Session, grants: Iterable[GrantTuple], *, name: str | None = None) -> str:
    raw = f"{PREFIX}test-{next(_numbers)}-{time.monotonic_ns()}"
    token = ApiToken(name=name or "test token", token_hash=token_hash(raw), created_by="test")
    for grant in grants:
        token.grants.append(_grant(grant))
    session.add(token)
    session.flush()
    return raw


def principal(admin_user: AdminUser) -> Principal:
    return principal_for_admin(admin_user)


def bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


CSRF = "test-csrf-token"


def sign_in(client, admin_user: AdminUser | None) -> None:
    """Put a signed-in session (a server-side session row and a CSRF token) into a Flask test client's cookie."""
    token = None
    if admin_user is not None:
        with client.application.extensions["flokk"].db.session() as session:
            token = admin_sessions.start(session, session.get(AdminUser, admin_user.id), hours=12)
            session.commit()
    with client.session_transaction() as cookie:
        cookie.clear()
        cookie["csrf"] = CSRF
        if token is not None:
            cookie[SESSION_TOKEN] = token
