"""Flokk's own signed profile URLs, from which a device managed declaratively installs legacy profiles.

Apple's legacy-profile declaration (``com.apple.configuration.legacy``) names
a ``ProfileURL`` that "must be hosted by the MDM server". The device fetches
it without signing the request, so the URL itself is the credential: it
names the device and the profile's identifier and version, with an HMAC over
all three (key derived from ``FLOKK_SECRET_KEY``). It only ever serves the
profile that device should hold now: a profile of another device, or an
older version, is a 404.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from functools import lru_cache

from app import endpoints
from app.config import Settings
from app.crypto import derive_key
from profiles.compile.apple import AppleProfile

_TOKEN_HEX = 40


@lru_cache(maxsize=8)
def _keyed(secret_key: str) -> hmac.HMAC:
    """An HMAC keyed once per secret key; each token copies it (50,000 URLs per policy change)."""
    return hmac.new(derive_key(secret_key, "declared-profile-urls/v1"), digestmod=hashlib.sha256)


def token(settings: Settings, device_id: int, identifier: str, version: str) -> str:
    mac = _keyed(settings.secret_key).copy()
    mac.update(f"{device_id}\n{identifier}\n{version}".encode())
    return mac.hexdigest()[:_TOKEN_HEX]


def verify(settings: Settings, device_id: int, identifier: str, version: str, offered: str) -> bool:
    return hmac.compare_digest(token(settings, device_id, identifier, version), offered)


def url_for(settings: Settings, device_id: int) -> Callable[[AppleProfile], str]:
    """The function that gives one device's URL for each of its legacy profiles."""
    base = settings.public_url.rstrip("/") + endpoints.DECLARED_PROFILES

    def url(profile: AppleProfile) -> str:
        secret = token(settings, device_id, profile.identifier, profile.uuid)
        return f"{base}/{device_id}/{secret}/{profile.identifier}/{profile.uuid}"

    return url
