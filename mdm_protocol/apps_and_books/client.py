"""A client for Apple's Apps and Books for Organizations API (version 2): licences for devices.

Implements the endpoints of Apple's *App and Book Management* (Device
Management documentation, "VPP License Management 2.0"): ``service/config``,
``client/config`` (read and set ``mdmInfo`` and the notification URL),
``assets`` and ``assignments`` (paged with ``pageIndex``/``nextPageIndex``),
``assets/associate`` and ``assets/disassociate`` (asynchronous: they answer
an ``eventId``) and ``status?eventId=``. Every request but the service
configuration carries ``Authorization: Bearer <sToken>``.

Errors follow *Handling error responses*: an ``ErrorResponse`` body
(``errorNumber``, ``errorMessage``) becomes a typed error (an expired or
revoked token, a request refused, Apple unavailable). 429 and 5xx answers
are retried with back-off, honouring ``Retry-After``, and requests are paced
to the location's ``maxRequestPerSecond``; the clock, the sleep and the
transport are injected.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from mdm_protocol.apps_and_books.token import parse_date
from mdm_protocol.apps_and_books.transport import HttpResponse, Transport, TransportError, UrllibTransport

PRODUCTION_URL = "https://vpp.itunes.apple.com/mdm/v2"
#: Apple's documented limits (``service/config``), used until the service says otherwise.
DEFAULT_MAX_SERIAL_NUMBERS = 1000
DEFAULT_MAX_ASSETS = 25
#: Apple's documented ``maxRequestPerSecond`` for a location; the client paces itself to it.
DEFAULT_MAX_REQUESTS_PER_SECOND = 15
#: The notification types Flokk subscribes to.
NOTIFICATION_TYPES = ("ASSET_MANAGEMENT", "ASSET_COUNT")


# --- errors -------------------------------------------------------------------------


class AppsAndBooksError(Exception):
    """Apple refused a request; ``number`` is Apple's ``errorNumber`` when it sent one."""

    def __init__(self, message: str, *, status: int | None = None, number: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.number = number

    def __str__(self) -> str:
        code = f" (error {self.number})" if self.number is not None else ""
        return f"{self.message}{code}"


class InvalidToken(AppsAndBooksError):
    """The content token is not accepted (9601 login required, 9722 bad header, or any 401)."""


class TokenExpired(InvalidToken):
    """9621: download a new token from Apple School Manager."""


class TokenRevoked(InvalidToken):
    """9625: Apple revoked the token (a new one was downloaded)."""


class RequestRefused(AppsAndBooksError):
    """A 4xx that retrying cannot fix (invalid argument, unknown event, a limit passed)."""


class NotEnoughLicences(AppsAndBooksError):
    """9709: fewer free licences than the association asked for."""


class ServiceUnavailable(AppsAndBooksError):
    """Apple stayed unavailable, or kept answering 429, through every retry."""


_TOKEN_ERRORS: dict[int, type[InvalidToken]] = {9601: InvalidToken, 9621: TokenExpired, 9625: TokenRevoked,
                                                9722: InvalidToken}
#: Apple's numbers for "try again later".
_RETRY_NUMBERS = frozenset({9603, 9644, 9646, 9729})


def error_for(number: int | None, message: str, status: int | None = None) -> AppsAndBooksError:
    """The typed error for an ``ErrorResponse`` (synchronous, in a status, or in a notification)."""
    if number in _TOKEN_ERRORS:
        return _TOKEN_ERRORS[number](message, status=status, number=number)
    if number == 9709:
        return NotEnoughLicences(message, status=status, number=number)
    if status == 401:
        return InvalidToken(message, status=status, number=number)
    if status is not None and (status >= 500 or status == 429):
        return ServiceUnavailable(message, status=status, number=number)
    return RequestRefused(message, status=status, number=number)


# --- what the service answers -------------------------------------------------------------


@dataclass(frozen=True)
class MdmInfo:
    """Which MDM manages the location (``mdmInfo``): Flokk checks it on every answer."""

    id: str
    name: str = ""
    metadata: str = ""

    def as_json(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "metadata": self.metadata}


@dataclass(frozen=True)
class ServiceConfig:
    max_serial_numbers: int = DEFAULT_MAX_SERIAL_NUMBERS
    max_assets: int = DEFAULT_MAX_ASSETS
    max_request_per_second: int | None = None
    notification_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClientConfig:
    location_name: str = ""
    country: str = ""
    uid: str = ""
    mdm_info: MdmInfo | None = None
    notification_url: str | None = None
    notification_types: tuple[str, ...] = ()
    token_expiration_date: str | None = None
    website_url: str | None = None


@dataclass(frozen=True)
class Asset:
    """An app or book the location owns, with its licence counts."""

    adam_id: str
    pricing_param: str
    product_type: str = ""
    device_assignable: bool = False
    revocable: bool = False
    supported_platforms: tuple[str, ...] = ()
    total_count: int = 0
    assigned_count: int = 0
    available_count: int = 0
    retired_count: int = 0


@dataclass(frozen=True)
class Assignment:
    adam_id: str
    pricing_param: str
    serial_number: str | None = None
    client_user_id: str | None = None


@dataclass(frozen=True)
class Page:
    """One page of a paged answer; ``next_page_index`` is None on the last."""

    items: tuple[Any, ...]
    current_page_index: int = 0
    next_page_index: int | None = None
    total_pages: int = 1
    version_id: str | None = None


@dataclass(frozen=True)
class Event:
    """The answer to an asynchronous request."""

    event_id: str
    token_expiration_date: str | None = None


@dataclass(frozen=True)
class Failure:
    """One ``ErrorResponse`` of an event's ``failures``; ``info`` is Apple's ``errorInfo``."""

    number: int | None
    message: str
    info: Mapping[str, Any] = field(default_factory=dict)

    @property
    def serial_numbers(self) -> tuple[str, ...]:
        found = self.info.get("serialNumbers")
        return tuple(item for item in found if isinstance(item, str)) if isinstance(found, list) else ()


@dataclass(frozen=True)
class EventStatus:
    status: str  # PENDING, COMPLETE or FAILED
    event_type: str = ""
    num_completed: int = 0
    num_requested: int = 0
    failures: tuple[Failure, ...] = ()

    @property
    def finished(self) -> bool:
        return self.status != "PENDING"


# --- the client -------------------------------------------------------------------------------


class AppsAndBooksClient:
    """One location's client: the content token, the base URL and the transport."""

    def __init__(
        self,
        stoken: str,
        *,
        base_url: str = PRODUCTION_URL,
        transport: Transport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = 6,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        max_requests_per_second: int = DEFAULT_MAX_REQUESTS_PER_SECOND,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stoken = stoken
        self.base_url = base_url.rstrip("/")
        self.transport = transport or UrllibTransport()
        self.sleep = sleep
        self.clock = clock
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_requests_per_second = max_requests_per_second
        self._last_request: float | None = None
        #: The latest ``mdmInfo`` Apple sent back (None until an answer carried one).
        self.seen_mdm_info: MdmInfo | None = None
        self.requests = 0

    def __repr__(self) -> str:
        return f"AppsAndBooksClient({self.base_url!r})"

    # configuration --------------------------------------------------------------------

    def service_config(self) -> ServiceConfig:
        document = self._call("GET", "service/config", authenticate=False)
        limits = _dict(document.get("limits"))
        self.max_requests_per_second = _positive(limits.get("maxRequestPerSecond"), self.max_requests_per_second)
        return ServiceConfig(
            max_serial_numbers=_positive(limits.get("maxSerialNumbers"), DEFAULT_MAX_SERIAL_NUMBERS),
            max_assets=_positive(limits.get("maxAssets"), DEFAULT_MAX_ASSETS),
            max_request_per_second=_positive(limits.get("maxRequestPerSecond"), None),
            notification_types=_strings(document.get("notificationTypes")),
        )

    def client_config(self) -> ClientConfig:
        return _client_config(self._call("GET", "client/config"))

    def set_client_config(
        self,
        mdm_info: MdmInfo,
        *,
        notification_url: str | None = None,
        notification_auth_token: str | None = None,
        notification_types: Sequence[str] = NOTIFICATION_TYPES,
    ) -> ClientConfig:
        """Claim the location for this MDM (and where Apple sends notifications)."""
        body: dict[str, Any] = {"mdmInfo": mdm_info.as_json()}
        if notification_url is not None:
            body.update(notificationUrl=notification_url, notificationAuthToken=notification_auth_token,
                        notificationTypes=list(notification_types))
        return _client_config(self._call("POST", "client/config", body=body))

    # assets and assignments ------------------------------------------------------------------

    def assets_page(self, page_index: int | None = None) -> Page:
        document = self._call("GET", "assets", query=_page_query(page_index))
        assets = tuple(item for item in (_asset(raw) for raw in _list(document.get("assets"))) if item is not None)
        return _page(document, assets)

    def assets(self) -> Iterator[Asset]:
        for page in self._pages(self.assets_page):
            yield from page.items

    def assignments_page(
        self, *, adam_id: str | None = None, serial_number: str | None = None, page_index: int | None = None
    ) -> Page:
        query = {"adamId": adam_id, "serialNumber": serial_number, **_page_query(page_index)}
        document = self._call("GET", "assignments", query={k: v for k, v in query.items() if v is not None})
        items = tuple(item for item in (_assignment(raw) for raw in _list(document.get("assignments"))) if item)
        return _page(document, items)

    def assignments(self, *, adam_id: str | None = None, serial_number: str | None = None) -> Iterator[Assignment]:
        def fetch(page_index: int | None) -> Page:
            return self.assignments_page(adam_id=adam_id, serial_number=serial_number, page_index=page_index)

        for page in self._pages(fetch):
            yield from page.items

    def associate(self, assets: Sequence[tuple[str, str]], serial_numbers: Sequence[str]) -> Event:
        """Assign licences of ``assets`` ((adamId, pricingParam) pairs) to devices; asynchronous."""
        return self._manage("assets/associate", assets, serial_numbers)

    def disassociate(self, assets: Sequence[tuple[str, str]], serial_numbers: Sequence[str]) -> Event:
        """Release the devices' licences of ``assets``; asynchronous."""
        return self._manage("assets/disassociate", assets, serial_numbers)

    def event_status(self, event_id: str) -> EventStatus:
        document = self._call("GET", "status", query={"eventId": event_id})
        failures = tuple(
            Failure(_int_or_none(item.get("errorNumber")), str(item.get("errorMessage") or ""), _dict(item.get("errorInfo")))
            for item in _list(document.get("failures"))
            if isinstance(item, dict)
        )
        return EventStatus(
            status=str(document.get("eventStatus") or "PENDING"),
            event_type=str(document.get("eventType") or ""),
            num_completed=_int_or_none(document.get("numCompleted")) or 0,
            num_requested=_int_or_none(document.get("numRequested")) or 0,
            failures=failures,
        )

    # plumbing -----------------------------------------------------------------------------------

    def _manage(self, path: str, assets: Sequence[tuple[str, str]], serial_numbers: Sequence[str]) -> Event:
        body = {
            "assets": [{"adamId": adam_id, "pricingParam": pricing} for adam_id, pricing in assets],
            "serialNumbers": list(serial_numbers),
        }
        document = self._call("POST", path, body=body)
        event_id = document.get("eventId")
        if not isinstance(event_id, str) or not event_id:
            raise AppsAndBooksError(f"Apps and Books answered {path} without an eventId")
        expiry = document.get("tokenExpirationDate")
        return Event(event_id, expiry if isinstance(expiry, str) else None)

    def _pages(self, fetch: Callable[[int | None], Page]) -> Iterator[Page]:
        page = fetch(None)
        seen = {page.current_page_index}
        yield page
        while page.next_page_index is not None and page.next_page_index not in seen:
            seen.add(page.next_page_index)
            page = fetch(page.next_page_index)
            yield page

    def _call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        authenticate: bool = True,
    ) -> dict[str, Any]:
        url = f"{self.base_url}/{path}" + (f"?{urlencode(query)}" if query else "")
        headers = {"Accept": "application/json"}
        if authenticate:
            headers["Authorization"] = f"Bearer {self._stoken}"
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        attempt = 0
        while True:
            attempt += 1
            self._pace()
            self.requests += 1
            try:
                response = self.transport.request(method, url, headers, data)
            except TransportError as error:
                if attempt >= self.max_attempts:
                    raise ServiceUnavailable(f"Apps and Books is unreachable: {error}") from None
                self.sleep(self._delay(attempt, None))
                continue
            if response.status < 400:
                document = _json(response)
                self._note_mdm_info(document)
                return document
            error = _error(response)
            retry = response.status == 429 or response.status >= 500 or error.number in _RETRY_NUMBERS
            if not retry or isinstance(error, (InvalidToken, NotEnoughLicences)):
                raise error
            if attempt >= self.max_attempts:
                raise ServiceUnavailable(f"Apps and Books kept refusing ({error}); try again later",
                                         status=error.status, number=error.number) from None
            self.sleep(self._delay(attempt, response.headers))

    def _pace(self) -> None:
        """At most ``max_requests_per_second`` requests a second (Apple refuses more with 429)."""
        now = self.clock()
        if self._last_request is not None and self.max_requests_per_second:
            wait = 1.0 / self.max_requests_per_second - (now - self._last_request)
            if wait > 0:
                self.sleep(wait)
                now = self.clock()
        self._last_request = now

    def _delay(self, attempt: int, headers: Mapping[str, str] | None) -> float:
        """Apple's ``Retry-After`` when given (capped), else exponential back-off with jitter."""
        retry_after = _header(headers or {}, "Retry-After")
        if retry_after is not None:
            try:
                return min(float(retry_after), self.backoff_cap)
            except ValueError:
                pass
        ceiling = min(self.backoff_cap, self.backoff_base * (2 ** (attempt - 1)))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def _note_mdm_info(self, document: Mapping[str, Any]) -> None:
        info = _mdm_info(document.get("mdmInfo"))
        if info is not None:
            self.seen_mdm_info = info


# --- reading answers tolerantly (Apple adds keys; types are checked) --------------------------------


def _json(response: HttpResponse) -> dict[str, Any]:
    if not response.body:
        return {}
    try:
        document = json.loads(response.body)
    except ValueError:
        raise AppsAndBooksError("Apps and Books answered with something that is not JSON", status=response.status) from None
    if not isinstance(document, dict):
        raise AppsAndBooksError("Apps and Books answered with JSON that is not an object", status=response.status)
    return document


def _error(response: HttpResponse) -> AppsAndBooksError:
    try:
        document = json.loads(response.body) if response.body else {}
    except ValueError:
        document = {}
    document = document if isinstance(document, dict) else {}
    number = _int_or_none(document.get("errorNumber"))
    message = document.get("errorMessage")
    text = message if isinstance(message, str) and message else f"Apps and Books answered HTTP {response.status}"
    return error_for(number, text, response.status)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def _client_config(document: Mapping[str, Any]) -> ClientConfig:
    return ClientConfig(
        location_name=_text(document.get("locationName")),
        country=_text(document.get("countryISO2ACode")),
        uid=_text(document.get("uId")),
        mdm_info=_mdm_info(document.get("mdmInfo")),
        notification_url=document.get("notificationUrl") if isinstance(document.get("notificationUrl"), str) else None,
        notification_types=_strings(document.get("subscribedNotificationTypes")),
        token_expiration_date=document.get("tokenExpirationDate") if isinstance(document.get("tokenExpirationDate"), str) else None,
        website_url=document.get("websiteURL") if isinstance(document.get("websiteURL"), str) else None,
    )


def _mdm_info(value: Any) -> MdmInfo | None:
    if not isinstance(value, dict) or not isinstance(value.get("id"), str) or not value["id"]:
        return None
    return MdmInfo(value["id"], _text(value.get("name")), _text(value.get("metadata")))


def _asset(raw: Any) -> Asset | None:
    if not isinstance(raw, dict):
        return None
    adam_id, pricing = raw.get("adamId"), raw.get("pricingParam")
    if isinstance(adam_id, int) and not isinstance(adam_id, bool):
        adam_id = str(adam_id)
    if not isinstance(adam_id, str) or not adam_id or not isinstance(pricing, str):
        return None
    return Asset(
        adam_id=adam_id,
        pricing_param=pricing,
        product_type=_text(raw.get("productType")),
        device_assignable=raw.get("deviceAssignable") is True,
        revocable=raw.get("revocable") is True,
        supported_platforms=_strings(raw.get("supportedPlatforms")),
        total_count=_int_or_none(raw.get("totalCount")) or 0,
        assigned_count=_int_or_none(raw.get("assignedCount")) or 0,
        available_count=_int_or_none(raw.get("availableCount")) or 0,
        retired_count=_int_or_none(raw.get("retiredCount")) or 0,
    )


def _assignment(raw: Any) -> Assignment | None:
    if not isinstance(raw, dict):
        return None
    adam_id, pricing = raw.get("adamId"), raw.get("pricingParam")
    if isinstance(adam_id, int) and not isinstance(adam_id, bool):
        adam_id = str(adam_id)
    if not isinstance(adam_id, str) or not isinstance(pricing, str):
        return None
    serial, user = raw.get("serialNumber"), raw.get("clientUserId")
    return Assignment(adam_id, pricing, serial if isinstance(serial, str) else None, user if isinstance(user, str) else None)


def _page(document: Mapping[str, Any], items: tuple[Any, ...]) -> Page:
    version = document.get("versionId")
    return Page(
        items=items,
        current_page_index=_int_or_none(document.get("currentPageIndex")) or 0,
        next_page_index=_int_or_none(document.get("nextPageIndex")),
        total_pages=_int_or_none(document.get("totalPages")) or 1,
        version_id=version if isinstance(version, str) else None,
    )


def _page_query(page_index: int | None) -> dict[str, Any]:
    return {} if page_index is None else {"pageIndex": page_index}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(item for item in _list(value) if isinstance(item, str))


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _positive(value: Any, default: int | None) -> int | None:
    number = _int_or_none(value)
    return number if number is not None and number > 0 else default


def expiration(value: str | None):
    """``tokenExpirationDate`` as an aware datetime (None when absent or unreadable)."""
    if not value:
        return None
    try:
        return parse_date(value)
    except ValueError:
        return None
