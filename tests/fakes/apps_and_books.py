"""A local Apps and Books (v2) and app metadata lookup for tests and the benchmark: HTTPS on 127.0.0.1.

Written from Apple's documents (Device Management: *App and Book
Management*, *Using paginated endpoints*, *Handling error responses*,
*Subscribing to notifications*, *Getting app and book information
(Legacy)*), and enforcing what they say:

* every endpoint but ``service/config`` needs ``Authorization: Bearer <sToken>``
  (9722 malformed, 9601 unknown, 9621 expired, 9625 revoked; all 401);
* ``assets`` and ``assignments`` are paged (``pageIndex``, ``nextPageIndex``
  until the last page, 9650 for a page that does not exist);
* ``assets/associate`` and ``assets/disassociate`` check their body (9718,
  9719, 9700/9702 limits, 9703/9705 duplicates, 9707 not device-assignable,
  9706 not revocable, 9727 not JSON) and answer an ``eventId``; the event is
  processed in the background and reported by ``status?eventId=`` (9708
  unknown): an association needing more licences than are free fails as a
  whole with 9709 and ``errorInfo.serialNumbers``;
* ``client/config`` keeps ``mdmInfo`` (9723 without id, name and metadata)
  and, when given a notification URL (HTTPS, 9712) and token (9710 without
  both), sends a ``TEST_NOTIFICATION`` there and refuses the configuration
  (9728) unless it is answered 2xx; finished events are then notified as
  ``ASSET_MANAGEMENT`` (from a background thread, as Apple sends them in its
  own time; ``settle`` waits for them), at most 100 assignments per notification;
* requests beyond ``max_requests_per_second`` per token get 429 (9646) with
  ``Retry-After``; ``script`` queues answers (e.g. a 503) for a path.

The lookup answers ``{"results": {"<id>": {...}}}`` for the apps it knows
and ``{"results": {}}`` otherwise.

Run standalone (benchmark): ``python -m tests.fakes.apps_and_books --port 8687 --dir /tmp/fake-apps``.
"""

from __future__ import annotations

import argparse
import base64
import collections
import datetime as dt
import json
import queue
import ssl
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

LIMITS = {
    "maxAssets": 25, "maxUsers": 100, "maxNotificationLength": 512, "maxRevokeClientUserIds": 100,
    "maxClientUserIds": 1000, "maxSerialNumbers": 1000, "maxRevokeSerialNumbers": 100, "maxRequestPerSecond": 15,
    "maxSubscriptions": 25, "maxSubscriptionClientUserIds": 1000, "maxMdmNameLength": 100,
    "maxMdmMetadataLength": 255, "maxMdmIdLength": 100,
}
MESSAGES = {
    9601: "Login required.", 9602: "Invalid argument.", 9603: "Internal error.",
    9621: "The token has expired. You need to generate a new token online using your organization's account at "
          "either school.apple.com or business.apple.com.",
    9625: "The server has revoked the sToken.", 9646: "There are too many recent requests. Try again momentarily.",
    9650: "The provided page index must be greater than 0, and less than the total number of pages.",
    9700: "Max assets limit on request has been passed, please stay within given limit.",
    9702: "Max serialNumbers limit on request has been passed, please stay within given limit.",
    9703: "Duplicate assets found in request, please send unique assets.",
    9705: "Duplicate serialNumbers found in request, please send unique serials.",
    9706: "Asset in request is not revocable, please send revocable assets.",
    9707: "Asset in request is not device assignable, please send device assignable assets.",
    9708: "EventId could not be found.",
    9709: "There are not enough licenses for this app or book available to assign to the selected group.",
    9710: "Both the notification URL and the authentication token are necessary.",
    9711: "Either the notification URL or the authentication token exceeds its maximum length.",
    9712: "The provided notification URL must be a valid URL and use HTTPS as the protocol.",
    9713: "The MDM metadata exceeds the maximum length.",
    9718: "This request doesn't contain an asset, which is a required argument.",
    9719: "Either clientUserIds or serialNumbers are required arguments.",
    9722: "This request contains an invalid authorization header. Change the request to send an authorization "
          "header that matches the format 'Bearer {sToken}'.",
    9723: "You must provide an MDM name, ID, and metadata when setting the MDM information.",
    9724: "The MDM ID exceeds the maximum length.", 9725: "The MDM name exceeds the maximum length.",
    9726: "This request contains an unsupported HTTP method for the requested endpoint.",
    9727: "This request contains an unsupported Content-Type for the requested endpoint.",
    9728: "The provided notification URL is unreachable.",
}


