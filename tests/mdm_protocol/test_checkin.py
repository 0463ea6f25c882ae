"""Check-in messages: every capture replays; bad messages are refused naming the key."""

from __future__ import annotations

import plistlib

import pytest

from mdm_protocol import checkin, plist
from tests.mdm_protocol.conftest import FIXTURES

CAPTURES = sorted(
    path
    for path in FIXTURES.rglob("*")
    if path.suffix in (".xml", ".plist") and b"<key>MessageType</key>" in path.read_bytes()
)
#: Captures whose <data> holds the redaction placeholder "Base64=": not valid
#: base64, so a strict parser must refuse them (see the fixtures README).
REDACTED_INVALID = {"cmdmnt+commandment/testdata/TokenUpdate/iOS-11.3.1.xml"}


def test_there_are_check_in_captures_of_every_kind():
    kinds = {plistlib.loads(p.read_bytes())["MessageType"] for p in CAPTURES if str(p.relative_to(FIXTURES)) not in REDACTED_INVALID}
    assert {"Authenticate", "TokenUpdate", "CheckOut"} <= kinds
    assert len(CAPTURES) >= 15


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_every_capture_replays(path):
    body = path.read_bytes()
    if str(path.relative_to(FIXTURES)) in REDACTED_INVALID:
        with pytest.raises(plist.PlistError, match="base64"):
            checkin.parse(body)
        return
    raw = plistlib.loads(body)
    message = checkin.parse(body)
    assert message.message_type == raw["MessageType"]
    assert message.enrollment.device_id == raw.get("UDID", raw.get("EnrollmentID"))
    assert message.topic == raw["Topic"]
    assert message.raw == raw
    if isinstance(message, checkin.TokenUpdate):
        assert message.token == raw["Token"] and message.push_magic == raw["PushMagic"]
        assert message.unlock_token == raw.get("UnlockToken")
        assert message.enrollment.is_user_channel == ("UserID" in raw)


def test_authenticate_fields(capture):
    message = checkin.parse(capture("micromdm+nanomdm/mdm/testdata/Authenticate.1.plist"))
    assert isinstance(message, checkin.Authenticate)
    assert (message.serial_number, message.product_name, message.os_version, message.build_version) == (
        "F5JM992LF193",
        "iPad2,5",
        "9.3.5",
        "13G36",
    )
    assert message.enrollment == checkin.Enrollment(device_id="663b07bb783e9ade1dae4fbb92ea12afc0ce5b69")


def test_binary_plist_is_accepted(capture):
    raw = plistlib.loads(capture("micromdm+nanomdm/mdm/testdata/TokenUpdate.1.plist"))
    message = checkin.parse(plistlib.dumps(raw, fmt=plistlib.FMT_BINARY))
    assert isinstance(message, checkin.TokenUpdate) and message.unlock_token


def _msg(**keys):
    base = {"MessageType": "Authenticate", "Topic": "com.apple.mgmt.x", "UDID": "0000-1111"}
    base.update(keys)
    return plistlib.dumps({k: v for k, v in base.items() if v is not None})


@pytest.mark.parametrize(
    "body, reason",
    [
        (_msg(MessageType=None), "MessageType: is required"),
        (_msg(MessageType=7), "MessageType: must be a string, not an integer"),
        (_msg(Topic=None), "Topic: is required"),
        (_msg(Topic=["x"]), "Topic: must be a string, not an array"),
        (_msg(UDID=None), "UDID: is required"),
        (_msg(UDID=123), "UDID: must be a string"),
        (_msg(UDID="../../etc/passwd"), "UDID: is not a valid identifier"),
        (_msg(UDID="x" * 500), "UDID: is not a valid identifier"),
        (_msg(SerialNumber=42), "SerialNumber: must be a string, not an integer"),
        (_msg(MessageType="TokenUpdate", PushMagic="m"), "Token: is required"),
        (_msg(MessageType="TokenUpdate", Token="abc", PushMagic="m"), "Token: must be a data, not a string"),
        (_msg(MessageType="TokenUpdate", Token=b"", PushMagic="m"), "Token: must not be empty"),
        (_msg(MessageType="TokenUpdate", Token=b"t", PushMagic=""), "PushMagic: must not be empty"),
        (_msg(MessageType="TokenUpdate", Token=b"t", PushMagic="m", AwaitingConfiguration="yes"), "AwaitingConfiguration"),
        (_msg(MessageType="SetBootstrapToken", BootstrapToken="text"), "BootstrapToken: must be a data"),
        (_msg(MessageType="TokenUpdate", Token=b"t", PushMagic="m", UserShortName=""), "UserShortName"),
        (plistlib.dumps(["Authenticate"]), "top level must be a dictionary"),
    ],
)
def test_bad_messages_are_refused_naming_the_key(body, reason):
    with pytest.raises((checkin.CheckinError, plist.PlistError)) as caught:
        checkin.parse(body)
    assert reason in str(caught.value)


@pytest.mark.parametrize("kind", ["GetToken", "Bogus"])
def test_unsupported_message_types_are_named(kind):
    with pytest.raises(checkin.UnsupportedMessage) as caught:
        checkin.parse(_msg(MessageType=kind))
    assert caught.value.message_type == kind and kind in str(caught.value)


def test_unknown_keys_are_kept():
    message = checkin.parse(_msg(FutureKey={"a": 1}))
    assert message.raw["FutureKey"] == {"a": 1}


def test_shared_ipad_user_channel_is_keyed_by_managed_apple_id():
    body = _msg(
        MessageType="TokenUpdate",
        Token=b"t",
        PushMagic="m",
        UserID=checkin.SHARED_IPAD_USER_ID,
        UserShortName="pupil@school.example",
        UserLongName="A Pupil",
    )
    message = checkin.parse(body)
    assert message.enrollment.user_id == "pupil@school.example"
    assert message.enrollment.is_user_channel


def test_user_enrollment_uses_enrollment_id():
    message = checkin.parse(_msg(UDID=None, EnrollmentID="ABCDEF0123"))
    assert message.enrollment.device_id == "ABCDEF0123" and message.enrollment.is_user_enrollment


def test_user_authenticate_first_message_needs_no_digest():
    message = checkin.parse(_msg(MessageType="UserAuthenticate", Topic=None, UserID="U-1", UserLongName="A"))
    assert isinstance(message, checkin.UserAuthenticate)
    assert message.digest_response is None and message.enrollment.user_id == "U-1"


def test_set_bootstrap_token_empty_clears():
    message = checkin.parse(_msg(MessageType="SetBootstrapToken", BootstrapToken=b""))
    assert isinstance(message, checkin.SetBootstrapToken) and message.bootstrap_token is None
