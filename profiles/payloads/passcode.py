"""Passcode policy (``com.apple.mobiledevice.passwordpolicy``): length, complexity, lock timing.

A device managed declaratively gets the same settings as the declaration
``com.apple.configuration.passcode.settings`` (keys renamed per Apple's two
schemas; ``allowSimple`` is the opposite of ``RequireComplexPasscode``).
"""

from collections.abc import Mapping
from typing import Any

from profiles.payloads.base import DeclarationForm, PayloadKind

#: Profile key → declaration key.
DECLARATION_KEYS = {
    "forcePIN": "RequirePasscode",
    "requireAlphanumeric": "RequireAlphanumericPasscode",
    "minLength": "MinimumLength",
    "minComplexChars": "MinimumComplexCharacters",
    "maxFailedAttempts": "MaximumFailedAttempts",
    "minutesUntilFailedLoginReset": "FailedAttemptsResetInMinutes",
    "maxGracePeriod": "MaximumGracePeriodInMinutes",
    "maxInactivity": "MaximumInactivityInMinutes",
    "maxPINAgeInDays": "MaximumPasscodeAgeInDays",
    "pinHistory": "PasscodeReuseLimit",
    "changeAtNextAuth": "ChangeAtNextAuth",
    "customRegex": "CustomRegex",
}


def as_declaration(payload: Mapping[str, Any]) -> dict[str, Any] | None:
    """The passcode settings as a passcode.settings declaration's payload (None: a key has no equivalent)."""
    translated: dict[str, Any] = {}
    for key, value in payload.items():
        if key == "allowSimple":
            translated["RequireComplexPasscode"] = not value
        elif key in DECLARATION_KEYS:
            translated[DECLARATION_KEYS[key]] = value
        else:
            return None
    return translated


def _coherent(payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A passcode cannot need more complex characters than its whole length allows."""
    length, complex_chars = payload.get("minLength"), payload.get("minComplexChars")
    if isinstance(length, int) and isinstance(complex_chars, int) and 0 < length < complex_chars:
        return [("minComplexChars", f"is {complex_chars}, more than the minimum length {length}")]
    return []


KIND = PayloadKind(
    payload_type="com.apple.mobiledevice.passwordpolicy",
    alias="passcode",
    title="Passcode",
    check_payload=_coherent,
    declaration_form=DeclarationForm("com.apple.configuration.passcode.settings", as_declaration),
)
