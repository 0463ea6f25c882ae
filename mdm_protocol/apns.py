"""APNs client for MDM wake-up pushes: one HTTP/2 connection, many streams.

Implements the provider side of Apple's *Sending notification requests to
APNs* and *Handling notification responses from APNs* (User Notifications
documentation) as used by the MDM protocol (*Device Management*: "Sending
MDM commands to a device" — the push carries only ``{"mdm": PushMagic}``,
with ``apns-push-type: mdm`` and the push certificate's topic), with
certificate-based authentication (the MDM push certificate from Apple's
Push Certificates Portal as the TLS client certificate).

Outcome per push: sent; invalid token (410 Unregistered, 400 BadDeviceToken
or DeviceTokenNotForTopic: stop pushing this device); retried with
exponential back-off and jitter on 429, 5xx and broken connections, up to a
limit; or failed (any other answer, e.g. a 403 for a bad certificate, which
also stops the rest of the batch: every push would fail the same way).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import functools
import json
import os
import random
import ssl
import tempfile
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from urllib.parse import urlsplit

import h2.config
import h2.connection
import h2.events
import h2.exceptions
from hpack import NeverIndexedHeaderTuple

PRODUCTION_URL = "https://api.push.apple.com"

#: Reasons (Apple's ``reason`` field) that mean "this token will never work".
INVALID_TOKEN_REASONS = frozenset({"BadDeviceToken", "Unregistered", "DeviceTokenNotForTopic", "ExpiredToken"})
#: Reasons that mean the whole batch is doomed (certificate or topic problem).
FATAL_REASONS = frozenset(
    {"BadCertificate", "BadCertificateEnvironment", "Forbidden", "MissingTopic", "TopicDisallowed", "BadTopic",
     "InvalidProviderToken", "MissingProviderToken"}
)


class Outcome(enum.StrEnum):
    SENT = "sent"
    INVALID_TOKEN = "invalid_token"
    GAVE_UP = "gave_up"  # retryable failures until the attempt limit
    FAILED = "failed"  # refused for a reason retrying cannot fix
    RETRY = "retry"  # internal: one attempt that should be repeated


_RETRY = Outcome.RETRY


@dataclass(frozen=True)
class Push:
    """One wake-up: the device's push token and PushMagic; ``ref`` is the caller's key."""

    token: bytes
    push_magic: str
    ref: object = None

    @property
    def token_hex(self) -> str:
        return self.token.hex()


@dataclass(frozen=True)
class PushResult:
    push: Push
    outcome: Outcome
    status: int | None = None
    reason: str | None = None
    apns_id: str | None = None
    attempts: int = 1


@dataclass(frozen=True)
class ApnsSettings:
    """Where and how to push. ``cert_pem``/``key_pem`` are the MDM push identity."""

    topic: str
    cert_pem: bytes
    key_pem: bytes
    url: str = PRODUCTION_URL
    ca_file: str | None = None  # None: the system's trust store (tests point at the fake's CA)
    priority: int = 10
    expiration_seconds: int = 7 * 24 * 3600
    max_in_flight: int = 100
    max_attempts: int = 5
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    timeout: float = 20.0
    key_password: bytes | None = field(default=None, repr=False)


class ApnsClient:
    """Sends MDM pushes over a single HTTP/2 connection (use ``async with``).

    If APNs closes the connection (GOAWAY, idle timeout, network), the next
    push opens a new one; pushes caught in between are retried.
    """

    def __init__(self, settings: ApnsSettings, *, sleep=asyncio.sleep) -> None:
        self.settings = settings
        self._sleep = sleep
        self._ssl: ssl.SSLContext | None = None
        self._conn: _Connection | None = None
        self._connect_lock: asyncio.Lock | None = None
        self._fatal: tuple[int, str] | None = None
        self._header_cache: tuple[int, list[tuple[bytes, bytes]]] | None = None
        self.connections_opened = 0

    async def __aenter__(self) -> ApnsClient:
        self._ssl = client_ssl_context(self.settings)
        self._connect_lock = asyncio.Lock()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def push_many(self, pushes: Iterable[Push]) -> list[PushResult]:
        """Send every push, at most ``max_in_flight`` streams at once; results in input order.

        A fixed pool of workers pulls from the list (rather than one task per
        push) so 50,000 pushes cost 500 tasks, not 50,000.
        """
        todo = list(pushes)
        results: list[PushResult | None] = [None] * len(todo)
        cursor = iter(range(len(todo)))

        async def worker() -> None:
            for index in cursor:
                results[index] = await self._push_with_retries(todo[index])

        await asyncio.gather(*(worker() for _ in range(min(self.settings.max_in_flight, len(todo)))))
        return [result for result in results if result is not None]

    async def _push_with_retries(self, push: Push) -> PushResult:
        attempt = 0
        while True:
            attempt += 1
            if self._fatal is not None:
                status, reason = self._fatal
                return PushResult(push, Outcome.FAILED, status, reason, attempts=attempt - 1)
            result = await self._push_once(push, attempt)
            if result.outcome is not _RETRY:
                return result
            if attempt >= self.settings.max_attempts:
                return PushResult(push, Outcome.GAVE_UP, result.status, result.reason, attempts=attempt)
            await self._sleep(backoff_delay(attempt, self.settings.backoff_base, self.settings.backoff_cap))

    def _headers(self) -> list[tuple[bytes, bytes]]:
        """The APNs request headers; the same for every push of a batch (so HPACK indexes them)."""
        expiration = int(time.time()) + self.settings.expiration_seconds
        if self._header_cache is None or self._header_cache[0] != expiration:
            self._header_cache = (expiration, [
                (b"apns-topic", self.settings.topic.encode()),
                (b"apns-push-type", b"mdm"),
                (b"apns-priority", str(self.settings.priority).encode()),
                (b"apns-expiration", str(expiration).encode()),
            ])
        return self._header_cache[1]

    async def _push_once(self, push: Push, attempt: int) -> PushResult:
        """One attempt; an outcome of ``_RETRY`` means "try again after a pause"."""
        body = b'{"mdm":' + json.dumps(push.push_magic).encode() + b"}"
        try:
            async with asyncio.timeout(self.settings.timeout):
                conn = await self._connection()
                status, answer_headers, answer = await conn.request(f"/3/device/{push.token_hex}", self._headers(), body)
        except _NoHttp2 as exc:
            self._fatal = (0, str(exc))
            return PushResult(push, Outcome.FAILED, None, str(exc), attempts=attempt)
        except (_ConnectionLost, OSError, ssl.SSLError, asyncio.TimeoutError, h2.exceptions.H2Error) as exc:
            return PushResult(push, _RETRY, None, _describe(exc), attempts=attempt)
        apns_id = answer_headers.get("apns-id")
        if status == 200:
            return PushResult(push, Outcome.SENT, status, None, apns_id, attempt)
        reason = _reason(answer)
        if status == 410 or reason in INVALID_TOKEN_REASONS:
            return PushResult(push, Outcome.INVALID_TOKEN, status, reason, apns_id, attempt)
        if status == 429 or status >= 500:
            return PushResult(push, _RETRY, status, reason, apns_id, attempt)
        if status == 403 or reason in FATAL_REASONS:
            self._fatal = (status, reason or "")
        return PushResult(push, Outcome.FAILED, status, reason, apns_id, attempt)

    async def _connection(self) -> _Connection:
        assert self._connect_lock is not None and self._ssl is not None, "use 'async with ApnsClient(...)'"
        conn = self._conn
        if conn is not None and conn.usable:
            return conn
        async with self._connect_lock:
            if self._conn is None or not self._conn.usable:
                if self._conn is not None:
                    await self._conn.close()
                self._conn = await _Connection.open(self.settings.url, self._ssl)
                self.connections_opened += 1
            return self._conn


class _ConnectionLost(Exception):
    """The connection ended before APNs answered this stream."""


class _NoHttp2(Exception):
    """The server did not agree to HTTP/2 (ALPN); APNs always does."""



class _Connection:
    """One HTTP/2 connection (RFC 9113) to APNs, many concurrent streams.

    Built directly on ``h2``: measured on the 2-core benchmark machine,
    httpx's HTTP/2 path cost about 2.5 ms of CPU per push (locks and URL
    handling per stream), this about 0.3 ms. Writes from all streams queued
    in one event-loop turn go out in a single TLS write.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, authority: str) -> None:
        self._reader = reader
        self._writer = writer
        self._h2 = h2.connection.H2Connection(
            # Flokk writes its few headers correctly itself; h2's per-header
            # checks of outbound headers were a fifth of the CPU per push.
            h2.config.H2Configuration(
                client_side=True,
                header_encoding="utf-8",
                validate_outbound_headers=False,
                normalize_outbound_headers=False,
            )
        )
        self._authority = authority.encode()
        # Header values go out as plain literals, not Huffman-coded (RFC 7541 §5.2
        # allows either): the device path is different on every push, and coding
        # it was the largest single cost per push on both ends.
        encoder = self._h2.encoder
        encoder.encode = partial(type(encoder).encode, encoder, huffman=False)  # type: ignore[method-assign]
        self._streams: dict[int, _Stream] = {}
        self._in_flight = 0
        self._slot_waiters: deque[asyncio.Future[None]] = deque()
        self._window_open = asyncio.Event()
        self._window_open.set()
        self._settings_received = asyncio.Event()
        self._flush_scheduled = False
        self._closing: str | None = None
        self._reader_task: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, url: str, context: ssl.SSLContext) -> _Connection:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port or 443
        reader, writer = await asyncio.open_connection(host, port, ssl=context, server_hostname=host)
        ssl_object = writer.get_extra_info("ssl_object")
        if ssl_object is None or ssl_object.selected_alpn_protocol() != "h2":
            writer.close()
            raise _NoHttp2(f"{host}:{port} does not speak HTTP/2")
        conn = cls(reader, writer, parts.netloc)
        conn._h2.initiate_connection()
        conn._flush()
        conn._reader_task = asyncio.create_task(conn._read_loop())
        # Apple announces its stream limit in its first SETTINGS; wait for it.
        await conn._settings_received.wait()
        if conn._closing:
            raise _ConnectionLost(conn._closing)
        return conn

    @property
    def usable(self) -> bool:
        return self._closing is None

    async def request(self, path: str, headers: list[tuple[bytes, bytes]], body: bytes) -> tuple[int, dict[str, str], bytes]:
        await self._take_slot()
        stream_id = 0
        try:
            if self._closing:
                raise _ConnectionLost(self._closing)
            try:
                stream_id = self._h2.get_next_available_stream_id()
            except h2.exceptions.NoAvailableStreamIDError:
                self._closing = "stream ids exhausted"
                raise _ConnectionLost(self._closing) from None
            stream = self._streams[stream_id] = _Stream(asyncio.get_running_loop().create_future())
            self._h2.send_headers(
                stream_id,
                [(b":method", b"POST"), (b":scheme", b"https"), (b":authority", self._authority),
                 NeverIndexedHeaderTuple(b":path", path.encode()), *headers],
            )
            while self._h2.local_flow_control_window(stream_id) < len(body):
                self._window_open.clear()
                self._flush_soon()
                await self._window_open.wait()
                if self._closing:
                    raise _ConnectionLost(self._closing)
            self._h2.send_data(stream_id, body, end_stream=True)
            self._flush_soon()
            return await stream.done
        except asyncio.CancelledError:
            if stream_id and stream_id in self._streams:
                with contextlib.suppress(h2.exceptions.H2Error):
                    self._h2.reset_stream(stream_id)
                    self._flush_soon()
            raise
        finally:
            self._streams.pop(stream_id, None)
            self._give_slot()

    async def close(self) -> None:
        if self._closing is None:
            self._closing = "closed by Flokk"
            with contextlib.suppress(h2.exceptions.H2Error):
                self._h2.close_connection()
                self._flush()
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader_task
        self._writer.close()
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()

    # --- internals -----------------------------------------------------------------

    async def _take_slot(self) -> None:
        while self._in_flight >= self._h2.remote_settings.max_concurrent_streams and not self._closing:
            waiter = asyncio.get_running_loop().create_future()
            self._slot_waiters.append(waiter)
            await waiter
        self._in_flight += 1

    def _give_slot(self) -> None:
        self._in_flight -= 1
        self._wake_slot_waiters()

    def _wake_slot_waiters(self) -> None:
        free = self._h2.remote_settings.max_concurrent_streams - self._in_flight
        while self._slot_waiters and (free > 0 or self._closing):
            waiter = self._slot_waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                free -= 1

    def _flush_soon(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        data = self._h2.data_to_send()
        if data and not self._writer.is_closing():
            self._writer.write(data)

    async def _read_loop(self) -> None:
        reason = "connection closed by APNs"
        try:
            while True:
                data = await self._reader.read(65536)
                if not data:
                    break
                for event in self._h2.receive_data(data):
                    self._handle(event)
                self._flush()
        except (OSError, ssl.SSLError, h2.exceptions.H2Error) as exc:
            reason = _describe(exc)
        self._fail_everything(reason)

    def _handle(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.ResponseReceived):
            stream = self._streams.get(event.stream_id)
            if stream is not None:
                stream.headers = dict(event.headers)
        elif isinstance(event, h2.events.DataReceived):
            stream = self._streams.get(event.stream_id)
            if stream is not None:
                stream.body += event.data
            self._h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded):
            stream = self._streams.get(event.stream_id)
            if stream is not None and not stream.done.done():
                status = int(stream.headers.get(":status", "0"))
                stream.done.set_result((status, stream.headers, bytes(stream.body)))
        elif isinstance(event, h2.events.StreamReset):
            self._fail_stream(event.stream_id, f"stream reset by APNs (error {event.error_code})")
        elif isinstance(event, (h2.events.WindowUpdated, h2.events.RemoteSettingsChanged)):
            self._window_open.set()
            if isinstance(event, h2.events.RemoteSettingsChanged):
                self._settings_received.set()
            self._wake_slot_waiters()
        elif isinstance(event, h2.events.ConnectionTerminated):
            # GOAWAY: streams above last_stream_id were not processed; the rest finish.
            self._closing = f"GOAWAY from APNs ({event.error_code})"
            last = event.last_stream_id if event.last_stream_id is not None else 0
            for stream_id in [sid for sid in self._streams if sid > last]:
                self._fail_stream(stream_id, self._closing)
            self._wake_slot_waiters()
            self._window_open.set()

    def _fail_stream(self, stream_id: int, reason: str) -> None:
        stream = self._streams.get(stream_id)
        if stream is not None and not stream.done.done():
            stream.done.set_exception(_ConnectionLost(reason))

    def _fail_everything(self, reason: str) -> None:
        self._closing = self._closing or reason
        for stream_id in list(self._streams):
            self._fail_stream(stream_id, reason)
        self._settings_received.set()
        self._window_open.set()
        self._wake_slot_waiters()


