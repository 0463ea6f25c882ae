"""MDM app tests: a Flokk with its CA and push certificate, a school, a fake APNs, simulated iPads."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from app.models.tenancy import School
from app.services.pki import certificate_authority, push_certificates
from mdm_protocol.ca import CertificateAuthority
from tests.fakes import pki
from tests.fakes.apns import FakeApns
from tests.support import factories
from tests.support.ipad import PUSH_TOPIC, FlaskTransport, SimulatedIpad


@pytest.fixture(scope="session")
def apns_tls():
    ca = pki.make_ca("Fake APNs CA")
    return {
        "ca": ca,
        "server": pki.issue(ca, "localhost", server_names=("127.0.0.1", "localhost")),
        "push": pki.push_identity(ca, PUSH_TOPIC),
    }


@pytest.fixture(scope="session")
def apns_server(apns_tls):
    with FakeApns(
        server_cert_pem=apns_tls["server"].cert_pem,
        server_key_pem=apns_tls["server"].key_pem,
        client_ca_pem=apns_tls["ca"].cert_pem,
    ) as server:
        yield server


@pytest.fixture
def fake_apns(apns_server):
    apns_server.reset()
    return apns_server


@pytest.fixture
def settings(settings, apns_server, apns_tls, tmp_path):
    """The shared test settings, pushing to the fake APNs."""
    ca_file = tmp_path / "fake-apns-ca.pem"
    ca_file.write_bytes(apns_tls["ca"].cert_pem)
    return settings.replace(apns_url=apns_server.url, apns_ca_file=ca_file)


@pytest.fixture(scope="session")
def flokk_ca() -> CertificateAuthority:
    return CertificateAuthority.create("Bergvik kommune Flokk CA", organization="Bergvik kommune", key_size=2048)


@dataclass
class MdmWorld:
    school: School
    other_school: School


@pytest.fixture
def world(db, principal, flokk_ca, apns_tls) -> MdmWorld:
    """CA, push certificate and two schools, committed so requests see them."""
    with db.unit_of_work() as session:
        certificate_authority.import_ca(session, principal, flokk_ca.certificate_pem(), flokk_ca.key_pem())
        push = apns_tls["push"]
        push_certificates.import_push_certificate(session, principal, push.cert_pem, push.key_pem)
        school, other = factories.school(session, code="nordby"), factories.school(session, code="sorby")
        return MdmWorld(school=school, other_school=other)


@pytest.fixture
def transport(client) -> FlaskTransport:
    return FlaskTransport(client)


@pytest.fixture
def new_ipad(db, world, flokk_ca):
    """Make a simulated iPad with an identity issued for a school (default: world.school)."""

    def make(school: School | None = None, **facts) -> SimulatedIpad:
        ipad = SimulatedIpad(**facts)
        with db.unit_of_work() as session:
            ipad.issue_identity(session, (school or world.school).id, authority=flokk_ca)
        return ipad

    return make


@pytest.fixture
def enrolled(new_ipad, transport, fake_apns):
    """An iPad that has sent Authenticate and TokenUpdate (and was pushed at the fake APNs)."""
    ipad = new_ipad()
    answer = ipad.enrol(transport)
    assert answer.status == 200, answer.body
    return ipad


@pytest.fixture
def environment(environment, settings) -> dict[str, str]:
    """CLI runs and servers push to the fake APNs too."""
    return {**environment, "FLOKK_APNS_URL": settings.apns_url, "FLOKK_APNS_CA_FILE": str(settings.apns_ca_file)}
