"""The command catalogue: every builder yields what Apple's schema describes; wrong input names the key."""

from __future__ import annotations

import plistlib

import pytest

from mdm_protocol import apple_schema, commands, plist
from mdm_protocol.commands import CATALOGUE, CommandError

ISSUE_CATALOGUE = {
    "DeviceInformation", "SecurityInfo", "ProfileList", "InstallProfile", "RemoveProfile",
    "InstalledApplicationList", "InstallApplication", "RemoveApplication", "CertificateList", "DeviceLock",
    "ClearPasscode", "EraseDevice", "RestartDevice", "ShutDownDevice", "EnableLostMode", "DisableLostMode",
    "DeviceLocation", "PlayLostModeSound", "Settings", "ScheduleOSUpdate", "OSUpdateStatus", "UserList",
    "LogOutUser", "DeleteUser",
}

#: One realistic use of each builder.
EXAMPLES = {
    "DeviceInformation": lambda: commands.device_information(),
    "SecurityInfo": lambda: commands.security_info(),
    "ProfileList": lambda: commands.profile_list(managed_only=True),
    "InstallProfile": lambda: commands.install_profile(plistlib.dumps({"PayloadType": "Configuration"})),
    "RemoveProfile": lambda: commands.remove_profile("no.kommune.wifi"),
    "InstalledApplicationList": lambda: commands.installed_application_list(["com.apple.Pages"], managed_apps_only=True),
    "ManagedApplicationList": lambda: commands.managed_application_list(["com.apple.Pages"]),
    "InstallApplication": lambda: commands.install_application(itunes_store_id=361309726, management_flags=1, purchase_method=1),
    "RemoveApplication": lambda: commands.remove_application("com.apple.Pages"),
    "CertificateList": lambda: commands.certificate_list(),
    "DeviceLock": lambda: commands.device_lock(message="Levér til kontoret", phone_number="+47 22 00 00 00"),
    "ClearPasscode": lambda: commands.clear_passcode(),
    "EraseDevice": lambda: commands.erase_device(preserve_data_plan=True, disallow_proximity_setup=True),
    "RestartDevice": lambda: commands.restart_device(),
    "ShutDownDevice": lambda: commands.shut_down_device(),
    "EnableLostMode": lambda: commands.enable_lost_mode(message="Mistet", phone_number="12345678", footnote="Skole"),
    "DisableLostMode": lambda: commands.disable_lost_mode(),
    "DeviceLocation": lambda: commands.device_location(),
    "PlayLostModeSound": lambda: commands.play_lost_mode_sound(),
    "Settings": lambda: commands.settings(
        [commands.device_name_setting("Elev-iPad 12"), commands.toggle_setting("Bluetooth", True),
         commands.time_zone_setting("Europe/Oslo")]
    ),
    "ScheduleOSUpdate": lambda: commands.schedule_os_update([commands.os_update("InstallASAP", product_version="17.5")]),
    "OSUpdateStatus": lambda: commands.os_update_status(),
    "UserList": lambda: commands.user_list(),
    "LogOutUser": lambda: commands.log_out_user(),
    "DeleteUser": lambda: commands.delete_user(user_name="pupil@school.example", force_deletion=True),
}


def test_catalogue_covers_the_issue():
    assert ISSUE_CATALOGUE <= set(CATALOGUE)
    assert set(EXAMPLES) == set(CATALOGUE)


@pytest.mark.parametrize("request_type", sorted(EXAMPLES))
def test_builder_output_matches_apple_schema(request_type):
    command = EXAMPLES[request_type]()
    secrets = {"unlock_token": b"\x01" * 16}
    payload = plist.load_dict(command.deliverable("UUID-1", secrets))
    assert payload["CommandUUID"] == "UUID-1"
    body = payload["Command"]
    assert body["RequestType"] == request_type
    spec = apple_schema.command(request_type)
    params = {key: value for key, value in body.items() if key != "RequestType"}
    if request_type == "Settings":  # items vary by "Item"; checked per kind below
        kinds = {kind.name: kind for kind in spec.key("Settings").subkeys}
        for item in params["Settings"]:
            assert apple_schema.check(kinds[item["Item"]].subkeys, item, platform="ipados") == []
        return
    assert apple_schema.check(spec.keys, params, platform="ipados") == []
    assert spec.available_on("ipados")


