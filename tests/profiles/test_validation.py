"""One setting against Apple's schema and the payload module's rules: refused with key and reason."""

import pytest

from profiles import validation
from profiles.model import LOCK_ONLY, REMOVED, WHOLE_PAYLOAD, PayloadRef, SettingRef
from profiles.payloads import parse_ref

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def ref(payload: str, key: str) -> SettingRef:
    try:
        return SettingRef(parse_ref(payload), key)
    except LookupError:
        name, _, instance = payload.partition(":")
        return SettingRef(PayloadRef(name, instance), key)


def problems(payload, key, value, platforms=("ios", "ipados", "macos", "chromeos")):
    target = ref(payload, key)
    return validation.check_entry(target, validation.normalise(target, value), platforms=platforms)


ACCEPTED = [
    ("restrictions", "allowCamera", False),
    ("restrictions", "enforcedSoftwareUpdateDelay", 30),
    ("restrictions", "forceDelayedSoftwareUpdates", True),
    ("passcode", "minLength", 0),
    ("passcode", "minLength", 16),
    ("passcode", "maxInactivity", 5),
    ("wifi:eduroam", "SSID_STR", "eduroam"),
    ("wifi:elev", "SSID_STR", "Sørbyskolen elevnett 2026"),
    ("wifi:elev", "Password", "0123456789abcdef" * 4),
    ("wifi:eduroam", "EncryptionType", "WPA2"),
    ("wifi:eduroam", "EAPClientConfiguration", {"AcceptEAPTypes": [25], "PayloadCertificateAnchorUUID": ["radius-ca"]}),
    ("webfilter", "AutoFilterEnabled", True),
    ("webfilter", "DenyListURLs", ["https://games.example"]),
    ("homescreen", "Pages", [[{"Type": "App", "BundleID": "com.apple.mobilesafari"}]]),
    ("singleapp", "App", {"Identifier": "no.udir.eksamen"}),
    ("notifications", "NotificationSettings", [{"BundleIdentifier": "com.apple.mobilecal", "NotificationsEnabled": False}]),
    ("education", "OrganizationName", "Kommune"),
    ("webclip:portal", "URL", "https://portal.kommune.no/"),
    ("webclip:portal", "Icon", PNG),
    ("softwareupdate", "AutomaticCheckEnabled", True),
    ("wifi:eduroam", WHOLE_PAYLOAD, REMOVED),
    ("restrictions", WHOLE_PAYLOAD, LOCK_ONLY),
    ("restrictions", "allowCamera", REMOVED),
]


@pytest.mark.parametrize(("payload", "key", "value"), ACCEPTED)
def test_accepted(payload, key, value):
    assert problems(payload, key, value) == []


REFUSED = [
    # (payload, key, value, platforms or None, key in the problem, words of the reason)
    ("restrictions", "allowCamera", "no", None, "allowCamera", "must be a boolean, not a string"),
    ("restrictions", "allowCamera", 0, None, "allowCamera", "must be a boolean"),
    ("passcode", "minLength", 17, None, "minLength", "must be at most 16"),
    ("passcode", "minLength", -1, None, "minLength", "must be at least 0"),
    ("passcode", "minLength", True, None, "minLength", "not a boolean"),
    ("passcode", "minLength", "6", None, "minLength", "must be an integer"),
    ("passcode", "minLenght", 6, None, "minLenght", "is not a key Apple's schema knows"),
    ("wifi:eduroam", "EncryptionType", "WPA4", None, "EncryptionType", "must be one of"),
    ("wifi:eduroam", "EAPClientConfiguration", {"UserName": "x"}, None, "EAPClientConfiguration.AcceptEAPTypes", "is required"),
    ("wifi:eduroam", "EAPClientConfiguration", {"AcceptEAPTypes": [25], "PayloadCertificateAnchorUUID": ["Not A Name"]},
     None, "EAPClientConfiguration.PayloadCertificateAnchorUUID", "is not an instance name"),
    ("wifi:eduroam", "PayloadCertificateUUID", "radius", None, "PayloadCertificateUUID", "identity certificates"),
    ("wifi:elev", "Password", "x" * 100_000, None, "Password", "at most 64 characters"),
    ("wifi:elev", "SSID_STR", "Sørbyskolen-elevnett-gjest-2026-ny", None, "SSID_STR", "at most 32 bytes"),
    ("wifi", "SSID_STR", "x", None, "com.apple.wifi.managed", "needs an instance name"),
    ("wifi:Bad Name", "SSID_STR", "x", None, "com.apple.wifi.managed:Bad Name", "instance names are"),
    ("restrictions:extra", "allowCamera", False, None, "com.apple.applicationaccess:extra", "takes no instance name"),
    ("com.apple.tvremote", "x", 1, None, "com.apple.tvremote", "is not a payload type Flokk supports"),
    ("webfilter", "DenyListURLs", [1], None, "DenyListURLs[0]", "must be a string"),
    ("webclip:portal", "URL", "portal.kommune.no", None, "URL", "absolute URL"),
    ("webclip:portal", "Icon", b"GIF89a....", None, "Icon", "not a PNG"),
    ("rootcert:ca", "PayloadContent", "not a certificate", None, "PayloadContent", "must be a data"),
    ("rootcert:ca", "PayloadContent", b"\x30\x03\x02\x01\x01", None, "PayloadContent", "is not an X.509 certificate"),
    ("softwareupdate", "AutomaticCheckEnabled", True, ("ipados",), "com.apple.SoftwareUpdate", "not available on ipados"),
    ("passcode", "minLength", 6, ("chromeos",), "minLength", "not available on chromeos"),
    ("education", "OrganizationName", "Skole", ("chromeos",), "com.apple.education", "not available on chromeos"),
    ("webfilter", "DenyListURLs", ["https://x.example"], ("macos",), "DenyListURLs", "not available on macos"),
    ("restrictions", "allowCamera", LOCK_ONLY, None, "allowCamera", "only a whole payload can be locked"),
    ("restrictions", WHOLE_PAYLOAD, {"allowCamera": False}, None, "com.apple.applicationaccess", "can only be removed or locked"),
]


@pytest.mark.parametrize(("payload", "key", "value", "platforms", "where", "reason"), REFUSED)
def test_refused_with_key_and_reason(payload, key, value, platforms, where, reason):
    found = problems(payload, key, value, platforms) if platforms else problems(payload, key, value)
    assert found, "the value must be refused"
    assert any(problem.path == where and reason in problem.reason for problem in found), found


def test_pem_certificate_is_stored_as_der(ca_pem, ca_der):
    target = ref("rootcert:radius-ca", "PayloadContent")
    assert validation.normalise(target, ca_pem) == ca_der
    assert validation.check_entry(target, ca_der) == []


def test_base64_certificate_is_stored_as_der(ca_der):
    import base64

    target = ref("pkcs1cert:radius", "PayloadContent")
    assert validation.normalise(target, base64.b64encode(ca_der).decode()) == ca_der


def test_root_payload_refuses_a_leaf_certificate_but_pkcs1_takes_it(leaf_der):
    root = problems("rootcert:server", "PayloadContent", leaf_der)
    assert [p.reason for p in root] == [
        "is not a CA certificate (its BasicConstraints say CA:FALSE); use a pkcs1 certificate payload"
    ]
    assert problems("pkcs1cert:server", "PayloadContent", leaf_der) == []


def test_pem_file_bytes_are_stored_as_der(ca_pem, ca_der):
    target = ref("rootcert:radius-ca", "PayloadContent")
    assert validation.normalise(target, ca_pem.encode("ascii")) == ca_der
