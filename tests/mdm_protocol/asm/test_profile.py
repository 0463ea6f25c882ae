"""The ADE profile Flokk defines at Apple: its JSON, its checks, its fingerprint."""

import pytest

from mdm_protocol.asm.profile import AdeProfile, ProfileDefinitionError, panes, skippable_panes


def profile(**changes):
    values = dict(profile_name="Nordby skole (Bergvik kommune)", url="https://mdm.bergvik.no/asm/enroll",
                  department="Nordby skole", support_phone_number="+47 55 12 34 56", language="nb", region="NO",
                  skip_setup_items=("Siri", "AppleID"), anchor_certs=(b"\x30\x03\x02\x01\x01",))
    values.update(changes)
    return AdeProfile(**values)


def test_a_school_profile_is_supervised_mandatory_locked_and_awaits_configuration():
    body = profile().to_json()
    assert body["is_supervised"] is True and body["is_mandatory"] is True
    assert body["is_mdm_removable"] is False and body["await_device_configured"] is True
    assert body["skip_setup_items"] == ["AppleID", "Siri"]
    assert body["anchor_certs"] == ["MAMCAQE="] and body["language"] == "nb" and body["region"] == "NO"
    assert "devices" not in body


@pytest.mark.parametrize(("changes", "reason"), [
    ({"url": "http://mdm"}, "url"), ({"language": "Norsk"}, "language"), ({"region": "no"}, "region"),
    ({"support_phone_number": "call me"}, "support_phone"), ({"skip_setup_items": ("Dance",)}, "skip_setup_items"),
    ({"is_supervised": False}, "is_mdm_removable"),
])
def test_values_apple_would_refuse_are_named(changes, reason):
    with pytest.raises(ProfileDefinitionError, match=reason):
        profile(**changes).to_json()


def test_the_fingerprint_changes_with_the_definition():
    assert profile().fingerprint() == profile().fingerprint()
    assert profile().fingerprint() != profile(support_phone_number="+47 99 99 99 99").fingerprint()


def test_pane_names_come_from_apples_skip_keys():
    assert {"AppleID", "Siri", "Restore", "Passcode"} <= set(skippable_panes())
    assert "FileVault" not in skippable_panes()  # macOS only
    assert panes(["siri", "APPLEID", "Siri"]) == ("AppleID", "Siri")
    with pytest.raises(ProfileDefinitionError, match="FileVault"):
        panes(["FileVault"])
