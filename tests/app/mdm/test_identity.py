"""Device identity: forged, foreign, revoked or misdirected identities get 401/403, audited, nothing changed."""

from __future__ import annotations

import base64
import plistlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import func, select

from app import create_app
from app.models import AuditEvent, Command, Device
from app.services.access import cli_principal
from app.services.pki import certificates
from mdm_protocol import cms
from mdm_protocol.ca import CertificateAuthority
from tests.support.ipad import SimulatedIpad


def snapshot(db):
    with db.session() as session:
        return (
            session.scalar(select(func.count()).select_from(Device)),
            sorted((c.uuid, c.status) for c in session.scalars(select(Command))),
        )


def refusals(db):
    with db.session() as session:
        return session.scalars(select(AuditEvent).where(AuditEvent.action == "mdm.identity_refused")).all()


def raw_put(client, path, body, headers):
    response = client.put(path, data=body, headers=headers)
    return response.status_code, response.get_data()


def test_unsigned_message_is_401(db, client, enrolled):
    before = snapshot(db)
    status, _ = raw_put(client, "/mdm/connect", plistlib.dumps({"Status": "Idle", "UDID": enrolled.udid}), {})
    assert status == 401
    assert snapshot(db) == before
    (event,) = refusals(db)
    assert event.outcome == "denied" and event.target_id == enrolled.udid
    assert "no device identity" in event.details["reason"]


@pytest.mark.parametrize("header", ["not base64 !!", base64.b64encode(b"garbage").decode()])
def test_garbage_signature_is_401(db, client, enrolled, header):
    before = snapshot(db)
    body = plistlib.dumps({"Status": "Idle", "UDID": enrolled.udid})
    assert raw_put(client, "/mdm/connect", body, {"Mdm-Signature": header})[0] == 401
    assert snapshot(db) == before and len(refusals(db)) == 1


def test_signature_over_another_body_is_401(db, client, enrolled):
    signed = plistlib.dumps({"Status": "Idle", "UDID": enrolled.udid})
    headers = enrolled.headers(signed, "application/x-apple-aspen-mdm")
    tampered = plistlib.dumps({"Status": "Idle", "UDID": enrolled.udid, "Extra": "x"})
    status, body = raw_put(client, "/mdm/connect", tampered, headers)
    assert status == 401 and b"does not verify" in body
    assert len(refusals(db)) == 1


