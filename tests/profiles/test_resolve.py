"""Resolution: effective values with provenance, and reasons for everything left out."""

import pytest

from profiles.layers import Change, apply_changes
from profiles.model import DeviceFacts, Layer, LayerId, Level, PayloadRef
from profiles.payloads import parse_ref
from profiles.model import SettingRef
from profiles.resolve import merge, resolve

CENTRAL, ICT_A, ICT_B, TEACHER = "kari@kommune.no", "ola@a.no", "siri@b.no", "lærer@a.no"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8

BASE = apply_changes(
    Layer.of("baseline"),
    [],
    [
        Change.set("restrictions", "allowCamera", False, lock=True),
        Change.set("restrictions", "allowAirDrop", False),
        Change.set("restrictions", "allowAppInstallation", False),
        Change.set("passcode", "minLength", 6),
        Change.set("webfilter", "AutoFilterEnabled", True),
        Change.lock_it("webfilter"),
        Change.set("wifi:eduroam", "SSID_STR", "eduroam", lock=True),
        Change.set("wifi:guest", "SSID_STR", "Kommune-Gjest"),
        Change.set("homescreen", "Pages", [[{"Type": "App", "BundleID": "com.apple.mobilesafari"}]]),
        Change.set("softwareupdate", "AutomaticCheckEnabled", True),
        Change.set("webclip:portal", "URL", "https://portal.kommune.no/"),
        Change.set("webclip:portal", "Label", "Portal"),
    ],
    actor=CENTRAL,
)
SCHOOL_A = apply_changes(
    Layer.of("school:A"),
    [BASE],
    [
        Change.set("passcode", "minLength", 8),
        Change.set("wifi:school-a", "SSID_STR", "Skole-A"),
        Change.set("wifi:school-a", "EncryptionType", "WPA2"),
        Change.set("wifi:school-a", "Password", "hemmelig-a"),
        Change.remove("wifi:guest"),
        Change.remove("restrictions", "allowAppInstallation"),
    ],
    actor=ICT_A,
)
SCHOOL_B = apply_changes(Layer.of("school:B"), [BASE], [Change.set("restrictions", "allowAirDrop", True)], actor=ICT_B)
GROUP_5A = apply_changes(
    Layer.of("group:A/5a"),
    [BASE, SCHOOL_A],
    [
        Change.set("passcode", "minLength", 10),
        Change.set("webclip:matte", "URL", "https://matte.example/"),
        Change.set("webclip:matte", "Label", "Matte"),
    ],
    actor=TEACHER,
)
GROUP_6B = apply_changes(
    Layer.of("group:A/6b"), [BASE, SCHOOL_A], [Change.set("singleapp", "App", {"Identifier": "no.udir.eksamen"})], actor=TEACHER
)
GROUP_7C = apply_changes(Layer.of("group:B/7c"), [BASE, SCHOOL_B], [Change.remove("wifi:guest")], actor=ICT_B)
DEVICE_1 = apply_changes(
    Layer.of("device:IPAD-1"), [BASE, SCHOOL_B], [Change.set("restrictions", "allowAirDrop", False)], actor=CENTRAL
)
WORLD = [BASE, SCHOOL_A, SCHOOL_B, GROUP_5A, GROUP_6B, GROUP_7C, DEVICE_1]


def ipad(school="", group="", device="", supervised=True, **more):
    return DeviceFacts("ipados", supervised=supervised, school=school, group=group, device=device, **more)


