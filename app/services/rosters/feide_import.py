"""Classes from the signed-in ICT contact's own view of Feide's Groups API.

At a Feide sign-in the access token is kept, sealed, in that dashboard session
only (``seal_token``). The ICT contact can then import the teaching groups of
their school that Feide shows them (``GET /me/groups``: groups of type
``fc:gogroup`` with ``go_type`` ``u`` whose parent is the school's
organisation unit) with their members (``GET /groups/{id}/members``; Feide
ids need the ``groups-memberids`` scope). Feide shows a person only their own
groups, so this import adds and updates classes but never ends one; a
complete, scheduled picture of a school comes from its administrative
system's export (``exports``).
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.orm import Session

from app.db import context
from app.errors import InvalidInput, NotReady, Unavailable
from app.services.access import Permission, Principal, require
from app.services.fleet.schools import get_school_by_code
from app.services.rosters import importer, school_roster
from app.services.rosters.roster_csv import STUDENT, TEACHER, Person, RosterGroup
from mdm_protocol import feide

SESSION_KEY = "feide_token"
_LABEL = "feide-access-token"
#: Used when Feide does not say how long its token lives.
DEFAULT_LIFETIME = 3600


def seal_token(session: Session, access_token: str, expires_in: int | None) -> dict[str, Any]:
    """What the dashboard session keeps: the token sealed with FLOKK_SECRET_KEY, and when it expires."""
    sealed = context(session).secrets.seal(access_token.encode(), label=_LABEL)
    return {"sealed": sealed.hex(), "expires": int(time.time()) + (expires_in or DEFAULT_LIFETIME)}


def open_token(session: Session, kept: Any) -> str:
    """The access token a dashboard session kept; NotReady when there is none (not a Feide sign-in) or it expired."""
    if not isinstance(kept, dict) or not isinstance(kept.get("sealed"), str) or not isinstance(kept.get("expires"), int):
        raise NotReady("sign in with Feide first: the import reads Feide with your own sign-in")
    if kept["expires"] <= time.time():
        raise NotReady("your Feide sign-in has expired: sign out and sign in with Feide again")
    try:
        return context(session).secrets.open(bytes.fromhex(kept["sealed"]), label=_LABEL).decode()
    except ValueError:
        raise NotReady("sign in with Feide again") from None


def import_from_feide(
    session: Session, principal: Principal, school_code: str, kept: Any, *, client: feide.GroupsClient | None = None
) -> importer.ImportResult:
    """Import the school's teaching groups Feide shows the signed-in person (``kept``: their sealed token)."""
    school = get_school_by_code(session, principal, school_code)
    require(principal, Permission.MANAGE, school.id)
    link = school_roster(session, school.id)
    if link is None or not link.feide_org_unit:
        raise NotReady(f"central IT has not linked {school.code} to its Feide organisation unit yet "
                       f"(flokk roster link {school.code} fc:org:...)")
    access_token = open_token(session, kept)
    client = client or feide.GroupsClient(context(session).settings.oidc_feide_groups_url)
    try:
        mine = [group for group in client.my_groups(access_token)
                if group.is_teaching_group and feide.belongs_to_school(group, link.feide_org_unit)]
        groups = [_roster_group(group, client.members(access_token, group.id)) for group in mine]
    except feide.NotAuthorized:
        raise NotReady("Feide no longer accepts your sign-in: sign out and sign in with Feide again") from None
    except (feide.Unavailable, feide.BadAnswer) as error:
        raise Unavailable(str(error)) from None
    except feide.GroupsApiError as error:
        raise InvalidInput(str(error)) from None
    if not groups:
        raise InvalidInput(f"Feide shows you no teaching groups of {school.name}")
    return importer.apply(session, principal, school, groups, source=importer.FEIDE, complete=False)


def _roster_group(group: feide.Group, members: list[feide.Member]) -> RosterGroup:
    people: dict[str, Person] = {}
    for member in members:
        if not member.feide_id:
            continue  # without the groups-memberids scope Feide names members but gives no ids
        affiliations = member.membership.all_affiliations if member.membership else frozenset()
        basic = member.membership.basic if member.membership else None
        role = TEACHER if "faculty" in affiliations or basic in ("admin", "owner") else STUDENT
        people[member.feide_id.lower()] = Person(member.feide_id.lower(), member.name[:200] or member.feide_id, role)
    return RosterGroup(group.id[:255], group.display_name[:100] or group.id[:100], tuple(people.values()))
