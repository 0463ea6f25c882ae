"""A local Feide: OpenID Connect as Feide does it, and its Groups API with the documented shapes and errors.

Written from Feide's documentation (docs.feide.no: OpenID Connect details,
Userinfo, Groups API endpoints, Data model for groups, Group types):

* the ID token carries only ``sub``; name, email and the Feide id
  (``https://n.feide.no/claims/eduPersonPrincipalName``) come from userinfo;
* ``GET /groups/me/groups`` lists the token's person's active memberships
  (``showAll=true`` also expired ones): school owner and school (``fc:org``,
  needs the ``groups-org`` scope), education groups (``fc:gogroup`` with
  ``go_type``, needs ``groups-edu``), others (``groups-other``); 401 for an
  unknown or expired token, 403 for a token without a groups scope;
* ``GET /groups/groups/{id}/members`` lists a group of the person's (404
  otherwise); members' Feide ids (``userid_sec``) only with ``groups-memberids``;
* ``groups_status`` makes the Groups API answer that status (503: down).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import unquote

from werkzeug.wrappers import Request, Response

from tests.support.fake_oidc import FakeProvider

FEIDE_ID = "https://n.feide.no/claims/eduPersonPrincipalName"
GROUP_SCOPES = {"fc:org": "groups-org", "fc:gogroup": "groups-edu"}


def school_owner(realm: str, name: str, affiliation: list[str], primary: str | None = None) -> dict[str, Any]:
    membership: dict[str, Any] = {"basic": "admin" if "employee" in affiliation else "member", "affiliation": affiliation,
                                  "displayName": "Ansatt" if "employee" in affiliation else "Elev"}
    if primary:
        membership["primaryAffiliation"] = primary
    return {"id": f"fc:org:{realm}", "type": "fc:org", "displayName": name, "membership": membership, "public": False,
            "orgType": ["primary_and_lower_secondary_owner"], "eduOrgLegalName": name, "norEduOrgNIN": "NO123456789",
            "mail": f"post@{realm}"}


def school(realm: str, number: str, name: str) -> dict[str, Any]:
    return {"id": f"fc:org:{realm}:unit:{number}", "type": "fc:org", "displayName": name,
            "membership": {"basic": "member", "primarySchool": True}, "public": False,
            "orgType": ["primary_and_lower_secondary"], "parent": f"fc:org:{realm}"}


def teaching_group(realm: str, number: str, local_id: str, name: str, affiliation: str, *,
                   start: str | None = None, end: str | None = None) -> dict[str, Any]:
    """A teaching group; by default it began a month ago and ends in a year."""
    today = dt.date.today()
    start = start or (today - dt.timedelta(days=30)).isoformat()
    end = end or (today + dt.timedelta(days=365)).isoformat()
    faculty = affiliation == "faculty"
    return {
        "id": f"fc:gogroup:{realm}:u:{number}:{local_id}:{start}:{end}",
        "type": "fc:gogroup",
        "displayName": name,
        "membership": {"basic": "admin" if faculty else "member", "displayName": "Lærer" if faculty else "Elev",
                       "affiliation": affiliation},
        "notBefore": f"{start}T00:00:00Z",
        "notAfter": f"{end}T00:00:00Z",
        "go_type": "u",
        "parent": f"fc:org:{realm}:unit:{number}",
        "go_type_displayName": "undervisningsgruppe",
        "grep": {"displayName": {"nb": "Matematikk 8. trinn"}, "code": "MAT0008"},
    }


def member(name: str, feide_id: str, affiliation: str) -> dict[str, Any]:
    faculty = affiliation == "faculty"
    return {"name": name, "userid_sec": [f"feide:{feide_id}"],
            "membership": {"basic": "admin" if faculty else "member", "displayName": "Lærer" if faculty else "Elev",
                           "affiliation": affiliation}}


class FakeFeide(FakeProvider):
    def __init__(self) -> None:
        super().__init__(client_id="feide-flokk", client_secret="feide-s3cret")
        self.id_token_claims = ("sub",)
        #: The group objects each person (by ``sub``) is a member of, membership included.
        self.groups: dict[str, list[dict[str, Any]]] = {}
        #: The members of each group (by group id), as ``member()`` makes them.
        self.members: dict[str, list[dict[str, Any]]] = {}
        self.groups_status: int | None = None
        self.groups_requests = 0

    @property
    def groups_url(self) -> str:
        return f"{self.issuer}/groups"

    def sign_in_as(self, sub: str, feide_id: str, name: str, groups: list[dict[str, Any]]) -> None:
        self.person = {"sub": sub, "name": name, "email": feide_id, "email_verified": False, FEIDE_ID: feide_id,
                       "https://n.feide.no/claims/userid_sec": [f"feide:{feide_id}"]}
        self.groups[sub] = groups

    def route(self, request: Request) -> Response | None:
        if not request.path.startswith("/groups/"):
            return None
        self.groups_requests += 1
        if self.groups_status is not None:
            return self._json({"message": "Service Unavailable"}, self.groups_status)
        record = self.bearer(request)
        if record is None:
            return self._json({"message": "Unauthorized"}, 401)
        scopes = set(record["scope"])
        if not scopes & {"groups", "groups-org", "groups-edu", "groups-other"}:
            return self._json({"message": "Forbidden: the token has no groups scope"}, 403)
        visible = [group for group in self.groups.get(record["person"]["sub"], []) if self._scoped(group, scopes)]
        path = request.path[len("/groups"):]
        if path == "/me/groups":
            if request.args.get("showAll") != "true":
                visible = [group for group in visible if self._active(group)]
            return Response(json.dumps(visible), content_type="application/json; charset=utf-8")
        if path.startswith("/groups/") and path.endswith("/members"):
            group_id = unquote(path[len("/groups/"):-len("/members")])
            if not any(group["id"] == group_id for group in visible):
                return self._json({"message": "Not Found"}, 404)
            found = [dict(item) for item in self.members.get(group_id, [])]
            if "groups-memberids" not in scopes:
                for item in found:
                    item.pop("userid_sec", None)
            return Response(json.dumps(found), content_type="application/json; charset=utf-8")
        return self._json({"message": "Not Found"}, 404)

    @staticmethod
    def _scoped(group: dict[str, Any], scopes: set[str]) -> bool:
        needed = GROUP_SCOPES.get(group["type"], "groups-other")
        return needed in scopes or "groups" in scopes

    @staticmethod
    def _active(group: dict[str, Any]) -> bool:
        not_after = group.get("notAfter")
        if not not_after:
            return True
        return dt.datetime.fromisoformat(not_after.replace("Z", "+00:00")) > dt.datetime.now(dt.UTC)
