"""A client for Apple's device enrollment API (Automated Device Enrollment, "Device Assignment").

Implements the MDM-server side of Apple's *Device Assignment* web service
(Device Management documentation: "Authenticating for Automated Device
Enrollment", "Get a List of Devices", "Sync the List of Devices", "Define a
Profile", "Assign a Profile", "Remove a Profile", "Get Device Details",
"Get Account Detail"; base URL ``https://mdmenrollment.apple.com``):

- ``GET /session``, signed with OAuth 1.0a (HMAC-SHA1, realm ``ADM``) from
  the server token's four credentials, answers an ``auth_session_token``;
  every other call sends it as ``X-ADM-Auth-Session`` with
  ``X-Server-Protocol-Version``. A 401 means the session expired: a new one
  is fetched and the call repeated once. A new session token in a
  response's ``X-ADM-Auth-Session`` header replaces the old one.
- 429 and 5xx (and a broken connection) are retried with exponential
  back-off, honouring ``Retry-After``.
- Apple's error codes become typed errors: :class:`TermsNotSigned`
  (``T_C_NOT_SIGNED``), :class:`TokenRejected` (the server token expired or
  was revoked), :class:`CursorExpired` / :class:`CursorInvalid` /
  :class:`CursorExhausted`, :class:`DepRequestError` for the rest.

No web framework, no database: the HTTP transport and the sleep between
retries are injected (tests and the benchmark run it against ``tests/fakes/dep.py``).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import ssl
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from authlib.oauth1 import SIGNATURE_HMAC_SHA1, ClientAuth

from mdm_protocol.asm.token import OAuthTokens

DEFAULT_BASE_URL = "https://mdmenrollment.apple.com"
#: The X-Server-Protocol-Version Flokk speaks (device_family, os, org_type, urls in /account).
SERVER_PROTOCOL_VERSION = "3"
SESSION_HEADER = "X-ADM-Auth-Session"
PROTOCOL_HEADER = "X-Server-Protocol-Version"
JSON_TYPE = "application/json;charset=UTF8"
#: Apple's documented default and maximum page size for fetch and sync.
PAGE_SIZE = 1000
#: Serials per profile assignment request (Apple's limit is reported in /account ``urls``).
ASSIGN_BATCH = 1000
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
_KNOWN_CODES = (
    "T_C_NOT_SIGNED", "ACCESS_DENIED", "EXPIRED_CURSOR", "INVALID_CURSOR", "EXHAUSTED_CURSOR", "CURSOR_REQUIRED",
    "FORBIDDEN", "UNAUTHORIZED", "TOKEN_EXPIRED", "TOKEN_REJECTED", "TOO_MANY_REQUESTS", "MALFORMED_REQUEST_BODY",
    "INVALID_PROFILE", "DEVICE_ID_REQUIRED", "PROFILE_UUID_REQUIRED", "INTERNAL_SERVER_ERROR",
)


# --- errors ---------------------------------------------------------------------


class DepError(Exception):
    """Apple's service refused a request or could not be reached; ``code`` is Apple's, when given."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class TermsNotSigned(DepError):
    """Apple changed its terms: someone must accept them in Apple School Manager before any call works."""


class TokenRejected(DepError):
    """The server token was refused (expired, revoked, or replaced by a newer one)."""


class CursorExpired(DepError):
    """The sync cursor is older than Apple keeps (7 days): a full fetch must start again."""


class CursorInvalid(DepError):
    """Apple does not know the cursor."""


class CursorExhausted(DepError):
    """The cursor has no more devices to give (a fetch past its end)."""


class DepRequestError(DepError):
    """A request Apple refused for another reason (``code`` says which)."""


class Unavailable(DepError):
    """429, 5xx or no connection, still after every retry."""


class ProtocolError(DepError):
    """Apple answered something that is not what its documentation describes."""


# --- transport --------------------------------------------------------------------


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes


class TransportError(OSError):
    """No answer: connection refused or broken, or a timeout."""


class Transport(Protocol):
    def request(self, method: str, url: str, *, headers: Mapping[str, str], body: bytes | None) -> HttpResponse: ...


