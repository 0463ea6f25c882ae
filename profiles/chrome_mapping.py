"""Which settings of the policy have a Chrome policy equivalent, and how they translate.

Chromebooks get Chrome policies (Chrome Policy API schemas such as
``chrome.users.VideoInput``) per organisational unit instead of Apple
profiles. Each ``ChromeRule`` reads some keys of one payload and writes one
Chrome policy; settings no rule reads are left out for Chromebooks, with that
reason recorded by resolution. Schema and field names follow Google's Chrome
Policy API schema catalogue.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Fields = dict[str, Any]


@dataclass(frozen=True)
class ChromeRule:
    """One Chrome policy schema built from some keys of one payload type."""

    payload_type: str
    keys: frozenset[str]
    schema: str
    build: Callable[[Mapping[str, Any]], Fields]
    #: Why a payload cannot translate at all (e.g. an enterprise Wi-Fi), or None.
    refuse: Callable[[Mapping[str, Any]], str | None] = lambda payload: None
    #: Chrome's additional target key naming the instance (``network_id`` for networks).
    instance_key: str | None = None
    #: The target key's value for an instance name (``chrome:<id>`` for a Chrome Web Store app).
    instance_value: Callable[[str], str] = lambda instance: instance
    description: str = field(default="", compare=False)


def _wifi_security(payload: Mapping[str, Any]) -> str:
    encryption = payload.get("EncryptionType", "Any")
    if encryption == "None":
        return "None"
    if encryption == "WEP":
        return "WEP-PSK"
    return "WPA-PSK"


def _wifi_details(payload: Mapping[str, Any]) -> Fields:
    details: Fields = {
        "ssid": payload.get("SSID_STR", ""),
        "hiddenSsid": bool(payload.get("HIDDEN_NETWORK", False)),
        "automaticallyConnect": bool(payload.get("AutoJoin", True)),
        "security": _wifi_security(payload),
    }
    if "Password" in payload and details["security"] != "None":
        details["passphrase"] = payload["Password"]
    return {"details": details}


def _wifi_refuse(payload: Mapping[str, Any]) -> str | None:
    if "EAPClientConfiguration" in payload:
        return "enterprise (EAP) Wi-Fi has no Chrome translation in Flokk yet"
    if not payload.get("SSID_STR"):
        return "a Chromebook network needs an SSID"
    return None


def _url_blocking(payload: Mapping[str, Any]) -> Fields:
    allow_only = [item.get("URL") for item in payload.get("AllowListBookmarks") or () if isinstance(item, Mapping)]
    if allow_only:
        return {"urlBlocklist": ["*"], "urlAllowlist": [url for url in allow_only if url]}
    fields: Fields = {"urlBlocklist": list(payload.get("DenyListURLs") or ())}
    if payload.get("PermittedURLs"):
        fields["urlAllowlist"] = list(payload["PermittedURLs"])
    return fields


_INCOGNITO = {"available": "AVAILABLE", "disabled": "UNAVAILABLE", "forced": "FORCED"}
_APP_INSTALL = {"forced": "FORCED", "allowed": "ALLOWED", "blocked": "BLOCKED"}


def _auto_update(payload: Mapping[str, Any]) -> Fields:
    fields: Fields = {}
    if "AutoUpdate" in payload:
        fields["updateDisabled"] = not payload["AutoUpdate"]
    if "RebootAfterUpdate" in payload:
        fields["rebootAfterUpdate"] = bool(payload["RebootAfterUpdate"])
    return fields


RULES: tuple[ChromeRule, ...] = (
    ChromeRule(
        payload_type="com.apple.applicationaccess",
        keys=frozenset({"allowCamera"}),
        schema="chrome.users.VideoInput",
        build=lambda payload: {"videoCaptureAllowed": bool(payload["allowCamera"])},
    ),
    ChromeRule(
        payload_type="com.apple.applicationaccess",
        keys=frozenset({"allowScreenShot"}),
        schema="chrome.users.Screenshot",
        build=lambda payload: {"disableScreenshots": not payload["allowScreenShot"]},
    ),
    ChromeRule(
        payload_type="com.apple.webcontent-filter",
        keys=frozenset({"DenyListURLs", "PermittedURLs", "AllowListBookmarks"}),
        schema="chrome.users.UrlBlocking",
        build=_url_blocking,
    ),
    ChromeRule(
        payload_type="com.apple.webcontent-filter",
        keys=frozenset({"AutoFilterEnabled"}),
        schema="chrome.users.SafeSitesFilterBehavior",
        build=lambda payload: {
            "safeSitesFilterBehavior": "SAFE_SITES_FILTER_ENABLED"
            if payload["AutoFilterEnabled"]
            else "SAFE_SITES_FILTER_DISABLED"
        },
    ),
    ChromeRule(
        payload_type="com.apple.wifi.managed",
        keys=frozenset({"SSID_STR", "HIDDEN_NETWORK", "AutoJoin", "EncryptionType", "Password"}),
        schema="chrome.networks.wifi.Details",
        build=_wifi_details,
        refuse=_wifi_refuse,
        instance_key="network_id",
    ),
    ChromeRule(
        payload_type="com.apple.mobiledevice.passwordpolicy",
        keys=frozenset({"maxInactivity"}),
        schema="chrome.users.IdleSettings",
        # Chrome's field is a string of minutes; 0 ("never" on an iPad) is Chrome's system default.
        build=lambda payload: {"idleTimeoutMinutes": str(payload["maxInactivity"]) if payload["maxInactivity"] else "",
                               "actionOnDeviceIdle": "ACTION_ON_DEVICE_IDLE_ENUM_LOCK"},
    ),
    ChromeRule(
        payload_type="org.flokk.chromebook",
        keys=frozenset({"IncognitoMode"}),
        schema="chrome.users.IncognitoMode",
        build=lambda payload: {"incognitoModeAvailability": "INCOGNITO_MODE_AVAILABILITY_ENUM_" + _INCOGNITO[payload["IncognitoMode"]]},
    ),
    ChromeRule(
        payload_type="org.flokk.chromebook",
        keys=frozenset({"GuestMode"}),
        schema="chrome.devices.GuestMode",
        build=lambda payload: {"guestModeEnabled": bool(payload["GuestMode"])},
    ),
    ChromeRule(
        payload_type="org.flokk.chromebook",
        keys=frozenset({"WallpaperURL"}),
        schema="chrome.users.Wallpaper",
        build=lambda payload: {"downloadUri": payload["WallpaperURL"]},
    ),
    ChromeRule(
        payload_type="org.flokk.chromebook",
        keys=frozenset({"AutoUpdate", "RebootAfterUpdate"}),
        schema="chrome.devices.AutoUpdateSettings",
        build=_auto_update,
    ),
    ChromeRule(
        payload_type="org.flokk.chromeapp",
        keys=frozenset({"InstallType"}),
        schema="chrome.users.apps.InstallType",
        build=lambda payload: {"appInstallType": _APP_INSTALL[payload["InstallType"]]},
        instance_key="app_id",
        instance_value=lambda instance: f"chrome:{instance}",
    ),
)

#: Every Chrome policy schema Flokk sets: what it compares, clears and checks for drift.
MANAGED_SCHEMAS: frozenset[str] = frozenset(rule.schema for rule in RULES)


def rules_for(payload_type: str) -> tuple[ChromeRule, ...]:
    return tuple(rule for rule in RULES if rule.payload_type == payload_type)


def maps_payload(payload_type: str) -> bool:
    return bool(rules_for(payload_type))


def maps_key(payload_type: str, key: str) -> bool:
    return any(key in rule.keys for rule in rules_for(payload_type))


def payload_refusal(payload_type: str, payload: Mapping[str, Any]) -> str | None:
    """Why a payload as a whole cannot become Chrome policy (judged before keys are filtered)."""
    for rule in rules_for(payload_type):
        reason = rule.refuse(payload)
        if reason:
            return reason
    return None
