"""Chrome policies for Chromebooks from the same settings, behind the same compiler interface."""

import pytest

from profiles.compile import compiler_for
from profiles.compile.chrome import ChromePolicyCompiler
from profiles.layers import Change, apply_changes
from profiles.model import DeviceFacts, Layer
from profiles.resolve import resolve

CHROMEBOOK = DeviceFacts("chromeos", school="A")


def compile_changes(changes, options):
    layer = apply_changes(Layer.of("baseline"), [], changes, actor="kari")
    return compiler_for("chromeos", options).compile(resolve([layer], CHROMEBOOK))


CASES = [
    ([Change.set("restrictions", "allowCamera", False)], "chrome.users.VideoInput", {"videoCaptureAllowed": False}),
    ([Change.set("restrictions", "allowScreenShot", False)], "chrome.users.Screenshot", {"disableScreenshots": True}),
    ([Change.set("webfilter", "DenyListURLs", ["https://spill.example"])], "chrome.users.UrlBlocking",
     {"urlBlocklist": ["https://spill.example"]}),
    ([Change.set("webfilter", "DenyListURLs", ["https://a.example"]), Change.set("webfilter", "PermittedURLs", ["https://b.example"])],
     "chrome.users.UrlBlocking", {"urlBlocklist": ["https://a.example"], "urlAllowlist": ["https://b.example"]}),
    ([Change.set("webfilter", "AllowListBookmarks", [{"URL": "https://skole.example", "Title": "Skole"}])],
     "chrome.users.UrlBlocking", {"urlBlocklist": ["*"], "urlAllowlist": ["https://skole.example"]}),
    ([Change.set("webfilter", "AutoFilterEnabled", True)], "chrome.users.SafeSitesFilterBehavior",
     {"safeSitesFilterBehavior": "SAFE_SITES_FILTER_ENABLED"}),
    ([Change.set("wifi:skole", "SSID_STR", "Skole"), Change.set("wifi:skole", "EncryptionType", "WPA2"),
      Change.set("wifi:skole", "Password", "skole-passord")],
     "chrome.networks.wifi.Details#network_id=skole",
     {"details": {"ssid": "Skole", "hiddenSsid": False, "automaticallyConnect": True, "security": "WPA-PSK", "passphrase": "skole-passord"}}),
    ([Change.set("wifi:open", "SSID_STR", "Open"), Change.set("wifi:open", "EncryptionType", "None")],
     "chrome.networks.wifi.Details#network_id=open",
     {"details": {"ssid": "Open", "hiddenSsid": False, "automaticallyConnect": True, "security": "None"}}),
    ([Change.set("passcode", "maxInactivity", 5)], "chrome.users.IdleSettings",
     {"idleTimeoutMinutes": "5", "actionOnDeviceIdle": "ACTION_ON_DEVICE_IDLE_ENUM_LOCK"}),
    ([Change.set("chromebook", "IncognitoMode", "disabled")], "chrome.users.IncognitoMode",
     {"incognitoModeAvailability": "INCOGNITO_MODE_AVAILABILITY_ENUM_UNAVAILABLE"}),
    ([Change.set("chromebook", "GuestMode", False)], "chrome.devices.GuestMode", {"guestModeEnabled": False}),
    ([Change.set("chromebook", "WallpaperURL", "https://skole.example/bakgrunn.jpg")], "chrome.users.Wallpaper",
     {"downloadUri": "https://skole.example/bakgrunn.jpg"}),
    ([Change.set("chromebook", "AutoUpdate", True), Change.set("chromebook", "RebootAfterUpdate", False)],
     "chrome.devices.AutoUpdateSettings", {"updateDisabled": False, "rebootAfterUpdate": False}),
    ([Change.set("chromeapp:mkaakpdehdafacodkgkpghoibnmamcme", "InstallType", "forced")],
     "chrome.users.apps.InstallType#app_id=chrome:mkaakpdehdafacodkgkpghoibnmamcme", {"appInstallType": "FORCED"}),
]


@pytest.mark.parametrize(("changes", "identifier", "value"), CASES)
def test_settings_translate_to_chrome_policies(changes, identifier, value, options):
    compiled = compile_changes(changes, options)
    artifact = compiled.by_identifier()[identifier]
    assert artifact.value == value
    assert artifact.update_mask == ",".join(sorted(value))


def test_versions_follow_content(options):
    one = compile_changes([Change.set("restrictions", "allowCamera", False)], options).artifacts[0]
    same = compile_changes([Change.set("restrictions", "allowCamera", False)], options).artifacts[0]
    other = compile_changes([Change.set("restrictions", "allowCamera", True)], options).artifacts[0]
    assert one.version == same.version != other.version
    assert one.identifier == other.identifier


def test_settings_without_equivalent_are_reported_not_compiled(options):
    layer = apply_changes(
        Layer.of("baseline"), [], [Change.set("passcode", "minLength", 6), Change.set("restrictions", "allowAirDrop", False)], actor="k"
    )
    policy = resolve([layer], CHROMEBOOK)
    compiled = ChromePolicyCompiler(options).compile(policy)
    assert compiled.artifacts == ()
    assert {str(note) for note in policy.left_out} == {
        "com.apple.mobiledevice.passwordpolicy minLength: minLength: not applicable to Chromebooks (no Chrome policy equivalent)",
        "com.apple.mobiledevice.passwordpolicy: none of its settings apply to this device",
        "com.apple.applicationaccess allowAirDrop: allowAirDrop: not applicable to Chromebooks (no Chrome policy equivalent)",
        "com.apple.applicationaccess: none of its settings apply to this device",
    }


def test_chromebook_only_settings_never_reach_apple_devices(options):
    layer = apply_changes(Layer.of("baseline"), [], [Change.set("chromebook", "GuestMode", False),
                                                    Change.set("restrictions", "allowCamera", False)], actor="k")
    policy = resolve([layer], DeviceFacts("ipados", supervised=True))
    assert [payload.kind.alias for payload in policy.payloads] == ["restrictions"]
    assert "org.flokk.chromebook: chromebook is not available on ipados" in {str(note) for note in policy.left_out}


@pytest.mark.parametrize(("change", "key"), [
    (Change.set("chromeapp:not-a-store-id", "InstallType", "forced"), "org.flokk.chromeapp:not-a-store-id"),
    (Change.set("chromeapp:mkaakpdehdafacodkgkpghoibnmamcme", "InstallType", "sometimes"), "InstallType"),
    (Change.set("chromebook", "WallpaperURL", "http://skole.example/a.jpg"), "WallpaperURL"),
    (Change.set("chromebook", "IncognitoMode", True), "IncognitoMode"),
])
def test_chromebook_settings_are_checked_like_apple_ones(change, key):
    from profiles.layers import Refused

    with pytest.raises(Refused) as refused:
        apply_changes(Layer.of("baseline"), [], [change], actor="k")
    assert [item.key for item in refused.value.refusals] == [key]


def test_chrome_compiler_refuses_apple_devices(options):
    with pytest.raises(ValueError):
        ChromePolicyCompiler(options).compile(resolve([], DeviceFacts("ipados")))


def test_compiler_for_picks_by_platform(options):
    assert type(compiler_for("chromeos", options)).__name__ == "ChromePolicyCompiler"
    assert {type(compiler_for(p, options)).__name__ for p in ("ios", "ipados", "macos")} == {"AppleProfileCompiler"}
    with pytest.raises(ValueError):
        compiler_for("android", options)