@pytest.mark.parametrize("request_type", sorted(CATALOGUE))
def test_unknown_parameter_is_refused_naming_it(request_type):
    with pytest.raises(CommandError) as caught:
        commands.build(request_type, {**EXAMPLES[request_type]().params, "Bogus": "x"})
    assert caught.value.key == "Bogus"


_WRONG = {"string": 42, "integer": "seven", "real": "fast", "boolean": "yes", "data": "text", "array": "one",
          "dictionary": ["x"]}
TYPED_KEYS = [
    (request_type, key.name, key.type)
    for request_type in sorted(CATALOGUE)
    for key in apple_schema.command(request_type).keys
    if key.available_on("ipados") and key.type in _WRONG and key.name not in commands.DELIVERY_SECRETS.get(request_type, {})
]


@pytest.mark.parametrize("request_type, key, kind", TYPED_KEYS)
def test_wrong_type_is_refused_naming_the_key(request_type, key, kind):
    params = {**EXAMPLES[request_type]().params, key: _WRONG[kind]}
    with pytest.raises(CommandError) as caught:
        commands.build(request_type, params)
    assert caught.value.key == key
    assert "must be" in caught.value.reason


@pytest.mark.parametrize(
    "make, key",
    [
        (lambda: commands.build("DeviceLock", {"PIN": "123456"}), "PIN"),  # macOS only
        (lambda: commands.build("RemoveProfile", {}), "Identifier"),
        (lambda: commands.device_information(["SerialNumber", "NoSuchQuery"]), "Queries[1]"),
        (lambda: commands.device_information([]), "Queries"),
        (lambda: commands.settings([]), "Settings"),
        (lambda: commands.settings([{"Item": "Teleport"}]), "Settings[0].Item"),
        (lambda: commands.settings([{"Item": "HostName", "HostName": "x"}]), "Settings[0].Item"),  # macOS only
        (lambda: commands.settings([{"Item": "DeviceName"}]), "Settings[0].DeviceName"),
        (lambda: commands.settings([{"Item": "Bluetooth", "Enabled": True, "Extra": 1}]), "Settings[0].Extra"),
        (lambda: commands.settings(["Bluetooth"]), "Settings[0]"),
        (lambda: commands.build("Settings", {}), "Settings"),
        (lambda: commands.schedule_os_update([{"InstallAction": "Sometime"}]), "Updates[0].InstallAction"),
        (lambda: commands.install_application(), "Identifier"),
        (lambda: commands.install_application(itunes_store_id=1, identifier="com.x"), "Identifier"),
        (lambda: commands.install_application(identifier="com.x", management_flags=2), "ManagementFlags"),
        (lambda: commands.enable_lost_mode(), "Message"),
        (lambda: commands.delete_user(), "UserName"),
        (lambda: commands.build("ClearPasscode", {"UnlockToken": b"x"}), "UnlockToken"),
    ],
)
def test_specific_rules_name_the_key(make, key):
    with pytest.raises(CommandError) as caught:
        make()
    assert caught.value.key == key


def test_unknown_request_type():
    with pytest.raises(CommandError, match="not one Flokk can send"):
        commands.build("Teleport")
    with pytest.raises(CommandError, match="not one Flokk can send"):
        commands.build("EnableRemoteDesktop")  # Apple's, but macOS-only and not in the catalogue


def test_clear_passcode_gets_the_unlock_token_at_delivery():
    command = commands.clear_passcode()
    assert "UnlockToken" not in command.params
    assert b"UnlockToken" not in command.to_plist("u")  # the queue never holds the secret
    assert plist.load_dict(command.deliverable("u", {"unlock_token": b"tok"}))["Command"]["UnlockToken"] == b"tok"
    with pytest.raises(CommandError) as caught:
        command.deliverable("u", {})
    assert caught.value.key == "UnlockToken"


def test_none_parameters_are_left_out():
    assert commands.device_lock().params == {}
    assert commands.profile_list(managed_only=None).params == {}
    assert b"Message" not in commands.device_lock().to_plist("u")


def test_initial_inventory():
    assert [c.request_type for c in commands.initial_inventory()] == [
        "DeviceInformation", "SecurityInfo", "ProfileList", "InstalledApplicationList"]


def test_destructive_commands_are_marked():
    assert {name for name, entry in CATALOGUE.items() if entry.destructive} == {"EraseDevice", "DeleteUser", "ClearPasscode"}


def test_command_uuids_are_unique():
    assert len({commands.new_command_uuid() for _ in range(1000)}) == 1000
