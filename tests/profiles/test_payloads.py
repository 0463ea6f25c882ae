"""The registry of supported payload types: everything the issue names, found by alias or type."""

import pytest

from profiles import payloads
from profiles.model import PayloadRef

ISSUE_PAYLOADS = [
    ("restrictions", "com.apple.applicationaccess", False),
    ("passcode", "com.apple.mobiledevice.passwordpolicy", False),
    ("wifi", "com.apple.wifi.managed", True),
    ("webfilter", "com.apple.webcontent-filter", False),
    ("homescreen", "com.apple.homescreenlayout", False),
    ("singleapp", "com.apple.app.lock", False),
    ("notifications", "com.apple.notificationsettings", False),
    ("education", "com.apple.education", False),
    ("rootcert", "com.apple.security.root", True),
    ("pkcs1cert", "com.apple.security.pkcs1", True),
    ("webclip", "com.apple.webClip.managed", True),
    ("softwareupdate", "com.apple.SoftwareUpdate", False),
]


@pytest.mark.parametrize(("alias", "payload_type", "repeatable"), ISSUE_PAYLOADS)
def test_every_issue_payload_is_supported_by_alias_and_type(alias, payload_type, repeatable):
    by_alias, by_type = payloads.kind(alias), payloads.kind(payload_type)
    assert by_alias is by_type
    assert by_alias.payload_type == payload_type
    assert by_alias.repeatable is repeatable
    assert by_alias.spec.name == payload_type, "the kind reads Apple's schema for its own type"
    assert by_alias.spec.keys, "Apple's schema lists the payload's keys"


def test_registry_lists_each_kind_once_in_alias_order():
    aliases = [item.alias for item in payloads.all_kinds()]
    assert aliases == sorted(set(aliases))
    assert {alias for alias, _, _ in ISSUE_PAYLOADS} <= set(aliases)


def test_unknown_payload_names_the_known_ones():
    with pytest.raises(payloads.UnknownPayload) as caught:
        payloads.kind("com.apple.tvremote")
    assert "com.apple.tvremote" in str(caught.value)
    assert "wifi" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("wifi:eduroam", PayloadRef("com.apple.wifi.managed", "eduroam")),
        ("com.apple.wifi.managed:eduroam", PayloadRef("com.apple.wifi.managed", "eduroam")),
        ("restrictions", PayloadRef("com.apple.applicationaccess", "")),
        (" passcode ", PayloadRef("com.apple.mobiledevice.passwordpolicy", "")),
    ],
)
def test_parse_ref(text, expected):
    assert payloads.parse_ref(text) == expected


def test_software_update_deferral_keys_live_in_restrictions():
    restrictions = payloads.kind("restrictions")
    for key in ("forceDelayedSoftwareUpdates", "enforcedSoftwareUpdateDelay"):
        assert restrictions.key_spec(key) is not None, key


def test_home_screen_schema_with_recursive_folders_loads():
    """Apple's YAML lets a folder hold pages of icons that are folders; the reader must end."""
    spec = payloads.kind("homescreen").key_spec("Pages")
    assert spec is not None and spec.type == "array"
    icon = spec.subkeys[0].subkeys[0]
    assert icon.name == "IconItem"
    assert {"Type", "BundleID", "Pages"} <= {sub.name for sub in icon.subkeys}
