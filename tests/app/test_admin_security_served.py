"""The admin side's security fixes through the real HTTP stack: `flokk serve` (gunicorn, TLS).

What the outside probe saw on the wire: a ``Location: //evil.example`` after a
``next`` with a tab, a 500 for a carriage return, HEAD /login counted as a
failed sign-in, a session cookie that still worked after sign-out, the sign-in
rate limit counting the proxy instead of the client, no HSTS, and a fullwidth
digit in an id revoking token 1.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import ssl
import subprocess
import sys
import time
from http.cookies import SimpleCookie
from urllib.parse import quote

import pytest
from sqlalchemy import select

from app.models import ApiToken, AuditEvent
from app.services.access import Role
from tests.app.test_serve import free_port
from tests.support import people


@pytest.fixture
def served(environment, db, tmp_path):
    """Flokk behind gunicorn with TLS; 127.0.0.1 is a trusted proxy (so the test can speak as one)."""
    env = {**os.environ, **environment, "FLOKK_TRUSTED_PROXIES": "127.0.0.1",
           "FLOKK_LOGIN_MAX_FAILURES_PER_SOURCE": "3"}
    port = free_port()
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    context = None
    deadline = time.monotonic() + 60
    while context is None:
        try:
            candidate = ssl.create_default_context(cafile=os.path.join(environment["FLOKK_DATA_DIR"], "tls", "server.crt"))
            Browser(port, candidate).request("GET", "/healthz")
            context = candidate
        except (OSError, ssl.SSLError):
            if time.monotonic() > deadline or process.poll() is not None:
                raise
            time.sleep(0.3)
    yield lambda: Browser(port, context)
    process.terminate()
    process.wait(timeout=30)
    log.close()


class Browser:
    """Raw requests over TLS with a cookie jar: the Location header as the server sent it."""

    def __init__(self, port: int, context: ssl.SSLContext) -> None:
        self.port, self.context, self.cookies = port, context, {}

    def request(self, method: str, path: str, *, form: dict | None = None, headers: dict | None = None,
                body: bytes | None = None):
        connection = http.client.HTTPSConnection("localhost", self.port, context=self.context, timeout=30)
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        if form is not None:
            from urllib.parse import urlencode

            body = urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        response.data = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie(header)
            for name, morsel in cookie.items():
                self.cookies[name] = morsel.value
        connection.close()
        return response

    def csrf(self, page: str = "/login") -> str:
        page = self.request("GET", page).data
        return re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()


def _failures(db) -> list[AuditEvent]:
    with db.session() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.login_failed").order_by(AuditEvent.id)))


def test_sign_in_redirects_heads_sessions_and_headers_on_the_wire(served, db):
    with db.session() as session:
        people.admin(session, [(Role.CENTRAL_ADMIN, None)], email="ola@kommune.test")
        session.commit()
    browser = served()
    assert browser.request("GET", "/healthz").headers["Strict-Transport-Security"] == "max-age=31536000"

    for _ in range(3):  # HEAD is the page's head, never a sign-in
        head = browser.request("HEAD", "/login?email=ola%40kommune.test&password=x")
        assert head.status == 200 and head.data == b""
    assert _failures(db) == []

    signed_in = browser.request("POST", "/login", form={"email": "ola@kommune.test", "password": people.PASSWORD,
                                                        "next": "/\t/evil.example", "csrf_token": browser.csrf()})
    assert (signed_in.status, signed_in.headers["Location"]) == (302, "/")
    for target in ("/%09/evil.example", "/%0D/x", "/%0A/x", "%5C%5Cevil.example", "/%5Cevil.example"):
        again = browser.request("GET", f"/login?next={target}")
        assert (again.status, again.headers["Location"]) == (302, "/"), target
    language = browser.request("POST", "/language", form={"lang": "en", "next": "/\r/x", "csrf_token": browser.csrf("/password")})
    assert (language.status, language.headers["Location"]) == (302, "/")
    page = browser.request("GET", "/devices")
    assert page.status == 200 and page.headers["Cache-Control"] == "no-store"

    captured = dict(browser.cookies)
    assert browser.request("POST", "/logout", form={"csrf_token": browser.csrf("/password")}).status == 302
    thief = served()
    thief.cookies = captured
    replayed = thief.request("GET", "/devices")
    assert replayed.status == 302 and replayed.headers["Location"].startswith("/login")


def test_the_rate_limit_counts_the_client_behind_a_trusted_proxy(served, db):
    browser = served()
    token = browser.csrf()

    def attempt(forwarded_for: str) -> int:
        return browser.request("POST", "/login", headers={"X-Forwarded-For": forwarded_for},
                               form={"email": "x@skole.test", "password": "guess", "csrf_token": token}).status

    assert [attempt("198.51.100.7") for _ in range(3)] == [401, 401, 401]
    assert attempt("198.51.100.7") == 429
    assert attempt("203.0.113.4") == 401  # another pupil's teacher behind the same proxy
    assert attempt("203.0.113.4, 198.51.100.7") == 429  # the first hop is the client's word, the last the proxy's
    assert {event.source for event in _failures(db)} == {"198.51.100.7", "203.0.113.4"}


def test_api_secrets_are_not_cached_and_ids_are_ascii(served, db):
    with db.session() as session:
        raw = people.api_token(session, [(Role.CENTRAL_ADMIN, None)], name="automation")
        first = session.scalar(select(ApiToken).order_by(ApiToken.id)).id
        session.commit()
    api = served()
    headers = {"Authorization": f"Bearer {raw}", "Content-Type": "application/json"}
    created = api.request("POST", "/api/v1/tokens", headers=headers,
                          body=json.dumps({"name": "sync", "grants": [{"role": "auditor"}]}).encode())
    assert created.status == 201 and created.headers["Cache-Control"] == "no-store"
    assert created.headers["Strict-Transport-Security"] == "max-age=31536000"
    fullwidth = quote("".join(chr(0xFF10 + int(digit)) for digit in str(first)))  # "１" for 1
    assert api.request("POST", f"/api/v1/tokens/{fullwidth}/revoke", headers=headers).status == 404
    with db.session() as session:
        assert session.get(ApiToken, first).revoked_at is None
