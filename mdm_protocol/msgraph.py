"""Microsoft Entra ID group claims, their overage, and the groups read from Microsoft Graph instead.

Microsoft identity platform (ID token claims reference, "groups overage
claim"): a token carries at most 200 group object ids in ``groups``; a person
in more groups gets no ``groups`` claim but an overage indication,
``"_claim_names": {"groups": "src1"}`` with ``"_claim_sources": {"src1":
{"endpoint": ...}}`` (or, in the implicit flow, ``"hasgroups": true``). The
application then reads the memberships from Microsoft Graph with the person's
own access token: ``GET /v1.0/me/memberOf`` (directory objects, paged with
``@odata.nextLink``; the groups are those of ``@odata.type``
``#microsoft.graph.group``). The endpoint named in ``_claim_sources`` is not
followed: Graph's URL comes from Flokk's settings. App roles assigned to the
person arrive in the ``roles`` claim.

Graph errors (``{"error": {"code", "message"}}``) become typed errors: 401
(token invalid or expired), 403 (the permission, e.g. GroupMember.Read.All,
is not consented), 429 and 5xx (not available now).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from mdm_protocol.jsonhttp import Transport, bearer, parse_json, requests_transport

DEFAULT_BASE_URL = "https://graph.microsoft.com"
GROUP_TYPE = "#microsoft.graph.group"
#: A person in more groups than this many pages of 100 is refused rather than read for ever.
MAX_PAGES = 100


class GraphError(Exception):
    def __init__(self, message: str, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code = status, code


class NotAuthorized(GraphError):
    """401: the access token is not valid for Graph."""


class Refused(GraphError):
    """403: the application lacks the permission to read memberships."""


class Unavailable(GraphError):
    """Graph did not answer: network error, time-out, 429 or 5xx."""


class BadAnswer(GraphError):
    """An answer that is not the documented shape."""


def has_groups_overage(claims: Mapping[str, Any]) -> bool:
    """Whether the token says "too many groups to list here: ask Graph"."""
    names = claims.get("_claim_names")
    return (isinstance(names, Mapping) and "groups" in names) or claims.get("hasgroups") is True


def string_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


class GraphClient:
    def __init__(self, base_url: str = DEFAULT_BASE_URL, *, transport: Transport | None = None, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.transport = transport or requests_transport
        self.timeout = timeout

    def member_of_groups(self, access_token: str) -> list[str]:
        """Object ids of the groups the person is a direct member of (``/me/memberOf``), every page."""
        url: str | None = f"{self.base_url}/v1.0/me/memberOf?$select=id"
        found: list[str] = []
        for _ in range(MAX_PAGES):
            if url is None:
                return found
            page = self._get(url, access_token)
            items = page.get("value")
            if not isinstance(items, list):
                raise BadAnswer("Microsoft Graph answered without a value list")
            for item in items:
                if isinstance(item, Mapping) and item.get("@odata.type") == GROUP_TYPE and isinstance(item.get("id"), str):
                    found.append(item["id"])
            url = self._next(page.get("@odata.nextLink"))
        raise BadAnswer(f"more than {MAX_PAGES} pages of memberships")

    def _next(self, link: Any) -> str | None:
        """The next page, only on Graph's own host (a link elsewhere is not followed with the person's token)."""
        if link is None:
            return None
        if not isinstance(link, str) or urlsplit(link).netloc != urlsplit(self.base_url).netloc:
            raise BadAnswer("Microsoft Graph sent a next page on another host")
        return link

    def _get(self, url: str, access_token: str) -> Mapping[str, Any]:
        try:
            answer = self.transport(url, bearer(access_token), self.timeout)
        except OSError as error:
            raise Unavailable(f"Microsoft Graph cannot be reached ({type(error).__name__})") from None
        try:
            value = parse_json(answer.body) if answer.body else {}
        except ValueError:
            value = {}
        error = value.get("error") if isinstance(value, Mapping) else None
        code = error.get("code") if isinstance(error, Mapping) and isinstance(error.get("code"), str) else None
        status = answer.status
        if status == 401:
            raise NotAuthorized(f"Microsoft Graph did not accept the sign-in's access token (401 {code or ''})".strip(), status, code)
        if status == 403:
            raise Refused(f"Microsoft Graph refused to list group memberships (403 {code or ''}): "
                          "the app registration needs the GroupMember.Read.All permission", status, code)
        if status == 429 or status >= 500:
            raise Unavailable(f"Microsoft Graph is not available right now ({status})", status, code)
        if status != 200 or not isinstance(value, Mapping):
            raise BadAnswer(f"Microsoft Graph answered {status}", status, code)
        return value
