"""KEY=VALUE parameters are read by the key's type in Apple's schema."""

from __future__ import annotations

import pytest

from mdm_protocol import commands
from mdm_protocol.commands import CommandError, build_from_strings, parse_params


def test_strings_and_case_insensitive_keys():
    command = build_from_strings("DeviceLock", ["message=Returner til kontoret", "PhoneNumber=+4712345678"])
    assert command.params == {"Message": "Returner til kontoret", "PhoneNumber": "+4712345678"}


@pytest.mark.parametrize(
    "request_type, pair, expected",
    [
        ("ProfileList", "ManagedOnly=true", {"ManagedOnly": True}),
        ("ProfileList", "ManagedOnly=No", {"ManagedOnly": False}),
        ("InstallApplication", "iTunesStoreID=361309726", {"iTunesStoreID": 361309726}),
        ("InstalledApplicationList", "Identifiers=com.a, com.b", {"Identifiers": ["com.a", "com.b"]}),
        ("InstalledApplicationList", 'Identifiers=["com.a"]', {"Identifiers": ["com.a"]}),
        ("InstallProfile", "Payload=aGVsbG8=", {"Payload": b"hello"}),
        ("Settings", 'Settings=[{"Item": "Bluetooth", "Enabled": false}]',
         {"Settings": [{"Item": "Bluetooth", "Enabled": False}]}),
        ("InstallApplication", 'Configuration={"server": "x"}', {"Configuration": {"server": "x"}}),
    ],
)
def test_typed_values(request_type, pair, expected):
    assert parse_params(request_type, [pair]) == expected


def test_data_from_file(tmp_path):
    profile = tmp_path / "wifi.mobileconfig"
    profile.write_bytes(b"<plist/>")
    command = build_from_strings("InstallProfile", [f"Payload=@{profile}"])
    assert command.params["Payload"] == b"<plist/>"
    with pytest.raises(CommandError, match="cannot read file") as caught:
        parse_params("InstallProfile", [f"Payload=@{tmp_path / 'missing'}"])
    assert caught.value.key == "Payload"


@pytest.mark.parametrize(
    "request_type, pairs, key, reason",
    [
        ("DeviceLock", ["Mesage=x"], "Mesage", "is not a parameter of DeviceLock (known: Message, PIN, PhoneNumber)"),
        ("DeviceLock", ["Message"], None, "must look like KEY=VALUE"),
        ("DeviceLock", ["Message=a", "message=b"], "Message", "is given twice"),
        ("ProfileList", ["ManagedOnly=perhaps"], "ManagedOnly", "must be true or false"),
        ("InstallApplication", ["iTunesStoreID=abc"], "iTunesStoreID", "must be an integer"),
        ("InstallProfile", ["Payload=not base64!"], "Payload", "must be base64 text or @file"),
        ("Settings", ["Settings={}"], "Settings", "must be a JSON array"),
        ("InstallApplication", ["Configuration=[1]"], "Configuration", "must be a JSON object"),
        ("ClearPasscode", ["UnlockToken=AAAA"], "UnlockToken", "is not a parameter of ClearPasscode"),
        ("Teleport", [], None, "not one Flokk can send"),
    ],
)
def test_bad_pairs_name_the_key(request_type, pairs, key, reason):
    with pytest.raises(CommandError) as caught:
        build_from_strings(request_type, pairs)
    assert caught.value.key == key
    assert reason in str(caught.value)


def test_schema_rules_still_apply_after_parsing():
    with pytest.raises(CommandError) as caught:
        build_from_strings("DeviceLock", ["PIN=123456"])
    assert caught.value.key == "PIN"
    assert commands.build_from_strings("RestartDevice", []).params == {}


def test_device_information_defaults_to_flokks_queries():
    assert parse_params("DeviceInformation", [])["Queries"] == list(commands.DEFAULT_DEVICE_QUERIES)
    assert parse_params("DeviceInformation", ["Queries=OSVersion"])["Queries"] == ["OSVersion"]
