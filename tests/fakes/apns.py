"""A local APNs for tests and the benchmark: HTTP/2 over TLS with client certificates.

Checks each request the way Apple's *Sending notification requests to APNs*
and *Handling notification responses from APNs* describe it, for MDM pushes
(Device Management, "Sending MDM commands to a device"): ``POST
/3/device/<hex token>``, ``apns-topic`` equal to the client certificate's
topic (subject UID), ``apns-push-type: mdm``, ``apns-priority`` 5 or 10,
integer ``apns-expiration``, and a JSON body that is exactly
``{"mdm": "<PushMagic>"}``. Refusals use Apple's status codes and reasons
(``BadPayload`` is the fake's own reason for a body Apple would reject).

Accepted pushes are recorded; answers can be scripted per token (e.g. 429
twice then 200, or 410 Unregistered) to exercise the client's retries.

Run standalone (benchmark): ``python -m tests.fakes.apns --port 2197 --dir /tmp/fake-apns``
writes its CA and a push identity there and serves until interrupted.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import re
import ssl
import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
from cryptography import x509
from cryptography.x509.oid import NameOID

_TOKEN = re.compile(r"[0-9a-fA-F]{64,200}")
_MAX_PAYLOAD = 4096


@dataclass(frozen=True)
class RecordedPush:
    token: str
    topic: str
    push_magic: str
    priority: str | None
    expiration: str | None
    headers: dict[str, str] = field(repr=False)
    at: float = 0.0


@dataclass(frozen=True)
class Rejected:
    status: int
    reason: str
    path: str
    headers: dict[str, str] = field(repr=False)


class FakeApns:
    """An APNs look-alike on 127.0.0.1, running its own event loop in a thread."""

    def __init__(
        self,
        *,
        server_cert_pem: bytes,
        server_key_pem: bytes,
        client_ca_pem: bytes,
        host: str = "127.0.0.1",
        port: int = 0,
        max_concurrent_streams: int = 1000,
    ) -> None:
        self.host = host
        self.port = port
        self.max_concurrent_streams = max_concurrent_streams
        self._ssl = self._server_context(server_cert_pem, server_key_pem, client_ca_pem)
        self._lock = threading.Lock()
        self._scripts: dict[str, deque[tuple[int, str | None]]] = defaultdict(deque)
        self.pushes: list[RecordedPush] = []
        self.rejected: list[Rejected] = []
        self.attempts: dict[str, int] = defaultdict(int)
        self.connections = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._changed = threading.Condition(self._lock)

    # --- control ---------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def script(self, token_hex: str, *answers: int | tuple[int, str]) -> None:
        """Answer the next pushes to a token with these statuses (then 200)."""
        with self._lock:
            for answer in answers:
                status, reason = answer if isinstance(answer, tuple) else (answer, _default_reason(answer))
                self._scripts[token_hex.lower()].append((status, reason))

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        """Block until ``count`` pushes were accepted (or the timeout passes)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.pushes) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
        return True

    def reset(self) -> None:
        with self._lock:
            self.pushes.clear()
            self.rejected.clear()
            self.attempts.clear()
            self._scripts.clear()

    def start(self) -> FakeApns:
        self._thread = threading.Thread(target=self._run, name="fake-apns", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake APNs did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> FakeApns:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- server ------------------------------------------------------------------

    @staticmethod
    def _server_context(cert_pem: bytes, key_pem: bytes, client_ca_pem: bytes) -> ssl.SSLContext:
        import os
        import tempfile

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.verify_mode = ssl.CERT_REQUIRED  # APNs requires the provider certificate
        context.load_verify_locations(cadata=client_ca_pem.decode())
        context.set_alpn_protocols(["h2"])
        with tempfile.TemporaryDirectory() as folder:
            cert_path, key_path = os.path.join(folder, "c.pem"), os.path.join(folder, "k.pem")
            with open(cert_path, "wb") as handle:
                handle.write(cert_pem)
            with open(key_path, "wb") as handle:
                handle.write(key_pem)
            context.load_cert_chain(cert_path, key_path)
        return context

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, self.host, self.port, ssl=self._ssl, backlog=512)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._server.close()
            self._loop.run_until_complete(self._server.wait_closed())
            self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._lock:
            self.connections += 1
        peer = writer.get_extra_info("ssl_object")
        topic = _certificate_topic(peer.getpeercert(binary_form=True)) if peer else None
        conn = h2.connection.H2Connection(
            h2.config.H2Configuration(
                client_side=False,
                header_encoding="utf-8",
                validate_outbound_headers=False,  # our own answers; inbound headers stay validated
                normalize_outbound_headers=False,
            )
        )
        # Plain (not Huffman-coded) header literals, as RFC 7541 allows: cheaper on both ends.
        conn.encoder.encode = functools.partial(type(conn.encoder).encode, conn.encoder, huffman=False)
        conn.local_settings = h2.settings.Settings(
            client=False, initial_values={h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: self.max_concurrent_streams}
        )
        conn.initiate_connection()
        writer.write(conn.data_to_send())
        requests: dict[int, tuple[dict[str, str], bytearray]] = {}
        try:
            while True:
                data = await reader.read(262144)
                if not data:
                    break
                received = 0
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.RequestReceived):
                        requests[event.stream_id] = (dict(event.headers), bytearray())
                    elif isinstance(event, h2.events.DataReceived):
                        if event.stream_id in requests:
                            requests[event.stream_id][1].extend(event.data)
                        # Each push's body is tiny and ends its stream: only the
                        # connection's window needs topping up, once per read.
                        received += event.flow_controlled_length
                    elif isinstance(event, h2.events.StreamEnded):
                        headers, body = requests.pop(event.stream_id, ({}, bytearray()))
                        status, reason = self._answer(topic, headers, bytes(body))
                        _respond(conn, event.stream_id, status, reason)
                    elif isinstance(event, h2.events.ConnectionTerminated):
                        return
                if received:
                    conn.increment_flow_control_window(received)
                writer.write(conn.data_to_send())
                await writer.drain()
        except (ConnectionError, ssl.SSLError, h2.exceptions.ProtocolError):
            pass
        finally:
            writer.close()

    def _answer(self, cert_topic: str | None, headers: dict[str, str], body: bytes) -> tuple[int, str | None]:
        path = headers.get(":path", "")
        refusal = _check_request(cert_topic, headers, body)
        if refusal is not None:
            with self._lock:
                self.rejected.append(Rejected(refusal[0], refusal[1], path, headers))
            return refusal
        token = path.rsplit("/", 1)[-1].lower()
        with self._changed:
            self.attempts[token] += 1
            script = self._scripts.get(token)
            if script:
                status, reason = script.popleft()
                if status != 200:
                    return status, reason
            self.pushes.append(
                RecordedPush(
                    token=token,
                    topic=headers["apns-topic"],
                    push_magic=json.loads(body)["mdm"],
                    priority=headers.get("apns-priority"),
                    expiration=headers.get("apns-expiration"),
                    headers=headers,
                    at=time.time(),
                )
            )
            self._changed.notify_all()
        return 200, None


