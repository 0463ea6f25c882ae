"""The Google client against the fake Google over HTTPS (its CA trusted through SSL_CERT_FILE)."""

from __future__ import annotations

import json

import pytest

from mdm_protocol.google.client import GoogleClient
from mdm_protocol.google.keys import parse_key
from mdm_protocol.google.transport import RetryPolicy
from tests.fakes import pki
from tests.fakes.google import FakeGoogle


@pytest.fixture(scope="session")
def google_tls():
    ca = pki.make_ca("Fake Google CA")
    return {"ca": ca, "server": pki.issue(ca, "localhost", server_names=("127.0.0.1", "localhost"))}


@pytest.fixture
def google(google_tls, tmp_path, monkeypatch):
    path = tmp_path / "ca.pem"
    path.write_bytes(google_tls["ca"].cert_pem)
    monkeypatch.setenv("SSL_CERT_FILE", str(path))
    with FakeGoogle(google_tls["server"].cert_pem, google_tls["server"].key_pem) as fake:
        yield fake


class Clock:
    """A clock the retries wait on without waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client_for(google, clock):
    def make(key: dict | None = None, *, admin: str = "it@bergvik.no", attempts: int = 4) -> GoogleClient:
        key = key or google.service_account_key()
        retry = RetryPolicy(attempts=attempts, base=1.0, cap=30.0, sleep=clock.sleep, clock=clock.time, jitter=lambda: 1.0)
        return GoogleClient(parse_key(json.dumps(key)), admin, admin_url=google.url, policy_url=google.url, retry=retry)

    return make