@dataclass
class _Stream:
    done: asyncio.Future[tuple[int, dict[str, str], bytes]]
    headers: dict[str, str] = field(default_factory=dict)
    body: bytearray = field(default_factory=bytearray)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def send(settings: ApnsSettings, pushes: Iterable[Push]) -> list[PushResult]:
    """Blocking convenience for jobs and CLI: open a connection, push, close."""
    pushes = list(pushes)
    if not pushes:
        return []

    async def run() -> list[PushResult]:
        async with ApnsClient(settings) as client:
            return await client.push_many(pushes)

    return asyncio.run(run())


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """Exponential back-off with "equal jitter": between half and all of base·2^(n-1), capped."""
    ceiling = min(cap, base * (2 ** (attempt - 1)))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def client_ssl_context(settings: ApnsSettings) -> ssl.SSLContext:
    """TLS context presenting the push certificate and trusting Apple (or ``ca_file``).

    Built once per push identity and CA file, then shared (an SSLContext serves any number of
    connections): loading the key and the trust store is most of a single push's cost.
    """
    return _ssl_context(settings.cert_pem, settings.key_pem, settings.key_password, settings.ca_file)


@functools.lru_cache(maxsize=4)
def _ssl_context(cert_pem: bytes, key_pem: bytes, key_password: bytes | None, ca_file: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["h2"])
    with _secret_files(cert_pem, key_pem) as (cert_path, key_path):
        context.load_cert_chain(cert_path, key_path, password=key_password)
    return context