def test_certificate_from_another_ca_is_403(db, client, world, transport):
    stranger_ca = CertificateAuthority.create("Not Flokk", key_size=2048)
    ipad = SimulatedIpad()
    ipad.key = ec.generate_private_key(ec.SECP256R1())
    ipad.certificate = stranger_ca.issue(ipad.key.public_key(), x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")]))
    before = snapshot(db)
    answer = ipad.checkin(transport, ipad.authenticate_message())
    assert answer.status == 403 and b"not issued by Flokk" in answer.body
    assert snapshot(db) == before and len(refusals(db)) == 1


def test_self_signed_look_alike_of_a_real_identity_is_403(db, enrolled, transport):
    """Same subject and key as the real identity, but not the certificate Flokk issued."""
    forged = (
        x509.CertificateBuilder()
        .subject_name(enrolled.certificate.subject)
        .issuer_name(enrolled.certificate.issuer)
        .public_key(enrolled.key.public_key())
        .serial_number(enrolled.certificate.serial_number)
        .not_valid_before(enrolled.certificate.not_valid_before_utc)
        .not_valid_after(enrolled.certificate.not_valid_after_utc)
        .sign(enrolled.key, enrolled.certificate.signature_hash_algorithm)
    )
    enrolled.certificate = forged
    assert enrolled.idle(transport).status == 403


def test_revoked_certificate_is_403(db, enrolled, transport):
    with db.unit_of_work() as session:
        certificates.revoke(session, cli_principal(), format(enrolled.certificate.serial_number, "x"), reason="lost")
    before = snapshot(db)
    answer = enrolled.idle(transport)
    assert answer.status == 403 and b"revoked" in answer.body
    assert snapshot(db) == before


def test_one_devices_certificate_cannot_speak_for_another(db, enrolled, new_ipad, transport):
    victim = new_ipad()
    victim.enrol(transport)
    before = snapshot(db)
    impostor = SimulatedIpad(udid=victim.udid, certificate=enrolled.certificate, key=enrolled.key)
    assert impostor.idle(transport).status == 403
    assert impostor.checkin(transport, impostor.authenticate_message()).status == 403
    assert impostor.checkin(transport, impostor.token_update_message()).status == 403
    assert snapshot(db) == before
    assert len(refusals(db)) == 3
    with db.session() as session:
        device = session.scalar(select(Device).where(Device.udid == victim.udid))
        assert device.push_magic == victim.push_magic  # not hijacked


def test_an_unbound_certificate_cannot_take_over_an_enrolled_device(db, enrolled, new_ipad, transport):
    fresh = new_ipad()
    intruder = SimulatedIpad(udid=enrolled.udid, certificate=fresh.certificate, key=fresh.key)
    before = snapshot(db)
    assert intruder.idle(transport).status == 403
    assert intruder.checkin(transport, intruder.token_update_message()).status == 403
    assert snapshot(db) == before


def test_renewed_certificate_speaks_for_its_device(db, enrolled, transport):
    """A SCEP RenewalReq issues a new certificate linked to the old one; the device moves to it."""
    from app.models.pki import IssuedCertificate
    from app.services.pki import certificate_authority

    key = ec.generate_private_key(ec.SECP256R1())
    with db.unit_of_work() as session:
        old = session.scalar(select(IssuedCertificate).where(
            IssuedCertificate.serial == format(enrolled.certificate.serial_number, "x")))
        authority = certificate_authority.load_ca(session)
        renewed = authority.issue(key.public_key(), enrolled.certificate.subject)
        certificates.record_issued(session, renewed, authority=certificate_authority.active_record(session),
                                   school_id=old.school_id, renewed_from_id=old.id)
    enrolled.certificate, enrolled.key = renewed, key
    assert enrolled.idle(transport).status == 200
    with db.session() as session:
        records = {r.serial: r for r in session.scalars(select(IssuedCertificate))}
        assert records[format(renewed.serial_number, "x")].device_id == records[old.serial].device_id
        assert records[old.serial].revoked_at is not None  # superseded


def test_client_cert_header_from_a_trusted_proxy(db, settings, enrolled):
    proxied = create_app(settings.replace(trusted_proxies=("127.0.0.1/32",)))
    proxied.extensions["flokk"].db = db
    der = enrolled.certificate.public_bytes(serialization.Encoding.DER)
    header = {"Client-Cert": f":{base64.b64encode(der).decode()}:"}
    body = plistlib.dumps({"Status": "Idle", "UDID": enrolled.udid})
    status, answer = raw_put(proxied.test_client(), "/mdm/connect", body, header)
    assert status == 200 and plistlib.loads(answer)["Command"]["RequestType"] == "DeviceInformation"
    # the same header from anyone else is ignored
    status, _ = raw_put(create_app(settings).test_client(), "/mdm/connect", body, header)
    assert status == 401


def test_client_cert_header_must_be_a_byte_sequence(db, settings, enrolled):
    proxied = create_app(settings.replace(trusted_proxies=("127.0.0.0/8",)))
    proxied.extensions["flokk"].db = db
    body = plistlib.dumps({"Status": "Idle", "UDID": enrolled.udid})
    for value in ("not-sf-binary", ":!!:", f":{base64.b64encode(b'junk').decode()}:"):
        assert raw_put(proxied.test_client(), "/mdm/connect", body, {"Client-Cert": value})[0] == 401


def test_signed_by_the_real_key_but_a_different_certificate_inside_is_refused(db, enrolled, new_ipad, transport):
    """A signature by A's key that carries B's certificate does not verify as B."""
    victim = new_ipad()
    victim.enrol(transport)
    body = plistlib.dumps({"Status": "Idle", "UDID": victim.udid})
    try:
        signature = cms.sign(body, victim.certificate, enrolled.key, detached=True)
    except Exception:  # the CMS library may refuse a key that does not match: just as good
        return
    status, _ = raw_put(transport.client, "/mdm/connect", body, {"Mdm-Signature": base64.b64encode(signature).decode()})
    assert status == 401