def make_token(secret: str | None = None, *, org: str = "Bergvik kommune", expires: dt.datetime | None = None) -> bytes:
    """A ``.vpptoken`` file's bytes, as Apple School Manager hands them out."""
    expires = expires or dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=365)
    document = {"token": secret or base64.b64encode(uuid.uuid4().bytes * 3).decode(),
                "expDate": expires.strftime("%Y-%m-%dT%H:%M:%S+0000"), "orgName": org}
    return base64.b64encode(json.dumps(document).encode())


@dataclass
class FakeAsset:
    adam_id: str
    name: str
    bundle_id: str
    total: int = 1000
    pricing: str = "STDQ"
    product_type: str = "App"
    device_assignable: bool = True
    revocable: bool = True
    platforms: tuple[str, ...] = ("iOS",)

    def metadata(self) -> dict[str, Any]:
        return {
            "id": self.adam_id, "name": self.name, "bundleId": self.bundle_id, "kind": "iosSoftware",
            "artistName": "Fake Developer", "deviceFamilies": ["iphone", "ipad"],
            "artwork": {"url": f"https://is1-ssl.mzstatic.com/image/thumb/{self.adam_id}/source/{{w}}x{{h}}bb.{{f}}",
                        "width": 1024, "height": 1024},
            "offers": [{"type": "get", "price": 0, "version": {"display": "1.0", "externalId": 1}}],
        }


@dataclass
class Location:
    """One Apps and Books location (what a content token opens)."""

    uid: str
    name: str
    country: str = "NO"
    expired: bool = False
    revoked: bool = False
    mdm_info: dict[str, str] | None = None
    notification_url: str | None = None
    notification_token: str | None = None
    notification_types: list[str] = field(default_factory=list)
    assets: dict[tuple[str, str], FakeAsset] = field(default_factory=dict)
    assignments: set[tuple[str, str, str]] = field(default_factory=set)  # (adamId, pricing, serial)

    def assigned(self, asset: FakeAsset) -> int:
        return sum(1 for adam, pricing, _ in self.assignments if (adam, pricing) == (asset.adam_id, asset.pricing))


@dataclass
class FakeEvent:
    event_id: str
    location: Location
    type: str
    assets: list[tuple[str, str]]
    serials: list[str]
    status: str = "PENDING"
    completed: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    polls: int = 0


Deliver = Callable[[str, dict[str, str], bytes], int]


