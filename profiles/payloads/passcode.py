"""Passcode policy (``com.apple.mobiledevice.passwordpolicy``): length, complexity, lock timing."""

from collections.abc import Mapping
from typing import Any

from profiles.payloads.base import PayloadKind


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
)
