"""Signing in: passwords with rate limit and lock-out, and single sign-on (sessions: ``admin_sessions``).

Failed attempts are audit events written durably (they survive the refused
request's rollback), and the lock-out counts them from the audit log itself:
web workers keep no state of their own, so this holds across workers and hosts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.config import OidcProvider, Settings
from app.errors import RateLimited, Unauthenticated
from app.models.accounts import AdminUser, RoleGrant
from app.models.audit import AuditEvent
from app.models.base import utcnow
from app.services import audit
from app.services.access import passwords, sso_rules
from app.services.access.accounts import touch_login
from app.services.access.sso_directory import CLAIM, Directory, Membership
from app.services.access.sso_rules import GrantKey

FAILED = "auth.login_failed"
SIGNED_IN = "auth.login"
EMAIL_TARGET = "admin_email"
_dummy_hash: str | None = None


def _timing_hash() -> str:
    """Verified against when the email is unknown, so timing does not tell which accounts exist."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = passwords.hash_password("flokk-dummy-password-for-timing")
    return _dummy_hash


def password_sign_in(session: Session, settings: Settings, email: str, password: str, source: str | None) -> AdminUser:
    """The admin for this email and password, or Unauthenticated/RateLimited (both audited)."""
    email = email.strip().lower()[:254]
    window_start = utcnow() - dt.timedelta(minutes=settings.login_lockout_minutes)
    if source and _failures(session, window_start, AuditEvent.source == source) >= settings.login_max_failures_per_source:
        audit.record(session, f"anonymous@{source}", "auth.login_refused", outcome=audit.DENIED,
                     target=(EMAIL_TARGET, email), details={"reason": "too many failures from this address"}, durable=True)
        raise RateLimited(f"too many failed sign-ins from your address; wait {settings.login_lockout_minutes} minutes")
    last_success = session.scalar(
        select(func.max(AuditEvent.occurred_at)).where(
            AuditEvent.action == SIGNED_IN, AuditEvent.target_type == EMAIL_TARGET, AuditEvent.target_id == email
        )
    )
    since = max(window_start, last_success) if last_success else window_start
    failures = _failures(session, since, AuditEvent.target_type == EMAIL_TARGET, AuditEvent.target_id == email)
    if failures >= settings.login_max_failures:
        audit.record(session, f"anonymous@{source}", "auth.login_refused", outcome=audit.DENIED,
                     target=(EMAIL_TARGET, email), details={"reason": "account locked"}, durable=True)
        raise RateLimited(
            f"this account is locked after {failures} failed sign-ins; try again in "
            f"{settings.login_lockout_minutes} minutes"
        )
    admin = session.scalar(select(AdminUser).options(selectinload(AdminUser.grants)).where(AdminUser.email == email))
    if admin is not None and admin.password_hash:
        valid = passwords.verify_password(admin.password_hash, password)
    else:  # no such account, or single sign-on only: spend the same time, never succeed
        passwords.verify_password(_timing_hash(), password)
        valid = False
    if admin is None or not valid or not admin.is_active:
        reason = "unknown account" if admin is None else ("wrong password" if not valid else "account deactivated")
        audit.record(session, f"anonymous@{source}", FAILED, outcome=audit.DENIED, target=(EMAIL_TARGET, email),
                     details={"reason": reason}, durable=True)
        raise Unauthenticated("wrong email or password")
    touch_login(admin)
    audit.record(session, admin.label, SIGNED_IN, target=(EMAIL_TARGET, email), details={"method": "password"})
    return admin


def _failures(session: Session, since: dt.datetime, *conditions: Any) -> int:
    return session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == FAILED, AuditEvent.occurred_at >= since, *conditions)
    ) or 0


@dataclass(frozen=True)
class SsoOutcome:
    """``admin`` is None when the person has no access; the grant removal still commits.
    ``warning``: signed in, but the provider's directory failed, so no derived grant was given."""

    admin: AdminUser | None
    message: str = ""
    warning: str | None = None


