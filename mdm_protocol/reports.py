"""Command reports a device sends to the ServerURL, and what they tell us.

Implements the device side of Apple's *MDM protocol* command exchange
(Device Management documentation, "Sending MDM commands to a device" and
"ErrorChain"): each request to the ServerURL is a report with a ``Status`` of
Idle, Acknowledged, Error, CommandFormatError or NotNow. :func:`parse` turns
the body into a :class:`CommandReport`; :func:`inventory_from_response`
turns the answers to the known queries (DeviceInformation, SecurityInfo,
ProfileList, InstalledApplicationList, ManagedApplicationList, CertificateList,
and a few more) into
JSON-safe inventory, keyed and typed per the ``responsekeys`` of Apple's
command schema.

The report envelope is checked strictly (a wrong ``Status`` or
``CommandUUID`` is an error); a response body is read tolerantly: a value of
the wrong type is dropped and named in ``problems`` rather than losing the
whole acknowledgement.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from cryptography import x509

from mdm_protocol import apple_schema
from mdm_protocol import plist as plist_io
from mdm_protocol.checkin import CheckinError, Enrollment

CONTENT_TYPE = "application/x-apple-aspen-mdm"

_COMMAND_UUID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


class ReportError(CheckinError):
    """A command report is malformed; ``str()`` names the key."""


class Status(enum.StrEnum):
    """The ``Status`` values of a command report."""

    IDLE = "Idle"
    ACKNOWLEDGED = "Acknowledged"
    ERROR = "Error"
    COMMAND_FORMAT_ERROR = "CommandFormatError"
    NOT_NOW = "NotNow"


@dataclass(frozen=True)
class ErrorChainItem:
    """One entry of an ``ErrorChain`` (Apple: "ErrorChainItem")."""

    code: int | None
    domain: str | None
    localized_description: str | None = None
    us_english_description: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "ErrorCode": self.code,
            "ErrorDomain": self.domain,
            "LocalizedDescription": self.localized_description,
            "USEnglishDescription": self.us_english_description,
        }


@dataclass(frozen=True)
class CommandReport:
    """One request to the ServerURL: a status, and for a command its result."""

    enrollment: Enrollment
    status: Status
    command_uuid: str | None
    error_chain: tuple[ErrorChainItem, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_idle(self) -> bool:
        return self.status is Status.IDLE

    @property
    def is_error(self) -> bool:
        return self.status in (Status.ERROR, Status.COMMAND_FORMAT_ERROR)

    def response(self) -> dict[str, Any]:
        """The command's result: every key except the envelope."""
        return {key: value for key, value in self.raw.items() if key not in _ENVELOPE}


_ENVELOPE = frozenset(
    {"Status", "CommandUUID", "UDID", "EnrollmentID", "UserID", "UserShortName", "UserLongName",
     "EnrollmentUserID", "ErrorChain", "RequestType"}
)


def parse(body: bytes, **limits: int) -> CommandReport:
    """Parse and check a ServerURL body (XML or binary plist)."""
    return from_dict(plist_io.load_dict(body, **limits))


def from_dict(message: Mapping[str, Any]) -> CommandReport:
    """Check a decoded command report and turn it into a :class:`CommandReport`."""
    raw_status = message.get("Status")
    if raw_status is None:
        raise ReportError("Status: is required")
    try:
        status = Status(raw_status)
    except ValueError:
        allowed = ", ".join(s.value for s in Status)
        raise ReportError(f"Status: must be one of {allowed}") from None
    enrollment = Enrollment.from_message(message)
    command_uuid = message.get("CommandUUID")
    if status is Status.IDLE:
        command_uuid = None  # an Idle report answers no command
    elif command_uuid is None:
        raise ReportError(f"CommandUUID: is required when Status is {status.value}")
    elif not isinstance(command_uuid, str):
        raise ReportError(f"CommandUUID: must be a string, not {plist_io.described(command_uuid)}")
    elif not _COMMAND_UUID.fullmatch(command_uuid):
        raise ReportError("CommandUUID: is not a valid identifier")
    return CommandReport(
        enrollment=enrollment,
        status=status,
        command_uuid=command_uuid,
        error_chain=_error_chain(message.get("ErrorChain")),
        raw=dict(message),
    )