class HttpsTransport:
    """HTTPS with keep-alive (urllib3), trusting ``ssl_context`` (the system store by default)."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None, *, timeout: float = 60.0) -> None:
        import urllib3

        self._urllib3 = urllib3
        self._pool = urllib3.PoolManager(
            ssl_context=ssl_context or ssl.create_default_context(), maxsize=2, retries=False,
            timeout=urllib3.Timeout(connect=15.0, read=timeout),
        )

    def request(self, method: str, url: str, *, headers: Mapping[str, str], body: bytes | None) -> HttpResponse:
        try:
            response = self._pool.request(method, url, headers=dict(headers), body=body, preload_content=False,
                                          redirect=False)
            data = response.read(MAX_RESPONSE_BYTES + 1, decode_content=True)
            response.release_conn()
        except self._urllib3.exceptions.HTTPError as error:
            raise TransportError(f"{method} {url}: {error}") from None
        if len(data) > MAX_RESPONSE_BYTES:
            raise TransportError(f"{method} {url}: the answer is larger than {MAX_RESPONSE_BYTES} bytes")
        return HttpResponse(response.status, {name.lower(): value for name, value in response.headers.items()}, data)

    def close(self) -> None:
        self._pool.clear()


# --- values ------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    """``GET /account``: who the token belongs to."""

    server_name: str | None
    server_uuid: str | None
    org_name: str | None
    org_email: str | None
    org_phone: str | None
    org_address: str | None
    admin_id: str | None
    org_type: str | None
    org_version: str | None
    org_id: str | None
    #: URI → the largest page or batch Apple accepts there (from ``urls[].limit.maximum``).
    limits: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class DepDevice:
    """One device as Apple describes it ("Device" object); unknown keys are left in ``raw``."""

    serial_number: str
    model: str | None = None
    description: str | None = None
    color: str | None = None
    asset_tag: str | None = None
    os: str | None = None
    device_family: str | None = None
    profile_status: str | None = None
    profile_uuid: str | None = None
    profile_assign_time: dt.datetime | None = None
    profile_push_time: dt.datetime | None = None
    device_assigned_date: dt.datetime | None = None
    device_assigned_by: str | None = None
    #: Sync only: "added", "modified" or "deleted", and when.
    op_type: str | None = None
    op_date: dt.datetime | None = None
    response_status: str | None = None


@dataclass(frozen=True)
class DevicePage:
    devices: list[DepDevice]
    cursor: str | None
    more_to_follow: bool
    fetched_until: dt.datetime | None


@dataclass(frozen=True)
class ProfileResult:
    """What Apple did per serial: ``SUCCESS``, ``NOT_ACCESSIBLE``, ``FAILED`` or ``THROTTLED``."""

    profile_uuid: str | None
    devices: Mapping[str, str]


# --- the client -------------------------------------------------------------------------


class DepClient:
    """One ASM device management server, reached with its server token's credentials."""

    def __init__(
        self,
        tokens: OAuthTokens,
        *,
        transport: Transport,
        base_url: str = DEFAULT_BASE_URL,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = 6,
        max_delay: float = 60.0,
        protocol_version: str = SERVER_PROTOCOL_VERSION,
    ) -> None:
        self.tokens = tokens
        self.transport = transport
        self.base_url = base_url.rstrip("/")
        self.sleep = sleep
        self.max_attempts = max_attempts
        self.max_delay = max_delay
        self.protocol_version = protocol_version
        self.session_token: str | None = None
        #: Requests sent, by kind: for progress output and tests.
        self.calls: dict[str, int] = {}

    # --- the documented calls ---

    def account(self) -> Account:
        data = self._call("GET", "/account")
        limits: dict[str, int] = {}
        for item in data.get("urls") or ():
            if isinstance(item, Mapping) and isinstance(item.get("uri"), str):
                maximum = (item.get("limit") or {}).get("maximum") if isinstance(item.get("limit"), Mapping) else None
                if isinstance(maximum, int) and not isinstance(maximum, bool) and maximum > 0:
                    limits[item["uri"]] = maximum
        return Account(
            **{name: _text(data.get(name)) for name in (
                "server_name", "server_uuid", "org_name", "org_email", "org_phone", "org_address", "admin_id",
                "org_type", "org_version", "org_id")},
            limits=limits,
        )

    def fetch_devices(self, cursor: str | None = None, *, limit: int = PAGE_SIZE) -> DevicePage:
        """One page of every device assigned to this server (``POST /server/devices``)."""
        body: dict[str, Any] = {"limit": limit}
        if cursor:
            body["cursor"] = cursor
        return _page(self._call("POST", "/server/devices", body))

    def sync_devices(self, cursor: str, *, limit: int = PAGE_SIZE) -> DevicePage:
        """One page of changes since ``cursor`` (``POST /devices/sync``)."""
        return _page(self._call("POST", "/devices/sync", {"cursor": cursor, "limit": limit}))

    def device_details(self, serials: Sequence[str]) -> dict[str, DepDevice]:
        """Details of specific devices (``POST /devices``)."""
        data = self._call("POST", "/devices", {"devices": list(serials)})
        found: dict[str, DepDevice] = {}
        for serial, raw in (data.get("devices") or {}).items():
            if isinstance(raw, Mapping):
                device = _device({"serial_number": serial, **raw})
                if device is not None:
                    found[device.serial_number] = device
        return found

    def define_profile(self, profile: Mapping[str, Any]) -> ProfileResult:
        """Create a profile at Apple (``POST /profile``); it gets a new ``profile_uuid`` each time."""
        data = self._call("POST", "/profile", dict(profile))
        result = _profile_result(data)
        if not result.profile_uuid:
            raise ProtocolError("Apple defined the profile but sent no profile_uuid")
        return result

    def assign_profile(self, profile_uuid: str, serials: Sequence[str]) -> ProfileResult:
        """Assign a defined profile to devices (``PUT /profile/devices``)."""
        return _profile_result(self._call("PUT", "/profile/devices", {"profile_uuid": profile_uuid, "devices": list(serials)}))

    def remove_profile(self, serials: Sequence[str]) -> ProfileResult:
        """Unassign whatever profile the devices have (``DELETE /profile/devices``)."""
        return _profile_result(self._call("DELETE", "/profile/devices", {"devices": list(serials)}))

    # --- session and retries ---

    def _call(self, method: str, path: str, payload: Mapping[str, Any] | None = None) -> dict[str, Any]:
        body = json.dumps(payload).encode() if payload is not None else None
        renewed = False
        if self.session_token is None:
            self._new_session()
            renewed = True
        while True:
            response = self._send(method, path, body, session=True)
            if response.status == 401 or (response.status == 403 and _code(response.body) == "FORBIDDEN"):
                if renewed:
                    raise TokenRejected("Apple refuses the new session as well: the server token is not accepted",
                                        status=response.status, code=_code(response.body))
                self._new_session()
                renewed = True
                continue
            self._take_session(response)
            return _json_object(self._checked(response, path))

    def _new_session(self) -> None:
        url = f"{self.base_url}/session"
        auth = ClientAuth(
            self.tokens.consumer_key, self.tokens.consumer_secret, token=self.tokens.access_token,
            token_secret=self.tokens.access_secret, signature_method=SIGNATURE_HMAC_SHA1, realm="ADM",
        )

        def signed() -> dict[str, str]:
            _, headers, _ = auth.sign("GET", url, {PROTOCOL_HEADER: self.protocol_version, "Content-Type": JSON_TYPE}, b"")
            return headers

        response = self._send("GET", "/session", None, session=False, headers=signed)
        code = _code(response.body)
        if response.status == 403 and code == "T_C_NOT_SIGNED":
            raise TermsNotSigned(_TERMS, status=403, code=code)
        if response.status in (400, 401, 403):
            raise TokenRejected(
                "Apple refuses the server token (" + (code or f"HTTP {response.status}") + "): it has expired, was "
                "revoked or replaced; download a new one from Apple School Manager and import it",
                status=response.status, code=code,
            )
        data = _json_object(self._checked(response, "/session"))
        token = data.get("auth_session_token")
        if not isinstance(token, str) or not token:
            raise ProtocolError("Apple's /session answer has no auth_session_token")
        self.session_token = token

    def _send(
        self, method: str, path: str, body: bytes | None, *, session: bool,
        headers: Callable[[], dict[str, str]] | None = None,
    ) -> HttpResponse:
        """One request, repeated on 429, 5xx and broken connections with back-off."""
        delay = 1.0
        for attempt in range(1, self.max_attempts + 1):
            sent = headers() if headers is not None else {PROTOCOL_HEADER: self.protocol_version, "Accept": JSON_TYPE}
            if session:
                sent[SESSION_HEADER] = self.session_token or ""
            if body is not None:
                sent["Content-Type"] = JSON_TYPE
            self.calls[path] = self.calls.get(path, 0) + 1
            try:
                response = self.transport.request(method, self.base_url + path, headers=sent, body=body)
            except TransportError as error:
                if attempt == self.max_attempts:
                    raise Unavailable(f"Apple's device enrollment service cannot be reached: {error}") from None
                self.sleep(self._backoff(delay, None))
                delay *= 2
                continue
            if response.status == 429 or response.status >= 500:
                if attempt == self.max_attempts:
                    raise Unavailable(
                        f"Apple's device enrollment service answers {response.status} to {path} "
                        f"after {attempt} attempts; Flokk tries again at the next sync",
                        status=response.status, code=_code(response.body),
                    )
                self.sleep(self._backoff(delay, response.headers.get("retry-after")))
                delay *= 2
                continue
            return response
        raise AssertionError("unreachable")

    def _backoff(self, delay: float, retry_after: str | None) -> float:
        if retry_after is not None and retry_after.strip().isdigit():
            return min(float(retry_after.strip()), self.max_delay)
        return min(delay, self.max_delay) * (0.5 + random.random() / 2)

    def _take_session(self, response: HttpResponse) -> None:
        renewed = response.headers.get(SESSION_HEADER.lower())
        if renewed:
            self.session_token = renewed

    def _checked(self, response: HttpResponse, path: str) -> bytes:
        if 200 <= response.status < 300:
            return response.body
        code = _code(response.body)
        if code == "T_C_NOT_SIGNED":
            raise TermsNotSigned(_TERMS, status=response.status, code=code)
        if code == "ACCESS_DENIED":
            raise TokenRejected("Apple denies this server token access: import a new one", status=response.status, code=code)
        errors = {"EXPIRED_CURSOR": CursorExpired, "INVALID_CURSOR": CursorInvalid, "EXHAUSTED_CURSOR": CursorExhausted}
        error_class = errors.get(code or "", DepRequestError)
        raise error_class(f"Apple refused {path}: HTTP {response.status} {code or ''}".rstrip(), status=response.status,
                          code=code)


