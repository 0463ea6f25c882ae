"""Web clip (``com.apple.webClip.managed``): a link on the home screen; one payload per clip."""

import base64
import binascii
from typing import Any

from profiles.payloads.base import PayloadKind


def _icon_bytes(key: str, value: Any) -> Any:
    """Icons arrive as base64 text from the CLI and the API."""
    if key != "Icon" or not isinstance(value, str):
        return value
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        return value


def _png(key: str, value: Any) -> list[str]:
    if key == "Icon" and isinstance(value, (bytes, bytearray)) and not bytes(value).startswith(b"\x89PNG\r\n\x1a\n"):
        return ["is not a PNG image"]
    return []


KIND = PayloadKind(
    payload_type="com.apple.webClip.managed",
    alias="webclip",
    title="Web clip",
    repeatable=True,
    coerce=_icon_bytes,
    check_value=_png,
)
