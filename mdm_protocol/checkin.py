"""Check-in protocol messages (the CheckInURL of an MDM enrollment).

Implements the device side of Apple's *Check-in protocol* (Device Management
documentation, "Check-in"; keys per ``mdm/checkin/*.yaml`` of
apple/device-management): Authenticate, TokenUpdate, CheckOut,
SetBootstrapToken, GetBootstrapToken, UserAuthenticate and
DeclarativeManagement become typed,
immutable values. Required keys and the types of known keys are checked
against Apple's schema; unknown keys are kept in ``raw`` (Apple adds keys
every year). Any problem raises :class:`CheckinError` naming the key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, ClassVar

from mdm_protocol import apple_schema
from mdm_protocol import plist as plist_io

CONTENT_TYPE = "application/x-apple-aspen-mdm-checkin"

#: The UserID a Shared iPad sends on its user channel (no local user GUID);
#: the Managed Apple ID in UserShortName then names the user.
SHARED_IPAD_USER_ID = "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF"

#: Keys that identify who speaks, present on every message whatever the
#: schema file lists; checked here, once, rather than per message type.
_IDENTITY_KEYS = frozenset({"UDID", "EnrollmentID", "UserID", "UserShortName", "UserLongName", "EnrollmentUserID"})
_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_USER_NAME_MAX = 256
#: Apple's PushMagic is a UUID, its topics and tokens are short: anything far
#: longer is not a real device's and would not fit where Flokk keeps them.
_PUSH_MAGIC_MAX = 100
_TOKEN_MAX = 100
_TOPIC_MAX = 255


class CheckinError(ValueError):
    """A check-in (or command report) message is malformed; ``str()`` says why."""


class UnsupportedMessage(CheckinError):
    """A well-formed message whose MessageType Flokk does not handle."""

    def __init__(self, message_type: str) -> None:
        super().__init__(f"MessageType {message_type!r} is not supported")
        self.message_type = message_type


@dataclass(frozen=True)
class Enrollment:
    """Who a message speaks for: a device channel, or one user on a device.

    Per Apple's check-in and command documentation, the device is named by
    ``UDID`` (or ``EnrollmentID`` for User Enrollment); a user channel adds
    ``UserID`` (macOS, or the Shared iPad sentinel) and ``UserShortName``
    (the Managed Apple ID on Shared iPad).
    """

    device_id: str
    user_id: str | None = None
    user_short_name: str | None = None
    user_long_name: str | None = None
    is_user_enrollment: bool = False

    @property
    def is_user_channel(self) -> bool:
        return self.user_id is not None

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> Enrollment:
        """Read the identifying keys of any device message."""
        udid = _optional_identifier(message, "UDID")
        enrollment_id = _optional_identifier(message, "EnrollmentID")
        device_id = udid or enrollment_id
        if device_id is None:
            raise CheckinError("UDID: is required (or EnrollmentID for User Enrollment)")
        short_name = _optional_text(message, "UserShortName")
        long_name = _optional_text(message, "UserLongName")
        raw_user_id = _optional_text(message, "UserID") or _optional_text(message, "EnrollmentUserID")
        user_id = raw_user_id
        if raw_user_id and raw_user_id.upper() == SHARED_IPAD_USER_ID:
            user_id = short_name or raw_user_id
        elif raw_user_id is None and short_name:
            user_id = short_name
        return cls(
            device_id=device_id,
            user_id=user_id,
            user_short_name=short_name,
            user_long_name=long_name,
            is_user_enrollment=udid is None,
        )


@dataclass(frozen=True)
class CheckinMessage:
    """Common part of every check-in message; ``raw`` keeps every key sent."""

    MESSAGE_TYPE: ClassVar[str] = ""

    enrollment: Enrollment
    topic: str | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def message_type(self) -> str:
        return self.MESSAGE_TYPE


@dataclass(frozen=True)
class Authenticate(CheckinMessage):
    """First message of an enrollment: the device introduces itself."""

    MESSAGE_TYPE: ClassVar[str] = "Authenticate"

    serial_number: str | None = None
    product_name: str | None = None
    os_version: str | None = None
    build_version: str | None = None
    model: str | None = None
    model_name: str | None = None
    device_name: str | None = None
    imei: str | None = None
    meid: str | None = None


@dataclass(frozen=True)
class TokenUpdate(CheckinMessage):
    """Push token, PushMagic and (device channel) UnlockToken of a channel."""

    MESSAGE_TYPE: ClassVar[str] = "TokenUpdate"

    token: bytes = b""
    push_magic: str = ""
    unlock_token: bytes | None = None
    awaiting_configuration: bool = False
    not_on_console: bool | None = None


@dataclass(frozen=True)
class CheckOut(CheckinMessage):
    """The device left management (its MDM profile was removed)."""

    MESSAGE_TYPE: ClassVar[str] = "CheckOut"


@dataclass(frozen=True)
class SetBootstrapToken(CheckinMessage):
    """Escrow of the bootstrap token; an empty or absent token clears it."""

    MESSAGE_TYPE: ClassVar[str] = "SetBootstrapToken"

    bootstrap_token: bytes | None = None
    awaiting_configuration: bool = False


@dataclass(frozen=True)
class GetBootstrapToken(CheckinMessage):
    """The device asks for its escrowed bootstrap token."""

    MESSAGE_TYPE: ClassVar[str] = "GetBootstrapToken"

    awaiting_configuration: bool = False


@dataclass(frozen=True)
class UserAuthenticate(CheckinMessage):
    """A user channel asks to be set up; the server answers a DigestChallenge."""

    MESSAGE_TYPE: ClassVar[str] = "UserAuthenticate"

    digest_response: str | None = None


@dataclass(frozen=True)
class DeclarativeManagement(CheckinMessage):
    """A declarative management request: its ``Endpoint`` and, for ``status``, its ``Data`` (JSON)."""

    MESSAGE_TYPE: ClassVar[str] = "DeclarativeManagement"

    endpoint: str = ""
    data: bytes | None = None


MESSAGE_TYPES: dict[str, type[CheckinMessage]] = {
    cls.MESSAGE_TYPE: cls
    for cls in (Authenticate, TokenUpdate, CheckOut, SetBootstrapToken, GetBootstrapToken, UserAuthenticate,
                DeclarativeManagement)
}

#: Keys the schema marks required that are legitimately absent in some real
#: messages: the first UserAuthenticate carries no DigestResponse yet.
_NOT_ALWAYS_SENT: dict[str, frozenset[str]] = {"UserAuthenticate": frozenset({"DigestResponse"})}


def parse(body: bytes, **limits: int) -> CheckinMessage:
    """Parse and check a check-in body (XML or binary plist)."""
    return from_dict(plist_io.load_dict(body, **limits))


def from_dict(message: Mapping[str, Any]) -> CheckinMessage:
    """Check a decoded check-in message and turn it into its typed value."""
    message_type = message.get("MessageType")
    if message_type is None:
        raise CheckinError("MessageType: is required")
    if not isinstance(message_type, str):
        raise CheckinError(f"MessageType: must be a string, not {plist_io.described(message_type)}")
    cls = MESSAGE_TYPES.get(message_type)
    if cls is None:
        raise UnsupportedMessage(message_type)
    _check_against_schema(message_type, message)
    enrollment = Enrollment.from_message(message)
    topic = message.get("Topic")
    if isinstance(topic, str) and len(topic) > _TOPIC_MAX:
        raise CheckinError(f"Topic: must be at most {_TOPIC_MAX} characters")
    common = {"enrollment": enrollment, "topic": message.get("Topic"), "raw": dict(message)}
    return cls(**common, **_specific_fields(cls, message))


def _check_against_schema(message_type: str, message: Mapping[str, Any]) -> None:
    problems = apple_schema.check(_schema_keys(message_type), message, platform="ios", allow_unknown=True)
    if problems:
        raise CheckinError("; ".join(str(problem) for problem in problems))


@lru_cache(maxsize=None)
def _schema_keys(message_type: str) -> tuple[apple_schema.KeySpec, ...]:
    """The schema's keys, with identity keys (checked by Enrollment) made optional."""
    optional = _IDENTITY_KEYS | _NOT_ALWAYS_SENT.get(message_type, frozenset())
    return tuple(
        replace(key, required=False) if key.name in optional else key
        for key in apple_schema.checkin_message(message_type).keys
    )


