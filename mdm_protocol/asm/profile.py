"""The Automated Device Enrollment profile Flokk defines at Apple for each school.

Implements the ``Profile`` object of Apple's *Define a Profile* (Device
Assignment): what Setup Assistant does on an iPad assigned to Flokk — where
it fetches its enrollment profile (``url``), that it is supervised, that
the enrolment is mandatory and cannot be removed, that Setup Assistant
waits for ``DeviceConfigured``, which panes are skipped (Apple's SkipKeys,
``other/skipkeys.yaml`` of apple/device-management), the support phone and
department shown to the pupil, language and region, and the anchor
certificates the iPad trusts for Flokk's TLS.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from mdm_protocol import apple_schema

_LANGUAGE = re.compile(r"[a-z]{2,3}")
_REGION = re.compile(r"[A-Z]{2}")
_PHONE = re.compile(r"[0-9+() .-]{3,40}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}")


class ProfileDefinitionError(ValueError):
    """A setting Apple would refuse; ``str()`` names it."""


@lru_cache(maxsize=1)
def skippable_panes(platform: str = "ipados") -> tuple[str, ...]:
    """The Setup Assistant panes an iPad can skip, per Apple's SkipKeys."""
    return tuple(key.name for key in apple_schema.other("SkipKeys").keys if key.available_on(platform))


@dataclass(frozen=True)
class AdeProfile:
    """One school's Automated Device Enrollment profile, as Flokk defines it."""

    profile_name: str
    url: str
    department: str | None = None
    support_phone_number: str | None = None
    support_email_address: str | None = None
    language: str | None = None
    region: str | None = None
    skip_setup_items: tuple[str, ...] = ()
    anchor_certs: tuple[bytes, ...] = ()  # DER
    is_supervised: bool = True
    is_mandatory: bool = True
    is_mdm_removable: bool = False
    await_device_configured: bool = True

    def check(self) -> None:
        """Raise :class:`ProfileDefinitionError` for a value Apple would refuse."""
        if not self.url.startswith("https://"):
            raise ProfileDefinitionError("url: must be an https:// URL")
        if not self.profile_name.strip() or len(self.profile_name) > 255:
            raise ProfileDefinitionError("profile_name: must be 1 to 255 characters")
        if self.language is not None and not _LANGUAGE.fullmatch(self.language):
            raise ProfileDefinitionError("language: must be an ISO 639 code such as nb or en")
        if self.region is not None and not _REGION.fullmatch(self.region):
            raise ProfileDefinitionError("region: must be an ISO 3166 code such as NO")
        if self.support_phone_number is not None and not _PHONE.fullmatch(self.support_phone_number):
            raise ProfileDefinitionError("support_phone_number: digits, spaces and + ( ) - only")
        if self.support_email_address is not None and not _EMAIL.fullmatch(self.support_email_address):
            raise ProfileDefinitionError("support_email_address: is not an email address")
        if self.department is not None and len(self.department) > 125:
            raise ProfileDefinitionError("department: must be at most 125 characters")
        unknown = sorted(set(self.skip_setup_items) - set(skippable_panes()))
        if unknown:
            raise ProfileDefinitionError(f"skip_setup_items: {', '.join(unknown)} is not a pane an iPad can skip")
        if self.is_mdm_removable is False and not self.is_supervised:
            raise ProfileDefinitionError("is_mdm_removable: can only be false on a supervised device")

    def to_json(self) -> dict[str, Any]:
        """The body of ``POST /profile`` (without devices: Flokk assigns them separately)."""
        self.check()
        body: dict[str, Any] = {
            "profile_name": self.profile_name,
            "url": self.url,
            "is_supervised": self.is_supervised,
            "is_mandatory": self.is_mandatory,
            "is_mdm_removable": self.is_mdm_removable,
            "await_device_configured": self.await_device_configured,
            "skip_setup_items": sorted(self.skip_setup_items),
        }
        optional = {
            "department": self.department,
            "support_phone_number": self.support_phone_number,
            "support_email_address": self.support_email_address,
            "language": self.language,
            "region": self.region,
        }
        body.update({key: value for key, value in optional.items() if value})
        if self.anchor_certs:
            body["anchor_certs"] = [base64.b64encode(der).decode() for der in self.anchor_certs]
        return body

    def fingerprint(self) -> str:
        """A hash of the definition: a profile is defined again at Apple only when this changes."""
        return hashlib.sha256(json.dumps(self.to_json(), sort_keys=True).encode()).hexdigest()


def panes(values: Sequence[str]) -> tuple[str, ...]:
    """Normalise a list of pane names to Apple's spelling (case-insensitive), refusing unknown ones."""
    known = {name.lower(): name for name in skippable_panes()}
    found = []
    for value in values:
        name = known.get(str(value).strip().lower())
        if name is None:
            raise ProfileDefinitionError(f"skip_setup_items: {str(value)[:40]!r} is not a pane an iPad can skip")
        found.append(name)
    return tuple(sorted(set(found)))