class FakeAppsAndBooks:
    """The fake on 127.0.0.1; ``api_url`` and ``lookup_url`` are what Flokk's settings take."""

    def __init__(
        self,
        *,
        server_cert_pem: bytes,
        server_key_pem: bytes,
        page_size: int = 100,
        assignments_page_size: int = 1000,
        polls_until_done: int = 1,
        max_requests_per_second: int | None = None,
        deliver: Deliver | None = None,
        port: int = 0,
    ) -> None:
        self.page_size = page_size
        self.assignments_page_size = assignments_page_size
        self.polls_until_done = polls_until_done
        self.max_requests_per_second = max_requests_per_second
        self.deliver: Deliver = deliver or _deliver_https
        self.locations: dict[str, Location] = {}
        self.events: dict[str, FakeEvent] = {}
        self.metadata: dict[str, dict[str, Any]] = {}
        self.log: list[tuple[str, str, dict[str, Any]]] = []
        self.notifications: list[tuple[str, int, dict[str, Any]]] = []
        self._scripted: dict[str, collections.deque] = collections.defaultdict(collections.deque)
        self._rate: dict[str, collections.deque] = collections.defaultdict(collections.deque)
        self._lock = threading.RLock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self._server.daemon_threads = True
        self._server.socket = _tls(server_cert_pem, server_key_pem).wrap_socket(self._server.socket, server_side=True)
        self._thread: threading.Thread | None = None
        # Apple sends notifications in its own time, not while answering a request.
        self._outbox: queue.Queue = queue.Queue()
        self._sender = threading.Thread(target=self._send_queued, name="fake-apps-notifications", daemon=True)
        self._sender.start()

    # --- set-up ------------------------------------------------------------------------

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/mdm/v2"

    @property
    def lookup_url(self) -> str:
        return f"{self.base}/WebObjects/MZStorePlatform.woa/wa/lookup"

    def add_location(self, token_file: bytes, *, name: str = "Bergvik skoler", uid: str | None = None) -> Location:
        stoken = token_file.decode().strip()
        location = Location(uid=uid or str(2049025000000000 + len(self.locations)), name=name)
        with self._lock:
            self.locations[stoken] = location
        return location

    def add_asset(self, location: Location, asset: FakeAsset) -> FakeAsset:
        with self._lock:
            location.assets[(asset.adam_id, asset.pricing)] = asset
            self.metadata[asset.adam_id] = asset.metadata()
        return asset

    def script(self, path: str, *answers: tuple[int, int | None, int | None]) -> None:
        """The next requests to ``path`` (e.g. ``assets``) answer (HTTP status, errorNumber, Retry-After)."""
        with self._lock:
            self._scripted[path].extend(answers)

    def requests_to(self, path: str) -> list[dict[str, Any]]:
        return [body for method, logged, body in self.log if logged == path]

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeAppsAndBooks:
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-apps-and-books", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeAppsAndBooks:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def reset(self) -> None:
        self.settle()
        with self._lock:
            self.locations.clear()
            self.events.clear()
            self.metadata.clear()
            self.log.clear()
            self.notifications.clear()
            self._scripted.clear()
            self._rate.clear()

    # --- the API ----------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes):
        """(status, JSON document, extra headers) for one request."""
        if path.startswith("/WebObjects/"):
            return self._lookup(path, query)
        if not path.startswith("/mdm/v2/"):
            return 404, {"errorNumber": 9602, "errorMessage": "Not found."}, {}
        name = path[len("/mdm/v2/"):]
        with self._lock:
            self.log.append((method, name, _safe_json(body) or dict(query)))
            scripted = self._scripted.get(name)
            if scripted:
                status, number, retry_after = scripted.popleft()
                extra = {"Retry-After": str(retry_after)} if retry_after is not None else {}
                return status, _error_body(number) if number else {}, extra
        if name == "service/config":
            return self._service_config(method)
        location, refusal = self._authenticate(headers)
        if refusal:
            return refusal
        limited = self._rate_limited(headers)
        if limited:
            return limited
        routes = {
            ("GET", "client/config"): lambda: self._client_config(location),
            ("POST", "client/config"): lambda: self._set_client_config(location, headers, body),
            ("GET", "assets"): lambda: self._assets(location, query),
            ("GET", "assignments"): lambda: self._assignments(location, query),
            ("POST", "assets/associate"): lambda: self._manage(location, "ASSOCIATE", headers, body),
            ("POST", "assets/disassociate"): lambda: self._manage(location, "DISASSOCIATE", headers, body),
            ("GET", "status"): lambda: self._status(location, query),
        }
        route = routes.get((method, name))
        if route is None:
            known = {route_path for _, route_path in routes}
            return (405, _error_body(9726), {}) if name in known else (404, _error_body(9602), {})
        with self._lock:
            return route()

    def _service_config(self, method: str):
        if method != "GET":
            return 405, _error_body(9726), {}
        return 200, {
            "errorCodes": [{"errorNumber": number, "errorMessage": message} for number, message in sorted(MESSAGES.items())],
            "limits": LIMITS,
            "notificationTypes": ["ASSET_MANAGEMENT", "USER_MANAGEMENT", "USER_ASSOCIATED", "ASSET_COUNT"],
            "urls": {"contentMetadataLookup": self.lookup_url, "getAssets": f"{self.api_url}/assets"},
        }, {}

    def _authenticate(self, headers: dict[str, str]):
        header = headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or not token.strip():
            return None, (401, _error_body(9722), {})
        with self._lock:
            location = self.locations.get(token.strip())
        if location is None:
            return None, (401, _error_body(9601), {})
        if location.revoked:
            return None, (401, _error_body(9625), {})
        if location.expired:
            return None, (401, _error_body(9621), {})
        return location, None

    def _rate_limited(self, headers: dict[str, str]):
        if not self.max_requests_per_second:
            return None
        now = time.monotonic()
        with self._lock:
            recent = self._rate[headers.get("authorization", "")]
            while recent and now - recent[0] > 1.0:
                recent.popleft()
            if len(recent) >= self.max_requests_per_second:
                return 429, _error_body(9646), {"Retry-After": "1"}
            recent.append(now)
        return None

    def _common(self, location: Location) -> dict[str, Any]:
        common: dict[str, Any] = {"uId": location.uid}
        if location.mdm_info:
            common["mdmInfo"] = dict(location.mdm_info)
        return common

    def _client_config(self, location: Location):
        document = {
            **self._common(location), "countryISO2ACode": location.country, "defaultPlatform": "volumestore",
            "locationName": location.name, "tokenExpirationDate": None, "websiteURL": "https://school.apple.com",
            "subscribedNotificationTypes": list(location.notification_types),
        }
        if location.notification_url:
            document["notificationUrl"] = location.notification_url
        document = {key: value for key, value in document.items() if value is not None}
        return 200, document, {}

    def _set_client_config(self, location: Location, headers: dict[str, str], body: bytes):
        document = _json_body(headers, body)
        if not isinstance(document, dict):
            return document
        info = document.get("mdmInfo")
        if info is not None:
            if not isinstance(info, dict) or not all(isinstance(info.get(k), str) and info.get(k) for k in ("id", "name", "metadata")):
                return 400, _error_body(9723), {}
            for key, number, limit in (("id", 9724, "maxMdmIdLength"), ("name", 9725, "maxMdmNameLength"),
                                       ("metadata", 9713, "maxMdmMetadataLength")):
                if len(info[key]) > LIMITS[limit]:
                    return 400, _error_body(number), {}
        url, token = document.get("notificationUrl"), document.get("notificationAuthToken")
        if (url is None) != (token is None):
            return 400, _error_body(9710), {}
        if url is not None:
            if not isinstance(url, str) or not isinstance(token, str):
                return 400, _error_body(9602), {}
            if len(url) > LIMITS["maxNotificationLength"] or len(token) > LIMITS["maxNotificationLength"]:
                return 400, _error_body(9711), {}
            if urlsplit(url).scheme != "https" or not urlsplit(url).hostname:
                return 400, _error_body(9712), {}
            test = {"notification": {}, "notificationId": str(uuid.uuid4()), "notificationType": "TEST_NOTIFICATION",
                    "uId": location.uid}
            if not self._send(url, token, test):
                return 400, _error_body(9728), {}
            location.notification_url, location.notification_token = url, token
            types = document.get("notificationTypes")
            location.notification_types = [item for item in types if isinstance(item, str)] if isinstance(types, list) else []
        if info is not None:
            location.mdm_info = {key: info[key] for key in ("id", "name", "metadata")}
        return self._client_config(location)

    def _page_index(self, query: dict[str, str], total_pages: int):
        raw = query.get("pageIndex")
        if raw is None:
            return 0, None
        if not raw.isdigit() or int(raw) >= max(total_pages, 1):
            return None, (400, _error_body(9650), {})
        return int(raw), None

    def _assets(self, location: Location, query: dict[str, str]):
        assets = sorted(location.assets.values(), key=lambda item: (item.adam_id, item.pricing))
        total_pages = max(1, -(-len(assets) // self.page_size))
        index, refusal = self._page_index(query, total_pages)
        if refusal:
            return refusal
        chunk = assets[index * self.page_size:(index + 1) * self.page_size]
        document = {
            **self._common(location),
            "assets": [
                {"adamId": item.adam_id, "pricingParam": item.pricing, "productType": item.product_type,
                 "deviceAssignable": item.device_assignable, "revocable": item.revocable,
                 "supportedPlatforms": list(item.platforms), "totalCount": item.total,
                 "assignedCount": location.assigned(item), "availableCount": item.total - location.assigned(item),
                 "retiredCount": 0}
                for item in chunk
            ],
            "currentPageIndex": index, "size": len(chunk), "totalPages": total_pages,
        }
        if index + 1 < total_pages:
            document["nextPageIndex"] = index + 1
        return 200, document, {}

    def _assignments(self, location: Location, query: dict[str, str]):
        rows = sorted(
            row for row in location.assignments
            if (not query.get("adamId") or row[0] == query["adamId"])
            and (not query.get("serialNumber") or row[2] == query["serialNumber"])
        )
        total_pages = max(1, -(-len(rows) // self.assignments_page_size))
        index, refusal = self._page_index(query, total_pages)
        if refusal:
            return refusal
        chunk = rows[index * self.assignments_page_size:(index + 1) * self.assignments_page_size]
        document = {
            **self._common(location),
            "assignments": [{"adamId": adam, "pricingParam": pricing, "serialNumber": serial} for adam, pricing, serial in chunk],
            "currentPageIndex": index, "size": len(chunk), "totalPages": total_pages,
            "versionId": str(uuid.uuid5(uuid.NAMESPACE_OID, str(len(location.assignments)))),
        }
        if index + 1 < total_pages:
            document["nextPageIndex"] = index + 1
        return 200, document, {}

    def _manage(self, location: Location, kind: str, headers: dict[str, str], body: bytes):
        document = _json_body(headers, body)
        if not isinstance(document, dict):
            return document
        assets, serials = document.get("assets"), document.get("serialNumbers")
        if not isinstance(assets, list) or not assets:
            return 400, _error_body(9718), {}
        if not serials and not document.get("clientUserIds"):
            return 400, _error_body(9719), {}
        if not isinstance(serials, list) or not all(isinstance(item, str) and item for item in serials):
            return 400, _error_body(9602), {}
        if len(assets) > LIMITS["maxAssets"]:
            return 400, _error_body(9700), {}
        if len(serials) > LIMITS["maxSerialNumbers"]:
            return 400, _error_body(9702), {}
        if len(set(serials)) != len(serials):
            return 400, _error_body(9705), {}
        pairs = []
        for item in assets:
            if not isinstance(item, dict) or not isinstance(item.get("adamId"), str) or not isinstance(item.get("pricingParam"), str):
                return 400, _error_body(9602), {}
            pairs.append((item["adamId"], item["pricingParam"]))
        if len(set(pairs)) != len(pairs):
            return 400, _error_body(9703), {}
        for pair in pairs:
            asset = location.assets.get(pair)
            if asset is None:
                return 400, _error_body(9602), {}
            if not asset.device_assignable:
                return 400, _error_body(9707), {}
            if kind == "DISASSOCIATE" and not asset.revocable:
                return 400, _error_body(9706), {}
        event = FakeEvent(str(uuid.uuid4()), location, kind, pairs, list(serials))
        self.events[event.event_id] = event
        if self.polls_until_done == 0:
            self._process(event)
        return 200, {**self._common(location), "eventId": event.event_id}, {}

    def _status(self, location: Location, query: dict[str, str]):
        event = self.events.get(query.get("eventId", ""))
        if event is None or event.location is not location:
            return 400, _error_body(9708), {}
        event.polls += 1
        if event.status == "PENDING" and event.polls >= self.polls_until_done:
            self._process(event)
        document = {**self._common(location), "eventStatus": event.status, "eventType": event.type,
                    "numCompleted": event.completed, "numRequested": len(event.serials) * len(event.assets)}
        if event.failures:
            document["failures"] = event.failures
        return 200, document, {}

    def complete_pending(self) -> None:
        """Process every pending event now (as Apple does in its own time)."""
        with self._lock:
            for event in list(self.events.values()):
                if event.status == "PENDING":
                    self._process(event)

    def _process(self, event: FakeEvent) -> None:
        location = event.location
        done: list[tuple[str, str, str]] = []
        for adam, pricing in event.assets:
            asset = location.assets[(adam, pricing)]
            if event.type == "ASSOCIATE":
                missing = [serial for serial in event.serials if (adam, pricing, serial) not in location.assignments]
                if len(missing) > asset.total - location.assigned(asset):
                    event.failures.append({"errorNumber": 9709, "errorMessage": MESSAGES[9709],
                                           "errorInfo": {"serialNumbers": missing}})
                    continue
                location.assignments.update((adam, pricing, serial) for serial in missing)
            else:
                location.assignments.difference_update((adam, pricing, serial) for serial in event.serials)
            done.extend((adam, pricing, serial) for serial in event.serials)
        event.completed = len(done)
        event.status = "FAILED" if event.failures else "COMPLETE"
        self._notify_event(event, done)

    def _notify_event(self, event: FakeEvent, done: list[tuple[str, str, str]]) -> None:
        location = event.location
        if not location.notification_url or "ASSET_MANAGEMENT" not in location.notification_types:
            return
        batches: list[tuple[list[tuple[str, str, str]], dict | None]] = [
            (done[start:start + 100], None) for start in range(0, len(done), 100)
        ]
        for failure in event.failures:
            failed = [(event.assets[0][0], event.assets[0][1], serial) for serial in failure["errorInfo"]["serialNumbers"]]
            batches.extend((failed[start:start + 100], failure) for start in range(0, len(failed), 100))
        for rows, failure in batches:
            notification: dict[str, Any] = {
                "assignments": [{"adamId": adam, "pricingParam": pricing, "serialNumber": serial} for adam, pricing, serial in rows],
                "eventId": event.event_id, "result": "FAILURE" if failure else "SUCCESS", "type": event.type,
            }
            if failure:
                notification["error"] = {"errorNumber": failure["errorNumber"], "errorMessage": failure["errorMessage"]}
            self._outbox.put((location.notification_url, location.notification_token or "", {
                "notification": notification, "notificationId": str(uuid.uuid4()),
                "notificationType": "ASSET_MANAGEMENT", "uId": location.uid,
            }))

    def _send_queued(self) -> None:
        while True:
            url, token, document = self._outbox.get()
            try:
                self._send(url, token, document)
            finally:
                self._outbox.task_done()

    def settle(self) -> None:
        """Wait until every notification due so far has been delivered (or refused)."""
        self._outbox.join()

    def _send(self, url: str, token: str, document: dict[str, Any]) -> bool:
        body = json.dumps(document).encode()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        try:
            status = self.deliver(url, headers, body)
        except OSError:
            status = 0
        self.notifications.append((url, status, document))
        return 200 <= status < 300

    def _lookup(self, path: str, query: dict[str, str]):
        if not path.endswith("/wa/lookup") or not query.get("id") or query.get("p") != "mdm-lockup":
            return 400, {"errorMessage": "Invalid request"}, {}
        with self._lock:
            self.log.append(("GET", "lookup", dict(query)))
            found = {adam: self.metadata[adam] for adam in query["id"].split(",") if adam in self.metadata}
        return 200, {"isAuthenticated": False, "results": found, "version": 2}, {}


def _handler(fake: FakeAppsAndBooks) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {key.lower(): value for key, value in self.headers.items()}
            status, document, extra = fake.handle(self.command, parts.path, query, headers, body)
            data = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in extra.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
            return

    return Handler


def _error_body(number: int | None) -> dict[str, Any]:
    if number is None:
        return {}
    return {"errorNumber": number, "errorMessage": MESSAGES.get(number, "Error.")}


def _json_body(headers: dict[str, str], body: bytes):
    if "application/json" not in headers.get("content-type", ""):
        return 415, _error_body(9727), {}
    document = _safe_json(body)
    if not isinstance(document, dict):
        return 400, _error_body(9602), {}
    return document


def _safe_json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _tls(cert_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as folder:
        cert, key = Path(folder, "cert.pem"), Path(folder, "key.pem")
        cert.write_bytes(cert_pem)
        key.write_bytes(key_pem)
        context.load_cert_chain(cert, key)
    return context


def _deliver_https(url: str, headers: dict[str, str], body: bytes) -> int:
    """POST a notification to the MDM (trusting the system store, or ``SSL_CERT_FILE``)."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, context=ssl.create_default_context(), timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def main() -> None:  # pragma: no cover - the benchmark's standalone fake
    from tests.fakes import pki

    parser = argparse.ArgumentParser(description="A fake Apps and Books for the benchmark")
    parser.add_argument("--port", type=int, default=8687)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args()
    ca = pki.make_ca("Fake Apps and Books CA")
    server = pki.issue(ca, "localhost", server_names=("127.0.0.1", "localhost"))
    args.dir.mkdir(parents=True, exist_ok=True)
    (args.dir / "ca.pem").write_bytes(ca.cert_pem)
    with FakeAppsAndBooks(server_cert_pem=server.cert_pem, server_key_pem=server.key_pem, port=args.port) as fake:
        print(f"fake Apps and Books on {fake.api_url}", flush=True)
        threading.Event().wait()


if __name__ == "__main__":  # pragma: no cover
    main()