VALUES = [
    # (case, facts, payload, key, value, layer that set it, locked in)
    ("baseline default", ipad("B"), "passcode", "minLength", 6, "baseline", None),
    ("school overrides default", ipad("A"), "passcode", "minLength", 8, "school:A", None),
    ("group overrides school", ipad("A", "A/5a"), "passcode", "minLength", 10, "group:A/5a", None),
    ("other class keeps school value", ipad("A", "A/6b"), "passcode", "minLength", 8, "school:A", None),
    ("locked camera in school A", ipad("A", "A/5a"), "restrictions", "allowCamera", False, "baseline", "baseline"),
    ("locked camera in school B", ipad("B"), "restrictions", "allowCamera", False, "baseline", "baseline"),
    ("school B relaxes AirDrop", ipad("B"), "restrictions", "allowAirDrop", True, "school:B", None),
    ("device layer wins", ipad("B", device="IPAD-1"), "restrictions", "allowAirDrop", False, "device:IPAD-1", None),
    ("other device keeps school", ipad("B", device="IPAD-2"), "restrictions", "allowAirDrop", True, "school:B", None),
    ("locked Wi-Fi everywhere", ipad("A"), "wifi:eduroam", "SSID_STR", "eduroam", "baseline", "baseline"),
    ("school Wi-Fi", ipad("A"), "wifi:school-a", "SSID_STR", "Skole-A", "school:A", None),
    ("guest Wi-Fi kept in B", ipad("B"), "wifi:guest", "SSID_STR", "Kommune-Gjest", "baseline", None),
    ("whole-payload lock marks values", ipad("A"), "webfilter", "AutoFilterEnabled", True, "baseline", "baseline"),
    ("group adds a web clip", ipad("A", "A/5a"), "webclip:matte", "Label", "Matte", "group:A/5a", None),
    ("exam class in single-app mode", ipad("A", "A/6b"), "singleapp", "App", {"Identifier": "no.udir.eksamen"}, "group:A/6b", None),
    ("supervision-free key kept", ipad("B", supervised=False), "restrictions", "allowCamera", False, "baseline", "baseline"),
    ("Mac gets software update", DeviceFacts("macos", school="B"), "softwareupdate", "AutomaticCheckEnabled", True, "baseline", None),
    ("Chromebook camera from baseline", DeviceFacts("chromeos", school="B"), "restrictions", "allowCamera", False, "baseline", "baseline"),
]


@pytest.mark.parametrize(("case", "facts", "payload", "key", "value", "layer", "locked_in"), VALUES, ids=[row[0] for row in VALUES])
def test_effective_value_and_provenance(case, facts, payload, key, value, layer, locked_in):
    effective = resolve(WORLD, facts).value(payload, key)
    assert effective is not None, f"{payload} {key} missing"
    assert effective.value == value
    assert str(effective.provenance.layer) == layer
    assert effective.provenance.locked is (locked_in is not None)
    if locked_in:
        assert str(effective.provenance.locked_in) == locked_in
        assert effective.provenance.locked_by == CENTRAL


ABSENT = [
    # (case, facts, payload, key or None, words of the recorded reason)
    ("school removed guest Wi-Fi", ipad("A"), "wifi:guest", None, "removed by school:A"),
    ("class removed guest Wi-Fi", ipad("B", "B/7c"), "wifi:guest", None, "removed by group:B/7c"),
    ("school removed a default key", ipad("A"), "restrictions", "allowAppInstallation", "removed by school:A"),
    ("supervised-only key", ipad("B", supervised=False), "restrictions", "allowAirDrop", "needs a supervised device"),
    ("supervised-only payload", ipad("B", supervised=False), "homescreen", None, "needs a supervised device"),
    ("single-app needs supervision", ipad("A", "A/6b", supervised=False), "singleapp", None, "needs a supervised device"),
    ("Mac has no home screen", DeviceFacts("macos", school="B"), "homescreen", None, "not available on macos"),
    ("iPad has no Mac updates", ipad("B"), "softwareupdate", None, "not available on ipados"),
    ("Mac web clips are user channel", DeviceFacts("macos", school="B"), "webclip:portal", None, "user channel on macos"),
    ("Shared iPad has no passcode", ipad("B", shared_ipad=True), "passcode", None, "not allowed on a Shared iPad"),
    ("Shared iPad web clips are per user", ipad("B", shared_ipad=True), "webclip:portal", None, "user channel on a Shared iPad"),
    ("Chromebook has no passcode length", DeviceFacts("chromeos", school="B"), "passcode", "minLength", "not applicable to Chromebooks"),
    ("Chromebook has no home screen layout", DeviceFacts("chromeos", school="B"), "homescreen", None, "not applicable to Chromebooks"),
    ("Chromebook key without equivalent", DeviceFacts("chromeos", school="B"), "restrictions", "allowAirDrop", "no Chrome policy equivalent"),
    ("Chromebook device layer", DeviceFacts("chromeos", school="B", device="IPAD-1"), "restrictions", "allowAirDrop",
     "device settings do not apply"),
]


