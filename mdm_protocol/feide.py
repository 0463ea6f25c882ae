"""Feide's Groups API: the groups of the signed-in person, and the members of a group.

Implements the user groups endpoints of Feide's "Groups API endpoints"
(docs.feide.no, reference/apis/groups_api): ``GET /me/groups`` (the active
memberships of the person the access token belongs to; expired ones only with
``showAll``) and ``GET /groups/{groupid}/members``, and the group and
membership objects of "Data model for groups" and "Group types":

* school owner ``fc:org:<realm>`` (no ``parent``) and school
  ``fc:org:<realm>:unit:<organisation number>`` (``parent`` is the owner);
  the owner's membership carries the person's ``affiliation`` list
  (``member``, ``employee``, ``faculty``, ``staff``, ``student``) and
  ``primaryAffiliation``; ``basic`` is ``admin`` for employees;
* education groups ``fc:gogroup:<realm>:<go_type>:<org number>:<local id>:<from>:<to>``
  with ``go_type`` ``u`` (teaching group), ``b`` (basis group), ``a`` (other),
  ``parent`` the school, and a membership whose ``affiliation`` is ``student``
  or ``faculty``;
* Grep groups ``fc:grep`` and ad hoc groups are read like any other.

The base URL is Feide's (``https://groups-api.dataporten.no/groups``) unless a
test or a fake says otherwise. The access token is the person's own, with the
attribute groups (scopes) ``groups-org`` and ``groups-edu``;
``groups-memberids`` adds members' Feide ids (``userid_sec``). Feide's
answers become typed errors: 401 (token invalid or expired), 403 (not a
personal token, or a scope missing), 404 (no such group, or not the person's),
and everything else that is not an answer (5xx, 429, time-outs, not JSON).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from mdm_protocol.jsonhttp import Transport, bearer, parse_json, requests_transport

DEFAULT_BASE_URL = "https://groups-api.dataporten.no/groups"
ORG, EDUCATION_GROUP = "fc:org", "fc:gogroup"
TEACHING, BASIS, OTHER = "u", "b", "a"
#: Display languages in order of preference (displayName may be a translatable object).
_LANGUAGES = ("nb", "nn", "en")


class GroupsApiError(Exception):
    """Feide's Groups API did not give the answer asked for; ``status`` is its HTTP status, if any."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class NotAuthorized(GroupsApiError):
    """401: the access token is not valid (expired, revoked, or not Feide's)."""


class Refused(GroupsApiError):
    """403: the token is not bound to a person, or lacks the groups scopes."""


class GroupNotFound(GroupsApiError):
    """404: no such group, or not one of the person's."""


class Unavailable(GroupsApiError):
    """The service did not answer: network error, time-out, 429 or 5xx."""


class BadAnswer(GroupsApiError):
    """An answer that is not the documented shape."""


@dataclass(frozen=True)
class Membership:
    """The person's relation to a group (Feide's membership object)."""

    basic: str | None = None
    affiliations: tuple[str, ...] = ()
    primary_affiliation: str | None = None
    display_name: str | None = None
    primary_school: bool = False

    @property
    def all_affiliations(self) -> frozenset[str]:
        found = set(self.affiliations)
        if self.primary_affiliation:
            found.add(self.primary_affiliation)
        return frozenset(found)


@dataclass(frozen=True)
class Group:
    id: str
    type: str
    display_name: str
    parent: str | None = None
    go_type: str | None = None
    membership: Membership | None = None
    not_before: str | None = None
    not_after: str | None = None

    @property
    def kind(self) -> str:
        """The type, with the education group's go_type: ``fc:org``, ``fc:gogroup:u``, ``fc:grep`` ..."""
        return f"{self.type}:{self.go_type}" if self.type == EDUCATION_GROUP and self.go_type else self.type

    @property
    def is_teaching_group(self) -> bool:
        return self.type == EDUCATION_GROUP and self.go_type == TEACHING

    @property
    def is_school_owner(self) -> bool:
        return self.type == ORG and self.parent is None


@dataclass(frozen=True)
class Member:
    """A member of a group (``GET /groups/{id}/members``)."""

    name: str
    feide_id: str | None
    membership: Membership | None


