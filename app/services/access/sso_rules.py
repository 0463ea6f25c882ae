"""Single sign-on grant rules: which claim value (a Feide org unit, an Entra group) gives which role where."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import OIDC_PROVIDERS
from app.errors import Conflict, InvalidInput, NotFound
from app.models.accounts import SsoGrantRule
from app.services import audit
from app.services.access import Principal, require_central
from app.services.access.accounts import GrantSpec, require_admin_reader, resolve_grants


def list_rules(session: Session, principal: Principal) -> list[SsoGrantRule]:
    require_admin_reader(principal)
    return list(session.scalars(select(SsoGrantRule).order_by(SsoGrantRule.provider, SsoGrantRule.claim_value)))


def add_rule(session: Session, principal: Principal, *, provider: str, claim_value: str, grant: GrantSpec) -> SsoGrantRule:
    require_central(principal)
    if provider not in OIDC_PROVIDERS:
        raise InvalidInput(f"unknown provider {provider!r}; use one of {', '.join(OIDC_PROVIDERS)}")
    ((role, school_id),) = resolve_grants(session, principal, [grant])
    duplicate = session.scalar(
        select(SsoGrantRule).where(
            SsoGrantRule.provider == provider,
            SsoGrantRule.claim_value == claim_value,
            SsoGrantRule.role == role,
            SsoGrantRule.school_id.is_(None) if school_id is None else SsoGrantRule.school_id == school_id,
        )
    )
    if duplicate is not None:
        raise Conflict("this rule exists already")
    rule = SsoGrantRule(provider=provider, claim_value=claim_value, role=role, school_id=school_id, created_by=principal.label)
    session.add(rule)
    session.flush()
    audit.record(session, principal, "sso_rule.add", school_id=school_id, target=rule,
                 details={"provider": provider, "claim_value": claim_value, "role": role})
    return rule


def remove_rule(session: Session, principal: Principal, rule_id: int) -> None:
    require_central(principal)
    rule = session.get(SsoGrantRule, rule_id)
    if rule is None:
        raise NotFound(f"no rule {rule_id}")
    session.delete(rule)
    audit.record(session, principal, "sso_rule.remove", school_id=rule.school_id, target=("ssograntrule", rule_id),
                 details={"provider": rule.provider, "claim_value": rule.claim_value, "role": rule.role})