@pytest.mark.parametrize(("case", "facts", "payload", "key", "reason"), ABSENT, ids=[row[0] for row in ABSENT])
def test_left_out_with_recorded_reason(case, facts, payload, key, reason):
    policy = resolve(WORLD, facts)
    ref = parse_ref(payload)
    if key is None:
        assert policy.payload(ref) is None
    else:
        assert policy.value(ref, key) is None
    notes = [note for note in policy.left_out if note.payload == ref and note.key == key]
    assert any(reason in note.reason for note in notes), [str(note) for note in policy.left_out]


def identifiers(facts):
    return {str(payload.ref) for payload in resolve(WORLD, facts).payloads}


def test_group_membership_change_swaps_class_payloads():
    in_5a, in_6b = identifiers(ipad("A", "A/5a")), identifiers(ipad("A", "A/6b"))
    assert "com.apple.webClip.managed:matte" in in_5a - in_6b
    assert "com.apple.app.lock" in in_6b - in_5a
    assert in_5a & in_6b >= {"com.apple.wifi.managed:school-a", "com.apple.applicationaccess"}


def test_moving_school_swaps_school_payloads_and_values():
    in_a, in_b = resolve(WORLD, ipad("A")), resolve(WORLD, ipad("B"))
    assert in_a.payload("wifi:school-a") and not in_b.payload("wifi:school-a")
    assert in_b.payload("wifi:guest") and not in_a.payload("wifi:guest")
    assert in_a.value("passcode", "minLength").value == 8
    assert in_b.value("passcode", "minLength").value == 6


def test_a_group_of_another_school_never_applies():
    policy = resolve(WORLD, ipad("B", "A/5a"))
    assert LayerId(Level.GROUP, "A/5a") in policy.layers, "facts decide the group; the app keeps them consistent"
    assert resolve(WORLD, ipad("B", "B/9z")).layers == (LayerId(Level.BASELINE), LayerId(Level.SCHOOL, "B"))


def test_overrides_record_the_chain_of_values():
    effective = resolve(WORLD, ipad("A", "A/5a")).value("passcode", "minLength")
    assert effective.provenance.overrides == ((LayerId(Level.BASELINE), 6), (LayerId(Level.SCHOOL, "A"), 8))
    assert effective.provenance.set_by == TEACHER


def test_a_lock_added_later_overrules_existing_overrides_and_says_so():
    locked_base = apply_changes(BASE, [], [Change.lock_it("restrictions", "allowAirDrop")], actor=CENTRAL)
    policy = resolve([locked_base, SCHOOL_B], ipad("B"))
    assert policy.value("restrictions", "allowAirDrop").value is False
    (note,) = [note for note in policy.left_out if note.key == "allowAirDrop"]
    assert note.layer == LayerId(Level.SCHOOL, "B")
    assert note.reason == f"ignored: locked in baseline by {CENTRAL}"


def test_remove_then_set_replaces_an_inherited_payload():
    school = apply_changes(
        Layer.of("school:C"),
        [BASE],
        [Change.remove("wifi:guest"), Change.set("wifi:guest", "SSID_STR", "C-Gjest"), Change.set("wifi:guest", "HIDDEN_NETWORK", True)],
        actor="x",
    )
    guest = resolve([BASE, school], ipad("C")).payload("wifi:guest")
    assert guest.plain() == {"SSID_STR": "C-Gjest", "HIDDEN_NETWORK": True}


def test_incomplete_payload_is_left_out_with_the_missing_key():
    school = apply_changes(Layer.of("school:C"), [BASE], [Change.set("webclip:half", "URL", "https://x.example/")], actor="x")
    policy = resolve([BASE, school], ipad("C"))
    assert policy.payload("webclip:half") is None
    (note,) = [note for note in policy.left_out if note.payload == parse_ref("webclip:half")]
    assert note.reason == "incomplete: Label is required"


def test_module_rules_on_merged_payload():
    school = apply_changes(
        Layer.of("school:C"),
        [BASE],
        [Change.set("passcode", "minLength", 2), Change.set("passcode", "minComplexChars", 3),
         Change.set("wifi:open", "SSID_STR", "Open"), Change.set("wifi:open", "EncryptionType", "None"),
         Change.set("wifi:open", "Password", "x")],
        actor="x",
    )
    policy = resolve([BASE, school], ipad("C"))
    reasons = {str(note.payload): note.reason for note in policy.left_out if note.key is None}
    assert reasons["com.apple.mobiledevice.passwordpolicy"] == "incomplete: minComplexChars is 3, more than the minimum length 2"
    assert reasons["com.apple.wifi.managed:open"] == "incomplete: Password is set but EncryptionType is None"


