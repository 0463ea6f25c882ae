"""Signing compiled profiles with Flokk's CA, at the application boundary.

Compilation (``profiles.compile``) stays pure and returns unsigned plist
bytes; here they become an attached CMS SignedData (Apple, "Configuration
Profile Reference": signed profiles), signed with the same CA identity that
signs the enrollment profile, which every enrolled device already trusts.
Signing happens once per distinct profile, not once per device.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.services.pki import certificate_authority
from mdm_protocol import cms


def sign_profile(session: Session, body: bytes) -> bytes:
    """The profile as the device receives it; NotReady when Flokk has no CA yet (`flokk init`)."""
    authority = certificate_authority.load_ca(session)
    return cms.sign(body, authority.certificate, authority.private_key)
