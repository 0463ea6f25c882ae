"""App names, icons and bundle ids: Apple's content metadata lookup for MDM.

Implements *Getting app and book information (Legacy)* (Device Management
documentation): the ``contentMetadataLookup`` URL of ``service/config``
(``https://uclient-api.itunes.apple.com/WebObjects/MZStorePlatform.woa/wa/lookup``)
with ``version=2&id=<adamId>&p=mdm-lockup&caller=MDM&platform=...&cc=..&l=..``
answers ``{"results": {"<adamId>": {"name", "bundleId", "artwork": {"url"}, ...}}}``.
The content token is sent as the ``itvt`` cookie, so apps only the
organisation may see (custom apps) are found too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from mdm_protocol.apps_and_books.client import AppsAndBooksError, ServiceUnavailable
from mdm_protocol.apps_and_books.transport import Transport, TransportError, UrllibTransport

PRODUCTION_URL = "https://uclient-api.itunes.apple.com/WebObjects/MZStorePlatform.woa/wa/lookup"
#: Apple's artwork URL template holds ``{w}``, ``{h}`` and ``{f}``; Flokk shows 128-pixel PNG icons.
ICON_SIZE = 128


@dataclass(frozen=True)
class AppMetadata:
    adam_id: str
    name: str
    bundle_id: str | None
    icon_url: str | None = None
    version: str | None = None
    kind: str = ""


class MetadataLookup:
    """Looks up one app or book at a time (the documented form of the request)."""

    def __init__(
        self,
        *,
        base_url: str = PRODUCTION_URL,
        transport: Transport | None = None,
        platform: str = "enterprisestore",
        country: str = "us",
        language: str = "en",
    ) -> None:
        self.base_url = base_url
        self.transport = transport or UrllibTransport()
        self.platform = platform
        self.country = country
        self.language = language

    def lookup(self, adam_id: str, *, stoken: str | None = None) -> AppMetadata | None:
        """The app's metadata, or None when the store does not know it."""
        query = {"version": 2, "id": adam_id, "p": "mdm-lockup", "caller": "MDM", "platform": self.platform,
                 "cc": self.country.lower() or "us", "l": self.language}
        headers = {"Accept": "application/json"}
        if stoken:
            headers["Cookie"] = f"itvt={stoken}"
        try:
            response = self.transport.request("GET", f"{self.base_url}?{urlencode(query)}", headers)
        except TransportError as error:
            raise ServiceUnavailable(f"the app metadata lookup is unreachable: {error}") from None
        if response.status == 429 or response.status >= 500:
            raise ServiceUnavailable(f"the app metadata lookup answered HTTP {response.status}", status=response.status)
        if response.status >= 400:
            raise AppsAndBooksError(f"the app metadata lookup answered HTTP {response.status}", status=response.status)
        try:
            document = json.loads(response.body)
        except ValueError:
            raise AppsAndBooksError("the app metadata lookup answered with something that is not JSON") from None
        results = document.get("results") if isinstance(document, dict) else None
        item = results.get(adam_id) if isinstance(results, dict) else None
        return _metadata(adam_id, item) if isinstance(item, dict) else None


def _metadata(adam_id: str, item: Mapping[str, Any]) -> AppMetadata:
    name = item.get("name") if isinstance(item.get("name"), str) else ""
    bundle = item.get("bundleId") if isinstance(item.get("bundleId"), str) and item.get("bundleId") else None
    artwork = item.get("artwork") if isinstance(item.get("artwork"), dict) else {}
    template = artwork.get("url") if isinstance(artwork.get("url"), str) else None
    icon = None
    if template and template.startswith("https://"):
        icon = template.replace("{w}", str(ICON_SIZE)).replace("{h}", str(ICON_SIZE)).replace("{f}", "png")
    version = None
    offers = item.get("offers")
    if isinstance(offers, list) and offers and isinstance(offers[0], dict):
        shown = offers[0].get("version")
        if isinstance(shown, dict) and isinstance(shown.get("display"), str):
            version = shown["display"]
    kind = item.get("kind") if isinstance(item.get("kind"), str) else ""
    return AppMetadata(adam_id, name or adam_id, bundle, icon, version, kind)