def _error_chain(value: Any) -> tuple[ErrorChainItem, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ReportError(f"ErrorChain: must be an array, not {plist_io.described(value)}")
    items = []
    for index, entry in enumerate(value):
        if not isinstance(entry, dict):
            raise ReportError(f"ErrorChain[{index}]: must be a dictionary, not {plist_io.described(entry)}")
        code = entry.get("ErrorCode")
        items.append(
            ErrorChainItem(
                code=code if isinstance(code, int) and not isinstance(code, bool) else None,
                domain=_text(entry.get("ErrorDomain")),
                localized_description=_text(entry.get("LocalizedDescription")),
                us_english_description=_text(entry.get("USEnglishDescription")),
            )
        )
    return tuple(items)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# --- inventory ---------------------------------------------------------------

#: Device columns promoted from a DeviceInformation response (Apple key → field).
DEVICE_FIELDS = {
    "SerialNumber": "serial_number",
    "ProductName": "product_name",
    "Model": "model",
    "ModelName": "model_name",
    "OSVersion": "os_version",
    "BuildVersion": "build_version",
    "DeviceName": "device_name",
    "IMEI": "imei",
    "IsSupervised": "is_supervised",
    "BatteryLevel": "battery_level",
}


@dataclass(frozen=True)
class InstalledProfileInfo:
    """One entry of a ProfileList response."""

    identifier: str
    uuid: str
    display_name: str | None = None
    version: int | None = None
    is_managed: bool | None = None
    is_encrypted: bool | None = None
    removal_disallowed: bool | None = None
    payload_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class InventoryUpdate:
    """What one acknowledged query says: a JSON-safe section, plus typed extras.

    ``section`` is where ``value`` belongs in the device's inventory;
    ``device_fields`` holds values promoted to device columns (only from
    DeviceInformation); ``profiles`` is the full installed-profile list (only
    from ProfileList); ``problems`` names response values that were dropped.
    """

    section: str
    value: Any
    device_fields: Mapping[str, Any] = field(default_factory=dict)
    profiles: tuple[InstalledProfileInfo, ...] | None = None
    problems: tuple[str, ...] = ()


#: RequestType → (inventory section, the response key holding the answer).
INVENTORY_QUERIES: dict[str, tuple[str, str | None]] = {
    "DeviceInformation": ("device_information", "QueryResponses"),
    "SecurityInfo": ("security_info", "SecurityInfo"),
    "ProfileList": ("profiles", "ProfileList"),
    "InstalledApplicationList": ("applications", "InstalledApplicationList"),
    "ManagedApplicationList": ("managed_applications", "ManagedApplicationList"),
    "CertificateList": ("certificates", "CertificateList"),
    "DeviceLocation": ("location", None),
    "UserList": ("users", "Users"),
    "OSUpdateStatus": ("os_update_status", "OSUpdateStatus"),
}


def inventory_from_response(request_type: str, report: CommandReport) -> InventoryUpdate | None:
    """The inventory an acknowledged query carries, or None for other commands."""
    target = INVENTORY_QUERIES.get(request_type)
    if target is None or report.status is not Status.ACKNOWLEDGED:
        return None
    section, response_key = target
    spec = apple_schema.command(request_type)
    problems: list[str] = []
    if response_key is None:
        value = _clean_dict(spec.response_keys, report.response(), "", problems)
    else:
        key_spec = next((k for k in spec.response_keys if k.name == response_key), None)
        raw = report.raw.get(response_key)
        if raw is None:
            problems.append(f"{response_key}: is missing")
            value = None
        elif key_spec is None:
            value = _jsonable(raw)
        else:
            value = _clean_value(key_spec, raw, response_key, problems)
    if value is _DROPPED:
        value = None
    fields: dict[str, Any] = {}
    profiles = None
    if request_type == "DeviceInformation" and isinstance(value, dict):
        fields = {name: value[key] for key, name in DEVICE_FIELDS.items() if key in value}
    elif request_type == "ProfileList" and isinstance(value, list):
        profiles = _profiles(value, problems)
    elif request_type == "CertificateList" and isinstance(value, list):
        value = [_certificate_summary(item) for item in value if isinstance(item, dict)]
    return InventoryUpdate(section, value, device_fields=fields, profiles=profiles, problems=tuple(problems))


def _clean_value(spec: apple_schema.KeySpec, value: Any, path: str, problems: list[str]) -> Any:
    """Keep a value if its type matches its spec (recursively), else drop and name it.

    Only types are checked: Apple adds new enumeration values and ranges move,
    and a device's answer is the truth about the device.
    """
    if spec.type in ("dictionary", "array"):
        expected = dict if spec.type == "dictionary" else list
        if not isinstance(value, expected):
            article = "a dictionary" if expected is dict else "an array"
            problems.append(f"{path}: must be {article}, not {plist_io.described(value)}")
            return _DROPPED
        if not spec.subkeys:
            return _jsonable(value)
        if isinstance(value, dict):
            return _clean_dict(spec.subkeys, value, path, problems)
        kept = (_clean_value(spec.subkeys[0], item, f"{path}[{index}]", problems) for index, item in enumerate(value))
        return [item for item in kept if item is not _DROPPED]
    loose = replace(spec, allowed=None, minimum=None, maximum=None, pattern=None)
    issues = apple_schema.check_value(loose, value, path=path, allow_unknown=True)
    if issues:
        problems.extend(str(issue) for issue in issues)
        return _DROPPED
    return _jsonable(value)


def _clean_dict(keys: tuple[apple_schema.KeySpec, ...], value: Mapping[str, Any], path: str, problems: list[str]) -> Any:
    # Required keys are not enforced: real devices leave some out (e.g. the
    # PayloadUUID of a ProfileList's PayloadContent), and what they do send
    # is still worth keeping.
    by_name = {key.name: key for key in keys if not key.is_wildcard}
    cleaned: dict[str, Any] = {}
    for name, item in value.items():
        spec = by_name.get(name)
        if spec is None:
            cleaned[name] = _jsonable(item)  # a key newer than our schema: kept
            continue
        kept = _clean_value(spec, item, _join(path, name), problems)
        if kept is not _DROPPED:
            cleaned[name] = kept
    return cleaned


_DROPPED: Any = object()


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _jsonable(value: Any) -> Any:
    """Plist values as JSON: data → base64 text, dates → ISO 8601 (UTC)."""
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.isoformat()
    return value


def _profiles(items: list[Any], problems: list[str]) -> tuple[InstalledProfileInfo, ...]:
    profiles = []
    for index, item in enumerate(items):
        if not (isinstance(item, dict) and item.get("PayloadIdentifier") and item.get("PayloadUUID")):
            problems.append(f"ProfileList[{index}]: has no PayloadIdentifier or PayloadUUID")
            continue
        version = item.get("PayloadVersion")
        profiles.append(
            InstalledProfileInfo(
                identifier=item["PayloadIdentifier"],
                uuid=item["PayloadUUID"],
                display_name=item.get("PayloadDisplayName"),
                version=version if isinstance(version, int) else None,
                is_managed=item.get("IsManaged"),
                is_encrypted=item.get("IsEncrypted"),
                removal_disallowed=item.get("PayloadRemovalDisallowed"),
                payload_types=tuple(
                    str(payload.get("PayloadType"))
                    for payload in item.get("PayloadContent") or ()
                    if isinstance(payload, dict) and payload.get("PayloadType")
                ),
            )
        )
    return tuple(profiles)


def _certificate_summary(item: Mapping[str, Any]) -> dict[str, Any]:
    """A CertificateList entry without the DER blob, with what an admin needs."""
    summary: dict[str, Any] = {"CommonName": item.get("CommonName"), "IsIdentity": item.get("IsIdentity")}
    encoded = item.get("Data")
    if not isinstance(encoded, str):
        return summary
    der = base64.b64decode(encoded)
    summary["SHA256"] = hashlib.sha256(der).hexdigest()
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        summary["Unreadable"] = True
        return summary
    summary.update(
        Subject=cert.subject.rfc4514_string(),
        Issuer=cert.issuer.rfc4514_string(),
        SerialNumber=format(cert.serial_number, "x"),
        NotBefore=cert.not_valid_before_utc.isoformat(),
        NotAfter=cert.not_valid_after_utc.isoformat(),
    )
    return summary
