"""The enrollment profile: Apple's schema, the links between payloads, and its signature."""

from __future__ import annotations

import copy
import plistlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from mdm_protocol import cms, enrollment_profile
from mdm_protocol.ca import CertificateAuthority
from mdm_protocol.enrollment_profile import EnrollmentSettings, ProfileError


@pytest.fixture(scope="module")
def authority():
    return CertificateAuthority.create("Flokk Profile Test CA", key_size=2048)


@pytest.fixture
def profile_settings(authority) -> EnrollmentSettings:
    return EnrollmentSettings(
        identifier="nl.example.flokk.enroll.brede-school",
        display_name="Flokk — Brede School De Linde",
        organization="Gemeente Voorbeeld",
        description="Installs Flokk device management for Brede School De Linde.",
        server_url="https://mdm.example.nl/mdm/connect",
        check_in_url="https://mdm.example.nl/mdm/checkin",
        topic="com.apple.mgmt.External.2f3b6a0e-1d57-4d1e-9a57-8c6f1f1d2b4c",
        scep_url="https://mdm.example.nl/scep",
        challenge="c-2d0f8b5c",
        ca_certificate=authority.certificate,
        scep_subject=[("O", "Gemeente Voorbeeld"), ("OU", "DLINDE"), ("CN", "Flokk iPad")],
    )


def payload(profile, payload_type):
    (found,) = [p for p in profile["PayloadContent"] if p["PayloadType"] == payload_type]
    return found


def test_profile_matches_apples_schema(profile_settings):
    profile = enrollment_profile.build(profile_settings)
    assert enrollment_profile.check(profile) == []
    assert [p["PayloadType"] for p in profile["PayloadContent"]] == [
        "com.apple.security.root", "com.apple.security.scep", "com.apple.mdm",
    ]


def test_payloads_carry_what_the_device_needs(profile_settings, authority):
    profile = enrollment_profile.build(profile_settings)
    root = payload(profile, "com.apple.security.root")
    scep = payload(profile, "com.apple.security.scep")
    mdm = payload(profile, "com.apple.mdm")
    assert root["PayloadContent"] == authority.certificate.public_bytes(serialization.Encoding.DER)
    content = scep["PayloadContent"]
    assert content["URL"] == "https://mdm.example.nl/scep"
    assert content["Challenge"] == "c-2d0f8b5c"
    assert content["Subject"] == [[["O", "Gemeente Voorbeeld"]], [["OU", "DLINDE"]], [["CN", "Flokk iPad"]]]
    assert (content["Keysize"], content["Key Type"], content["Key Usage"]) == (2048, "RSA", 5)
    assert mdm["IdentityCertificateUUID"] == scep["PayloadUUID"]
    assert mdm["ServerURL"] == "https://mdm.example.nl/mdm/connect"
    assert mdm["CheckInURL"] == "https://mdm.example.nl/mdm/checkin"
    assert mdm["Topic"] == profile_settings.topic
    assert mdm["SignMessage"] is True and mdm["CheckOutWhenRemoved"] is True
    assert mdm["AccessRights"] == 8191
    assert mdm["ServerCapabilities"] == ["com.apple.mdm.per-user-connections"]
    uuids = [profile["PayloadUUID"], *(p["PayloadUUID"] for p in profile["PayloadContent"])]
    assert len(set(uuids)) == 4
    identifiers = [p["PayloadIdentifier"] for p in profile["PayloadContent"]]
    assert all(i.startswith(profile_settings.identifier + ".") for i in identifiers) and len(set(identifiers)) == 3


def test_each_profile_gets_fresh_uuids(profile_settings, authority):
    other = EnrollmentSettings(**{**profile_settings.__dict__, "profile_uuid": "0B0C4A5E-0000-4000-8000-000000000001"})
    first, second = enrollment_profile.build(profile_settings), enrollment_profile.build(other)
    assert first["PayloadUUID"] != second["PayloadUUID"]
    assert payload(first, "com.apple.mdm")["PayloadUUID"] != payload(second, "com.apple.mdm")["PayloadUUID"]


