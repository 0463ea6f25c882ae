"""What a configuration profile handed to ``InstallProfile`` is: its identifiers and payload types.

Apple, "Configuration Profile Reference" (TopLevel: ``PayloadIdentifier``,
``PayloadType`` "Configuration", ``PayloadContent`` of payload dictionaries,
each with its own ``PayloadIdentifier`` and ``PayloadType``); a profile may be
signed (an attached CMS SignedData around the plist). Reading it tells the
server whose profile an install would replace; nothing here trusts a signature.
"""

from __future__ import annotations

from dataclasses import dataclass

from mdm_protocol import cms
from mdm_protocol import plist as plist_io

#: The payload type of the MDM payload: the one profile on a device that makes it managed.
MDM_PAYLOAD_TYPE = "com.apple.mdm"
_MAX_PROFILE_BYTES = 4 * 1024 * 1024


class ProfileError(ValueError):
    """The bytes are not a configuration profile Flokk can read; ``str()`` says why."""


@dataclass(frozen=True)
class ProfileOutline:
    """A profile's top-level identifier, and the identifiers and types of its payloads."""

    identifier: str
    payload_identifiers: tuple[str, ...]
    payload_types: tuple[str, ...]

    @property
    def identifiers(self) -> tuple[str, ...]:
        return (self.identifier, *self.payload_identifiers)

    @property
    def manages_the_device(self) -> bool:
        return MDM_PAYLOAD_TYPE in self.payload_types


def outline(data: bytes) -> ProfileOutline:
    """Read a plain or signed ``.mobileconfig``; ProfileError when it is neither."""
    body = bytes(data)
    if body[:1] == b"\x30":  # DER SEQUENCE: a signed profile
        try:
            body = cms.unverified_content(body)
        except cms.CMSError as error:
            raise ProfileError(f"not a signed configuration profile: {error}") from None
    try:
        top = plist_io.load_dict(body, max_bytes=_MAX_PROFILE_BYTES)
    except plist_io.PlistError as error:
        raise ProfileError(f"not a configuration profile: {error}") from None
    identifier = top.get("PayloadIdentifier")
    if not isinstance(identifier, str) or not identifier:
        raise ProfileError("the profile has no PayloadIdentifier")
    content = top.get("PayloadContent") or []
    if not isinstance(content, list):
        raise ProfileError("the profile's PayloadContent is not an array")
    payloads = [item for item in content if isinstance(item, dict)]
    return ProfileOutline(
        identifier,
        tuple(str(item["PayloadIdentifier"]) for item in payloads if isinstance(item.get("PayloadIdentifier"), str)),
        tuple(str(item["PayloadType"]) for item in payloads if isinstance(item.get("PayloadType"), str)),
    )