@pytest.mark.parametrize(("password", "problem"), [
    ("kort", "Password must be 8 to 63 characters (or 64 hexadecimal digits) for WPA"),
    ("a" * 63, None),
    ("0123456789ABCDEF" * 4, None),
    ("g" * 64, "Password must be 8 to 63 characters (or 64 hexadecimal digits) for WPA"),
])
def test_a_wpa_password_of_the_wrong_length_leaves_the_network_out(password, problem):
    school = apply_changes(
        Layer.of("school:C"),
        [BASE],
        [Change.set("wifi:elev", "SSID_STR", "Elev"), Change.set("wifi:elev", "EncryptionType", "WPA2"),
         Change.set("wifi:elev", "Password", password)],
        actor="x",
    )
    policy = resolve([BASE, school], ipad("C"))
    reasons = {str(note.payload): note.reason for note in policy.left_out if note.key is None}
    assert reasons.get("com.apple.wifi.managed:elev") == (f"incomplete: {problem}" if problem else None)


def enterprise_wifi(anchor="radius-ca"):
    return [
        Change.set("wifi:staff", "SSID_STR", "Ansatt"),
        Change.set("wifi:staff", "EncryptionType", "WPA2"),
        Change.set("wifi:staff", "EAPClientConfiguration", {"AcceptEAPTypes": [25], "PayloadCertificateAnchorUUID": [anchor]}),
    ]


def test_certificate_references_resolve_or_leave_the_payload_out(ca_der):
    with_ca = apply_changes(
        Layer.of("school:C"), [BASE], [*enterprise_wifi(), Change.set("rootcert:radius-ca", "PayloadContent", ca_der)], actor="x"
    )
    staff = resolve([BASE, with_ca], ipad("C")).payload("wifi:staff")
    assert staff.references == (PayloadRef("com.apple.security.root", "radius-ca"),)
    without = apply_changes(Layer.of("school:C"), [BASE], enterprise_wifi(), actor="x")
    policy = resolve([BASE, without], ipad("C"))
    assert policy.payload("wifi:staff") is None
    assert any("radius-ca" in note.reason for note in policy.left_out if note.payload == parse_ref("wifi:staff"))


def test_enterprise_wifi_is_not_half_translated_for_chromebooks(ca_der):
    layer = apply_changes(
        Layer.of("school:C"), [BASE], [*enterprise_wifi(), Change.set("rootcert:radius-ca", "PayloadContent", ca_der)], actor="x"
    )
    policy = resolve([BASE, layer], DeviceFacts("chromeos", school="C"))
    assert policy.payload("wifi:staff") is None
    assert any("enterprise (EAP)" in note.reason for note in policy.left_out)


def test_no_layers_gives_an_empty_policy():
    policy = resolve([], ipad("A"))
    assert policy.payloads == () and policy.left_out == ()


def test_resolution_is_deterministic():
    assert resolve(WORLD, ipad("A", "A/5a")) == resolve(list(reversed(WORLD)), ipad("A", "A/5a"))


def test_unknown_platform_is_refused():
    with pytest.raises(ValueError, match="unknown platform"):
        DeviceFacts("android")


def test_merge_shows_a_layer_in_context_without_a_device():
    """A school's page: inherited values, its own overrides and the locks above, whatever the platform."""
    values, notes = merge([GROUP_5A, SCHOOL_A, BASE])  # any order: merged most general first

    def at(payload, key):
        return values[SettingRef(parse_ref(payload), key)]

    assert (at("passcode", "minLength").value, at("passcode", "minLength").provenance.layer) == (10, LayerId(Level.GROUP, "A/5a"))
    camera = at("restrictions", "allowCamera").provenance
    assert (camera.locked, camera.locked_in, camera.locked_by) == (True, LayerId(Level.BASELINE), CENTRAL)
    assert at("webfilter", "AutoFilterEnabled").provenance.locked_in == LayerId(Level.BASELINE), "whole-payload lock"
    assert SettingRef(parse_ref("restrictions"), "allowAppInstallation") not in values, "removed by school A"
    assert at("softwareupdate", "AutomaticCheckEnabled").value is True, "kept: no device facts leave it out"
    assert any(note.key == "allowAppInstallation" and note.reason == "removed by school:A" for note in notes)