def _specific_fields(cls: type[CheckinMessage], message: Mapping[str, Any]) -> dict[str, Any]:
    get = message.get
    if cls is Authenticate:
        return {
            "serial_number": get("SerialNumber"),
            "product_name": get("ProductName"),
            "os_version": get("OSVersion"),
            "build_version": get("BuildVersion"),
            "model": get("Model"),
            "model_name": get("ModelName"),
            "device_name": get("DeviceName"),
            "imei": get("IMEI"),
            "meid": get("MEID"),
        }
    if cls is TokenUpdate:
        token = get("Token")
        magic = get("PushMagic")
        if not token:
            raise CheckinError("Token: must not be empty")
        if not magic:
            raise CheckinError("PushMagic: must not be empty")
        if len(magic) > _PUSH_MAGIC_MAX:
            raise CheckinError(f"PushMagic: must be at most {_PUSH_MAGIC_MAX} characters")
        if len(token) > _TOKEN_MAX:
            raise CheckinError(f"Token: must be at most {_TOKEN_MAX} bytes")
        return {
            "token": bytes(token),
            "push_magic": magic,
            "unlock_token": bytes(get("UnlockToken")) if get("UnlockToken") else None,
            "awaiting_configuration": bool(get("AwaitingConfiguration", False)),
            "not_on_console": get("NotOnConsole"),
        }
    if cls is SetBootstrapToken:
        token = get("BootstrapToken")
        return {
            "bootstrap_token": bytes(token) if token else None,
            "awaiting_configuration": bool(get("AwaitingConfiguration", False)),
        }
    if cls is GetBootstrapToken:
        return {"awaiting_configuration": bool(get("AwaitingConfiguration", False))}
    if cls is UserAuthenticate:
        return {"digest_response": get("DigestResponse")}
    if cls is DeclarativeManagement:
        data = get("Data")
        return {"endpoint": get("Endpoint"), "data": bytes(data) if data is not None else None}
    return {}


def _optional_identifier(message: Mapping[str, Any], key: str) -> str | None:
    value = message.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise CheckinError(f"{key}: must be a string, not {plist_io.described(value)}")
    if not _IDENTIFIER.fullmatch(value):
        raise CheckinError(f"{key}: is not a valid identifier")
    return value


def _optional_text(message: Mapping[str, Any], key: str) -> str | None:
    value = message.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise CheckinError(f"{key}: must be a string, not {plist_io.described(value)}")
    if not value or len(value) > _USER_NAME_MAX:
        raise CheckinError(f"{key}: must be 1 to {_USER_NAME_MAX} characters")
    return value
