"""Chromebook tests: a fake Google over HTTPS (its CA trusted through SSL_CERT_FILE), a Flokk pointed at it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from app.models.tenancy import School
from app.services.google import connection
from mdm_protocol.google.transport import RetryPolicy
from tests.fakes import pki
from tests.fakes.google import FakeGoogle
from tests.support import factories

ADMIN = "it@bergvik.no"


@pytest.fixture(scope="session")
def google_tls():
    ca = pki.make_ca("Fake Google CA")
    return {"ca": ca, "server": pki.issue(ca, "localhost", server_names=("127.0.0.1", "localhost"))}


@pytest.fixture
def google_ca_file(google_tls, tmp_path_factory, monkeypatch):
    path = tmp_path_factory.mktemp("google") / "fake-google-ca.pem"
    path.write_bytes(google_tls["ca"].cert_pem)
    monkeypatch.setenv("SSL_CERT_FILE", str(path))
    return path


@pytest.fixture
def google(google_tls, google_ca_file):
    with FakeGoogle(google_tls["server"].cert_pem, google_tls["server"].key_pem) as fake:
        yield fake


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    """Retries without the real back-off waits (the waits asked for are recorded)."""
    waits: list[float] = []
    monkeypatch.setattr("app.services.google.retry_policy",
                        lambda: RetryPolicy(attempts=4, base=0.01, cap=0.05, sleep=waits.append))
    monkeypatch.setattr("app.services.google.connection.retry_policy",
                        lambda: RetryPolicy(attempts=4, base=0.01, cap=0.05, sleep=waits.append))
    return waits


@pytest.fixture
def settings(settings, google):
    return settings.replace(google_admin_url=google.url, google_policy_url=google.url)


@dataclass
class Domain:
    """Three schools, their units in Google, a connected domain."""

    google: FakeGoogle
    key: dict
    schools: dict[str, School] = field(default_factory=dict)


def make_domain(db, google: FakeGoogle, principal, *, counts: dict[str, int] | None = None) -> Domain:
    counts = counts if counts is not None else {"nordby": 4, "sorby": 3, "vestby": 2}
    key = google.service_account_key()
    domain = Domain(google, key)
    for code in ("nordby", "sorby", "vestby"):
        google.add_org_unit(f"/Skoler/{code.capitalize()}")
        google.add_devices(counts.get(code, 0), f"/Skoler/{code.capitalize()}", prefix=code[:2].upper())
    with db.unit_of_work() as session:
        for code in ("nordby", "sorby", "vestby"):
            domain.schools[code] = factories.school(session, code=code, name=f"{code.capitalize()} skole")
        connection.connect(session, principal, json.dumps(key), ADMIN, parent_ou="/Skoler")
    from app.services.google import org_units

    with db.unit_of_work() as session:
        for code in ("nordby", "sorby", "vestby"):
            org_units.map_unit(session, principal, code, f"/Skoler/{code.capitalize()}")
    return domain


@pytest.fixture
def domain(db, google, principal) -> Domain:
    return make_domain(db, google, principal)