_TERMS = ("Apple has new terms and conditions: someone with the Administrator role must sign in to "
          "Apple School Manager and accept them; until then Flokk cannot sync")


# --- reading Apple's answers ---------------------------------------------------------------


def _code(body: bytes) -> str | None:
    """Apple's error code from a body: plain text, a quoted string or ``{"code": ...}``."""
    text = body[:4096].decode("utf-8", "replace")
    try:
        value = json.loads(text)
    except ValueError:
        value = text
    if isinstance(value, Mapping):
        value = value.get("code") or value.get("error") or value.get("message") or ""
    candidate = str(value).strip().strip('"').strip()
    for known in _KNOWN_CODES:
        if known in candidate:
            return known
    looks_like_a_code = candidate.replace("_", "").isalnum() and candidate.isupper()
    return candidate[:64] if looks_like_a_code else None


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError("Apple's answer is not JSON") from None
    if not isinstance(value, dict):
        raise ProtocolError("Apple's answer is not a JSON object")
    return value


def _page(data: Mapping[str, Any]) -> DevicePage:
    devices = [device for device in (_device(raw) for raw in _list(data.get("devices"))) if device is not None]
    more = data.get("more_to_follow")
    if isinstance(more, str):  # seen as "true"/"false" strings in the wild
        more = more.lower() == "true"
    return DevicePage(devices, _text(data.get("cursor"), 1000), bool(more), _date(data.get("fetched_until")))


