"""Single sign-on grant rules: which group (a Feide org unit or teaching group, an Entra group or
app role) gives which role where, and their evaluation at sign-in.

A rule's value is a group id (or a value of the configured claim), or
``type:<kind>`` for every group of a kind (``type:fc:gogroup:u``: Feide
teaching groups). Its ``affiliation``, when set, must be the person's
affiliation in that group (Feide's ``employee``, ``faculty``, ``student`` ...;
for a school, which carries none, the person's affiliation at the school
owner). A ``teacher`` rule gives the teacher role scoped to the class Flokk
made from each matching group (``app.services.rosters``); a teacher listed in a
class's imported roster counts as a member of that teaching group.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import OIDC_PROVIDERS
from app.errors import Conflict, InvalidInput, NotFound
from app.models.accounts import SsoGrantRule
from app.models.rosters import RosterClass, RosterMember
from app.services import audit
from app.services.access import GROUP_ROLES, Principal, require_central
from app.services.access.accounts import GrantSpec, require_admin_reader, resolve_grants
from app.services.access.sso_directory import Directory, Membership

TYPE_PREFIX = "type:"
TEACHING_GROUP = "fc:gogroup:u"
#: (role, school id or None, group id or None)
GrantKey = tuple[str, int | None, int | None]


def list_rules(session: Session, principal: Principal) -> list[SsoGrantRule]:
    require_admin_reader(principal)
    return list(session.scalars(select(SsoGrantRule).order_by(SsoGrantRule.provider, SsoGrantRule.claim_value)))


def add_rule(
    session: Session,
    principal: Principal,
    *,
    provider: str,
    claim_value: str,
    grant: GrantSpec,
    affiliation: str | None = None,
) -> SsoGrantRule:
    require_central(principal)
    if provider not in OIDC_PROVIDERS:
        raise InvalidInput(f"unknown provider {provider!r}; use one of {', '.join(OIDC_PROVIDERS)}")
    ((role, school_id),) = resolve_grants(session, principal, [grant], group_roles=True)
    if role in GROUP_ROLES and not affiliation:
        raise InvalidInput(
            f"a {role} rule needs an affiliation (e.g. faculty), or every pupil of the group would get the role",
            details={"affiliation": ["Say which affiliation gives the role."]},
        )
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
    rule = SsoGrantRule(provider=provider, claim_value=claim_value, affiliation=affiliation, role=role,
                        school_id=school_id, created_by=principal.label)
    session.add(rule)
    session.flush()
    audit.record(session, principal, "sso_rule.add", school_id=school_id, target=rule,
                 details={"provider": provider, "claim_value": claim_value, "affiliation": affiliation, "role": role})
    return rule


def remove_rule(session: Session, principal: Principal, rule_id: int) -> None:
    require_central(principal)
    rule = session.get(SsoGrantRule, rule_id)
    if rule is None:
        raise NotFound(f"no rule {rule_id}")
    session.delete(rule)
    audit.record(session, principal, "sso_rule.remove", school_id=rule.school_id, target=("ssograntrule", rule_id),
                 details={"provider": rule.provider, "claim_value": rule.claim_value, "role": rule.role})


def grants_for(session: Session, provider: str, directory: Directory) -> set[GrantKey]:
    """The grants the provider's rules give a person with these memberships (none when the directory failed)."""
    if directory.error is not None:
        return set()
    rules = list(session.scalars(select(SsoGrantRule).where(SsoGrantRule.provider == provider)))
    if not rules:
        return set()
    memberships = [*directory.memberships, *_roster_memberships(session, directory.feide_id)]
    wanted: set[GrantKey] = set()
    for rule in rules:
        matched = [item for item in memberships if _matches(rule, item, directory)]
        if not matched:
            continue
        if rule.role in GROUP_ROLES:
            wanted.update((rule.role, school_id, group_id) for school_id, group_id in _classes(session, rule, matched))
        else:
            wanted.add((rule.role, rule.school_id, None))
    return wanted


def _matches(rule: SsoGrantRule, membership: Membership, directory: Directory) -> bool:
    if rule.claim_value not in (membership.group_id, TYPE_PREFIX + membership.kind):
        return False
    if rule.affiliation is None:
        return True
    return rule.affiliation in (membership.affiliations or directory.person_affiliations)


def _classes(session: Session, rule: SsoGrantRule, matched: Iterable[Membership]) -> set[tuple[int, int]]:
    """(school id, group id) of the classes made from the matched groups."""
    found: set[tuple[int, int]] = set()
    by_id: dict[str, list[Membership]] = {}
    for item in matched:
        by_id.setdefault(item.group_id, []).append(item)
    statement = select(RosterClass.school_id, RosterClass.group_id, RosterClass.external_id).where(
        RosterClass.external_id.in_(sorted(by_id))
    )
    if rule.school_id is not None:
        statement = statement.where(RosterClass.school_id == rule.school_id)
    for school_id, group_id, external_id in session.execute(statement):
        if any(item.school_id in (None, school_id) for item in by_id[external_id]):
            found.add((school_id, group_id))
    return found


def _roster_memberships(session: Session, feide_id: str | None) -> list[Membership]:
    """The person's places in imported class rosters, as memberships of those teaching groups."""
    if not feide_id:
        return []
    rows = session.execute(
        select(RosterClass.external_id, RosterClass.school_id, RosterMember.role)
        .join(RosterMember, RosterMember.class_id == RosterClass.id)
        .where(RosterMember.person_id == feide_id)
    )
    return [
        Membership(external_id, TEACHING_GROUP, affiliations=frozenset({"faculty" if role == "teacher" else "student"}),
                   school_id=school_id)
        for external_id, school_id, role in rows
    ]
