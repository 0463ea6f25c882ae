"""Debian's scepclient (micromdm/scep), a client nobody on this team wrote, against the
framework-free SCEP code served by the standard library's HTTP server."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from mdm_protocol.scep import http

from .conftest import CHALLENGE


@pytest.fixture
def scep_url(service):
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, body):
            query = parse_qs(urlparse(self.path).query)
            reply = http.handle(
                service,
                method=self.command,
                operation=query.get("operation", [None])[0],
                message=query.get("message", [None])[0],
                body=body,
            )
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def do_GET(self):  # noqa: N802 (http.server's naming)
            self._answer(None)

        def do_POST(self):  # noqa: N802
            self._answer(self.rfile.read(int(self.headers.get("Content-Length", "0"))))

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/scep"
    server.shutdown()
    server.server_close()


def test_scepclient_enrols_and_renews(scepclient, scep_url, authority, verifiers):
    first = scepclient(scep_url, challenge=CHALLENGE)
    assert first.returncode == 0, first.output
    assert authority.issued(first.certificate)
    assert [cert for cert, _ in verifiers.issued] == [first.certificate]

    renewed = scepclient(scep_url, renew=True)
    assert renewed.returncode == 0, renewed.output
    assert authority.issued(renewed.certificate)
    assert renewed.certificate.serial_number != first.certificate.serial_number
    assert verifiers.issued[-1][1].context == {"renewed": first.certificate.serial_number}


def test_scepclient_with_a_wrong_challenge_is_refused(scepclient, scep_url, verifiers):
    result = scepclient(scep_url, challenge="not-the-challenge")
    assert result.returncode != 0
    assert "failInfo: badRequest" in result.output
    assert result.certificate is None
    assert verifiers.issued == []