def _device(raw: Any) -> DepDevice | None:
    if not isinstance(raw, Mapping):
        return None
    serial = _text(raw.get("serial_number"), 64)
    if not serial:
        return None
    return DepDevice(
        serial_number=serial.upper(),
        model=_text(raw.get("model"), 200),
        description=_text(raw.get("description"), 200),
        color=_text(raw.get("color"), 64),
        asset_tag=_text(raw.get("asset_tag"), 64),
        os=_text(raw.get("os"), 32),
        device_family=_text(raw.get("device_family"), 32),
        profile_status=_text(raw.get("profile_status"), 32),
        profile_uuid=_text(raw.get("profile_uuid"), 64),
        profile_assign_time=_date(raw.get("profile_assign_time")),
        profile_push_time=_date(raw.get("profile_push_time")),
        device_assigned_date=_date(raw.get("device_assigned_date")),
        device_assigned_by=_text(raw.get("device_assigned_by"), 255),
        op_type=_text(raw.get("op_type"), 16),
        op_date=_date(raw.get("op_date")),
        response_status=_text(raw.get("response_status"), 64),
    )


def _profile_result(data: Mapping[str, Any]) -> ProfileResult:
    devices = data.get("devices") or {}
    outcomes = {
        str(serial).upper(): str(status)[:32]
        for serial, status in (devices.items() if isinstance(devices, Mapping) else ())
        if isinstance(serial, str) and isinstance(status, str)
    }
    return ProfileResult(_text(data.get("profile_uuid"), 64), outcomes)


def _list(value: Any) -> Iterable[Any]:
    return value if isinstance(value, list) else ()


def _text(value: Any, length: int = 255) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", "").strip()
    return value[:length] or None


def _date(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
