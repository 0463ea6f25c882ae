"""MachineInfo: signed by the iPad's Apple certificate, chained to the device CA, read per Apple's schema."""

from __future__ import annotations

import plistlib

import pytest
from cryptography import x509

from mdm_protocol import cms
from mdm_protocol.asm import machine_info
from tests.support.ade import AdeIpad, device_ca


@pytest.fixture
def ipad():
    return AdeIpad(udid="00008103-000A1B2C3D4E5F60", serial="dmpx1234abcd")


def test_a_signed_machine_info_is_read(ipad):
    ca = device_ca()
    info = machine_info.verify(ipad.machine_info(ca), [ca.root])
    assert (info.udid, info.serial, info.product, info.version, info.os_version, info.language) == (
        ipad.udid, "DMPX1234ABCD", "iPad13,18", "21F79", "17.5", "nb")
    assert "Apple iPhone Device CA" not in info.signer_subject  # the device's own certificate


def test_a_signer_outside_the_device_ca_is_untrusted(ipad):
    with pytest.raises(machine_info.UntrustedMachineInfo, match="does not chain"):
        machine_info.verify(ipad.machine_info(device_ca("other")), [device_ca().root])


def test_an_altered_body_does_not_verify(ipad):
    body = bytearray(ipad.machine_info(device_ca()))
    position = body.find(b"iPad13,18")
    body[position : position + 9] = b"iPad99,99"
    with pytest.raises(machine_info.UntrustedMachineInfo, match="does not verify"):
        machine_info.verify(bytes(body), [device_ca().root])


def test_a_device_certificate_signed_by_the_wrong_key_with_apples_name_is_untrusted(ipad):
    """An intermediate with Apple's name but another key does not pass for Apple's."""
    impostor = device_ca("impostor")
    with pytest.raises(machine_info.UntrustedMachineInfo):
        machine_info.verify(ipad.machine_info(impostor), [device_ca().root, device_ca().intermediate])


@pytest.mark.parametrize(("changes", "reason"), [({"UDID": None}, "UDID: is required"), ({"SERIAL": 12}, "SERIAL: must be a string"),
                                                 ({"UDID": "../../etc"}, "not a valid identifier")])
def test_a_machine_info_without_its_keys_is_malformed(ipad, changes, reason):
    with pytest.raises(machine_info.MachineInfoError, match=reason):
        machine_info.verify(ipad.machine_info(device_ca(), **changes), [device_ca().root])


@pytest.mark.parametrize("body", [b"", b"hello", b"\x30\x80" * 10, b"x" * (machine_info.MAX_BYTES + 1)])
def test_garbage_is_malformed_not_a_crash(body):
    with pytest.raises(machine_info.MachineInfoError):
        machine_info.verify(body, [device_ca().root])


def test_a_signed_body_that_is_no_plist_is_malformed():
    ca = device_ca()
    certificate, key = ca.device_identity("X")
    body = cms.sign(b"not a plist", certificate, key, extra_certificates=[ca.intermediate])
    with pytest.raises(machine_info.MachineInfoError, match="not a property list"):
        machine_info.verify(body, [ca.root])


def test_apples_shipped_chain_is_intact():
    """The default anchors: Apple Root CA → Apple iPhone Certification Authority → Apple iPhone Device CA."""
    device, iphone_ca, root = machine_info.load_anchors()
    assert root.fingerprint(root.signature_hash_algorithm).hex()  # readable
    assert root.subject.rfc4514_string() == "CN=Apple Root CA,OU=Apple Certification Authority,O=Apple Inc.,C=US"
    assert device.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "Apple iPhone Device CA"
    assert machine_info._signed_by(device, iphone_ca) and machine_info._signed_by(iphone_ca, root)
    assert not machine_info._signed_by(device, root)


def test_plist_helper_keeps_unknown_keys(ipad):
    info = machine_info.verify(ipad.machine_info(device_ca(), NEW_KEY_2030="x"), [device_ca().root])
    assert info.raw["NEW_KEY_2030"] == "x"
    assert plistlib.loads(plistlib.dumps(dict(info.raw)))["SERIAL"] == "dmpx1234abcd"
