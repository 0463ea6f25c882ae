"""A local Google for tests and the benchmark: token endpoint, Directory API, Chrome Policy API.

Written from Google's public reference (the discovery documents Flokk
bundles, the Directory API and Chrome Policy API reference pages), it
enforces what Google enforces on the calls Flokk makes:

- ``POST /token``: the JWT bearer grant of a service account, RS256-signed
  by a key Google issued to it (``invalid_grant`` otherwise), acting as an
  admin of the domain (``sub``), for scopes granted to its client id under
  domain-wide delegation (``unauthorized_client`` otherwise).
- Every API call: a bearer token (401), the scope the method needs (403
  ``ACCESS_TOKEN_SCOPE_INSUFFICIENT``), the API enabled in the project (403
  ``SERVICE_DISABLED``), the admin's own customer (403), paging
  (``maxResults`` at most 300, opaque page tokens), the documented request
  bodies (400 ``INVALID_ARGUMENT`` with a reason). Errors are
  ``google.rpc.Status`` JSON.
- Scripted failures (``fail``): a status for the next requests matching a
  path, e.g. a 500 in the middle of a sync or 429s with ``Retry-After``.

Devices, organisational units, commands and policies live in memory;
``complete_commands`` plays the Chromebooks executing their commands.

Run standalone (benchmark): ``python -m tests.fakes.google --devices 20000 --dir /tmp/fake-google``.
"""

from __future__ import annotations

import base64
import datetime as dt
import fnmatch
import functools
import hashlib
import hmac
import itertools
import json
import re
import ssl
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

SCOPE_PREFIX = "https://www.googleapis.com/auth/"
DEVICE_SCOPE = SCOPE_PREFIX + "admin.directory.device.chromeos"
DEVICE_READ = DEVICE_SCOPE + ".readonly"
ORGUNIT_SCOPE = SCOPE_PREFIX + "admin.directory.orgunit"
ORGUNIT_READ = ORGUNIT_SCOPE + ".readonly"
CUSTOMER_SCOPE = SCOPE_PREFIX + "admin.directory.customer"
CUSTOMER_READ = CUSTOMER_SCOPE + ".readonly"
POLICY_SCOPE = SCOPE_PREFIX + "chrome.management.policy"
POLICY_READ = POLICY_SCOPE + ".readonly"
ALL_SCOPES = (CUSTOMER_READ, DEVICE_SCOPE, ORGUNIT_SCOPE, POLICY_SCOPE)
ADMIN_API, POLICY_API = "admin.googleapis.com", "chromepolicy.googleapis.com"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"

#: The Chrome policy schemas this fake knows, with their fields (Google's schema catalogue).
SCHEMAS: dict[str, frozenset[str]] = {
    "chrome.users.VideoInput": frozenset({"videoCaptureAllowed"}),
    "chrome.users.Screenshot": frozenset({"disableScreenshots"}),
    "chrome.users.UrlBlocking": frozenset({"urlBlocklist", "urlAllowlist", "chromeInternalUrlsBlocked"}),
    "chrome.users.SafeSitesFilterBehavior": frozenset({"safeSitesFilterBehavior"}),
    "chrome.users.IncognitoMode": frozenset({"incognitoModeAvailability"}),
    "chrome.users.IdleSettings": frozenset({"idleTimeoutMinutes", "actionOnDeviceIdle", "actionOnLidClose", "lockOnSleep"}),
    "chrome.users.Wallpaper": frozenset({"downloadUri"}),
    "chrome.users.ShowLogoutButton": frozenset({"showLogoutButtonInTray"}),
    "chrome.users.apps.InstallType": frozenset({"appInstallType"}),
    "chrome.devices.GuestMode": frozenset({"guestModeEnabled"}),
    "chrome.devices.AutoUpdateSettings": frozenset({"updateDisabled", "rebootAfterUpdate", "autoUpdateAllowedConnectionType"}),
    "chrome.networks.wifi.Details": frozenset({"details"}),
    "chrome.networks.wifi.AllowForChromeDevices": frozenset({"allowForChromeDevices"}),
    "chrome.networks.wifi.AllowForChromeUsers": frozenset({"allowForChromeUsers"}),
}
#: Schemas whose targets need an additional key, by root namespace.
TARGET_KEYS = {"chrome.users.apps": "app_id", "chrome.networks.wifi": "network_id"}
COMMAND_TYPES = {"REBOOT", "TAKE_A_SCREENSHOT", "SET_VOLUME", "WIPE_USERS", "REMOTE_POWERWASH", "DEVICE_START_CRD_SESSION",
                 "CAPTURE_LOGS", "FETCH_CRD_AVAILABILITY_INFO", "FETCH_SUPPORT_PACKET"}
STATUS_ACTIONS = {
    "CHANGE_CHROME_OS_DEVICE_STATUS_ACTION_DEPROVISION": "DEPROVISIONED",
    "CHANGE_CHROME_OS_DEVICE_STATUS_ACTION_DISABLE": "DISABLED",
    "CHANGE_CHROME_OS_DEVICE_STATUS_ACTION_REENABLE": "ACTIVE",
}
DEPROVISION_REASONS = {
    "DEPROVISION_REASON_SAME_MODEL_REPLACEMENT", "DEPROVISION_REASON_UPGRADE", "DEPROVISION_REASON_DOMAIN_MOVE",
    "DEPROVISION_REASON_SERVICE_EXPIRATION", "DEPROVISION_REASON_OTHER", "DEPROVISION_REASON_DIFFERENT_MODEL_REPLACEMENT",
    "DEPROVISION_REASON_RETIRING_DEVICE", "DEPROVISION_REASON_UPGRADE_TRANSFER", "DEPROVISION_REASON_NOT_REQUIRED",
    "DEPROVISION_REASON_REPAIR_CENTER",
}
MODELS = ("Acer Chromebook Spin 511", "Lenovo 300e Chromebook Gen 4", "HP Chromebook x360 11 G4 EE")


