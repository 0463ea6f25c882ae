"""The enrollment profile (.mobileconfig) an iPad installs to join Flokk.

Apple's "Configuration Profile Reference" / device-management schema
(``mdm_protocol/apple_schema/profiles``): a ``Configuration`` (TopLevel.yaml)
holding three payloads —

* ``com.apple.security.root``: Flokk's CA, so the device trusts a server
  whose TLS and SCEP certificates chain to it;
* ``com.apple.security.scep``: where and how the device gets its identity
  certificate, with a one-time challenge;
* ``com.apple.mdm``: the MDM server, check-in URL and APNs topic, using the
  SCEP identity (IdentityCertificateUUID).

Every key and type is checked against Apple's schema before the profile is
written, and the profile is signed as CMS SignedData so the device shows who
it is from.
"""

from __future__ import annotations

import plistlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from . import apple_schema, cms

CONTENT_TYPE = "application/x-apple-aspen-config"
PLATFORM = "ipados"
#: Every MDM right (Apple: AccessRights, 1 through 4096 combined).
ALL_ACCESS_RIGHTS = 8191
#: RFC 8894 / Apple "Key Usage": 1 signing + 4 encryption.
KEY_USAGE_SIGN_AND_ENCRYPT = 5
DEFAULT_SERVER_CAPABILITIES = ("com.apple.mdm.per-user-connections",)


class ProfileError(ValueError):
    """The profile would not match Apple's schema; nothing is handed out."""


@dataclass(frozen=True)
class EnrollmentSettings:
    """Everything that varies between enrollment profiles.

    ``identifier`` is the reverse-DNS base (e.g. ``org.example.flokk.school-12``);
    payload identifiers are derived from it. ``scep_subject`` is a list of
    (attribute, value) pairs such as ``[("O", "Gemeente X"), ("CN", "iPad")]``.
    """

    identifier: str
    display_name: str
    organization: str
    description: str
    server_url: str
    check_in_url: str | None
    topic: str
    scep_url: str
    challenge: str
    ca_certificate: x509.Certificate
    scep_subject: Sequence[tuple[str, str]]
    scep_name: str | None = None
    key_size: int = 2048
    access_rights: int = ALL_ACCESS_RIGHTS
    sign_message: bool = True
    check_out_when_removed: bool = True
    server_capabilities: Sequence[str] = DEFAULT_SERVER_CAPABILITIES
    use_development_apns: bool = False
    profile_uuid: str = field(default_factory=lambda: str(uuid.uuid4()).upper())


def build(settings: EnrollmentSettings) -> dict[str, Any]:
    """The profile as a dictionary, checked against Apple's schema."""
    root_uuid, scep_uuid, mdm_uuid = (_derived_uuid(settings.profile_uuid, name) for name in ("root", "scep", "mdm"))
    root = {
        "PayloadType": "com.apple.security.root",
        "PayloadVersion": 1,
        "PayloadIdentifier": f"{settings.identifier}.ca",
        "PayloadUUID": root_uuid,
        "PayloadDisplayName": f"{settings.organization} certificate authority",
        "PayloadDescription": "Lets this device trust the Flokk server.",
        "PayloadCertificateFileName": "flokk-ca.cer",
        "PayloadContent": settings.ca_certificate.public_bytes(serialization.Encoding.DER),
    }
    scep_content: dict[str, Any] = {
        "URL": settings.scep_url,
        "Subject": [[[attribute, value]] for attribute, value in settings.scep_subject],
        "Challenge": settings.challenge,
        "Keysize": settings.key_size,
        "Key Type": "RSA",
        "Key Usage": KEY_USAGE_SIGN_AND_ENCRYPT,
        "Retries": 3,
        "RetryDelay": 10,
    }
    if settings.scep_name:
        scep_content["Name"] = settings.scep_name
    scep = {
        "PayloadType": "com.apple.security.scep",
        "PayloadVersion": 1,
        "PayloadIdentifier": f"{settings.identifier}.scep",
        "PayloadUUID": scep_uuid,
        "PayloadDisplayName": "Device identity",
        "PayloadDescription": "Gets this device's identity certificate from Flokk.",
        "PayloadContent": scep_content,
    }
    mdm: dict[str, Any] = {
        "PayloadType": "com.apple.mdm",
        "PayloadVersion": 1,
        "PayloadIdentifier": f"{settings.identifier}.mdm",
        "PayloadUUID": mdm_uuid,
        "PayloadDisplayName": "Device management",
        "PayloadDescription": f"Lets {settings.organization} manage this device.",
        "ServerURL": settings.server_url,
        "Topic": settings.topic,
        "IdentityCertificateUUID": scep_uuid,
        "SignMessage": settings.sign_message,
        "AccessRights": settings.access_rights,
        "CheckOutWhenRemoved": settings.check_out_when_removed,
        "ServerCapabilities": list(settings.server_capabilities),
    }
    if settings.check_in_url:
        mdm["CheckInURL"] = settings.check_in_url
    if settings.use_development_apns:
        mdm["UseDevelopmentAPNS"] = True
    profile = {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": settings.identifier,
        "PayloadUUID": settings.profile_uuid,
        "PayloadDisplayName": settings.display_name,
        "PayloadDescription": settings.description,
        "PayloadOrganization": settings.organization,
        "PayloadRemovalDisallowed": False,
        "PayloadContent": [root, scep, mdm],
    }
    problems = check(profile)
    if problems:
        raise ProfileError("the enrollment profile does not match Apple's schema: " + "; ".join(problems))
    return profile


def check(profile: Mapping[str, Any], *, platform: str = PLATFORM) -> list[str]:
    """Every way ``profile`` departs from Apple's schema (top level and each payload)."""
    problems = [str(p) for p in apple_schema.check(_keys("TopLevel"), profile, platform=platform)]
    common = _keys("CommonPayloadKeys")
    for index, payload in enumerate(profile.get("PayloadContent") or []):
        where = f"PayloadContent[{index}]"
        payload_type = payload.get("PayloadType") if isinstance(payload, Mapping) else None
        try:
            spec = apple_schema.profile_payload(str(payload_type))
        except apple_schema.UnknownSchema:
            problems.append(f"{where}: unknown PayloadType {payload_type!r}")
            continue
        if not spec.available_on(platform):
            problems.append(f"{where}: {payload_type} is not available on {platform}")
        own = {key.name for key in spec.keys}
        keys = tuple(key for key in common if key.name not in own) + spec.keys
        problems.extend(str(p) for p in apple_schema.check(keys, payload, platform=platform, path=where))
    return problems


def render(profile: Mapping[str, Any]) -> bytes:
    """The profile as an XML property list (what a .mobileconfig contains)."""
    return plistlib.dumps(dict(profile), fmt=plistlib.FMT_XML, sort_keys=True)


def signed(
    settings: EnrollmentSettings,
    certificate: x509.Certificate,
    private_key: cms.PrivateKey,
    *,
    chain: Sequence[x509.Certificate] = (),
) -> bytes:
    """Build, check, render and sign: the bytes served as ``application/x-apple-aspen-config``."""
    return cms.sign(render(build(settings)), certificate, private_key, extra_certificates=chain)


def _keys(payload_type: str) -> tuple[apple_schema.KeySpec, ...]:
    return apple_schema.profile_payload(payload_type).keys


def _derived_uuid(profile_uuid: str, name: str) -> str:
    """Payload UUIDs derived from the profile's, so one profile's payloads stay linked."""
    return str(uuid.uuid5(uuid.UUID(profile_uuid), name)).upper()
