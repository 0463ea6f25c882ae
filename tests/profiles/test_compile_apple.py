"""Apple profiles: valid against Apple's schema, stable identifiers, content-derived UUIDs."""

import plistlib
import uuid

import pytest

from profiles.compile import CompileOptions, compiler_for
from profiles.compile.apple import AppleProfileCompiler, validate_profile
from profiles.layers import Change, apply_changes
from profiles.model import DeviceFacts, Layer
from profiles.resolve import resolve

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8
SUPERVISED_IPAD = DeviceFacts("ipados", supervised=True, school="A")


def sample_changes(ca_der: bytes, leaf_der: bytes) -> dict[str, list[Change]]:
    """A realistic, complete setting of every supported payload type."""
    return {
        "restrictions": [
            Change.set("restrictions", "allowCamera", False, lock=True),
            Change.set("restrictions", "forceDelayedSoftwareUpdates", True),
            Change.set("restrictions", "enforcedSoftwareUpdateDelay", 30),
        ],
        "passcode": [
            Change.set("passcode", "minLength", 6),
            Change.set("passcode", "maxInactivity", 5),
            Change.set("passcode", "forcePIN", True),
        ],
        "wifi:school": [
            Change.set("wifi:school", "SSID_STR", "Skole"),
            Change.set("wifi:school", "EncryptionType", "WPA2"),
            Change.set("wifi:school", "Password", "hemmelig-passord"),
        ],
        "wifi:staff": [
            Change.set("wifi:staff", "SSID_STR", "Ansatt"),
            Change.set("wifi:staff", "EncryptionType", "WPA2"),
            Change.set(
                "wifi:staff",
                "EAPClientConfiguration",
                {
                    "AcceptEAPTypes": [25],
                    "TLSTrustedServerNames": ["radius.kommune.no"],
                    "PayloadCertificateAnchorUUID": ["radius-ca", "radius-server"],
                },
            ),
        ],
        "rootcert:radius-ca": [Change.set("rootcert:radius-ca", "PayloadContent", ca_der)],
        "pkcs1cert:radius-server": [Change.set("pkcs1cert:radius-server", "PayloadContent", leaf_der)],
        "webfilter": [
            Change.set("webfilter", "AutoFilterEnabled", True),
            Change.set("webfilter", "DenyListURLs", ["https://spill.example"]),
            Change.set("webfilter", "PermittedURLs", ["https://skole.example"]),
        ],
        "homescreen": [
            Change.set("homescreen", "Dock", [{"Type": "App", "BundleID": "com.apple.mobilesafari"}]),
            Change.set(
                "homescreen",
                "Pages",
                [[{"Type": "App", "BundleID": "com.apple.camera"},
                  {"Type": "Folder", "DisplayName": "Skole", "Pages": [[{"Type": "App", "BundleID": "com.apple.Keynote"}]]}]],
            ),
        ],
        "singleapp": [Change.set("singleapp", "App", {"Identifier": "no.udir.eksamen", "Options": {"DisableAutoLock": True}})],
        "notifications": [
            Change.set("notifications", "NotificationSettings", [{"BundleIdentifier": "com.apple.MobileSMS", "NotificationsEnabled": False}])
        ],
        "education": [
            Change.set("education", "OrganizationUUID", str(uuid.UUID(int=7))),
            Change.set("education", "OrganizationName", "Kommune"),
            Change.set("education", "Groups", [{"BeaconID": 1, "Name": "5A", "MemberIdentifiers": ["elev1"]}]),
            Change.set("education", "Users", [{"Identifier": "elev1", "Name": "elev1", "GivenName": "Ada", "FamilyName": "L"}]),
        ],
        "webclip:portal": [
            Change.set("webclip:portal", "URL", "https://portal.kommune.no/"),
            Change.set("webclip:portal", "Label", "Portal"),
            Change.set("webclip:portal", "Icon", PNG),
        ],
    }


@pytest.fixture(scope="module")
def samples(request):
    ca = request.getfixturevalue("ca_der")
    leaf = request.getfixturevalue("leaf_der")
    return sample_changes(ca, leaf)


def compile_layer(changes, options, facts=SUPERVISED_IPAD):
    layer = apply_changes(Layer.of("baseline"), [], changes, actor="kari")
    policy = resolve([layer], facts)
    return policy, compiler_for(facts.platform, options).compile(policy)


PAYLOADS = [
    "restrictions", "passcode", "wifi:school", "rootcert:radius-ca", "pkcs1cert:radius-server",
    "webfilter", "homescreen", "singleapp", "notifications", "education", "webclip:portal",
]


@pytest.mark.parametrize("name", PAYLOADS)
def test_each_payload_compiles_to_a_profile_valid_against_apples_schema(name, samples, options):
    policy, compiled = compile_layer(samples[name], options)
    assert policy.left_out == ()
    (profile,) = compiled.artifacts
    body = profile.as_dict()
    assert validate_profile(body, "ipados") == []
    assert body["PayloadType"] == "Configuration"
    assert body["PayloadIdentifier"] == profile.identifier
    assert profile.identifier == "no.kommune.skole.policy." + name.replace(":", ".")
    assert uuid.UUID(body["PayloadUUID"]) and body["PayloadUUID"] == profile.uuid