class ApiError(Exception):
    def __init__(self, code: int, message: str, status: str, reason: str | None = None, *,
                 service: str = ADMIN_API, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.status, self.reason, self.service = code, message, status, reason, service
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message, "status": self.status}
        if self.reason:
            error["errors"] = [{"message": self.message, "domain": "global", "reason": self.reason}]
            error["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": self.reason,
                                 "domain": "googleapis.com", "metadata": {"service": self.service}}]
        return {"error": error}


def _invalid(message: str, service: str = ADMIN_API) -> ApiError:
    return ApiError(400, message, "INVALID_ARGUMENT", "invalid", service=service)


@dataclass
class ServiceAccount:
    client_email: str
    client_id: str
    key_id: str
    public_key: rsa.RSAPublicKey


@dataclass
class Token:
    admin: str
    scopes: frozenset[str]
    expires: float


@dataclass
class Failure:
    pattern: re.Pattern[str]
    status: int
    remaining: int
    retry_after: str | None = None
    after: int = 0  # let this many matching requests through first


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    status: int = 0


@dataclass
class FakeGoogle:
    """Google for one Workspace for Education domain, on 127.0.0.1 over HTTPS."""

    server_cert_pem: bytes
    server_key_pem: bytes
    customer_id: str = "C03az79cb"
    domain: str = "bergvik.no"
    admins: set[str] = field(default_factory=lambda: {"it@bergvik.no"})
    host: str = "127.0.0.1"
    port: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._secret = uuid.uuid4().bytes
        self.accounts: dict[str, ServiceAccount] = {}
        self.delegation: dict[str, set[str]] = {}
        self.disabled_apis: set[str] = set()
        self.org_units: dict[str, dict[str, Any]] = {}
        self.devices: dict[str, dict[str, Any]] = {}
        self.commands: dict[str, dict[str, Any]] = {}
        self.policies: dict[tuple[str, str, tuple[tuple[str, str], ...]], dict[str, Any]] = {}
        self.networks: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, Token] = {}
        self.failures: deque[Failure] = deque()
        self.requests: list[Recorded] = []
        self.auto_execute = False
        self._ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._add_unit("/", "", None)

    # ------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def start(self) -> FakeGoogle:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as folder:
            cert, key = Path(folder) / "cert.pem", Path(folder) / "key.pem"
            cert.write_bytes(self.server_cert_pem)
            key.write_bytes(self.server_key_pem)
            context.load_cert_chain(cert, key)
        fake = self

        class Handler(_Handler):
            google = fake

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-google", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeGoogle:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # --------------------------------------------------------------- set-up

    def service_account_key(self, name: str = "flokk", *, project: str = "bergvik-flokk", delegated: bool = True,
                            scopes: tuple[str, ...] = ALL_SCOPES, registered: bool = True) -> dict[str, Any]:
        """A key file for a new service account; ``delegated``: its client id gets domain-wide delegation
        for ``scopes``; ``registered`` False: an account this Google does not know (another project)."""
        key = _rsa_key(name)
        client_id = str(100000000000000000000 + next(self._ids))
        email = f"{name}@{project}.iam.gserviceaccount.com"
        key_id = hashlib.sha1(uuid.uuid4().bytes).hexdigest()
        if registered:
            with self._lock:
                self.accounts[email] = ServiceAccount(email, client_id, key_id, key.public_key())
                if delegated:
                    self.delegation[client_id] = set(scopes)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        return {
            "type": "service_account", "project_id": project, "private_key_id": key_id, "private_key": pem.decode(),
            "client_email": email, "client_id": client_id, "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": f"{self.url}/token", "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": f"https://www.googleapis.com/robot/v1/metadata/x509/{email}",
            "universe_domain": "googleapis.com",
        }

    def add_org_unit(self, path: str, description: str = "") -> dict[str, Any]:
        """An OU (and its missing parents)."""
        path = "/" + path.strip("/")
        with self._lock:
            if path in self.org_units:
                return self.org_units[path]
            parent = path.rsplit("/", 1)[0] or "/"
            self.add_org_unit(parent)
            return self._add_unit(path, path.rsplit("/", 1)[1], parent, description)

    def _add_unit(self, path: str, name: str, parent: str | None, description: str = "") -> dict[str, Any]:
        unit = {"kind": "admin#directory#orgUnit", "name": name, "orgUnitPath": path,
                "orgUnitId": f"id:03ph8a2z{next(self._ids):06d}", "description": description}
        if parent is not None:
            unit["parentOrgUnitPath"] = parent
            unit["parentOrgUnitId"] = self.org_units[parent]["orgUnitId"]
        self.org_units[path] = unit
        return unit

    def unit_by_id(self, unit_id: str) -> dict[str, Any] | None:
        wanted = unit_id if unit_id.startswith("id:") else f"id:{unit_id}"
        return next((unit for unit in self.org_units.values() if unit["orgUnitId"] == wanted), None)

    def add_devices(self, count: int, org_unit_path: str, *, prefix: str = "CB", last_sync: dt.datetime | None = None,
                    recent_users: bool = True) -> list[dict[str, Any]]:
        unit = self.add_org_unit(org_unit_path)
        made = []
        moment = (last_sync or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        with self._lock:
            for _ in range(count):
                number = next(self._ids)
                device = {
                    "kind": "admin#directory#chromeosdevice", "deviceId": str(uuid.uuid4()), "etag": uuid.uuid4().hex,
                    "serialNumber": f"{prefix}{number:08d}", "model": MODELS[number % len(MODELS)],
                    "osVersion": "128.0.6613.137", "platformVersion": "15964.67.0", "firmwareVersion": "Google_Coral.10068.113.0",
                    "status": "ACTIVE", "orgUnitPath": unit["orgUnitPath"], "orgUnitId": unit["orgUnitId"][3:],
                    "lastSync": moment, "autoUpdateThrough": "2031-06-30T00:00:00Z", "autoUpdateExpiration": "1940544000000",
                    "annotatedAssetId": f"INV-{number}", "annotatedLocation": "Rom 204", "annotatedUser": "",
                    "macAddress": f"{number:012x}", "bootMode": "Verified", "lastEnrollmentTime": moment,
                }
                if recent_users:
                    device["recentUsers"] = [{"type": "USER_TYPE_MANAGED", "email": f"elev{number}@{self.domain}"}]
                self.devices[device["deviceId"]] = device
                made.append(device)
        return made

    def fail(self, path_pattern: str, status: int, *, times: int = 1, after: int = 0, retry_after: str | None = None) -> None:
        """Answer ``status`` to the next ``times`` requests whose path matches (after letting ``after`` through)."""
        with self._lock:
            self.failures.append(Failure(re.compile(path_pattern), status, times, retry_after, after))

    def complete_commands(self, result: str = "SUCCESS", error_message: str | None = None) -> int:
        """The Chromebooks pick up and execute every pending command."""
        done = 0
        with self._lock:
            for command in self.commands.values():
                if command["state"] in ("PENDING", "SENT_TO_CLIENT", "ACKED_BY_CLIENT"):
                    self._execute(command, result, error_message)
                    done += 1
        return done

    def _execute(self, command: dict[str, Any], result: str, error_message: str | None) -> None:
        command["state"] = "EXECUTED_BY_CLIENT"
        outcome = {"result": result, "executeTime": _now()}
        if error_message:
            outcome["errorMessage"] = error_message
        command["commandResult"] = outcome

    def policy_at(self, org_unit_path: str, schema: str, keys: dict[str, str] | None = None) -> dict[str, Any] | None:
        """The value set directly at an OU (None: it inherits)."""
        unit = self.org_units["/" + org_unit_path.strip("/") if org_unit_path != "/" else "/"]
        return self.policies.get((unit["orgUnitId"], schema, tuple(sorted((keys or {}).items()))))

    def set_policy_in_console(self, org_unit_path: str, schema: str, value: dict[str, Any], keys: dict[str, str] | None = None) -> None:
        """An admin changes a value by hand in Google's Admin console."""
        unit = self.org_units["/" + org_unit_path.strip("/") if org_unit_path != "/" else "/"]
        with self._lock:
            self.policies[(unit["orgUnitId"], schema, tuple(sorted((keys or {}).items())))] = dict(value)

    def move_in_console(self, device_id: str, org_unit_path: str) -> None:
        unit = self.add_org_unit(org_unit_path)
        with self._lock:
            device = self.devices[device_id]
            device["orgUnitPath"], device["orgUnitId"] = unit["orgUnitPath"], unit["orgUnitId"][3:]
            device["lastSync"] = _now()

    def calls(self, pattern: str) -> list[Recorded]:
        return [item for item in self.requests if re.search(pattern, item.path)]

    # ---------------------------------------------------------------- token

    def token(self, form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        if form.get("grant_type", [""])[0] != JWT_BEARER:
            return 400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"}
        assertion = form.get("assertion", [""])[0]
        try:
            header_b64, claims_b64, signature_b64 = assertion.split(".")
            header = json.loads(_unb64(header_b64))
            claims = json.loads(_unb64(claims_b64))
        except (ValueError, TypeError):
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT: Token must be a short-lived token"}
        account = self.accounts.get(claims.get("iss", ""))
        if account is None:
            return 401, {"error": "unauthorized_client",
                         "error_description": "Client is unauthorized to retrieve access tokens using this method, "
                                              "or client not authorized for any of the scopes requested."}
        try:
            if header.get("alg") != "RS256" or header.get("kid") != account.key_id:
                raise InvalidSignature
            account.public_key.verify(_unb64(signature_b64), f"{header_b64}.{claims_b64}".encode(),
                                      padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
        now = time.time()
        # Google's documented audience is its token endpoint's public URI (google-auth always sends it).
        if claims.get("aud") not in (f"{self.url}/token", "https://oauth2.googleapis.com/token") or not (claims.get("iat", 0) - 300 <= now <= claims.get("exp", 0) + 300):
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT: Token must be a short-lived token "
                                                                        "(60 minutes) and in a reasonable timeframe."}
        subject = claims.get("sub")
        if subject not in self.admins:
            return 400, {"error": "invalid_grant", "error_description": "Invalid email or User ID"}
        scopes = frozenset(str(claims.get("scope", "")).split())
        if not scopes or not scopes <= self.delegation.get(account.client_id, set()):
            return 401, {"error": "unauthorized_client",
                         "error_description": "Client is unauthorized to retrieve access tokens using this method, "
                                              "or client not authorized for any of the scopes requested."}
        token = "ya29.fake-" + uuid.uuid4().hex
        with self._lock:
            self.tokens[token] = Token(subject, scopes, now + 3600)
        return 200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}

    # ----------------------------------------------------------------- APIs

    def authorize(self, header: str | None, service: str, scopes: tuple[str, ...]) -> Token:
        scheme, _, raw = (header or "").partition(" ")
        token = self.tokens.get(raw.strip()) if scheme.lower() == "bearer" else None
        if token is None or token.expires < time.time():
            raise ApiError(401, "Request had invalid authentication credentials. Expected OAuth 2 access token.",
                           "UNAUTHENTICATED", "authError", service=service)
        if service in self.disabled_apis:
            name = "Admin SDK API" if service == ADMIN_API else "Chrome Policy API"
            raise ApiError(403, f"{name} has not been used in project 1029384756 before or it is disabled. Enable it by "
                                f"visiting https://console.developers.google.com/apis/api/{service}/overview?project=1029384756 "
                                "then retry.", "PERMISSION_DENIED", "SERVICE_DISABLED", service=service)
        if not token.scopes & set(scopes):
            raise ApiError(403, "Request had insufficient authentication scopes.", "PERMISSION_DENIED",
                           "ACCESS_TOKEN_SCOPE_INSUFFICIENT", service=service)
        return token

    def customer(self, value: str, service: str = ADMIN_API) -> None:
        if value not in ("my_customer", self.customer_id):
            raise ApiError(403, "Not Authorized to access this resource/api", "PERMISSION_DENIED", "forbidden", service=service)

    def scripted_failure(self, path: str) -> ApiError | None:
        with self._lock:
            for failure in list(self.failures):
                if failure.pattern.search(path):
                    if failure.after > 0:
                        failure.after -= 1
                        return None
                    failure.remaining -= 1
                    if failure.remaining <= 0:
                        self.failures.remove(failure)
                    headers = {"Retry-After": failure.retry_after} if failure.retry_after else {}
                    if failure.status == 429:
                        return ApiError(429, "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user'.",
                                        "RESOURCE_EXHAUSTED", "RATE_LIMIT_EXCEEDED", headers=headers)
                    if failure.status >= 500:
                        return ApiError(failure.status, "Internal error encountered.", "INTERNAL", "backendError", headers=headers)
                    return ApiError(failure.status, "Scripted failure", "FAILED_PRECONDITION", "failedPrecondition", headers=headers)
        return None

    # ---- Directory API

    def page_token(self, offset: int, query: str) -> str:
        raw = json.dumps({"o": offset, "q": query}).encode()
        mac = hmac.new(self._secret, raw, hashlib.sha256).digest()[:8]
        return base64.urlsafe_b64encode(raw + mac).decode().rstrip("=")

    def read_page_token(self, token: str, query: str) -> int:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            body, mac = raw[:-8], raw[-8:]
            if not hmac.compare_digest(mac, hmac.new(self._secret, body, hashlib.sha256).digest()[:8]):
                raise ValueError
            data = json.loads(body)
            if data["q"] != query:
                raise ValueError
            return int(data["o"])
        except (ValueError, KeyError, TypeError):
            raise _invalid("Invalid Input: pageToken") from None

    def list_devices(self, query: dict[str, list[str]]) -> dict[str, Any]:
        max_results = _int(query, "maxResults", 100)
        if not 1 <= max_results <= 300:
            raise _invalid(f"Invalid value '{max_results}'. Values must be within the range: [1, 300]")
        search = query.get("query", [""])[0]
        selected = self._matching(search)
        path = query.get("orgUnitPath", [None])[0]
        if path is not None:
            prefix = "/" + path.strip("/")
            children = query.get("includeChildOrgunits", ["false"])[0] == "true"
            selected = [d for d in selected if d["orgUnitPath"] == prefix or (children and d["orgUnitPath"].startswith(prefix + "/"))]
        order = query.get("orderBy", [None])[0]
        if order == "serialNumber":
            selected.sort(key=lambda item: item["serialNumber"])
        token = query.get("pageToken", [None])[0]
        offset = self.read_page_token(token, search) if token else 0
        page = selected[offset : offset + max_results]
        answer: dict[str, Any] = {"kind": "admin#directory#chromeosdevices", "etag": uuid.uuid4().hex,
                                  "chromeosdevices": [_select_fields(item, query.get("fields", [""])[0]) for item in page]}
        if offset + max_results < len(selected):
            answer["nextPageToken"] = self.page_token(offset + max_results, search)
        return answer

    def _matching(self, search: str) -> list[dict[str, Any]]:
        devices = list(self.devices.values())
        for term in search.split():
            name, _, value = term.partition(":")
            if name == "sync":
                low, _, high = value.partition("..") if ".." in value else (value, "", value)
                devices = [d for d in devices if (not low or d["lastSync"][:10] >= low[:10]) and (not high or d["lastSync"][:10] <= high[:10])]
            elif name == "status":
                devices = [d for d in devices if d["status"].lower() == value.lower()
                           or (value == "managed" and d["status"] != "DEPROVISIONED")]
            elif name == "id":
                devices = [d for d in devices if value.lower() in d["serialNumber"].lower()]
            else:
                raise _invalid(f"Invalid Input: query {term!r}")
        return devices

    def device(self, device_id: str) -> dict[str, Any]:
        found = self.devices.get(device_id)
        if found is None:
            raise ApiError(404, "Resource Not Found: deviceId", "NOT_FOUND", "notFound")
        return found

    def move_devices(self, path: str | None, body: Any) -> None:
        ids = body.get("deviceIds") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not ids or not all(isinstance(item, str) for item in ids):
            raise _invalid("Invalid Input: deviceIds")
        if len(ids) > 50:
            raise _invalid("Invalid Input: at most 50 devices can be moved at once")
        unit = self.org_units.get("/" + (path or "").strip("/")) if path and not path.startswith("id:") else self.unit_by_id(path or "")
        if unit is None:
            raise _invalid("Invalid Input: Org unit not found")
        unknown = [item for item in ids if item not in self.devices]
        if unknown:
            raise _invalid(f"Invalid Input: Chrome device {unknown[0]} not found")
        for item in ids:
            self.devices[item]["orgUnitPath"], self.devices[item]["orgUnitId"] = unit["orgUnitPath"], unit["orgUnitId"][3:]

    def issue_command(self, device_id: str, body: Any) -> dict[str, Any]:
        device = self.device(device_id)
        kind = body.get("commandType") if isinstance(body, dict) else None
        if kind not in COMMAND_TYPES:
            raise _invalid("Invalid value at 'command_type'")
        payload = body.get("payload")
        if kind == "SET_VOLUME":
            volume = _payload(payload).get("volume")
            if isinstance(volume, bool) or not isinstance(volume, int) or not 0 <= volume <= 100:
                raise _invalid("SET_VOLUME needs a payload {\"volume\": 0-100}")
        elif kind == "REBOOT" and payload is not None:
            delay = _payload(payload).get("user_session_delay_seconds")
            if isinstance(delay, bool) or not isinstance(delay, int) or not 0 <= delay <= 300:
                raise _invalid("user_session_delay_seconds must be in the range [0,300]")
        elif payload is not None:
            raise _invalid(f"{kind} takes no payload")
        if device["status"] != "ACTIVE":
            raise ApiError(400, "Device is not active", "FAILED_PRECONDITION", "failedPrecondition")
        command_id = str(7_000_000_000 + next(self._ids))
        command = {"commandId": command_id, "type": kind, "issueTime": _now(), "state": "PENDING",
                   "commandExpireTime": _now(dt.timedelta(days=5)), "deviceId": device_id}
        if payload is not None:
            command["payload"] = payload
        self.commands[command_id] = command
        return {"commandId": command_id}

    def get_command(self, device_id: str, command_id: str) -> dict[str, Any]:
        self.device(device_id)
        command = self.commands.get(command_id)
        if command is None or command["deviceId"] != device_id:
            raise ApiError(404, "Command not found", "NOT_FOUND", "notFound")
        if self.auto_execute and command["state"] == "PENDING":
            self._execute(command, "SUCCESS", None)
        return {key: value for key, value in command.items() if key != "deviceId"}

    def batch_change_status(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _invalid("Invalid JSON payload")
        ids, action = body.get("deviceIds"), body.get("changeChromeOsDeviceStatusAction")
        if not isinstance(ids, list) or not ids or len(ids) > 50 or not all(isinstance(item, str) for item in ids):
            raise _invalid("deviceIds must hold 1 to 50 device ids")
        if action not in STATUS_ACTIONS:
            raise _invalid("Invalid value at 'change_chrome_os_device_status_action'")
        reason = body.get("deprovisionReason")
        if action.endswith("DEPROVISION") and reason not in DEPROVISION_REASONS:
            raise _invalid("deprovisionReason must be provided when deprovisioning")
        results = []
        for device_id in ids:
            device = self.devices.get(device_id)
            if device is None:
                results.append({"deviceId": device_id, "error": {"code": 5, "message": "Device not found"}})
            elif action.endswith("REENABLE") and device["status"] != "DISABLED":
                results.append({"deviceId": device_id, "error": {"code": 9, "message": "Device is not disabled"}})
            elif device["status"] == "DEPROVISIONED":
                results.append({"deviceId": device_id, "error": {"code": 9, "message": "Device is deprovisioned"}})
            else:
                device["status"] = STATUS_ACTIONS[action]
                if reason:
                    device["deprovisionReason"] = reason
                results.append({"deviceId": device_id, "response": {}})
        return {"changeChromeOsDeviceStatusResults": results}

    def list_units(self, query: dict[str, list[str]]) -> dict[str, Any]:
        base = "/" + query.get("orgUnitPath", ["/"])[0].strip("/")
        kind = query.get("type", ["children"])[0]
        if base not in self.org_units:
            raise ApiError(404, "Org unit not found", "NOT_FOUND", "notFound")
        found = []
        for path, unit in sorted(self.org_units.items()):
            below = path != base and (base == "/" or path.startswith(base + "/"))
            direct = below and unit.get("parentOrgUnitPath") == base
            if (kind == "children" and direct) or (kind in ("all", "allIncludingParent") and below) or (
                kind == "allIncludingParent" and path == base
            ):
                found.append(unit)
        return {"kind": "admin#directory#orgUnits", "organizationUnits": found}

    def get_unit(self, path: str) -> dict[str, Any]:
        unit = self.org_units.get("/" + unquote(path).strip("/")) if not path.startswith("id:") else self.unit_by_id(path)
        if unit is None:
            raise ApiError(404, "Org unit not found", "NOT_FOUND", "notFound")
        return unit

    def insert_unit(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"].strip() or "/" in body["name"]:
            raise _invalid("Invalid Ou Name")
        parent = "/" + str(body.get("parentOrgUnitPath") or "").strip("/")
        if parent not in self.org_units:
            raise _invalid("Invalid Parent Orgunit Id")
        path = parent.rstrip("/") + "/" + body["name"]
        if path in self.org_units:
            raise ApiError(400, "Invalid Ou Id", "INVALID_ARGUMENT", "invalid")
        return self._add_unit(path, body["name"], parent, str(body.get("description") or ""))

    # ---- Chrome Policy API

    def _unit_of_target(self, target: Any) -> dict[str, Any]:
        resource = target.get("targetResource") if isinstance(target, dict) else None
        if not isinstance(resource, str) or not resource.startswith("orgunits/"):
            raise _invalid("policyTargetKey.targetResource must be orgunits/{orgunit_id}", POLICY_API)
        unit = self.unit_by_id(resource.split("/", 1)[1])
        if unit is None:
            raise _invalid(f"Org unit {resource} not found", POLICY_API)
        return unit

    def _keys(self, schema: str, target: dict[str, Any]) -> tuple[tuple[str, str], ...]:
        keys = target.get("additionalTargetKeys") or {}
        if not isinstance(keys, dict) or not all(isinstance(v, str) for v in keys.values()):
            raise _invalid("additionalTargetKeys must map names to strings", POLICY_API)
        wanted = TARGET_KEYS.get(schema.rsplit(".", 1)[0])
        if (wanted is None and keys) or (wanted is not None and set(keys) != {wanted}):
            raise _invalid(f"{schema}: additionalTargetKeys must be {{{wanted or ''}}}", POLICY_API)
        return tuple(sorted(keys.items()))

    def _check_batch(self, requests: Any) -> list[dict[str, Any]]:
        if not isinstance(requests, list) or not requests or not all(isinstance(item, dict) for item in requests):
            raise _invalid("requests must be a non-empty list", POLICY_API)
        roots, names = set(), set()
        for item in requests:
            schema = item.get("policySchema") or (item.get("policyValue") or {}).get("policySchema") or ""
            roots.add(schema.rsplit(".", 1)[0])
            names.add(tuple(sorted(((item.get("policyTargetKey") or {}).get("additionalTargetKeys") or {}).keys())))
        if len(roots) > 1:
            raise _invalid("All policies in a batch must have the same root namespace", POLICY_API)
        if len(names) > 1:
            raise _invalid("All targets in a batch must have the same additional target key names", POLICY_API)
        return requests

    def batch_modify(self, body: Any) -> dict[str, Any]:
        requests = self._check_batch(body.get("requests") if isinstance(body, dict) else None)
        changes = []
        for item in requests:
            value = item.get("policyValue") or {}
            schema = value.get("policySchema")
            if schema not in SCHEMAS:
                raise _invalid(f"Policy schema {schema!r} not found", POLICY_API)
            unit = self._unit_of_target(item.get("policyTargetKey"))
            keys = self._keys(schema, item["policyTargetKey"])
            mask = item.get("updateMask")
            if isinstance(mask, dict):
                mask = ",".join(mask.get("paths") or []) if isinstance(mask.get("paths"), list) else mask.get("paths")
            fields = [name for name in str(mask or "").split(",") if name]
            data = value.get("value")
            if not fields or not isinstance(data, dict):
                raise _invalid("updateMask and policyValue.value are required", POLICY_API)
            for name in fields:
                if name not in SCHEMAS[schema]:
                    raise _invalid(f"{schema}: unknown field {name!r} in updateMask", POLICY_API)
                if name not in data:
                    raise _invalid(f"{schema}: field {name!r} is in updateMask but has no value", POLICY_API)
            if schema.startswith("chrome.networks.") and not any(n["ou"] == unit["orgUnitId"] or self._above(n["ou"], unit)
                                                                  for key, n in self.networks.items() if ("network_id", key) in keys):
                raise _invalid(f"network {dict(keys).get('network_id')} is not defined at or above this org unit", POLICY_API)
            changes.append(((unit["orgUnitId"], schema, keys), {name: data[name] for name in fields}))
        for key, value in changes:  # all or nothing
            self.policies[key] = {**(self.policies.get(key) or {}), **value}
        return {}

    def batch_inherit(self, body: Any) -> dict[str, Any]:
        requests = self._check_batch(body.get("requests") if isinstance(body, dict) else None)
        removals = []
        for item in requests:
            schema = item.get("policySchema") or ""
            unit = self._unit_of_target(item.get("policyTargetKey"))
            if unit["orgUnitPath"] == "/":
                raise ApiError(400, "Policies of the root organizational unit cannot be inherited", "FAILED_PRECONDITION",
                               "failedPrecondition", service=POLICY_API)
            if schema.endswith(".*"):
                pattern = schema
            elif schema in SCHEMAS:
                pattern = schema
            else:
                raise _invalid(f"Policy schema {schema!r} not found", POLICY_API)
            keys = self._keys(schema.replace(".*", ".X"), item["policyTargetKey"])
            removals.append((unit["orgUnitId"], pattern, keys))
        for unit_id, pattern, keys in removals:
            for key in [k for k in self.policies if k[0] == unit_id and fnmatch.fnmatchcase(k[1], pattern) and k[2] == keys]:
                del self.policies[key]
        return {}

    def _above(self, unit_id: str, unit: dict[str, Any]) -> bool:
        """Whether OU ``unit_id`` is ``unit`` or one of its ancestors."""
        current: dict[str, Any] | None = unit
        while current is not None:
            if current["orgUnitId"] == unit_id:
                return True
            parent = current.get("parentOrgUnitPath")
            current = self.org_units.get(parent) if parent else None
        return False

    def resolve(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _invalid("Invalid JSON payload", POLICY_API)
        pattern = body.get("policySchemaFilter")
        if not isinstance(pattern, str) or not re.fullmatch(r"chrome(\.[A-Za-z]+)+(\.\*|\.[A-Za-z0-9]+)", pattern):
            raise _invalid(f"Invalid policy schema filter {pattern!r}", POLICY_API)
        unit = self._unit_of_target(body.get("policyTargetKey"))
        size = body.get("pageSize", 100)
        if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= 1000:
            raise _invalid("pageSize must be at most 1000", POLICY_API)
        size = size or 100
        chain = []
        current: dict[str, Any] | None = unit
        while current is not None:
            chain.append(current)
            parent = current.get("parentOrgUnitPath")
            current = self.org_units.get(parent) if parent else None
        found: dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, Any]] = {}
        for level in chain:  # nearest OU first: it wins
            for (unit_id, schema, keys), value in sorted(self.policies.items()):
                if unit_id != level["orgUnitId"] or not fnmatch.fnmatchcase(schema, pattern) or (schema, keys) in found:
                    continue
                if "." in pattern.replace(".*", "") and pattern.endswith(".*") and schema.rsplit(".", 1)[0] != pattern[:-2]:
                    continue
                target = {"targetResource": f"orgunits/{unit['orgUnitId'][3:]}"}
                source = {"targetResource": f"orgunits/{unit_id[3:]}"}
                if keys:
                    target["additionalTargetKeys"] = dict(keys)
                    source["additionalTargetKeys"] = dict(keys)
                resolved = {"targetKey": target, "value": {"policySchema": schema, "value": value}, "sourceKey": source}
                if keys:
                    resolved["addedSourceKey"] = source
                found[(schema, keys)] = resolved
        ordered = [found[key] for key in sorted(found)]
        offset = self.read_page_token(body["pageToken"], pattern) if body.get("pageToken") else 0
        answer: dict[str, Any] = {"resolvedPolicies": ordered[offset : offset + size]}
        if offset + size < len(ordered):
            answer["nextPageToken"] = self.page_token(offset + size, pattern)
        return answer

    def define_network(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"].strip():
            raise _invalid("name is required", POLICY_API)
        unit = self._unit_of_target({"targetResource": body.get("targetResource")})
        settings = body.get("settings")
        if not isinstance(settings, list) or not settings:
            raise _invalid("settings are required", POLICY_API)
        schemas = {}
        for item in settings:
            schema = item.get("policySchema") if isinstance(item, dict) else None
            if schema not in SCHEMAS or not schema.startswith("chrome.networks.wifi.") or not isinstance(item.get("value"), dict):
                raise _invalid(f"unknown network setting {schema!r}", POLICY_API)
            schemas[schema] = item["value"]
        if "chrome.networks.wifi.Details" not in schemas:
            raise _invalid("a Wi-Fi network needs chrome.networks.wifi.Details", POLICY_API)
        network_id = f"{uuid.uuid4()}"
        self.networks[network_id] = {"ou": unit["orgUnitId"], "name": body["name"]}
        for schema, value in schemas.items():
            self.policies[(unit["orgUnitId"], schema, (("network_id", network_id),))] = dict(value)
        return {"networkId": network_id, "targetResource": body["targetResource"], "settings": settings}

    def remove_network(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _invalid("Invalid JSON payload", POLICY_API)
        unit = self._unit_of_target({"targetResource": body.get("targetResource")})
        network = self.networks.get(str(body.get("networkId")))
        if network is None or network["ou"] != unit["orgUnitId"]:
            raise ApiError(404, "Network not found at this org unit", "NOT_FOUND", "notFound", service=POLICY_API)
        del self.networks[str(body["networkId"])]
        for key in [k for k in self.policies if ("network_id", str(body["networkId"])) in k[2]]:
            del self.policies[key]
        return {}


@functools.lru_cache(maxsize=8)
def _rsa_key(name: str) -> rsa.RSAPrivateKey:
    """One RSA key per account name for the whole run (generating one takes a quarter second)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _now(delta: dt.timedelta = dt.timedelta()) -> str:
    return (dt.datetime.now(dt.UTC) + delta).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int(query: dict[str, list[str]], name: str, default: int) -> int:
    raw = query.get(name, [str(default)])[0]
    try:
        return int(raw)
    except ValueError:
        raise _invalid(f"Invalid value '{raw}' for {name}") from None


def _payload(payload: Any) -> dict[str, Any]:
    try:
        value = json.loads(payload) if isinstance(payload, str) else None
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise _invalid("payload must be a stringified JSON object")
    return value


def _select_fields(item: dict[str, Any], selector: str) -> dict[str, Any]:
    """Google's partial response: ``fields=nextPageToken,chromeosdevices(a,b,c(d))`` keeps a, b and c."""
    match = re.search(r"chromeosdevices\((.*)\)", selector)
    if not match:
        return dict(item)
    names, depth, current = [], 0, ""
    for char in match.group(1):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            names.append(current)
            current = ""
            continue
        if depth == 0 and char != ")":
            current += char
    names.append(current)
    wanted = {name.strip() for name in names if name.strip()}
    return {key: value for key, value in item.items() if key in wanted}


class _Handler(BaseHTTPRequestHandler):
    google: FakeGoogle
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave at once, as from Google's front ends

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        return

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def _serve(self, method: str) -> None:
        google = self.google
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        record = Recorded(method, path, query, None)
        headers: dict[str, str] = {}
        try:
            if path == "/token" and method == "POST":
                status, answer = google.token(parse_qs(raw.decode("utf-8", "replace")))
            else:
                try:
                    record.body = json.loads(raw) if raw else None
                except ValueError:
                    raise _invalid("Invalid JSON payload received.") from None
                failure = google.scripted_failure(path)
                if failure is not None:
                    raise failure
                with google._lock:
                    status, answer = 200, self._route(method, path, query, record.body)
        except ApiError as error:
            status, answer, headers = error.code, error.body(), error.headers
        record.status = status
        with google._lock:  # recorded before the answer leaves, so a client sees its own request logged
            google.requests.append(record)
        self._send(status, answer, headers)

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> Any:
        google = self.google
        directory = re.fullmatch(r"/admin/directory/v1/(customers?)/([^/]+)(/.*)?", path)
        policy = re.fullmatch(r"/v1/customers/([^/]+)/(policies.*)", path)
        if directory:
            kind, customer, rest = directory.group(1), unquote(directory.group(2)), directory.group(3) or ""
            if kind == "customers" and method == "GET" and not rest:
                google.authorize(self.headers.get("Authorization"), ADMIN_API, (CUSTOMER_SCOPE, CUSTOMER_READ))
                google.customer(customer)
                return {"kind": "admin#directory#customer", "id": google.customer_id, "customerDomain": google.domain,
                        "language": "no", "customerCreationTime": "2015-08-11T09:12:00.000Z"}
            return self._directory(method, customer, rest, query, body)
        if policy:
            google.authorize(self.headers.get("Authorization"), POLICY_API,
                             (POLICY_SCOPE, POLICY_READ) if policy.group(2) == "policies:resolve" else (POLICY_SCOPE,))
            google.customer(unquote(policy.group(1)), POLICY_API)
            action = policy.group(2)
            handlers = {
                "policies:resolve": google.resolve,
                "policies/orgunits:batchModify": google.batch_modify,
                "policies/orgunits:batchInherit": google.batch_inherit,
                "policies/networks:defineNetwork": google.define_network,
                "policies/networks:removeNetwork": google.remove_network,
            }
            if method != "POST" or action not in handlers:
                raise ApiError(404, "Method not found.", "NOT_FOUND", service=POLICY_API)
            return handlers[action](body)
        raise ApiError(404, "Not Found", "NOT_FOUND")

    def _directory(self, method: str, customer: str, rest: str, query: dict[str, list[str]], body: Any) -> Any:
        google, auth = self.google, self.headers.get("Authorization")
        devices = "/devices/chromeos"
        read, write = (DEVICE_SCOPE, DEVICE_READ), (DEVICE_SCOPE,)
        if rest.startswith("/orgunits"):
            google.authorize(auth, ADMIN_API, (ORGUNIT_SCOPE, ORGUNIT_READ) if method == "GET" else (ORGUNIT_SCOPE,))
            google.customer(customer)
            if rest == "/orgunits" and method == "GET":
                return google.list_units(query)
            if rest == "/orgunits" and method == "POST":
                return google.insert_unit(body)
            if method == "GET":
                return google.get_unit(rest[len("/orgunits/"):])
        elif rest.startswith(devices):
            google.authorize(auth, ADMIN_API, read if method == "GET" else write)
            google.customer(customer)
            tail = rest[len(devices):]
            if tail == "" and method == "GET":
                return google.list_devices(query)
            if tail == "/moveDevicesToOu" and method == "POST":
                google.move_devices(query.get("orgUnitPath", [None])[0], body)
                return {}
            if tail == ":batchChangeStatus" and method == "POST":
                return google.batch_change_status(body)
            command = re.fullmatch(r"/([^/:]+):issueCommand", tail)
            if command and method == "POST":
                return google.issue_command(unquote(command.group(1)), body)
            got = re.fullmatch(r"/([^/:]+)/commands/([^/]+)", tail)
            if got and method == "GET":
                return google.get_command(unquote(got.group(1)), unquote(got.group(2)))
            one = re.fullmatch(r"/([^/:]+)", tail)
            if one and method == "GET":
                return google.device(unquote(one.group(1)))
        raise ApiError(404, "Not Found", "NOT_FOUND")

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def main() -> None:  # pragma: no cover - the benchmark's helper
    import argparse
    from pathlib import Path

    from tests.fakes import pki

    parser = argparse.ArgumentParser(description="A fake Google for Flokk's benchmark")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--devices", type=int, default=20000)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args()
    ca = pki.make_ca("Fake Google CA")
    server = pki.issue(ca, "localhost", server_names=("127.0.0.1", "localhost"))
    google = FakeGoogle(server.cert_pem, server.key_pem, port=args.port).start()
    args.dir.mkdir(parents=True, exist_ok=True)
    (args.dir / "ca.pem").write_bytes(ca.cert_pem)
    (args.dir / "key.json").write_text(json.dumps(google.service_account_key()))
    per_ou = args.devices // 3
    for index, name in enumerate(("Nordby", "Sorby", "Vestby")):
        google.add_devices(per_ou + (args.devices % 3 if index == 0 else 0), f"/Skoler/{name}")
    print(google.url, flush=True)
    threading.Event().wait()


if __name__ == "__main__":  # pragma: no cover
    main()
