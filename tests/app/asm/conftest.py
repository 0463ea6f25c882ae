"""Apple School Manager tests: the fake device enrollment service, a CA in Apple's device CA's place,
Flokk with its CA, push certificate and two schools, and the fake APNs."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from cryptography import x509

from app.models.tenancy import Group, School
from app.services.access import cli_principal
from app.services.asm import keys, tokens
from app.services.pki import certificate_authority, push_certificates
from tests.app.mdm.conftest import apns_server, apns_tls, fake_apns, flokk_ca  # noqa: F401 - fixtures used here
from tests.fakes.dep import server_token_file
from tests.mdm_protocol.asm.conftest import dep_tls, fake_dep  # noqa: F401 - fixtures used here
from tests.support import factories
from tests.support.ade import device_ca


@pytest.fixture
def settings(settings, tmp_path, fake_dep, dep_tls, apns_server, apns_tls):
    """Outbound HTTPS (APNs and Apple's enrollment service) trusts the fakes' CAs; the device CA is the test one."""
    bundle = tmp_path / "outbound-ca.pem"
    bundle.write_bytes(apns_tls["ca"].cert_pem + dep_tls[0].cert_pem)
    device_ca_file = device_ca().write(tmp_path)
    return settings.replace(apns_url=apns_server.url, apns_ca_file=bundle, asm_url=fake_dep.url,
                            asm_device_ca=device_ca_file)


@pytest.fixture
def environment(environment, settings) -> dict[str, str]:
    return {**environment, "FLOKK_APNS_URL": settings.apns_url, "FLOKK_APNS_CA_FILE": str(settings.apns_ca_file),
            "FLOKK_ASM_URL": settings.asm_url, "FLOKK_ASM_DEVICE_CA": str(settings.asm_device_ca)}


@dataclass
class AsmWorld:
    nordby: School
    sorby: School
    class_5a: Group


@pytest.fixture
def world(db, flokk_ca, apns_tls) -> AsmWorld:
    """Flokk's CA and push certificate, and two schools (Nordby with class 5A), committed."""
    principal = cli_principal()
    with db.unit_of_work() as session:
        certificate_authority.import_ca(session, principal, flokk_ca.certificate_pem(), flokk_ca.key_pem())
        push = apns_tls["push"]
        push_certificates.import_push_certificate(session, principal, push.cert_pem, push.key_pem)
        nordby = factories.school(session, code="nordby", name="Nordby skole")
        sorby = factories.school(session, code="sorby", name="Sørby skole")
        class_5a = factories.group(session, nordby, name="5A")
        return AsmWorld(nordby, sorby, class_5a)


@pytest.fixture
def imported_token(db, world, fake_dep):
    """Central IT's steps: Flokk's key to ASM, ASM's token (made with openssl, as ASM does) into Flokk."""
    def run() -> int:
        with db.unit_of_work() as session:
            certificate = x509.load_pem_x509_certificate(keys.public_certificate(session, cli_principal()).encode())
        with db.unit_of_work() as session:
            return tokens.import_token(session, cli_principal(), server_token_file(fake_dep.credentials, certificate)).token.id

    return run