def test_enterprise_wifi_embeds_the_certificates_it_trusts(samples, options, ca_der, leaf_der):
    changes = samples["wifi:staff"] + samples["rootcert:radius-ca"] + samples["pkcs1cert:radius-server"]
    _, compiled = compile_layer(changes, options)
    staff = compiled.by_identifier()["no.kommune.skole.policy.wifi.staff"].as_dict()
    assert validate_profile(staff, "ipados") == []
    wifi, root, server = staff["PayloadContent"]
    assert (root["PayloadType"], root["PayloadContent"]) == ("com.apple.security.root", ca_der)
    assert (server["PayloadType"], server["PayloadContent"]) == ("com.apple.security.pkcs1", leaf_der)
    assert wifi["EAPClientConfiguration"]["PayloadCertificateAnchorUUID"] == [root["PayloadUUID"], server["PayloadUUID"]]
    assert root["PayloadCertificateFileName"] == "radius-ca.cer"
    assert set(compiled.by_identifier()) == {
        "no.kommune.skole.policy.wifi.staff",
        "no.kommune.skole.policy.rootcert.radius-ca",
        "no.kommune.skole.policy.pkcs1cert.radius-server",
    }


def test_same_content_same_bytes_and_uuid(samples, options):
    _, first = compile_layer(samples["passcode"], options)
    _, second = compile_layer(list(reversed(samples["passcode"])), options)
    assert first.artifacts[0].body == second.artifacts[0].body
    assert first.artifacts[0].uuid == second.artifacts[0].uuid


def test_changed_content_keeps_identifier_and_changes_uuid(samples, options):
    _, six = compile_layer(samples["passcode"], options)
    _, eight = compile_layer(samples["passcode"] + [Change.set("passcode", "minLength", 8)], options)
    assert six.artifacts[0].identifier == eight.artifacts[0].identifier
    assert six.artifacts[0].uuid != eight.artifacts[0].uuid
    assert six.artifacts[0].content_hash != eight.artifacts[0].content_hash
    inner_six, inner_eight = (item.artifacts[0].as_dict()["PayloadContent"][0] for item in (six, eight))
    assert inner_six["PayloadIdentifier"] == inner_eight["PayloadIdentifier"]


def test_provenance_alone_does_not_change_the_profile(options):
    """Who set a value is not content: moving a default between layers must not reinstall."""
    from_baseline = apply_changes(Layer.of("baseline"), [], [Change.set("passcode", "minLength", 8)], actor="kari")
    from_school = apply_changes(Layer.of("school:A"), [], [Change.set("passcode", "minLength", 8)], actor="ola")
    compiler = AppleProfileCompiler(options)
    one = compiler.compile(resolve([from_baseline], SUPERVISED_IPAD)).artifacts[0]
    two = compiler.compile(resolve([from_school], SUPERVISED_IPAD)).artifacts[0]
    assert one.uuid == two.uuid


def test_locked_profiles_are_not_removable_and_defaults_are(samples, options):
    _, compiled = compile_layer(samples["restrictions"] + samples["passcode"], options)
    flags = {item.identifier.rsplit(".", 1)[-1]: item.as_dict()["PayloadRemovalDisallowed"] for item in compiled.artifacts}
    assert flags == {"restrictions": True, "passcode": False}


def test_a_whole_payload_lock_makes_the_profile_non_removable(samples, options):
    _, compiled = compile_layer(samples["webfilter"] + [Change.lock_it("webfilter")], options)
    assert compiled.artifacts[0].removal_disallowed is True


def test_mac_profiles_are_system_scoped(options):
    mac = DeviceFacts("macos", school="A")
    _, compiled = compile_layer([Change.set("softwareupdate", "AutomaticCheckEnabled", True)], options, mac)
    body = compiled.artifacts[0].as_dict()
    assert body["PayloadScope"] == "System"
    assert validate_profile(body, "macos") == []


def test_identifiers_use_the_organisations_prefix():
    other = CompileOptions("se.kommun.skola", "Kommun")
    _, compiled = compile_layer([Change.set("passcode", "minLength", 6)], other)
    assert compiled.artifacts[0].identifier == "se.kommun.skola.policy.passcode"
    assert compiled.artifacts[0].as_dict()["PayloadOrganization"] == "Kommun"


@pytest.mark.parametrize("prefix", ["flokk", "no..skole", "no.skole!", ""])
def test_bad_prefix_is_refused(prefix):
    with pytest.raises(ValueError, match="reverse-DNS"):
        CompileOptions(prefix, "x")


def test_the_validator_catches_broken_profiles(samples, options):
    _, compiled = compile_layer(samples["passcode"], options)
    body = compiled.artifacts[0].as_dict()
    body["PayloadVersion"] = 2
    body["PayloadContent"][0]["minLength"] = "six"
    del body["PayloadContent"][0]["PayloadUUID"]
    found = {(problem.path, problem.reason) for problem in validate_profile(body, "ipados")}
    assert ("PayloadVersion", "must be one of 1") in found
    assert ("PayloadContent[0].minLength", "must be an integer, not a string") in found
    assert ("PayloadContent[0].PayloadUUID", "is required") in found


def test_body_is_an_xml_plist(samples, options):
    _, compiled = compile_layer(samples["restrictions"], options)
    body = compiled.artifacts[0].body
    assert body.startswith(b"<?xml")
    assert plistlib.loads(body)["PayloadContent"][0]["allowCamera"] is False


def test_apple_compiler_refuses_chromebooks(options):
    with pytest.raises(ValueError):
        AppleProfileCompiler(options).compile(resolve([], DeviceFacts("chromeos")))