def translated(value: Any) -> str:
    """A translatable string: plain, or ``{"nb": ..., "en": ...}``."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        for language in _LANGUAGES:
            if isinstance(value.get(language), str):
                return value[language]
        for item in value.values():
            if isinstance(item, str):
                return item
    return ""


def parse_membership(value: Any) -> Membership | None:
    if not isinstance(value, Mapping):
        return None
    affiliation = value.get("affiliation")
    if isinstance(affiliation, str):
        affiliations: tuple[str, ...] = (affiliation,)
    elif isinstance(affiliation, list):
        affiliations = tuple(item for item in affiliation if isinstance(item, str))
    else:
        affiliations = ()
    primary = value.get("primaryAffiliation")
    basic = value.get("basic")
    return Membership(
        basic=basic if isinstance(basic, str) else None,
        affiliations=affiliations,
        primary_affiliation=primary if isinstance(primary, str) else None,
        display_name=translated(value.get("displayName")) or None,
        primary_school=value.get("primarySchool") is True,
    )


def parse_group(value: Any) -> Group | None:
    """A group object, or None when it lacks the required ``id``/``type`` (unknown keys are ignored)."""
    if not isinstance(value, Mapping):
        return None
    group_id, group_type = value.get("id"), value.get("type")
    if not isinstance(group_id, str) or not group_id or not isinstance(group_type, str):
        return None

    def text(key: str) -> str | None:
        item = value.get(key)
        return item if isinstance(item, str) and item else None

    return Group(
        id=group_id,
        type=group_type,
        display_name=translated(value.get("displayName")) or group_id,
        parent=text("parent"),
        go_type=text("go_type"),
        membership=parse_membership(value.get("membership")),
        not_before=text("notBefore"),
        not_after=text("notAfter"),
    )


def parse_member(value: Any) -> Member | None:
    if not isinstance(value, Mapping):
        return None
    feide_id = None
    ids = value.get("userid_sec")
    if isinstance(ids, list):
        feide_id = next((item[len("feide:") :] for item in ids if isinstance(item, str) and item.startswith("feide:")), None)
    name = value.get("name")
    return Member(name=translated(name) or (feide_id or ""), feide_id=feide_id, membership=parse_membership(value.get("membership")))


def school_of(org_unit: str) -> tuple[str, str] | None:
    """(realm, organisation number) of a school's id ``fc:org:<realm>:unit:<number>``."""
    parts = org_unit.split(":")
    if len(parts) == 5 and parts[:2] == ["fc", "org"] and parts[3] == "unit" and parts[2] and parts[4]:
        return parts[2], parts[4]
    return None


def belongs_to_school(group: Group, org_unit: str) -> bool:
    """Whether an education group is one of the school's: its parent is the school, or (when a
    school owner registers the group) its id names the school's realm and organisation number."""
    school = school_of(org_unit)
    if school is None or group.type != EDUCATION_GROUP:
        return False
    realm, number = school
    if group.parent is not None and group.parent.split(":", 2)[-1] == f"{realm}:unit:{number}":
        return True
    parts = group.id.split(":")
    return len(parts) >= 5 and parts[2] == realm and parts[4] == number


class GroupsClient:
    """``GET /me/groups`` and ``GET /groups/{id}/members`` with the person's own access token."""

    def __init__(self, base_url: str = DEFAULT_BASE_URL, *, transport: Transport | None = None, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.transport = transport or requests_transport
        self.timeout = timeout

    def my_groups(self, access_token: str, *, show_all: bool = False) -> list[Group]:
        """The person's groups; only active memberships unless ``show_all``."""
        items = self._list(f"{self.base_url}/me/groups" + ("?showAll=true" if show_all else ""), access_token)
        return [group for group in (parse_group(item) for item in items) if group is not None]

    def members(self, access_token: str, group_id: str) -> list[Member]:
        """The members of one of the person's groups (ids need ``groups-memberids``)."""
        url = f"{self.base_url}/groups/{quote(group_id, safe=':')}/members"
        items = self._list(url, access_token)
        return [member for member in (parse_member(item) for item in items) if member is not None]

    def _list(self, url: str, access_token: str) -> list[Any]:
        try:
            answer = self.transport(url, bearer(access_token), self.timeout)
        except OSError as error:
            raise Unavailable(f"Feide's Groups API cannot be reached ({type(error).__name__})") from None
        status = answer.status
        if status == 401:
            raise NotAuthorized("Feide did not accept the sign-in's access token (401)", status)
        if status == 403:
            raise Refused("Feide refused to list groups (403): the Flokk client lacks the groups scopes, "
                          "or the token is not a person's", status)
        if status == 404:
            raise GroupNotFound("Feide knows no such group of this person (404)", status)
        if status == 429 or status >= 500:
            raise Unavailable(f"Feide's Groups API is not available right now ({status})", status)
        if status != 200:
            raise BadAnswer(f"Feide's Groups API answered {status}", status)
        try:
            value = parse_json(answer.body)
        except ValueError as error:
            raise BadAnswer(f"Feide's Groups API: {error}", status) from None
        if not isinstance(value, list):
            raise BadAnswer("Feide's Groups API did not answer with a list", status)
        return value
