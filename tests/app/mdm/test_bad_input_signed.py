"""Bad values from a device that signs correctly: a 4xx, and nothing written.

Generated: every key of every kind of message an enrolled iPad sends
(check-in messages, and command reports including a full DeviceInformation
answer, one level into QueryResponses and ErrorChain) gets each class of bad
value in turn: integers over 64 bits, NaN and infinity, control characters,
NUL, lone UTF-16 surrogates, values of the wrong type, and the body cut
short. Each body carries a valid, fresh Mdm-Signature, so it reaches the
parser and the service, not just the signature check. Afterwards the valid
message still works, so "nothing written" means something.
"""

from __future__ import annotations

import plistlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select

from app import endpoints
from app.models import AuditEvent, Command, Device, DeviceUser, InstalledProfile, SeenSignature
from tests.app.mdm.test_commands import answer_for

CHECKIN_TYPE = "application/x-apple-aspen-mdm-checkin"
REPORT_TYPE = "application/x-apple-aspen-mdm"
_BIG_PLACEHOLDER = 987654321987654321  # swapped for an integer no binary plist can write
_SURROGATE_PLACEHOLDER = "\u00e9\u00e8"  # swapped, in the UTF-16 of a binary plist, for a lone surrogate

#: name -> (value to put in, how to write the plist, what replaces the placeholder)
VALUE_CLASSES: dict[str, tuple[Any, str]] = {
    "an integer of 2^64": (_BIG_PLACEHOLDER, "xml"),
    "an integer below -2^63": (-_BIG_PLACEHOLDER, "xml"),
    "NaN": (float("nan"), "xml"),
    "infinity": (float("-inf"), "xml"),
    "a control character": ("lock\x01ed", "binary"),
    "a NUL character": ("lock\x00ed", "binary"),
    "a lone surrogate": (_SURROGATE_PLACEHOLDER, "binary"),
}
WRONG_TYPES: tuple[Any, ...] = ({"nested": 1}, ["list"], b"\x00data", 7, True)


def encode(message: dict[str, Any], how: str) -> bytes:
    if how == "binary":
        body = plistlib.dumps(message, fmt=plistlib.FMT_BINARY)
        return body.replace(_SURROGATE_PLACEHOLDER.encode("utf-16-be"), b"\xd8\x00\x00a")
    body = plistlib.dumps(message)
    body = body.replace(f"<integer>{_BIG_PLACEHOLDER}<".encode(), f"<integer>{2**64}<".encode())
    return body.replace(f"<integer>-{_BIG_PLACEHOLDER}<".encode(), f"<integer>{-(2**63) - 1}<".encode())


def paths(message: dict[str, Any]) -> Iterator[tuple[str, ...]]:
    """Every key, and one level into dictionaries and into the first dictionary of a list."""
    for key, value in message.items():
        yield (key,)
        inner = value[0] if isinstance(value, list) and value and isinstance(value[0], dict) else value
        if isinstance(inner, dict):
            for child in inner:
                yield (key, child) if inner is value else (key, 0, child)


def replaced(message: dict[str, Any], path: tuple, value: Any) -> dict[str, Any]:
    copy = plistlib.loads(plistlib.dumps(message))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return copy


def lookup(message: dict[str, Any], path: tuple) -> Any:
    value: Any = message
    for step in path:
        value = value[step]
    return value


def snapshot(db, udid) -> tuple:
    """What any accepted message would change."""
    with db.session() as session:
        device = session.scalar(select(Device).where(Device.udid == udid))
        facts = (device.school_id, device.enrollment_state, device.push_token, device.push_magic, device.name,
                 device.os_version, device.serial_number, device.model, device.unlock_token, device.bootstrap_token,
                 device.inventory)
        commands = sorted((c.uuid, c.status, c.delivery_count, c.result is None) for c in session.scalars(select(Command)))
        counts = tuple(session.scalar(select(func.count()).select_from(model))
                       for model in (InstalledProfile, DeviceUser, SeenSignature, AuditEvent))
        return facts, commands, counts


