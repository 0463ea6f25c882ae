"""Bad input for Apple School Manager: each a clear error, nothing stored, audited."""

from __future__ import annotations

import base64
import email

import pytest
from cryptography import x509
from sqlalchemy import func, select

from app.models.asm import AsmDevice, AsmToken
from app.models.audit import AuditEvent
from app.models.pki import EnrollmentChallenge
from app.services.access import Role, cli_principal
from app.services.asm import assignment, keys, sync
from tests.fakes.dep import server_token_file
from tests.mdm_protocol.conftest import self_signed
from tests.support import people
from tests.support.ade import AdeIpad, device_ca, smime_token


@pytest.fixture
def central_token(db, world):
    with db.unit_of_work() as session:
        return people.api_token(session, [(Role.CENTRAL_ADMIN, None)])


def count(db, model) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def denials(db, action: str) -> list[AuditEvent]:
    with db.session() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action, AuditEvent.outcome == "denied")))


def flokk_certificate(db) -> x509.Certificate:
    with db.unit_of_work() as session:
        return x509.load_pem_x509_certificate(keys.public_certificate(session, cli_principal()).encode())


def test_a_token_encrypted_to_another_key_is_refused_with_what_to_do(db, client, central_token, fake_dep):
    flokk_certificate(db)
    from cryptography.hazmat.primitives.asymmetric import rsa

    stranger = self_signed(rsa.generate_private_key(public_exponent=65537, key_size=2048), "Another MDM", ca=False)
    answer = client.post("/api/v1/asm/tokens", headers=people.bearer(central_token),
                         json={"token": server_token_file(fake_dep.credentials, stranger).decode()})
    assert answer.status_code == 422 and "flokk asm key" in answer.get_json()["message"]
    assert count(db, AsmToken) == 0
    (event,) = denials(db, "asm.token_import")
    assert "another key" in event.details["reason"] and fake_dep.credentials.consumer_secret not in str(event.details)


def test_a_tampered_token_is_refused(db, client, central_token, fake_dep):
    p7m = server_token_file(fake_dep.credentials, flokk_certificate(db))
    message = email.message_from_bytes(p7m)
    der = bytearray(message.get_payload(decode=True))
    der[-40] ^= 0x5A
    answer = client.post("/api/v1/asm/tokens", headers=people.bearer(central_token),
                         json={"token": base64.b64encode(bytes(der)).decode()})
    assert answer.status_code == 422 and "download" in answer.get_json()["message"]
    assert count(db, AsmToken) == 0 and len(denials(db, "asm.token_import")) == 1


def test_an_expired_token_is_refused(db, client, central_token, fake_dep):
    import datetime as dt

    old = fake_dep.new_credentials(expiry=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    answer = client.post("/api/v1/asm/tokens", headers=people.bearer(central_token),
                         json={"token": smime_token(old.as_json(), flokk_certificate(db)).decode()})
    assert answer.status_code == 422 and "expired on 2020-01-01" in answer.get_json()["message"]
    assert count(db, AsmToken) == 0


def test_the_cli_says_error_in_one_line(db, world, cli, tmp_path):
    flokk_certificate(db)
    (tmp_path / "token.p7m").write_bytes(b"Content-Type: text/plain\n\nthis is my token, honest")
    result = cli("asm", "import", str(tmp_path / "token.p7m"))
    assert result.exit_code == 1 and result.output.startswith("Error: this is not a server token")
    assert count(db, AsmToken) == 0


# --- MachineInfo at the profile URL ------------------------------------------------------------


@pytest.fixture
def expected_serial(db, fake_dep, imported_token, world):
    """One device ASM assigned to Flokk, synced and expected at Nordby."""
    serial = fake_dep.add_devices(1, prefix="DMPQ")[0]
    token_id = imported_token()
    with db.unit_of_work() as session:
        sync.sync_token(session, token_id)
        assignment.assign(session, cli_principal(), [serial], "nordby")
    return serial


def enrol(client, body: bytes):
    return client.post("/asm/enroll", data=body, content_type="application/pkcs7-signature")


def nothing_served(db, serial: str) -> bool:
    with db.session() as session:
        row = session.scalar(select(AsmDevice).where(AsmDevice.serial_number == serial))
        return count(db, EnrollmentChallenge) == 0 and (row is None or row.enrolling_udid is None)


def test_the_expected_serial_gets_its_schools_profile(db, client, expected_serial):
    answer = enrol(client, AdeIpad(udid="00008103-0001", serial=expected_serial).machine_info(device_ca()))
    assert answer.status_code == 200 and answer.content_type == "application/x-apple-aspen-config"
    assert count(db, EnrollmentChallenge) == 1


def test_machine_info_with_a_bad_signature_is_refused(db, client, expected_serial):
    body = bytearray(AdeIpad(udid="00008103-0001", serial=expected_serial).machine_info(device_ca()))
    at = body.find(b"21F79")
    body[at : at + 5] = b"99Z99"
    answer = enrol(client, bytes(body))
    assert answer.status_code == 401 and "does not verify" in answer.get_json()["message"]
    assert nothing_served(db, expected_serial)
    assert "does not verify" in denials(db, "asm.enrollment_profile")[0].details["reason"]


def test_machine_info_signed_outside_apples_device_ca_is_refused(db, client, expected_serial):
    answer = enrol(client, AdeIpad(udid="00008103-0001", serial=expected_serial).machine_info(device_ca("forged")))
    assert answer.status_code == 401 and "does not chain" in answer.get_json()["message"]
    assert nothing_served(db, expected_serial) and len(denials(db, "asm.enrollment_profile")) == 1


def test_an_unknown_serial_is_refused(db, client, expected_serial):
    answer = enrol(client, AdeIpad(udid="00008103-0002", serial="C02NOTOURS99").machine_info(device_ca()))
    assert answer.status_code == 403 and "not assigned to this Flokk" in answer.get_json()["message"]
    assert nothing_served(db, expected_serial)
    (event,) = denials(db, "asm.enrollment_profile")
    assert event.actor == "device:00008103-0002" and event.target_id == "C02NOTOURS99"


def test_a_serial_no_school_expects_yet_is_refused(db, client, expected_serial):
    with db.unit_of_work() as session:
        assignment.assign(session, cli_principal(), [expected_serial], None)
    answer = enrol(client, AdeIpad(udid="00008103-0001", serial=expected_serial).machine_info(device_ca()))
    assert answer.status_code == 403 and "not expected at any school" in answer.get_json()["message"]
    assert nothing_served(db, expected_serial)


@pytest.mark.parametrize("body", [b"", b"not cms", b"\x30\x82\xff\xff" + b"\x00" * 50, b"x" * 70_000])
def test_malformed_machine_info_is_a_400(db, client, expected_serial, body):
    answer = enrol(client, body)
    assert answer.status_code == 400 and answer.get_json()["error"] == "malformed_machine_info"
    assert nothing_served(db, expected_serial)


def test_machine_info_missing_its_serial_is_a_400(db, client, expected_serial):
    answer = enrol(client, AdeIpad(udid="00008103-0001", serial=expected_serial).machine_info(device_ca(), SERIAL=None))
    assert answer.status_code == 400 and "SERIAL: is required" in answer.get_json()["message"]
