"""First-start set-up (`flokk init`): safe to run again, it only adds what is missing."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models.accounts import AdminUser, RoleGrant
from app.models.tenancy import Organisation
from app.services import audit
from app.services.access import Principal, Role, passwords
from app.services.fleet.schools import ensure_organisation
from app.services.pki import certificate_authority


@dataclass
class InitReport:
    lines: list[str] = field(default_factory=list)
    admin_email: str | None = None
    admin_password: str | None = None


def ensure_first_admin(session: Session, principal: Principal, email: str, report: InitReport) -> None:
    if session.scalar(select(func.count()).select_from(AdminUser)):
        report.lines.append("Admin accounts exist already: none created.")
        return
    password = passwords.one_time_password()
    admin = AdminUser(
        email=email.lower(),
        display_name="Central administrator",
        password_hash=passwords.hash_password(password),
        must_change_password=True,
    )
    admin.grants.append(RoleGrant(role=Role.CENTRAL_ADMIN, school_id=None, created_by=principal.label))
    session.add(admin)
    session.flush()
    audit.record(session, principal, "admin.create", target=admin, details={"email": admin.email, "role": "central_admin"})
    report.admin_email, report.admin_password = admin.email, password
    report.lines.append(f"Created the first central admin {admin.email}.")


def initialise(session: Session, principal: Principal, *, organisation: str, admin_email: str) -> InitReport:
    report = InitReport()
    existing = session.scalar(select(Organisation).order_by(Organisation.id).limit(1))
    if existing is not None:
        report.lines.append("The organisation exists already.")
        organisation = existing.name
    else:
        ensure_organisation(session, organisation)
        report.lines.append(f"Created the organisation {organisation}.")
    ensure_first_admin(session, principal, admin_email, report)
    if certificate_authority.ensure_ca(session, principal, organisation):
        record = certificate_authority.active_record(session)
        assert record is not None
        report.lines.append(f"Created Flokk's certificate authority {record.subject}.")
    else:
        report.lines.append("The certificate authority exists already.")
    return report