def messages(ipad, command_uuid: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(endpoint, content type, message) for each kind of message the iPad sends."""
    information = plistlib.loads(answer_for(ipad, command_uuid, "DeviceInformation"))
    error = {"Status": "Error", "UDID": ipad.udid, "CommandUUID": command_uuid,
             "ErrorChain": [{"ErrorCode": 12021, "ErrorDomain": "MCMDMErrorDomain",
                             "LocalizedDescription": "Unknown command", "USEnglishDescription": "Unknown command"}]}
    return [
        (endpoints.MDM_CHECKIN, CHECKIN_TYPE, ipad.authenticate_message()),
        (endpoints.MDM_CHECKIN, CHECKIN_TYPE, ipad.token_update_message()),
        (endpoints.MDM_CHECKIN, CHECKIN_TYPE, {"MessageType": "CheckOut", "Topic": ipad.topic, "UDID": ipad.udid}),
        (endpoints.MDM_CHECKIN, CHECKIN_TYPE, {"MessageType": "SetBootstrapToken", "Topic": ipad.topic,
                                               "UDID": ipad.udid, "BootstrapToken": b"token"}),
        (endpoints.MDM_SERVER, REPORT_TYPE, {"Status": "Idle", "UDID": ipad.udid}),
        (endpoints.MDM_SERVER, REPORT_TYPE, {"Status": "NotNow", "UDID": ipad.udid, "CommandUUID": command_uuid}),
        (endpoints.MDM_SERVER, REPORT_TYPE, error),
        (endpoints.MDM_SERVER, REPORT_TYPE, information),
    ]


#: Keys whose wrong type is refused, per message (Apple's schema); elsewhere an odd value may be dropped instead.
CHECKED_KEYS = {
    "Authenticate": {"MessageType", "UDID", "Topic"},
    "TokenUpdate": {"MessageType", "UDID", "Topic", "Token", "PushMagic", "UnlockToken"},
    "CheckOut": {"MessageType", "UDID", "Topic"},
    "SetBootstrapToken": {"MessageType", "UDID", "BootstrapToken"},
    "Idle": {"Status", "UDID"},
    "NotNow": {"Status", "UDID", "CommandUUID"},
    "Error": {"Status", "UDID", "CommandUUID"},
    "Acknowledged": {"Status", "UDID", "CommandUUID"},
}


def test_bad_values_from_a_correctly_signed_device_are_a_4xx_and_change_nothing(db, client, enrolled, transport):
    command_uuid = enrolled.idle(transport).command_uuid  # DeviceInformation, sent and waiting for its answer
    failures: list[str] = []
    tolerated: list[tuple[str, str, bytes, str]] = []

    def send(path: str, content_type: str, body: bytes, what: str, *, must_refuse: bool) -> None:
        before = snapshot(db, enrolled.udid)
        response = client.put(path, data=body, headers=enrolled.headers(body, content_type))
        status = response.status_code
        if status >= 500 or (must_refuse and not 400 <= status < 500):
            failures.append(f"{what}: {status} {response.get_data()[:200]!r}")
        elif status >= 400 and snapshot(db, enrolled.udid) != before:
            failures.append(f"{what}: {status} but something was written")

    for path, content_type, message in messages(enrolled, command_uuid):
        kind = message.get("MessageType") or message["Status"]
        valid = plistlib.dumps(message)
        for cut in (len(valid) // 4, len(valid) // 2, len(valid) - 12):
            send(path, content_type, valid[:cut], f"{kind} cut at {cut}", must_refuse=True)
        for key_path in paths(message):
            for name, (value, how) in VALUE_CLASSES.items():
                body = encode(replaced(message, key_path, value), how)
                send(path, content_type, body, f"{kind} {key_path} = {name}", must_refuse=True)
            original = lookup(message, key_path)
            for value in WRONG_TYPES:
                if type(value) is type(original):
                    continue
                body = plistlib.dumps(replaced(message, key_path, value), fmt=plistlib.FMT_BINARY)
                what = f"{kind} {key_path} = {value!r}"
                if len(key_path) == 1 and key_path[0] in CHECKED_KEYS[kind]:
                    send(path, content_type, body, what, must_refuse=True)
                else:
                    tolerated.append((path, content_type, body, what))
    assert not failures, "\n".join(failures)
    # The valid answer is still welcome: the refusals above left the command waiting for it.
    answer = enrolled.send(transport, answer_for(enrolled, command_uuid, "DeviceInformation"))
    assert answer.status == 200 and answer.request_type == "SecurityInfo"
    # An odd type where Apple's schema does not insist may be dropped and the rest kept: never a 5xx.
    for path, content_type, body, what in tolerated:
        send(path, content_type, body, what, must_refuse=False)
    assert not failures, "\n".join(failures)


def test_the_named_cases_huge_integer_for_an_unknown_command_and_battery_level_nan(db, client, enrolled, transport):
    """The probe's cases: before, a 500 (binary plist overflow; NaN refused by PostgreSQL's JSONB at commit)."""
    command_uuid = enrolled.idle(transport).command_uuid
    unknown = {"Status": "Acknowledged", "UDID": enrolled.udid, "CommandUUID": "NO-SUCH-COMMAND"}
    information = plistlib.loads(answer_for(enrolled, command_uuid, "DeviceInformation"))
    cases = [encode({**unknown, "Count": _BIG_PLACEHOLDER}, "xml")]
    for level in (float("nan"), float("inf")):
        answer = replaced(information, ("QueryResponses", "BatteryLevel"), level)
        cases.append(encode(answer, "xml"))
    before = snapshot(db, enrolled.udid)
    for body in cases:
        response = client.put(endpoints.MDM_SERVER, data=body, headers=enrolled.headers(body, REPORT_TYPE))
        assert response.status_code == 400 and response.get_json()["error"] == "malformed_message"
    assert snapshot(db, enrolled.udid) == before
