"""Admin accounts and their grants: created and changed by central IT only, every change audited.

Rights are data (``RoleGrant`` rows: role, school or all schools). A guard keeps
at least one active central admin over every school, so Flokk never locks
itself out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.models.accounts import AdminUser, RoleGrant
from app.models.base import utcnow
from app.services import audit
from app.services.access import GROUP_ROLES, Permission, Principal, Role, admin_sessions, passwords, require_central
from app.services.fleet.schools import get_school_by_code

MIN_PASSWORD_LENGTH = 12
MANUAL = "manual"


@dataclass(frozen=True)
class GrantSpec:
    """A grant as given by an admin: a role and a school code (None: every school)."""

    role: str
    school: str | None = None


def resolve_grants(
    session: Session, principal: Principal, specs: Iterable[GrantSpec], *, group_roles: bool = False
) -> list[tuple[Role, int | None]]:
    """Check roles and school codes; the school lookup goes through the choke point.

    Roles scoped to a class (teacher) are refused unless ``group_roles``: they come from
    class rosters through single sign-on rules, never as a grant over a whole school.
    """
    resolved: list[tuple[Role, int | None]] = []
    for spec in specs:
        try:
            role = Role(spec.role)
        except ValueError:
            raise InvalidInput(f"unknown role {spec.role!r}; use one of {', '.join(r.value for r in Role)}") from None
        if role in GROUP_ROLES and not group_roles:
            raise InvalidInput(
                f"the {role} role is given per class, from class rosters at single sign-on: add a single sign-on "
                f"rule for it (flokk admin sso-rule add ... --role {role})",
                details={"role": [f"{role} is given per class by single sign-on rules."]},
            )
        school_id = get_school_by_code(session, principal, spec.school).id if spec.school else None
        if (role, school_id) not in resolved:
            resolved.append((role, school_id))
    return resolved


def require_admin_reader(principal: Principal) -> None:
    """Central admins and central auditors may see who has which rights."""
    if not (principal.can(Permission.ADMINISTER, None) or principal.can(Permission.AUDIT, None)):
        raise Forbidden("only central IT may see admin accounts")


def list_admins(session: Session, principal: Principal) -> list[AdminUser]:
    require_admin_reader(principal)
    return list(session.scalars(select(AdminUser).options(selectinload(AdminUser.grants)).order_by(AdminUser.email)))


def get_admin(session: Session, principal: Principal, admin_id: int) -> AdminUser:
    require_admin_reader(principal)
    admin = session.get(AdminUser, admin_id)
    if admin is None:
        raise NotFound(f"no admin {admin_id}")
    return admin


def find_admin(session: Session, principal: Principal, email: str) -> AdminUser:
    require_admin_reader(principal)
    admin = session.scalar(select(AdminUser).where(AdminUser.email == email.strip().lower()))
    if admin is None:
        raise NotFound(f"no admin {email!r}")
    return admin


def create_admin(
    session: Session,
    principal: Principal,
    *,
    email: str,
    grants: Sequence[GrantSpec],
    display_name: str | None = None,
) -> tuple[AdminUser, str]:
    """Create an account with a one-time password (returned once; the first sign-in must change it)."""
    require_central(principal)
    email = email.strip().lower()
    if session.scalar(select(func.count()).select_from(AdminUser).where(AdminUser.email == email)):
        raise Conflict(f"an admin {email!r} exists already")
    resolved = resolve_grants(session, principal, grants)
    password = passwords.one_time_password()
    admin = AdminUser(
        email=email,
        display_name=display_name,
        password_hash=passwords.hash_password(password),
        must_change_password=True,
    )
    for role, school_id in resolved:
        admin.grants.append(RoleGrant(role=role, school_id=school_id, created_by=principal.label, source=MANUAL))
    session.add(admin)
    session.flush()
    audit.record(session, principal, "admin.create", target=admin, details={"email": email})
    for grant in admin.grants:
        _audit_grant(session, principal, "grant.add", admin, grant)
    return admin, password


def add_grant(session: Session, principal: Principal, admin_id: int, spec: GrantSpec) -> RoleGrant:
    require_central(principal)
    admin = get_admin(session, principal, admin_id)
    ((role, school_id),) = resolve_grants(session, principal, [spec])
    for grant in admin.grants:
        if grant.role == role and grant.school_id == school_id and grant.source == MANUAL:
            raise Conflict("the admin holds this grant already")
    grant = RoleGrant(role=role, school_id=school_id, created_by=principal.label, source=MANUAL)
    admin.grants.append(grant)
    session.flush()
    _audit_grant(session, principal, "grant.add", admin, grant)
    return grant


def remove_grant(session: Session, principal: Principal, admin_id: int, grant_id: int) -> None:
    require_central(principal)
    admin = get_admin(session, principal, admin_id)
    grant = next((grant for grant in admin.grants if grant.id == grant_id), None)
    if grant is None:
        raise NotFound(f"admin {admin_id} has no grant {grant_id}")
    admin.grants.remove(grant)
    session.flush()
    _keep_a_central_admin(session)
    _audit_grant(session, principal, "grant.remove", admin, grant)


def set_active(session: Session, principal: Principal, admin_id: int, active: bool) -> AdminUser:
    """Deactivating ends the admin's sessions at once."""
    require_central(principal)
    admin = get_admin(session, principal, admin_id)
    if admin.is_active == active:
        return admin
    admin.is_active = active
    if not active:
        admin_sessions.end_all(session, admin.id)
    session.flush()
    _keep_a_central_admin(session)
    audit.record(session, principal, "admin.activate" if active else "admin.deactivate", target=admin, details={"email": admin.email})
    return admin


