"""What a single sign-on provider says a person belongs to, read at every sign-in.

Feide puts neither schools nor groups in its tokens: they come from Feide's
Groups API, read with the person's own access token. Entra ID lists group
object ids in the ``groups`` claim, unless the person is in too many (the
overage claim): then they come from Microsoft Graph; app roles come in
``roles``. Either way the result is a ``Directory`` of memberships that the
grant rules are evaluated against (``sso_rules.grants_for``). When the
provider's directory does not answer, ``error`` says so and no derived grant
is given: the sign-in page shows why instead of a silent "no rights".
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.config import OidcProvider, Settings
from mdm_protocol import feide, msgraph

log = logging.getLogger("flokk.sign_in")

#: Feide's claims for the person's Feide id (OpenID Connect userinfo).
FEIDE_ID_CLAIM = "https://n.feide.no/claims/eduPersonPrincipalName"
FEIDE_USERID_SEC_CLAIM = "https://n.feide.no/claims/userid_sec"
ENTRA_GROUP, ENTRA_ROLE, CLAIM = "entra:group", "entra:role", "claim"


@dataclass(frozen=True)
class Membership:
    """One group the person is in: its id, its kind (``fc:org``, ``fc:gogroup:u``, ``entra:group`` ...)
    and the person's affiliations in it (Feide: ``faculty``, ``student``, ``employee`` ...)."""

    group_id: str
    kind: str
    name: str = ""
    parent: str | None = None
    affiliations: frozenset[str] = frozenset()
    #: Set for memberships Flokk's own class rosters add (a teacher listed in a school's export).
    school_id: int | None = None


@dataclass(frozen=True)
class Directory:
    memberships: tuple[Membership, ...] = ()
    #: The person's affiliations at their school owner (Feide), for memberships that carry none.
    person_affiliations: frozenset[str] = frozenset()
    #: The person's Feide id (``kari@bergvik.kommune.no``), matched against class rosters.
    feide_id: str | None = None
    #: Why the directory could not be read; derived grants are then denied.
    error: str | None = None
    groups: tuple[feide.Group, ...] = field(default=(), repr=False)


def read(settings: Settings, provider: OidcProvider, access_token: str | None, claims: Mapping[str, Any]) -> Directory:
    """The person's memberships from the provider named ``provider`` (network I/O; no database)."""
    from_claim = tuple(Membership(value, CLAIM) for value in msgraph.string_list(claims.get(provider.grant_claim)))
    if provider.name == "feide":
        found = read_feide(settings, access_token, claims)
    elif provider.name == "entra":
        found = read_entra(settings, access_token, claims)
    else:
        found = Directory()
    return Directory(from_claim + found.memberships, found.person_affiliations, found.feide_id, found.error, found.groups)


def feide_id_of(claims: Mapping[str, Any]) -> str | None:
    value = claims.get(FEIDE_ID_CLAIM)
    if isinstance(value, str) and value:
        return value.lower()
    for item in msgraph.string_list(claims.get(FEIDE_USERID_SEC_CLAIM)):
        if item.startswith("feide:"):
            return item[len("feide:") :].lower()
    return None


def read_feide(settings: Settings, access_token: str | None, claims: Mapping[str, Any], *, client: feide.GroupsClient | None = None) -> Directory:
    person = feide_id_of(claims)
    if not access_token:
        return Directory(feide_id=person, error="Feide gave no access token, so Flokk cannot read your groups")
    client = client or feide.GroupsClient(settings.oidc_feide_groups_url)
    try:
        groups = client.my_groups(access_token)
    except feide.GroupsApiError as error:
        log.warning("Feide's Groups API failed at sign-in: %s", error)
        return Directory(feide_id=person, error=f"Flokk could not read your groups from Feide: {error}. "
                                                "Without them Flokk cannot tell your role; try again in a few minutes.")
    memberships = tuple(
        Membership(
            group.id, group.kind, group.display_name, group.parent,
            group.membership.all_affiliations if group.membership else frozenset(),
        )
        for group in groups
    )
    owner = frozenset().union(*(m.affiliations for m, g in zip(memberships, groups, strict=True) if g.is_school_owner))
    return Directory(memberships, owner, person, None, tuple(groups))


def read_entra(settings: Settings, access_token: str | None, claims: Mapping[str, Any], *, client: msgraph.GraphClient | None = None) -> Directory:
    roles = tuple(Membership(value, ENTRA_ROLE) for value in msgraph.string_list(claims.get("roles")))
    if not msgraph.has_groups_overage(claims):
        groups = tuple(Membership(value, ENTRA_GROUP) for value in msgraph.string_list(claims.get("groups")))
        return Directory(groups + roles)
    if not access_token:
        return Directory(roles, error="Entra ID gave no access token, so Flokk cannot read your groups")
    client = client or msgraph.GraphClient(settings.oidc_entra_graph_url)
    try:
        ids = client.member_of_groups(access_token)
    except msgraph.GraphError as error:
        log.warning("Microsoft Graph failed at sign-in: %s", error)
        return Directory(roles, error=f"Flokk could not read your groups from Microsoft Graph: {error}. "
                                      "Without them Flokk cannot tell your role; try again in a few minutes.")
    return Directory(tuple(Membership(value, ENTRA_GROUP) for value in ids) + roles)
