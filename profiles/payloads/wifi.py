"""Wi-Fi (``com.apple.wifi.managed``): one payload per network, named by its instance.

WPA2-Enterprise: set ``EAPClientConfiguration`` (e.g. ``AcceptEAPTypes: [25]``
for PEAP, ``TLSTrustedServerNames``) and list trusted CA certificates by the
instance names of root or PKCS#1 certificate payloads in
``EAPClientConfiguration.PayloadCertificateAnchorUUID``; the compiler puts
those certificates into the Wi-Fi profile and writes their UUIDs.
"""

from collections.abc import Mapping
from typing import Any

from profiles.payloads.base import PayloadKind, Reference


def _network(payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if not payload.get("SSID_STR") and not payload.get("DomainName"):
        problems.append(("SSID_STR", "is required (or DomainName for a Hotspot 2.0 network)"))
    encryption = payload.get("EncryptionType", "Any")
    if encryption == "None" and "Password" in payload:
        problems.append(("Password", "is set but EncryptionType is None"))
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
    check_payload=_network,
)
