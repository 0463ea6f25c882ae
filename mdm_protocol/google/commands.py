"""The Chromebook commands Flokk sends, their parameters, and how Google reports them.

Two kinds, as the Directory API has them: remote commands
(``customer.devices.chromeos.issueCommand``, then ``commands.get`` until
the command is final) and status changes (``customer.devices.chromeos
.batchChangeStatus``, at most 50 devices a call, answered at once).
Parameters are checked here, so a wrong one is refused before anything
reaches Google.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ISSUE = "issue"
STATUS = "status"

#: ``deprovisionReason`` values Flokk offers (Directory API ``BatchChangeChromeOsDeviceStatusRequest``), by short name.
DEPROVISION_REASONS = {
    "same_model_replacement": "DEPROVISION_REASON_SAME_MODEL_REPLACEMENT",
    "different_model_replacement": "DEPROVISION_REASON_DIFFERENT_MODEL_REPLACEMENT",
    "retiring_device": "DEPROVISION_REASON_RETIRING_DEVICE",
    "upgrade_transfer": "DEPROVISION_REASON_UPGRADE_TRANSFER",
    "repair_center": "DEPROVISION_REASON_REPAIR_CENTER",
    "not_required": "DEPROVISION_REASON_NOT_REQUIRED",
    "other": "DEPROVISION_REASON_OTHER",
}


class ChromeCommandError(ValueError):
    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # "integer" or "choice"
    required: bool = False
    minimum: int = 0
    maximum: int = 0
    choices: tuple[str, ...] = ()
    help: str = ""


@dataclass(frozen=True)
class ChromeCommand:
    """One command Flokk can send to a Chromebook."""

    request_type: str
    kind: str
    title: str
    destructive: bool = False
    params: tuple[Param, ...] = ()
    #: ``changeChromeOsDeviceStatusAction`` for status changes.
    action: str | None = None
    notes: str = field(default="", compare=False)

    def check(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters, typed and checked; ``ChromeCommandError`` names a wrong key."""
        known = {param.name: param for param in self.params}
        for key in params:
            if key not in known:
                raise ChromeCommandError(f"{self.request_type} takes no parameter {key!r}", key)
        checked: dict[str, Any] = {}
        for param in self.params:
            if param.name not in params:
                if param.required:
                    raise ChromeCommandError(f"{self.request_type} needs {param.name}", param.name)
                continue
            checked[param.name] = _value(param, params[param.name])
        return checked

    def issue_payload(self, params: Mapping[str, Any]) -> str | None:
        """The ``payload`` of issueCommand: a JSON object in a string, as Google documents it."""
        return json.dumps(dict(params), sort_keys=True) if params else None


def _value(param: Param, value: Any) -> Any:
    if param.kind == "integer":
        if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value.strip()) < 12:
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int):
            raise ChromeCommandError(f"{param.name} must be a whole number", param.name)
        if not param.minimum <= value <= param.maximum:
            raise ChromeCommandError(f"{param.name} must be between {param.minimum} and {param.maximum}", param.name)
        return value
    if not isinstance(value, str) or value not in param.choices:
        raise ChromeCommandError(f"{param.name} must be one of {', '.join(param.choices)}", param.name)
    return value


CATALOGUE: dict[str, ChromeCommand] = {
    command.request_type: command
    for command in (
        ChromeCommand("REBOOT", ISSUE, "Restart the Chromebook", params=(
            Param("user_session_delay_seconds", "integer", minimum=0, maximum=300,
                  help="seconds to wait when a user is signed in (0-300)"),)),
        ChromeCommand("TAKE_A_SCREENSHOT", ISSUE, "Take a screenshot (kiosk sessions only)"),
        ChromeCommand("SET_VOLUME", ISSUE, "Set the volume", params=(
            Param("volume", "integer", required=True, minimum=0, maximum=100, help="0-100"),)),
        ChromeCommand("WIPE_USERS", ISSUE, "Remove every user profile from the Chromebook", destructive=True),
        ChromeCommand("REMOTE_POWERWASH", ISSUE, "Powerwash: reset the Chromebook to factory state", destructive=True),
        ChromeCommand("DISABLE", STATUS, "Disable the Chromebook (lost or stolen)",
                      action="CHANGE_CHROME_OS_DEVICE_STATUS_ACTION_DISABLE"),
        ChromeCommand("REENABLE", STATUS, "Re-enable a disabled Chromebook",
                      action="CHANGE_CHROME_OS_DEVICE_STATUS_ACTION_REENABLE"),
        ChromeCommand("DEPROVISION", STATUS, "Deprovision: release the Chromebook from management", destructive=True,
                      action="CHANGE_CHROME_OS_DEVICE_STATUS_ACTION_DEPROVISION",
                      params=(Param("reason", "choice", required=True, choices=tuple(DEPROVISION_REASONS),
                                    help="why (Google records it for licensing)"),)),
    )
}
DESTRUCTIVE = frozenset(name for name, command in CATALOGUE.items() if command.destructive)
#: Commands per batchChangeStatus call, as Google allows.
STATUS_BATCH = 50

#: Google's command ``state`` values after which nothing more happens.
FINAL_STATES = frozenset({"EXPIRED", "CANCELLED", "EXECUTED_BY_CLIENT"})


def command(request_type: str) -> ChromeCommand:
    try:
        return CATALOGUE[request_type]
    except KeyError:
        raise ChromeCommandError(f"unknown Chromebook command {request_type!r}; one of {', '.join(CATALOGUE)}") from None


def build_from_strings(request_type: str, items: list[str] | tuple[str, ...]) -> tuple[ChromeCommand, dict[str, Any]]:
    """A command from the CLI's ``KEY=VALUE`` strings."""
    found = command(request_type)
    params: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ChromeCommandError(f"write parameters as KEY=VALUE, not {item!r}")
        params[key.strip()] = value.strip()
    return found, found.check(params)
