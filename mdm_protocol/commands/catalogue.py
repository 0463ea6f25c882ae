"""Typed builders for the MDM commands Flokk sends, one per RequestType.

Each builder takes Pythonic keyword arguments and returns a checked
:class:`~mdm_protocol.commands.base.Command` whose keys are Apple's (per the
command's file in ``mdm/commands/`` of apple/device-management, named in
each entry). :data:`CATALOGUE` lists them for the CLI, the API and the
scheduler.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mdm_protocol.commands.base import Command, CommandError, build

__all__ = [
    "CATALOGUE", "DEFAULT_DEVICE_QUERIES", "CatalogueEntry",
    "certificate_list", "clear_passcode", "delete_user", "device_information", "device_location",
    "device_lock", "device_name_setting", "disable_lost_mode", "enable_lost_mode", "erase_device",
    "install_application", "install_profile", "installed_application_list", "log_out_user",
    "managed_application_list",
    "os_update", "os_update_status", "play_lost_mode_sound", "profile_list", "remove_application",
    "remove_profile", "restart_device", "schedule_os_update", "security_info", "settings",
    "shut_down_device", "time_zone_setting", "toggle_setting", "user_list",
]

#: What the initial inventory asks a new iPad (DeviceInformation "Queries").
DEFAULT_DEVICE_QUERIES: tuple[str, ...] = (
    "UDID", "DeviceName", "OSVersion", "BuildVersion", "ModelName", "Model", "ProductName",
    "SerialNumber", "DeviceCapacity", "AvailableDeviceCapacity", "BatteryLevel", "IMEI",
    "IsSupervised", "IsMultiUser", "IsActivationLockEnabled", "IsDeviceLocatorServiceEnabled",
    "IsMDMLostModeEnabled", "WiFiMAC", "BluetoothMAC", "TimeZone", "EASDeviceIdentifier",
)


@dataclass(frozen=True)
class CatalogueEntry:
    """One command Flokk can send: its builder and what an admin must know."""

    request_type: str
    builder: Callable[..., Command]
    summary: str
    destructive: bool = False
    is_query: bool = False
    extra_check: Callable[[Mapping[str, Any]], None] | None = None
    #: Parameters used when a caller giving KEY=VALUE strings leaves them out.
    defaults: Mapping[str, Any] | None = None


# --- queries -------------------------------------------------------------------

def device_information(queries: Sequence[str] = DEFAULT_DEVICE_QUERIES) -> Command:
    """information.device.yaml"""
    return build("DeviceInformation", {"Queries": list(queries)})


def security_info() -> Command:
    """information.security.yaml"""
    return build("SecurityInfo")


def profile_list(managed_only: bool | None = None) -> Command:
    """profile.list.yaml"""
    return build("ProfileList", {"ManagedOnly": managed_only})


def installed_application_list(
    identifiers: Sequence[str] | None = None, managed_apps_only: bool | None = None
) -> Command:
    """application.installed.list.yaml"""
    return build(
        "InstalledApplicationList",
        {"Identifiers": list(identifiers) if identifiers is not None else None, "ManagedAppsOnly": managed_apps_only},
    )


def managed_application_list(identifiers: Sequence[str] | None = None) -> Command:
    """application.managed.list.yaml: the state of the apps the device manages for Flokk."""
    return build("ManagedApplicationList", {"Identifiers": list(identifiers) if identifiers is not None else None})


def certificate_list(managed_only: bool | None = None) -> Command:
    """certificate.list.yaml"""
    return build("CertificateList", {"ManagedOnly": managed_only})


def os_update_status() -> Command:
    """system.update.status.yaml"""
    return build("OSUpdateStatus")


def user_list() -> Command:
    """user.list.yaml"""
    return build("UserList")


def device_location() -> Command:
    """device.lostmode.location.yaml (only answered in Lost Mode)"""
    return build("DeviceLocation")


# --- profiles and apps ----------------------------------------------------------

def install_profile(payload: bytes) -> Command:
    """profile.install.yaml: ``payload`` is the (signed or plain) .mobileconfig."""
    return build("InstallProfile", {"Payload": payload})


def remove_profile(identifier: str) -> Command:
    """profile.remove.yaml"""
    return build("RemoveProfile", {"Identifier": identifier})


def install_application(
    *,
    itunes_store_id: int | None = None,
    identifier: str | None = None,
    manifest_url: str | None = None,
    management_flags: int | None = None,
    configuration: Mapping[str, Any] | None = None,
    attributes: Mapping[str, Any] | None = None,
    purchase_method: int | None = None,
    change_management_state: str | None = None,
) -> Command:
    """application.install.yaml: exactly one of store id, bundle id or manifest URL."""
    return build(
        "InstallApplication",
        {
            "iTunesStoreID": itunes_store_id,
            "Identifier": identifier,
            "ManifestURL": manifest_url,
            "ManagementFlags": management_flags,
            "Configuration": dict(configuration) if configuration is not None else None,
            "Attributes": dict(attributes) if attributes is not None else None,
            "Options": {"PurchaseMethod": purchase_method} if purchase_method is not None else None,
            "ChangeManagementState": change_management_state,
        },
    )


def _one_app_source(params: Mapping[str, Any]) -> None:
    given = [key for key in ("iTunesStoreID", "Identifier", "ManifestURL") if key in params]
    if len(given) != 1:
        raise CommandError("Identifier", "give exactly one of iTunesStoreID, Identifier or ManifestURL")


def remove_application(identifier: str) -> Command:
    """application.remove.yaml"""
    return build("RemoveApplication", {"Identifier": identifier})


# --- device actions -------------------------------------------------------------

def device_lock(message: str | None = None, phone_number: str | None = None) -> Command:
    """device.lock.yaml: lock now, optionally showing a message and a phone number."""
    return build("DeviceLock", {"Message": message, "PhoneNumber": phone_number})


def clear_passcode() -> Command:
    """passcode.clear.yaml: Flokk adds the device's UnlockToken at delivery."""
    return build("ClearPasscode")


