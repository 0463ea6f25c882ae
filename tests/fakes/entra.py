"""A local Microsoft Entra ID: OpenID Connect with group and app-role claims, the overage claim, and Graph's memberOf.

Written from Microsoft's documentation (Microsoft identity platform: ID token
claims, "groups overage claim"; Microsoft Graph: List a user's direct
memberships, errors):

* up to ``group_limit`` (200) group object ids go into ``groups``; a person in
  more gets ``_claim_names``/``_claim_sources`` instead (the overage claim);
  assigned app roles go into ``roles``;
* ``GET /graph/v1.0/me/memberOf`` lists directory objects (groups, and the
  directory roles the client must skip) in pages of ``page_size`` with an
  absolute ``@odata.nextLink``; 401 ``InvalidAuthenticationToken`` for an
  unknown or expired token, 403 ``Authorization_RequestDenied`` without a
  GroupMember.Read.All (or Directory.Read.All) grant, ``graph_status`` forces
  an answer (503: down).
"""

from __future__ import annotations

import uuid
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.support.fake_oidc import FakeProvider

READ_SCOPES = {"GroupMember.Read.All", "Directory.Read.All"}


class FakeEntra(FakeProvider):
    def __init__(self) -> None:
        super().__init__(client_id="entra-flokk", client_secret="entra-s3cret")
        #: Group object ids of each person (by ``sub``) and their app roles.
        self.groups: dict[str, list[str]] = {}
        self.roles: dict[str, list[str]] = {}
        self.group_limit = 200
        self.page_size = 100
        self.graph_status: int | None = None
        self.graph_requests = 0

    @property
    def graph_url(self) -> str:
        return f"{self.issuer}/graph"

    def token_claims(self, person: dict[str, Any]) -> dict[str, Any]:
        claims: dict[str, Any] = {"oid": person["sub"], "tid": "11111111-2222-3333-4444-555555555555"}
        groups = self.groups.get(person["sub"], [])
        if len(groups) > self.group_limit:
            claims["_claim_names"] = {"groups": "src1"}
            claims["_claim_sources"] = {"src1": {"endpoint": f"https://graph.microsoft.com/v1.0/users/{person['sub']}/getMemberObjects"}}
        else:
            claims["groups"] = groups
        if self.roles.get(person["sub"]):
            claims["roles"] = self.roles[person["sub"]]
        return claims

    def route(self, request: Request) -> Response | None:
        if not request.path.startswith("/graph/"):
            return None
        self.graph_requests += 1
        if self.graph_status is not None:
            return self._error(self.graph_status, "serviceNotAvailable", "The service is temporarily unavailable.")
        record = self.bearer(request)
        if record is None:
            return self._error(401, "InvalidAuthenticationToken", "Access token validation failure.")
        if request.path != "/graph/v1.0/me/memberOf":
            return self._error(404, "Request_ResourceNotFound", "Resource not found.")
        if not READ_SCOPES & set(record["scope"]):
            return self._error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
        objects = [{"@odata.type": "#microsoft.graph.directoryRole", "id": str(uuid.UUID(int=1))}]
        objects += [{"@odata.type": "#microsoft.graph.group", "id": group_id}
                    for group_id in self.groups.get(record["person"]["sub"], [])]
        start = int(request.args.get("$skiptoken", "0"))
        page = objects[start : start + self.page_size]
        body: dict[str, Any] = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects", "value": page}
        if start + self.page_size < len(objects):
            body["@odata.nextLink"] = f"{self.graph_url}/v1.0/me/memberOf?$select=id&$skiptoken={start + self.page_size}"
        return self._json(body)

    def _error(self, status: int, code: str, message: str) -> Response:
        return self._json({"error": {"code": code, "message": message}}, status)
