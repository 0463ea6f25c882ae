"""Signing compiled profiles with Flokk's signing identity, at the application boundary.

Compilation (``profiles.compile``) stays pure and returns unsigned plist
bytes. Signing needs the CA and signing identity and the CMS signer
(``mdm_protocol.cms.sign(content, certificate, private_key)``), which come
with the enrolment work; until they are on main this is the one place to
wire them in. iOS, iPadOS and macOS install unsigned profiles sent through
the MDM channel, so unsigned profiles work meanwhile (the device shows them
as not verified).
"""

from __future__ import annotations

from sqlalchemy.orm import Session


def sign_profile(session: Session, body: bytes) -> bytes:
    """The profile as the device receives it: signed once the signing identity exists."""
    return body