def erase_device(
    preserve_data_plan: bool | None = None,
    disallow_proximity_setup: bool | None = None,
    return_to_service: Mapping[str, Any] | None = None,
) -> Command:
    """device.erase.yaml"""
    return build(
        "EraseDevice",
        {
            "PreserveDataPlan": preserve_data_plan,
            "DisallowProximitySetup": disallow_proximity_setup,
            "ReturnToService": dict(return_to_service) if return_to_service is not None else None,
        },
    )


def restart_device() -> Command:
    """device.restart.yaml (supervised)"""
    return build("RestartDevice")


def shut_down_device() -> Command:
    """device.shutdown.yaml (supervised)"""
    return build("ShutDownDevice")


def enable_lost_mode(
    message: str | None = None, phone_number: str | None = None, footnote: str | None = None
) -> Command:
    """device.lostmode.enable.yaml: Apple requires a message or a phone number."""
    return build("EnableLostMode", {"Message": message, "PhoneNumber": phone_number, "Footnote": footnote})


def _message_or_phone(params: Mapping[str, Any]) -> None:
    if not params.get("Message") and not params.get("PhoneNumber"):
        raise CommandError("Message", "give a Message or a PhoneNumber to show on the lost iPad")


def disable_lost_mode() -> Command:
    """device.lostmode.disable.yaml"""
    return build("DisableLostMode")


def play_lost_mode_sound() -> Command:
    """device.lostmode.playsound.yaml"""
    return build("PlayLostModeSound")


def settings(items: Sequence[Mapping[str, Any]]) -> Command:
    """settings.yaml: each item is a dictionary with an ``Item`` naming the setting."""
    return build("Settings", {"Settings": [dict(item) if isinstance(item, Mapping) else item for item in items]})


def device_name_setting(name: str) -> dict[str, Any]:
    return {"Item": "DeviceName", "DeviceName": name}


def toggle_setting(item: str, enabled: bool) -> dict[str, Any]:
    """Bluetooth, DataRoaming, PersonalHotspot, DiagnosticSubmission, AppAnalytics."""
    return {"Item": item, "Enabled": enabled}


def time_zone_setting(time_zone: str) -> dict[str, Any]:
    return {"Item": "TimeZone", "TimeZone": time_zone}