@contextlib.contextmanager
def _secret_files(cert_pem: bytes, key_pem: bytes) -> Iterator[tuple[str, str]]:
    """Hand PEM bytes to OpenSSL by path without the key touching the disk when possible.

    On Linux an anonymous in-memory file (memfd) is used; elsewhere a private
    temporary directory, removed at once.
    """
    if hasattr(os, "memfd_create"):
        fds = [os.memfd_create("flokk-apns-cert"), os.memfd_create("flokk-apns-key")]
        try:
            for fd, data in zip(fds, (cert_pem, key_pem)):
                os.write(fd, data)
            yield f"/proc/self/fd/{fds[0]}", f"/proc/self/fd/{fds[1]}"
        finally:
            for fd in fds:
                os.close(fd)
        return
    with tempfile.TemporaryDirectory() as folder:  # pragma: no cover - non-Linux
        paths = []
        for name, data in (("cert.pem", cert_pem), ("key.pem", key_pem)):
            path = os.path.join(folder, name)
            with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as handle:
                handle.write(data)
            paths.append(path)
        yield paths[0], paths[1]


def _reason(body: bytes) -> str | None:
    try:
        payload = json.loads(body) if body else None
    except ValueError:
        return None
    reason = payload.get("reason") if isinstance(payload, dict) else None
    return reason if isinstance(reason, str) else None
