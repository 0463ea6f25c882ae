"""App tests: the MDM world (CA, push certificate, schools, fake APNs, simulated iPads) and a fake Apps and Books.

The fake speaks HTTPS with its own CA; ``SSL_CERT_FILE`` points at it, as an
operator would point Flokk at a proxy's CA, so Flokk's outbound client is
the production one. Notifications the fake sends reach Flokk through the
Flask test client (``notify_flokk``).
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import pytest

from tests.app.mdm import conftest as mdm
from tests.fakes import pki
from tests.fakes.apps_and_books import FakeAppsAndBooks, FakeAsset, make_token

apns_tls = mdm.apns_tls
apns_server = mdm.apns_server
fake_apns = mdm.fake_apns
flokk_ca = mdm.flokk_ca
world = mdm.world
transport = mdm.transport
new_ipad = mdm.new_ipad
enrolled = mdm.enrolled

#: Apps from the real captures in tests/fixtures/mdm-fixtures (cmdmnt/commandment ManagedApplicationList).
EXAM_APP = FakeAsset("361304891", "Numbers", "com.apple.Numbers", total=500)
READING_APP = FakeAsset("361285480", "Keynote", "com.apple.iWork.Keynote", total=500)


@pytest.fixture(scope="session")
def apps_tls(tmp_path_factory):
    ca = pki.make_ca("Fake Apps and Books CA")
    server = pki.issue(ca, "localhost", server_names=("127.0.0.1", "localhost"))
    ca_file = tmp_path_factory.mktemp("apps-ca") / "ca.pem"
    ca_file.write_bytes(ca.cert_pem)
    return {"ca_file": ca_file, "server": server}


@pytest.fixture(scope="session")
def apps_server(apps_tls):
    with FakeAppsAndBooks(server_cert_pem=apps_tls["server"].cert_pem, server_key_pem=apps_tls["server"].key_pem) as fake:
        yield fake


@pytest.fixture
def fake_apps(apps_server, apps_tls, monkeypatch):
    """The fake, emptied, with Flokk trusting its CA and unable to deliver notifications until told how."""
    apps_server.reset()
    apps_server.polls_until_done = 1
    apps_server.max_requests_per_second = None
    apps_server.deliver = lambda url, headers, body: 503
    monkeypatch.setenv("SSL_CERT_FILE", str(apps_tls["ca_file"]))
    return apps_server


@pytest.fixture
def settings(settings, apns_server, apns_tls, apps_server, tmp_path):
    ca_file = tmp_path / "fake-apns-ca.pem"
    ca_file.write_bytes(apns_tls["ca"].cert_pem)
    return settings.replace(apns_url=apns_server.url, apns_ca_file=ca_file, apps_url=apps_server.api_url,
                            apps_lookup_url=apps_server.lookup_url)


@pytest.fixture
def environment(environment, settings, apps_tls) -> dict[str, str]:
    return {**environment, "FLOKK_APNS_URL": settings.apns_url, "FLOKK_APNS_CA_FILE": str(settings.apns_ca_file),
            "FLOKK_APPS_URL": settings.apps_url, "FLOKK_APPS_LOOKUP_URL": settings.apps_lookup_url,
            "SSL_CERT_FILE": str(apps_tls["ca_file"])}


@pytest.fixture
def notify_flokk(client):
    """A deliver function for the fake: Apple's notification POSTed to Flokk through the test client."""

    def deliver(url: str, headers: dict[str, str], body: bytes) -> int:
        response = client.post(urlsplit(url).path, data=body, headers=headers)
        response.close()
        return response.status_code

    return deliver


@pytest.fixture
def location(fake_apps):
    """A location with the two apps of the captures and 198 more; its token file."""
    token = make_token(org="Bergvik kommune")
    place = fake_apps.add_location(token, name="Bergvik skoler")
    fake_apps.add_asset(place, FakeAsset(**EXAM_APP.__dict__))
    fake_apps.add_asset(place, FakeAsset(**READING_APP.__dict__))
    for number in range(198):
        fake_apps.add_asset(place, FakeAsset(str(900000000 + number), f"Læringsapp {number}", f"no.laering.app{number}", total=50))
    return place, token


@pytest.fixture
def token_file(location, tmp_path):
    path = tmp_path / "bergvik.vpptoken"
    path.write_bytes(location[1])
    return path


def expired_token() -> bytes:
    return make_token(expires=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=2))