def schedule_os_update(updates: Sequence[Mapping[str, Any]]) -> Command:
    """system.update.schedule.yaml"""
    return build("ScheduleOSUpdate", {"Updates": [dict(u) if isinstance(u, Mapping) else u for u in updates]})


def os_update(install_action: str = "Default", product_key: str | None = None,
              product_version: str | None = None, priority: str | None = None) -> dict[str, Any]:
    """One entry of ScheduleOSUpdate's ``Updates``."""
    update = {"InstallAction": install_action, "ProductKey": product_key,
              "ProductVersion": product_version, "Priority": priority}
    return {key: value for key, value in update.items() if value is not None}


# --- Shared iPad users ------------------------------------------------------------

def log_out_user() -> Command:
    """user.logout.yaml (Shared iPad)"""
    return build("LogOutUser")


def delete_user(user_name: str | None = None, force_deletion: bool | None = None,
                delete_all_users: bool | None = None) -> Command:
    """user.delete.yaml (Shared iPad): one user by name, or all users."""
    return build("DeleteUser", {"UserName": user_name, "ForceDeletion": force_deletion,
                                "DeleteAllUsers": delete_all_users})


def _user_or_all(params: Mapping[str, Any]) -> None:
    if bool(params.get("UserName")) == bool(params.get("DeleteAllUsers")):
        raise CommandError("UserName", "give a UserName, or DeleteAllUsers true, not both")


CATALOGUE: dict[str, CatalogueEntry] = {
    entry.request_type: entry
    for entry in (
        CatalogueEntry("DeviceInformation", device_information, "Ask for device facts", is_query=True,
                       defaults={"Queries": list(DEFAULT_DEVICE_QUERIES)}),
        CatalogueEntry("SecurityInfo", security_info, "Ask for passcode and encryption state", is_query=True),
        CatalogueEntry("ProfileList", profile_list, "List installed profiles", is_query=True),
        CatalogueEntry("InstalledApplicationList", installed_application_list, "List installed apps", is_query=True),
        CatalogueEntry("ManagedApplicationList", managed_application_list, "List managed apps and their state",
                       is_query=True),
        CatalogueEntry("CertificateList", certificate_list, "List installed certificates", is_query=True),
        CatalogueEntry("OSUpdateStatus", os_update_status, "Ask for OS update progress", is_query=True),
        CatalogueEntry("UserList", user_list, "List Shared iPad users", is_query=True),
        CatalogueEntry("DeviceLocation", device_location, "Locate a device in Lost Mode", is_query=True),
        CatalogueEntry("InstallProfile", install_profile, "Install a configuration profile"),
        CatalogueEntry("RemoveProfile", remove_profile, "Remove a configuration profile"),
        CatalogueEntry("InstallApplication", install_application, "Install an app", extra_check=_one_app_source),
        CatalogueEntry("RemoveApplication", remove_application, "Remove a managed app"),
        CatalogueEntry("DeviceLock", device_lock, "Lock the screen now"),
        CatalogueEntry("ClearPasscode", clear_passcode, "Remove the passcode", destructive=True),
        CatalogueEntry("EraseDevice", erase_device, "Erase all content and settings", destructive=True),
        CatalogueEntry("RestartDevice", restart_device, "Restart"),
        CatalogueEntry("ShutDownDevice", shut_down_device, "Shut down"),
        CatalogueEntry("EnableLostMode", enable_lost_mode, "Enable Lost Mode", extra_check=_message_or_phone),
        CatalogueEntry("DisableLostMode", disable_lost_mode, "Disable Lost Mode"),
        CatalogueEntry("PlayLostModeSound", play_lost_mode_sound, "Play a sound in Lost Mode"),
        CatalogueEntry("Settings", settings, "Change device settings"),
        CatalogueEntry("ScheduleOSUpdate", schedule_os_update, "Schedule an OS update"),
        CatalogueEntry("LogOutUser", log_out_user, "Log out the Shared iPad user"),
        CatalogueEntry("DeleteUser", delete_user, "Delete Shared iPad users", destructive=True,
                       extra_check=_user_or_all),
    )
}
