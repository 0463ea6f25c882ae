"""Wi-Fi (``com.apple.wifi.managed``): one payload per network, named by its instance.

WPA2-Enterprise: set ``EAPClientConfiguration`` (e.g. ``AcceptEAPTypes: [25]``
for PEAP, ``TLSTrustedServerNames``) and list trusted CA certificates by the
instance names of root or PKCS#1 certificate payloads in
``EAPClientConfiguration.PayloadCertificateAnchorUUID``; the compiler puts
those certificates into the Wi-Fi profile and writes their UUIDs.
"""

import re
from collections.abc import Mapping
from typing import Any

from profiles.payloads.base import PayloadKind, Reference

#: IEEE 802.11: an SSID is at most 32 bytes; a WPA passphrase 8 to 63 characters, or a raw
#: 256-bit key as 64 hexadecimal digits (WEP keys are shorter still).
MAX_SSID_BYTES = 32
MAX_PASSWORD = 64
_RAW_WPA_KEY = re.compile(r"[0-9A-Fa-f]{64}")


def _key(key: str, value: Any) -> list[str]:
    if key == "SSID_STR" and isinstance(value, str) and len(value.encode()) > MAX_SSID_BYTES:
        return [f"is at most {MAX_SSID_BYTES} bytes long (Wi-Fi network names are)"]
    if key == "Password" and isinstance(value, str) and len(value) > MAX_PASSWORD:
        return [f"is at most {MAX_PASSWORD} characters long (a Wi-Fi password is 8 to 63, or 64 hex digits)"]
    return []


def _wpa_password_problem(password: str) -> str | None:
    if 8 <= len(password) <= 63 or _RAW_WPA_KEY.fullmatch(password):
        return None
    return "must be 8 to 63 characters (or 64 hexadecimal digits) for WPA"


def _network(payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if not payload.get("SSID_STR") and not payload.get("DomainName"):
        problems.append(("SSID_STR", "is required (or DomainName for a Hotspot 2.0 network)"))
    encryption = payload.get("EncryptionType", "Any")
    if encryption == "None" and "Password" in payload:
        problems.append(("Password", "is set but EncryptionType is None"))
    password = payload.get("Password")
    if encryption in ("WPA", "WPA2", "WPA3") and isinstance(password, str):
        problem = _wpa_password_problem(password)
        if problem:
            problems.append(("Password", problem))
    if "EAPClientConfiguration" in payload and encryption in ("None", "WEP"):
        problems.append(("EAPClientConfiguration", f"needs WPA encryption, not EncryptionType {encryption}"))
    return problems


KIND = PayloadKind(
    payload_type="com.apple.wifi.managed",
    alias="wifi",
    title="Wi-Fi",
    repeatable=True,
    references=(
        Reference(
            path=("EAPClientConfiguration", "PayloadCertificateAnchorUUID"),
            targets=("com.apple.security.root", "com.apple.security.pkcs1"),
        ),
    ),
    forbidden_keys={
        "PayloadCertificateUUID": "identity certificates (EAP-TLS) are not part of the policy yet; "
        "use PEAP or TTLS with trusted root certificates",
    },
    check_value=_key,
    check_payload=_network,
)
