"""`flokk serve` (gunicorn, TLS) against clients that stall, send too much or break the chunked encoding.

The Flask test client cannot show any of this: the defects lived in the
server, between the socket and the app. One worker (4 app slots, as the
default of 2 × 4 has per worker) faces more stalled clients than it has
slots; /healthz must still answer while they stall, and each of them gets
its answer (408) or is closed once its deadline has passed.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.app.test_serve import free_port
from tests.support.serving import wait_until_serving

LIMIT = 200_000  # FLOKK_MAX_BODY_BYTES for these servers: a body over it is quick to send


@pytest.fixture
def backend():
    return "sqlite"  # how the server treats sockets does not depend on the database: one run is enough


@pytest.fixture
def served(environment, db):
    """A Flokk served by `flokk serve --workers 1` over TLS: (port, TLS context trusting it)."""
    env = {**os.environ, **environment, "FLOKK_MAX_BODY_BYTES": str(LIMIT)}
    subprocess.run([sys.executable, "-m", "app.cli", "init"], env=env, check=True, capture_output=True, timeout=120)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    wait_until_serving(f"https://127.0.0.1:{port}", context, process)
    yield port, context
    process.terminate()
    process.wait(timeout=30)


def healthz(port, context) -> int:
    with urllib.request.urlopen(f"https://127.0.0.1:{port}/healthz", context=context, timeout=60) as response:
        return response.status


def tls(port, context) -> ssl.SSLSocket:
    return context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=60))


def still_waiting(sock) -> bool:
    """The server has neither answered nor closed this connection yet (TLS session tickets aside)."""
    sock.setblocking(False)
    try:
        sock.recv(1)
    except (ssl.SSLWantReadError, BlockingIOError):
        return True
    except OSError:
        return False
    finally:
        sock.settimeout(60)
    return False


def answer_of(sock) -> tuple[int, bytes]:
    """Read until the server closes (or answers in full): the status and the body."""
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (ssl.SSLError, ConnectionResetError):
            break
        if not chunk:
            break
        data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = [line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
        if length and len(body) >= int(length[0].split(b":")[1]):
            break
    if not data:
        return 0, b""
    return int(data.split(b" ", 2)[1]), data.partition(b"\r\n\r\n")[2]


def test_stalled_clients_do_not_stop_the_others(served):
    """Before: a handful of connections stopped mid-body (or mid-head, mid-handshake) blocked every thread."""
    port, context = served
    stalled = []
    for _ in range(6):  # bodies that stop after a few bytes: more than the worker's 4 app slots
        sock = tls(port, context)
        sock.sendall(b"PUT /mdm/connect HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-apple-aspen-mdm\r\n"
                     b"Content-Length: 5000\r\n\r\n<plist>")
        stalled.append(sock)
    for _ in range(3):  # request heads that stop half-way
        sock = tls(port, context)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        stalled.append(sock)
    handshakes = []
    for _ in range(3):  # TLS handshakes that stop after the record header
        raw = socket.create_connection(("127.0.0.1", port), timeout=60)
        raw.sendall(b"\x16\x03\x01\x02\x00\x01")
        handshakes.append(raw)
    time.sleep(1)  # let the server take them all up
    assert healthz(port, context) == 200
    assert all(still_waiting(sock) for sock in stalled + handshakes)  # they did not simply time out first
    # Each stalled body gets a 408 once its deadline has passed; heads and handshakes are closed.
    assert [answer_of(sock)[0] for sock in stalled[:6]] == [408] * 6
    assert [answer_of(sock)[0] for sock in stalled[6:]] == [0] * 3
    assert all(raw.recv(1) == b"" for raw in handshakes)
    for sock in stalled + handshakes:
        sock.close()


def test_a_body_over_the_limit_gets_its_413_not_a_reset(served):
    """Before: refused from Content-Length and closed with the body unread; the client saw a broken pipe."""
    port, context = served
    expected = {("PUT", "/mdm/connect"): 413, ("POST", "/scep?operation=PKIOperation"): 413,
                ("POST", "/login"): 413, ("POST", "/api/v1/commands"): 401}  # the API refuses before reading
    for (method, path), status in expected.items():
        connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=60)
        connection.request(method, path, body=b"x" * (LIMIT * 5), headers={"Content-Type": "application/octet-stream"})
        response = connection.getresponse()
        assert response.status == status, (path, response.status)
        response.read()
        # the connection is still good for the next request
        connection.request("GET", "/healthz")
        assert connection.getresponse().status == 200
        connection.close()


def test_a_broken_chunked_body_is_a_400(served):
    """Before: gunicorn's InvalidChunkSize reached the view: a 500."""
    port, context = served
    for body in (b"zz\r\nabc\r\n0\r\n\r\n", b"3\r\nabcdef\r\n0\r\n\r\n"):
        sock = tls(port, context)
        sock.sendall(b"PUT /mdm/connect HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                     b"Content-Type: application/x-apple-aspen-mdm\r\n\r\n" + body)
        status, answer = answer_of(sock)
        assert status == 400 and json.loads(answer)["error"] == "malformed_body", answer
        sock.close()