def test_render_is_an_xml_plist(profile_settings):
    profile = enrollment_profile.build(profile_settings)
    data = enrollment_profile.render(profile)
    assert data.startswith(b"<?xml")
    assert plistlib.loads(data) == profile


@pytest.mark.parametrize(
    "change, problem",
    [
        (lambda p: payload(p, "com.apple.mdm").pop("Topic"), "PayloadContent[2].Topic: is required"),
        (lambda p: payload(p, "com.apple.mdm").update(SignMessage="yes"), "SignMessage: must be a boolean"),
        (lambda p: payload(p, "com.apple.mdm").update(ServerURl="x"), "ServerURl: is not a key"),
        (lambda p: payload(p, "com.apple.security.scep")["PayloadContent"].update(Keysize=3000),
         "Keysize: must be one of"),
        (lambda p: payload(p, "com.apple.security.scep")["PayloadContent"].update(Subject=[["CN", "x"]]),
         "Subject[0][0]: must be an array"),
        (lambda p: payload(p, "com.apple.security.root").update(PayloadContent="PEM text"),
         "PayloadContent[0].PayloadContent: must be a data"),
        (lambda p: p.update(PayloadVersion=2), "PayloadVersion: must be one of 1"),
        (lambda p: p.update(PayloadType="Profile"), "PayloadType: must be one of 'Configuration'"),
        (lambda p: p["PayloadContent"].append({"PayloadType": "com.example.nope"}), "unknown PayloadType"),
    ],
)
def test_check_finds_departures_from_the_schema(profile_settings, change, problem):
    profile = copy.deepcopy(enrollment_profile.build(profile_settings))
    change(profile)
    problems = enrollment_profile.check(profile)
    assert any(problem in p for p in problems), problems


def test_build_refuses_settings_apple_would_reject(profile_settings):
    bad = EnrollmentSettings(**{**profile_settings.__dict__, "key_size": 3072})
    with pytest.raises(ProfileError, match="Keysize"):
        enrollment_profile.build(bad)


def test_signed_profile_verifies_with_openssl_and_fails_after_one_changed_byte(profile_settings, authority, tmp_path, openssl):
    data = enrollment_profile.signed(profile_settings, authority.certificate, authority.private_key)
    message = cms.verify(data)
    assert plistlib.loads(message.content)["PayloadIdentifier"] == profile_settings.identifier
    assert message.signer == authority.certificate
    (tmp_path / "ca.pem").write_bytes(authority.certificate_pem())
    (tmp_path / "profile.mobileconfig").write_bytes(data)
    out = openssl("smime", "-verify", "-inform", "DER", "-in", "profile.mobileconfig", "-CAfile", "ca.pem")
    assert plistlib.loads(out.stdout) == plistlib.loads(message.content)
    tampered = bytearray(data)
    tampered[data.index(b"c-2d0f8b5c")] ^= 0x01
    (tmp_path / "tampered.mobileconfig").write_bytes(bytes(tampered))
    result = openssl("smime", "-verify", "-inform", "DER", "-in", "tampered.mobileconfig", "-CAfile", "ca.pem",
                     check=False)
    assert result.returncode != 0
    with pytest.raises(cms.InvalidSignature):
        cms.verify(bytes(tampered))


def test_signed_with_a_chain(profile_settings, authority, rsa_keys, tmp_path, openssl):
    """A server certificate issued by the CA can sign; the CA travels along as the chain."""
    key = rsa_keys[0]
    signer = authority.issue(key.public_key(), x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mdm.example.nl")]))
    data = enrollment_profile.signed(profile_settings, signer, key, chain=[authority.certificate])
    assert set(cms.verify(data).certificates) == {signer, authority.certificate}
    (tmp_path / "ca.pem").write_bytes(authority.certificate_pem())
    (tmp_path / "p.der").write_bytes(data)
    openssl("cms", "-verify", "-inform", "DER", "-in", "p.der", "-CAfile", "ca.pem", "-purpose", "any")
