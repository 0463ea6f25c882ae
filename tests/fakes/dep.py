"""A local Apple device enrollment (DEP / "Device Assignment") service for tests and the benchmark.

Speaks HTTPS and enforces what Apple's documentation says the real service
does (Device Management: "Authenticating for Automated Device Enrollment",
"Get a List of Devices", "Sync the List of Devices", "Define a Profile",
"Assign a Profile", "Remove a Profile", "Get Device Details", "Get Account
Detail"):

- ``GET /session`` checks the OAuth 1.0a ``Authorization`` header itself
  (RFC 5849 HMAC-SHA1 over method, URL and the oauth parameters, keyed with
  consumer secret & access secret; timestamp within five minutes; a nonce
  used once) and answers ``{"auth_session_token": ...}``; refusals are 401
  ``UNAUTHORIZED``, 403 ``ACCESS_DENIED`` (revoked token) or 403
  ``T_C_NOT_SIGNED`` (terms to accept);
- every other call needs a live ``X-ADM-Auth-Session`` (else 401) and an
  ``X-Server-Protocol-Version``;
- fetch pages a snapshot with ``cursor`` / ``more_to_follow`` (limit at
  most 1000); sync returns the changes after a cursor with ``op_type`` and
  ``op_date``; cursors are refused as ``INVALID_CURSOR``, ``EXPIRED_CURSOR``
  (older than 7 days) or ``EXHAUSTED_CURSOR``;
- profiles get a ``profile_uuid``; assignment answers per serial
  ``SUCCESS`` or ``NOT_ACCESSIBLE`` (and records what was assigned);
- scripted trouble: 429 with ``Retry-After``, 503, expired sessions.

It also plays Apple School Manager's part: devices are added, modified and
deleted as an ASM administrator would, and :meth:`FakeDep.server_token`
makes a server token the way ASM does (S/MIME, encrypted to the MDM
server's certificate with ``openssl smime``).

Run standalone (benchmark): ``python -m tests.fakes.dep --port 8444 --dir /tmp/fake-dep --devices 50000``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import itertools
import json
import os
import re
import secrets
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, unquote

from cryptography import x509

CURSOR_LIFETIME = dt.timedelta(days=7)
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
MAX_ASSIGN = 1000
_OAUTH_PARAM = re.compile(r'([A-Za-z_]+)="([^"]*)"')


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def _pct(value: str) -> str:
    return quote(value, safe="~-._")


@dataclass
class Credentials:
    consumer_key: str
    consumer_secret: str
    access_token: str
    access_secret: str
    expiry: dt.datetime

    def as_json(self) -> str:
        return json.dumps({
            "consumer_key": self.consumer_key, "consumer_secret": self.consumer_secret,
            "access_token": self.access_token, "access_secret": self.access_secret,
            "access_token_expiry": _iso(self.expiry),
        })


@dataclass
class FakeDevice:
    serial_number: str
    model: str = "iPad (10th generation)"
    description: str = "IPAD WI-FI 64GB SILVER"
    color: str = "SILVER"
    asset_tag: str | None = None
    device_assigned_by: str = "it@bergvik.kommune.no"
    device_assigned_date: dt.datetime = field(default_factory=_now)
    os: str = "iPadOS"
    device_family: str = "iPad"
    profile_status: str = "empty"
    profile_uuid: str | None = None
    profile_assign_time: dt.datetime | None = None
    deleted: bool = False

    def as_json(self, op_type: str | None = None, op_date: dt.datetime | None = None) -> dict[str, Any]:
        body = {
            "serial_number": self.serial_number, "model": self.model, "description": self.description,
            "color": self.color, "device_assigned_by": self.device_assigned_by,
            "device_assigned_date": _iso(self.device_assigned_date), "os": self.os,
            "device_family": self.device_family, "profile_status": self.profile_status,
        }
        if self.asset_tag:
            body["asset_tag"] = self.asset_tag
        if self.profile_uuid:
            body["profile_uuid"] = self.profile_uuid
            body["profile_assign_time"] = _iso(self.profile_assign_time)
        if op_type:
            body["op_type"], body["op_date"] = op_type, _iso(op_date)
        return body


@dataclass
class Cursor:
    seq: int  # changes up to this sequence number are known to the holder
    created: dt.datetime
    snapshot: list[str] | None = None  # fetch only: the serials of the snapshot
    offset: int = 0


def server_token_file(credentials: Credentials, recipient: x509.Certificate) -> bytes:
    """A ``.p7m`` as ASM makes it: S/MIME, AES-256, encrypted to the uploaded certificate (``openssl smime``)."""
    from cryptography.hazmat.primitives import serialization

    inner = (
        "Content-Type: text/plain;charset=UTF-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
        f"-----BEGIN MESSAGE-----\r\n{credentials.as_json()}\r\n-----END MESSAGE-----\r\n"
    ).encode()
    binary = shutil.which("openssl")
    assert binary is not None, "openssl is needed to make a server token as ASM does"
    with tempfile.TemporaryDirectory() as folder:
        recipient_path = os.path.join(folder, "recipient.pem")
        with open(recipient_path, "wb") as handle:
            handle.write(recipient.public_bytes(serialization.Encoding.PEM))
        done = subprocess.run([binary, "smime", "-encrypt", "-aes256", "-binary", recipient_path],
                              input=inner, capture_output=True, timeout=30, check=True)
    return done.stdout


class FakeDep:
    """The service on 127.0.0.1 over TLS, in a thread; state is reached through the methods below."""

    def __init__(self, *, cert_pem: bytes, key_pem: bytes, host: str = "127.0.0.1", port: int = 0,
                 server_name: str = "Flokk Bergvik", org_name: str = "Bergvik kommune") -> None:
        self.host, self.port = host, port
        self.server_name, self.org_name = server_name, org_name
        self.server_uuid = str(uuid.uuid4()).upper()
        self._cert_pem, self._key_pem = cert_pem, key_pem
        self._lock = threading.RLock()
        self.clock = _now
        self.credentials = self.new_credentials()
        self.terms_signed = True
        self.revoked = False
        self.session_lifetime = dt.timedelta(minutes=5)
        self.devices: dict[str, FakeDevice] = {}
        self.changes: list[tuple[int, str, str, dt.datetime]] = []  # (seq, serial, op_type, op_date)
        self._seq = itertools.count(1)
        self.last_seq = 0
        self.cursors: dict[str, Cursor] = {}
        self.sessions: dict[str, dt.datetime] = {}
        self.nonces: set[str] = set()
        self.profiles: dict[str, dict[str, Any]] = {}
        self.assignments: list[tuple[str, tuple[str, ...]]] = []  # (profile_uuid, serials) per call
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status)
        self._trouble: list[tuple[int, dict[str, str], bytes]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- Apple School Manager's side -------------------------------------------------

    @staticmethod
    def new_credentials(expiry: dt.datetime | None = None) -> Credentials:
        return Credentials(
            consumer_key=f"CK_{secrets.token_hex(24)}", consumer_secret=f"CS_{secrets.token_hex(20)}",
            access_token=f"AT_{secrets.token_hex(32)}", access_secret=f"AS_{secrets.token_hex(20)}",
            expiry=expiry or _now() + dt.timedelta(days=365),
        )

    def server_token(self, recipient: x509.Certificate) -> bytes:
        """The ``.p7m`` ASM offers for download for this server's credentials (see :func:`server_token_file`)."""
        return server_token_file(self.credentials, recipient)

    def add_devices(self, count: int, *, prefix: str = "DMP", start: int = 0, **fields: Any) -> list[str]:
        """Devices an ASM administrator assigns to this MDM server (``op_type`` added)."""
        serials = []
        with self._lock:
            for number in range(start, start + count):
                serial = f"{prefix}{number:0{12 - len(prefix)}d}"
                self.devices[serial] = FakeDevice(serial, **fields)
                self._change(serial, "added")
                serials.append(serial)
        return serials

    def modify(self, serial: str, **fields: Any) -> None:
        with self._lock:
            device = self.devices[serial]
            for name, value in fields.items():
                setattr(device, name, value)
            self._change(serial, "modified")

    def delete(self, serial: str) -> None:
        """The device is released or moved to another MDM server in ASM (``op_type`` deleted)."""
        with self._lock:
            self.devices[serial].deleted = True
            self._change(serial, "deleted")

    def expire_sessions(self) -> None:
        with self._lock:
            self.sessions.clear()

    def trouble(self, status: int, times: int = 1, *, retry_after: int | None = None, body: bytes = b"") -> None:
        """Answer the next ``times`` requests with ``status`` (429 carries ``Retry-After``)."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        with self._lock:
            self._trouble.extend([(status, headers, body)] * times)

    def assigned(self) -> dict[str, str]:
        """serial → profile_uuid as the service holds it now."""
        with self._lock:
            return {s: d.profile_uuid for s, d in self.devices.items() if d.profile_uuid and not d.deleted}

    def _change(self, serial: str, op_type: str) -> None:
        seq = next(self._seq)
        self.last_seq = seq
        self.changes.append((seq, serial, op_type, self.clock()))

    # --- serving ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def start(self) -> FakeDep:
        fake = self

        class Handler(_Handler):
            service = fake

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory() as folder:
            cert_path, key_path = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
            with open(cert_path, "wb") as handle:
                handle.write(self._cert_pem)
            with open(key_path, "wb") as handle:
                handle.write(self._key_pem)
            context.load_cert_chain(cert_path, key_path)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-dep", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeDep:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- the API, called with the lock held -------------------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes, host: str) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            if self._trouble:
                return self._trouble.pop(0)
            if path == "/session" and method == "GET":
                return self._session(headers, host)
            if not headers.get("x-server-protocol-version", "").isdigit():
                return _error(400, "X-Server-Protocol-Version header is required")
            session = headers.get("x-adm-auth-session", "")
            expires = self.sessions.get(session)
            if expires is None or expires <= self.clock():
                return _error(401, "UNAUTHORIZED")
            if not self.terms_signed:
                return _error(403, "T_C_NOT_SIGNED")
            if self.revoked:
                return _error(403, "ACCESS_DENIED")
            routes = {
                ("GET", "/account"): self._account,
                ("POST", "/server/devices"): self._fetch,
                ("POST", "/devices/sync"): self._sync,
                ("POST", "/devices"): self._details,
                ("POST", "/profile"): self._define,
                ("PUT", "/profile/devices"): self._assign,
                ("POST", "/profile/devices"): self._assign,
                ("DELETE", "/profile/devices"): self._remove,
            }
            route = routes.get((method, path))
            if route is None:
                return _error(405 if path in {p for _, p in routes} else 404, "METHOD_NOT_ALLOWED")
            if method != "GET":
                try:
                    payload = json.loads(body or b"null")
                except ValueError:
                    return _error(400, "MALFORMED_REQUEST_BODY")
                if not isinstance(payload, dict):
                    return _error(400, "MALFORMED_REQUEST_BODY")
                return route(payload)
            return route()

    def _session(self, headers: dict[str, str], host: str) -> tuple[int, dict[str, str], bytes]:
        header = headers.get("authorization", "")
        if not header.startswith("OAuth "):
            return _error(400, "oauth_problem_advice=Missing OAuth Authorization header")
        params = {name: unquote(value) for name, value in _OAUTH_PARAM.findall(header)}
        needed = ("oauth_consumer_key", "oauth_token", "oauth_signature_method", "oauth_signature",
                  "oauth_timestamp", "oauth_nonce")
        if any(name not in params for name in needed) or params.get("oauth_version", "1.0") != "1.0":
            return _error(400, "oauth_problem_advice=Missing or Invalid OAuth params")
        if params["oauth_signature_method"] != "HMAC-SHA1":
            return _error(400, "oauth_problem_advice=signature method must be HMAC-SHA1")
        credentials = self.credentials
        if params["oauth_consumer_key"] != credentials.consumer_key or params["oauth_token"] != credentials.access_token:
            return _error(401, "UNAUTHORIZED")
        if not params["oauth_timestamp"].isdigit() or abs(int(params["oauth_timestamp"]) - time.time()) > 300:
            return _error(401, "UNAUTHORIZED")
        if params["oauth_nonce"] in self.nonces:
            return _error(401, "UNAUTHORIZED")
        signed = {name: value for name, value in params.items() if name.startswith("oauth_") and name != "oauth_signature"}
        normalized = "&".join(f"{k}={v}" for k, v in sorted((_pct(k), _pct(v)) for k, v in signed.items()))
        base = "&".join(("GET", _pct(f"https://{host}/session"), _pct(normalized)))
        key = f"{_pct(credentials.consumer_secret)}&{_pct(credentials.access_secret)}".encode()
        expected = base64.b64encode(hmac.new(key, base.encode(), hashlib.sha1).digest()).decode()
        if not hmac.compare_digest(expected, params["oauth_signature"]):
            return _error(401, "UNAUTHORIZED")
        self.nonces.add(params["oauth_nonce"])
        if credentials.expiry <= self.clock() or self.revoked:
            return _error(401 if not self.revoked else 403, "UNAUTHORIZED" if not self.revoked else "ACCESS_DENIED")
        if not self.terms_signed:
            return _error(403, "T_C_NOT_SIGNED")
        token = secrets.token_hex(24)
        self.sessions[token] = self.clock() + self.session_lifetime
        return _json({"auth_session_token": token})

    def _account(self) -> tuple[int, dict[str, str], bytes]:
        return _json({
            "server_name": self.server_name, "server_uuid": self.server_uuid, "admin_id": "it@bergvik.kommune.no",
            "org_name": self.org_name, "org_email": "it@bergvik.kommune.no", "org_phone": "+47 55 00 00 00",
            "org_address": "Rådhusplassen 1, 5020 Bergvik", "org_type": "edu", "org_version": "v2",
            "org_id": "2F1A7", "org_id_hash": hashlib.sha256(b"2F1A7").hexdigest(),
            "urls": [
                {"uri": "/server/devices", "http_method": ["POST"], "limit": {"default": DEFAULT_LIMIT, "maximum": MAX_LIMIT}},
                {"uri": "/devices/sync", "http_method": ["POST"], "limit": {"default": DEFAULT_LIMIT, "maximum": MAX_LIMIT}},
                {"uri": "/profile/devices", "http_method": ["PUT", "POST", "DELETE"], "limit": {"maximum": MAX_ASSIGN}},
            ],
        })

    def _limit(self, payload: dict[str, Any]) -> int | None:
        limit = payload.get("limit", DEFAULT_LIMIT)
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            return None
        return min(limit, MAX_LIMIT)

    def _cursor(self, value: Any) -> Cursor | tuple[int, dict[str, str], bytes]:
        if not isinstance(value, str) or value not in self.cursors:
            return _error(400, "INVALID_CURSOR")
        cursor = self.cursors[value]
        if self.clock() - cursor.created > CURSOR_LIFETIME:
            return _error(400, "EXPIRED_CURSOR")
        return cursor

    def _new_cursor(self, cursor: Cursor) -> str:
        name = secrets.token_hex(16).upper()
        self.cursors[name] = cursor
        return name

    def _fetch(self, payload: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        limit = self._limit(payload)
        if limit is None:
            return _error(400, "INVALID_LIMIT")
        if payload.get("cursor"):
            found = self._cursor(payload["cursor"])
            if not isinstance(found, Cursor):
                return found
            if found.snapshot is None or found.offset >= len(found.snapshot):
                return _error(400, "EXHAUSTED_CURSOR")
            snapshot, offset, seq = found.snapshot, found.offset, found.seq
        else:
            snapshot = sorted(serial for serial, device in self.devices.items() if not device.deleted)
            offset, seq = 0, self.last_seq
        page = snapshot[offset : offset + limit]
        end = offset + len(page)
        more = end < len(snapshot)
        cursor = self._new_cursor(Cursor(seq, self.clock(), snapshot if more else None, end))
        return _json({
            "devices": [self.devices[serial].as_json() for serial in page],
            "cursor": cursor, "more_to_follow": more, "fetched_until": _iso(self.clock()),
        })

    def _sync(self, payload: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        if not payload.get("cursor"):
            return _error(400, "CURSOR_REQUIRED")
        limit = self._limit(payload)
        if limit is None:
            return _error(400, "INVALID_LIMIT")
        found = self._cursor(payload["cursor"])
        if not isinstance(found, Cursor):
            return found
        pending = [change for change in self.changes if change[0] > found.seq]
        page = pending[:limit]
        seq = page[-1][0] if page else found.seq
        devices = [self.devices[serial].as_json(op_type, op_date) for _, serial, op_type, op_date in page]
        return _json({
            "devices": devices, "cursor": self._new_cursor(Cursor(seq, self.clock())),
            "more_to_follow": len(pending) > limit, "fetched_until": _iso(self.clock()),
        })

    def _details(self, payload: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        serials = payload.get("devices")
        if not isinstance(serials, list) or not serials:
            return _error(400, "DEVICE_ID_REQUIRED")
        found = {}
        for serial, device in self._accessible(serials):
            found[serial] = {**device.as_json(), "response_status": "SUCCESS"} if device else {"response_status": "NOT_ACCESSIBLE"}
        return _json({"devices": found})

    def _accessible(self, serials: list[Any]) -> list[tuple[str, FakeDevice | None]]:
        """Each serial asked about, with its device when it is assigned to this server (else None)."""
        found = []
        for serial in serials:
            device = self.devices.get(str(serial))
            found.append((str(serial), device if device is not None and not device.deleted else None))
        return found

    _PROFILE_KEYS: dict[str, type | tuple[type, ...]] = {
        "profile_name": str, "url": str, "allow_pairing": bool, "is_supervised": bool, "is_multi_user": bool,
        "is_mandatory": bool, "await_device_configured": bool, "is_mdm_removable": bool, "support_phone_number": str,
        "auto_advance_setup": bool, "support_email_address": str, "org_magic": str, "anchor_certs": list,
        "supervising_host_certs": list, "skip_setup_items": list, "department": str, "devices": list,
        "language": str, "region": str, "configuration_web_url": str,
    }

    def _define(self, payload: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        for key, value in payload.items():
            expected = self._PROFILE_KEYS.get(key)
            if expected is None or not isinstance(value, expected):
                return _error(400, "MALFORMED_REQUEST_BODY")
        if not payload.get("profile_name") or not str(payload.get("url", "")).startswith("https://"):
            return _error(400, "INVALID_PROFILE")
        if payload.get("is_mdm_removable") is False and payload.get("is_supervised") is not True:
            return _error(400, "INVALID_PROFILE")
        for item in payload.get("skip_setup_items", []):
            if not isinstance(item, str):
                return _error(400, "MALFORMED_REQUEST_BODY")
        for der in payload.get("anchor_certs", []):
            try:
                x509.load_der_x509_certificate(base64.b64decode(der, validate=True))
            except (ValueError, TypeError):
                return _error(400, "INVALID_ANCHOR_CERTS")
        profile_uuid = uuid.uuid4().hex.upper()
        self.profiles[profile_uuid] = {key: value for key, value in payload.items() if key != "devices"}
        outcomes = self._apply(profile_uuid, payload.get("devices") or [])
        return _json({"profile_uuid": profile_uuid, "devices": outcomes})

    def _assign(self, payload: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        profile_uuid, serials = payload.get("profile_uuid"), payload.get("devices")
        if not isinstance(profile_uuid, str) or not profile_uuid:
            return _error(400, "PROFILE_UUID_REQUIRED")
        if profile_uuid not in self.profiles:
            return _error(400, "INVALID_PROFILE")
        if not isinstance(serials, list) or not serials:
            return _error(400, "DEVICE_ID_REQUIRED")
        if len(serials) > MAX_ASSIGN:
            return _error(400, "TOO_MANY_DEVICES")
        return _json({"profile_uuid": profile_uuid, "devices": self._apply(profile_uuid, serials)})

    def _apply(self, profile_uuid: str | None, serials: list[Any]) -> dict[str, str]:
        """Assign ``profile_uuid`` (None: remove the profile); Apple's outcome per serial."""
        outcomes = {}
        for serial, device in self._accessible(serials):
            if device is None:
                outcomes[serial] = "NOT_ACCESSIBLE"
                continue
            device.profile_uuid, device.profile_status = profile_uuid, "assigned" if profile_uuid else "removed"
            device.profile_assign_time = self.clock() if profile_uuid else device.profile_assign_time
            self._change(device.serial_number, "modified")
            outcomes[serial] = "SUCCESS"
        if serials and profile_uuid:
            self.assignments.append((profile_uuid, tuple(str(serial) for serial in serials)))
        return outcomes

    def _remove(self, payload: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        serials = payload.get("devices")
        if not isinstance(serials, list) or not serials:
            return _error(400, "DEVICE_ID_REQUIRED")
        return _json({"devices": self._apply(None, serials)})


class _Handler(BaseHTTPRequestHandler):
    service: FakeDep
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        status, extra, answer = self.service.handle(self.command, self.path, headers, body, self.headers.get("Host", ""))
        self.service.requests.append((self.command, self.path, status))
        self.send_response(status)
        for name, value in {"Content-Type": "application/json;charset=UTF8", **extra}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        return


def _json(value: Any) -> tuple[int, dict[str, str], bytes]:
    return 200, {}, json.dumps(value).encode()


def _error(status: int, code: str) -> tuple[int, dict[str, str], bytes]:
    """Apple answers errors as a short text body naming the code."""
    return status, {"Content-Type": "text/plain;charset=UTF8"}, code.encode()


def main() -> None:  # pragma: no cover - the benchmark's standalone fake
    import argparse
    import pathlib

    from tests.fakes import pki

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8444)
    parser.add_argument("--dir", type=pathlib.Path, required=True, help="writes ca.pem and token.p7m here")
    parser.add_argument("--devices", type=int, default=50_000)
    parser.add_argument("--schools", type=int, default=0, help="spread the devices over this many purchasers "
                        "(device_assigned_by innkjop@sNNN.bergvik.no)")
    parser.add_argument("--recipient", type=pathlib.Path, required=True, help="the MDM server's certificate (PEM)")
    arguments = parser.parse_args()
    ca = pki.make_ca("Fake DEP CA")
    server = pki.issue(ca, "localhost", server_names=("127.0.0.1", "localhost"))
    fake = FakeDep(cert_pem=server.cert_pem, key_pem=server.key_pem, port=arguments.port)
    if arguments.schools:
        for number in range(arguments.schools):
            count = arguments.devices // arguments.schools + (number < arguments.devices % arguments.schools)
            fake.add_devices(count, prefix=f"D{number:03d}", device_assigned_by=f"innkjop@s{number:03d}.bergvik.no")
    else:
        fake.add_devices(arguments.devices)
    arguments.dir.mkdir(parents=True, exist_ok=True)
    (arguments.dir / "ca.pem").write_bytes(ca.cert_pem)
    recipient = x509.load_pem_x509_certificate(arguments.recipient.read_bytes())
    (arguments.dir / "token.p7m").write_bytes(fake.server_token(recipient))
    fake.start()
    print(f"fake DEP on {fake.url} with {arguments.devices} devices", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":  # pragma: no cover
    main()