def reset_password(session: Session, principal: Principal, admin_id: int) -> tuple[AdminUser, str]:
    require_central(principal)
    admin = get_admin(session, principal, admin_id)
    password = passwords.one_time_password()
    admin.password_hash = passwords.hash_password(password)
    admin.must_change_password = True
    admin_sessions.end_all(session, admin.id)
    audit.record(session, principal, "admin.reset_password", target=admin, details={"email": admin.email})
    return admin, password


def change_own_password(session: Session, principal: Principal, current: str, new: str) -> AdminUser:
    """Any admin changes their own password (the first sign-in with a one-time password must).

    Every session of the admin ends, this one included: the caller starts a new one."""
    if principal.kind != "admin" or principal.id is None:
        raise Forbidden("only admin users have a password")
    admin = session.get(AdminUser, principal.id)
    if admin is None:
        raise NotFound("no such admin")
    if not passwords.verify_password(admin.password_hash, current):
        audit.record(session, principal, "admin.change_password", outcome=audit.DENIED, target=admin, durable=True)
        raise InvalidInput("the current password is wrong", details={"current_password": ["Wrong password."]})
    check_password_strength(new, admin.email)
    if current == new:
        raise InvalidInput("choose a new password", details={"new_password": ["Must differ from the current one."]})
    admin.password_hash = passwords.hash_password(new)
    admin.must_change_password = False
    admin_sessions.end_all(session, admin.id)
    audit.record(session, principal, "admin.change_password", target=admin)
    return admin


def check_password_strength(password: str, email: str) -> None:
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"Use at least {MIN_PASSWORD_LENGTH} characters.")
    if password.strip().lower() in (email.lower(), email.split("@")[0].lower()):
        problems.append("Must not be your email address.")
    if len(set(password)) < 5:
        problems.append("Use more different characters.")
    if problems:
        raise InvalidInput("the new password is too weak", details={"new_password": problems})


def _keep_a_central_admin(session: Session) -> None:
    remaining = session.scalar(
        select(func.count())
        .select_from(RoleGrant)
        .join(AdminUser, RoleGrant.admin_user_id == AdminUser.id)
        .where(RoleGrant.role == Role.CENTRAL_ADMIN, RoleGrant.school_id.is_(None), AdminUser.is_active.is_(True))
    )
    if not remaining:
        raise Conflict("this would leave no active central admin over all schools")


def _audit_grant(session: Session, principal: Principal, action: str, admin: AdminUser, grant: RoleGrant) -> None:
    audit.record(
        session,
        principal,
        action,
        school_id=grant.school_id,
        target=admin,
        details={"email": admin.email, "role": grant.role, "school_id": grant.school_id, "source": grant.source},
    )


def touch_login(admin: AdminUser) -> None:
    admin.last_login_at = utcnow()
