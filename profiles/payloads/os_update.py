"""OS update by a deadline (``com.apple.configuration.softwareupdate.enforcement.specific``), a declaration.

Central IT names the target iPadOS version (and build) and the local date and
time by which the device installs it; Apple's published list of versions is
not reachable from Flokk, so the admin types them. A device installs the
update itself and forces it at the deadline. iPads not managed declaratively
(older than iPadOS 17 for this declaration) do not get it; resolution says so.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from profiles.payloads.base import PayloadKind

DECLARATION_TYPE = "com.apple.configuration.softwareupdate.enforcement.specific"
#: Apple's format for TargetLocalDateTime: RFC 3339 without a time zone.
DEADLINE_FORMAT = "%Y-%m-%dT%H:%M:%S"
_VERSION = re.compile(r"\d{1,3}(\.\d{1,3}){0,2}")
_BUILD = re.compile(r"\d{1,3}[A-Z]\d{1,5}[a-z]?")
_DEADLINE_INPUTS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")


def parse_deadline(text: str) -> dt.datetime | None:
    """``2026-10-16 16:00`` or ``2026-10-16T16:00:00`` as a naive local time; None if neither."""
    for pattern in _DEADLINE_INPUTS:
        try:
            return dt.datetime.strptime(text.strip(), pattern)
        except ValueError:
            continue
    return None


def _normalise(key: str, value: Any) -> Any:
    if key == "TargetLocalDateTime" and isinstance(value, str):
        moment = parse_deadline(value)
        return moment.strftime(DEADLINE_FORMAT) if moment else value
    return value


def _check(key: str, value: Any) -> list[str]:
    if not isinstance(value, str):
        return []
    if key == "TargetOSVersion" and not _VERSION.fullmatch(value):
        return ["must be a version such as 26.1 or 18.6.2"]
    if key == "TargetBuildVersion" and not _BUILD.fullmatch(value):
        return ["must be a build such as 23B85 or 22G86a"]
    if key == "TargetLocalDateTime" and (len(value) != 19 or parse_deadline(value) is None):
        return ["must be a local date and time such as 2026-10-16T16:00:00"]
    if key == "DetailsURL" and not value.startswith("https://"):
        return ["must be an https:// address"]
    return []


KIND = PayloadKind(
    payload_type=DECLARATION_TYPE,
    alias="osupdate",
    title="OS update",
    declaration=True,
    coerce=_normalise,
    check_value=_check,
)