def _check_request(cert_topic: str | None, headers: dict[str, str], body: bytes) -> tuple[int, str] | None:
    """Apple's checks, in Apple's words; None when the push is acceptable."""
    if headers.get(":method") != "POST":
        return 405, "MethodNotAllowed"
    path = headers.get(":path", "")
    if not path.startswith("/3/device/"):
        return 404, "BadPath"
    token = path[len("/3/device/"):]
    if not token:
        return 400, "MissingDeviceToken"
    if not _TOKEN.fullmatch(token):
        return 400, "BadDeviceToken"
    topic = headers.get("apns-topic")
    if not topic:
        return 400, "MissingTopic"
    if topic != cert_topic:
        return 400, "TopicDisallowed"
    if headers.get("apns-push-type") != "mdm":
        return 400, "InvalidPushType"
    if headers.get("apns-priority", "10") not in ("5", "10"):
        return 400, "BadPriority"
    if not headers.get("apns-expiration", "0").isdigit():
        return 400, "BadExpirationDate"
    if "apns-id" in headers:
        try:
            uuid.UUID(headers["apns-id"])
        except ValueError:
            return 400, "BadMessageId"
    if not body:
        return 400, "PayloadEmpty"
    if len(body) > _MAX_PAYLOAD:
        return 413, "PayloadTooLarge"
    try:
        payload = json.loads(body)
    except ValueError:
        return 400, "BadPayload"
    if not (isinstance(payload, dict) and set(payload) == {"mdm"} and isinstance(payload["mdm"], str) and payload["mdm"]):
        return 400, "BadPayload"
    return None