def sso_sign_in(
    session: Session, provider: OidcProvider, claims: Mapping[str, Any], directory: Directory | None = None
) -> SsoOutcome:
    """Sign in (and provision) from verified OpenID Connect claims and the provider's directory.

    The admin's ``sso:<provider>`` grants are replaced on every sign-in by the
    rules matching the person's memberships now (``sso_rules.grants_for``), so
    access ends when the person leaves a school, a class or an affiliation.
    When the directory could not be read, no derived grant is given and the
    person is told why.
    """
    subject = str(claims.get("sub") or "")
    if not subject:
        raise Unauthenticated("the identity provider sent no subject")
    if directory is None:
        directory = Directory(tuple(Membership(value, CLAIM) for value in claim_values(claims.get(provider.grant_claim))))
    email = str(claims.get("email") or f"{subject}@{provider.name}").strip().lower()[:254]
    wanted = sso_rules.grants_for(session, provider.name, directory)
    no_role = directory.error or "your account has no role in Flokk"
    actor = f"sso:{provider.name}:{email}"
    admin = session.scalar(
        select(AdminUser).where(AdminUser.sso_provider == provider.name, AdminUser.sso_subject == subject)
    )
    if admin is None:
        existing = session.scalar(select(AdminUser).where(AdminUser.email == email))
        if existing is not None:
            if claims.get("email_verified") is not True or existing.sso_subject is not None:
                return _refuse(session, actor, email, "an account with this email exists and cannot be linked to this sign-in")
            existing.sso_provider, existing.sso_subject = provider.name, subject
            admin = existing
            audit.record(session, actor, "admin.link_sso", target=admin, details={"provider": provider.name})
        elif wanted:
            admin = AdminUser(email=email, display_name=str(claims.get("name") or "")[:200] or None,
                              sso_provider=provider.name, sso_subject=subject)
            session.add(admin)
            session.flush()
            audit.record(session, actor, "admin.create", target=admin, details={"email": email, "provider": provider.name})
        else:
            return _refuse(session, actor, email, no_role)
    if not admin.is_active:
        return _refuse(session, actor, email, "your Flokk account is deactivated")
    _sync_sso_grants(session, admin, provider.name, wanted, actor)
    if not admin.grants:
        return _refuse(session, actor, email, no_role)
    touch_login(admin)
    details: dict[str, Any] = {"method": f"sso:{provider.name}"}
    if directory.error:
        details["directory_error"] = directory.error
    audit.record(session, admin.label, SIGNED_IN, target=(EMAIL_TARGET, email), details=details)
    return SsoOutcome(admin, warning=directory.error)


def claim_values(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value if isinstance(item, (str, int))]
    return [str(value)]


def _sync_sso_grants(session: Session, admin: AdminUser, provider: str, wanted: set[GrantKey], actor: str) -> None:
    source = f"sso:{provider}"
    current = {(grant.role, grant.school_id, grant.group_id): grant for grant in admin.grants if grant.source == source}
    for key, grant in current.items():
        if key not in wanted:
            admin.grants.remove(grant)
            audit.record(session, actor, "grant.remove", school_id=grant.school_id, target=admin,
                         details={"email": admin.email, "role": grant.role, "school_id": grant.school_id,
                                  "group_id": grant.group_id, "source": source})
    for role, school_id, group_id in sorted(wanted - set(current), key=lambda item: (item[0], item[1] or 0, item[2] or 0)):
        admin.grants.append(RoleGrant(role=role, school_id=school_id, group_id=group_id, created_by=actor, source=source))
        audit.record(session, actor, "grant.add", school_id=school_id, target=admin,
                     details={"email": admin.email, "role": role, "school_id": school_id, "group_id": group_id,
                              "source": source})
    session.flush()


def _refuse(session: Session, actor: str, email: str, message: str) -> SsoOutcome:
    audit.record(session, actor, FAILED, outcome=audit.DENIED, target=(EMAIL_TARGET, email), details={"reason": message})
    return SsoOutcome(None, message)
