"""Chromebook settings without an Apple equivalent (``org.flokk.chromebook``): Incognito, guest mode,
wallpaper, automatic updates.

Flokk's own payload, described in Apple's schema format (``chromebook.yaml``)
so layers, locks and validation treat it like every other payload; Apple
devices leave it out (it names no Apple platform).
"""

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from profiles.payloads.base import PayloadKind


def _https(key: str, value: Any) -> list[str]:
    if key == "WallpaperURL" and isinstance(value, str):
        parts = urlsplit(value)
        if parts.scheme != "https" or not parts.hostname or len(value) > 2000:
            return ["must be an https:// URL of the image (Google downloads it from there)"]
    return []


KIND = PayloadKind(
    payload_type="org.flokk.chromebook",
    alias="chromebook",
    title="Chromebook",
    check_value=_https,
    schema_file=Path(__file__).with_name("chromebook.yaml"),
)