def _respond(conn: h2.connection.H2Connection, stream_id: int, status: int, reason: str | None) -> None:
    headers = [(b":status", str(status).encode()), (b"apns-id", _next_apns_id())]
    if status == 200:
        conn.send_headers(stream_id, headers, end_stream=True)
        return
    payload = {"reason": reason or ""}
    if status == 410:
        payload["timestamp"] = int(time.time() * 1000)
    body = json.dumps(payload).encode()
    conn.send_headers(stream_id, headers + [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())])
    conn.send_data(stream_id, body, end_stream=True)


_apns_ids = itertools.count(1)
_APNS_ID_PREFIX = str(uuid.uuid4()).upper()[:24]


def _next_apns_id() -> bytes:
    """A unique UUID-shaped apns-id, cheaper than uuid4() per answer."""
    return f"{_APNS_ID_PREFIX}{next(_apns_ids):012X}".encode()


def _certificate_topic(der: bytes | None) -> str | None:
    if not der:
        return None
    cert = x509.load_der_x509_certificate(der)
    uids = cert.subject.get_attributes_for_oid(NameOID.USER_ID)
    return str(uids[0].value) if uids else None


def _default_reason(status: int) -> str | None:
    return {
        400: "BadDeviceToken",
        403: "BadCertificate",
        410: "Unregistered",
        429: "TooManyRequests",
        500: "InternalServerError",
        503: "ServiceUnavailable",
    }.get(status)


def main() -> None:  # pragma: no cover - used by bench/
    import argparse
    import pathlib
    import signal

    from tests.fakes import pki

    parser = argparse.ArgumentParser(description="Serve a fake APNs for the benchmark")
    parser.add_argument("--port", type=int, default=2197)
    parser.add_argument("--dir", required=True, help="where to write ca.pem, push.pem, push.key")
    parser.add_argument("--topic", default="com.apple.mgmt.External.flokk-bench")
    args = parser.parse_args()
    folder = pathlib.Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    ca = pki.make_ca("Fake APNs CA")
    server = pki.issue(ca, "localhost", server_names=("127.0.0.1", "localhost"))
    push = pki.push_identity(ca, args.topic)
    (folder / "ca.pem").write_bytes(ca.cert_pem)
    (folder / "push.pem").write_bytes(push.cert_pem)
    (folder / "push.key").write_bytes(push.key_pem)
    (folder / "topic").write_text(args.topic)
    fake = FakeApns(server_cert_pem=server.cert_pem, server_key_pem=server.key_pem, client_ca_pem=ca.cert_pem,
                    port=args.port).start()
    print(f"fake APNs on {fake.url}; files in {folder}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        last = -1
        while not stop.wait(1.0):
            if len(fake.pushes) != last:
                last = len(fake.pushes)
                (folder / "count").write_text(str(last))
    except KeyboardInterrupt:
        pass
    finally:
        (folder / "count").write_text(str(len(fake.pushes)))
        fake.stop()


if __name__ == "__main__":
    main()
