"""Values to and from JSON and command-line text; secrets masked."""

import datetime as dt

import pytest

from mdm_protocol.apple_schema import KeySpec
from profiles import values
from profiles.model import LOCK_ONLY, REMOVED
from profiles.payloads import kind


@pytest.mark.parametrize(
    "value",
    [
        True,
        6,
        2.5,
        "text",
        b"\x00\x01binary",
        dt.datetime(2025, 8, 1, 12, 30),
        ["a", {"b": b"\xff"}],
        {"nested": {"list": [1, 2, 3]}},
        REMOVED,
        LOCK_ONLY,
    ],
)
def test_json_round_trip(value):
    import json

    stored = json.loads(json.dumps(values.to_json(value)))
    assert values.from_json(stored) == value or values.from_json(stored) is value


def test_canonical_is_order_independent():
    assert values.canonical({"a": 1, "b": [1, 2]}) == values.canonical({"b": [1, 2], "a": 1})


BOOL = KeySpec(name="allowCamera", type="boolean")
INT = KeySpec(name="minLength", type="integer")
REAL = KeySpec(name="x", type="real")
ARRAY = KeySpec(name="DenyListURLs", type="array")
STRING = KeySpec(name="SSID_STR", type="string")
DATE = KeySpec(name="d", type="date")


@pytest.mark.parametrize(
    ("spec", "text", "expected"),
    [
        (BOOL, "false", False),
        (BOOL, "Yes", True),
        (BOOL, "0", False),
        (INT, " 8 ", 8),
        (REAL, "2.5", 2.5),
        (ARRAY, '["https://a.example"]', ["https://a.example"]),
        (STRING, "Skole Wi-Fi", "Skole Wi-Fi"),
        (STRING, "true", "true"),
        (DATE, "2025-01-02T03:04:05", dt.datetime(2025, 1, 2, 3, 4, 5)),
    ],
)
def test_parse_text(spec, text, expected):
    assert values.parse_text(spec, text) == expected


@pytest.mark.parametrize(
    ("spec", "text", "reason"),
    [
        (BOOL, "maybe", "true or false"),
        (INT, "six", "whole number"),
        (INT, "6.5", "whole number"),
        (REAL, "x", "number"),
        (ARRAY, "[unclosed", "JSON"),
        (DATE, "yesterday", "ISO 8601"),
    ],
)
def test_parse_text_refuses_with_reason(spec, text, reason):
    with pytest.raises(values.BadText, match=reason):
        values.parse_text(spec, text)


def test_secrets_are_found_and_masked_also_when_nested():
    wifi = kind("wifi")
    assert values.holds_secret(wifi.key_spec("Password"))
    assert values.holds_secret(wifi.key_spec("EAPClientConfiguration"))
    assert not values.holds_secret(wifi.key_spec("SSID_STR"))
    assert not values.holds_secret(kind("restrictions").key_spec("allowPasswordAutoFill"))
    eap = {"AcceptEAPTypes": [25], "UserName": "elev", "UserPassword": "hemmelig"}
    assert values.redact(wifi.key_spec("EAPClientConfiguration"), eap) == {
        "AcceptEAPTypes": [25],
        "UserName": "elev",
        "UserPassword": values.MASK,
    }
    assert values.redact(wifi.key_spec("Password"), "hemmelig") == values.MASK


@pytest.mark.parametrize(
    ("value", "shown"),
    [(True, "true"), (b"abc", "<3 bytes>"), (REMOVED, "(removed)"), ([1, 2], "[1,2]"), ("x", "x")],
)
def test_show(value, shown):
    assert values.show(value) == shown
