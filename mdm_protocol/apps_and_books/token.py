"""The Apps and Books content token (``sToken``, the ``.vpptoken`` file from Apple School Manager).

Implements "Authenticate" of Apple's *Managing Apps and Books Through Web
Services*: the file is a JSON object in base64 with three fields, ``token``,
``expDate`` (ISO 8601, e.g. ``2030-11-08T22:33:22+0000``) and ``orgName``.
The whole base64 text is what requests send as ``Authorization: Bearer``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass, field

#: A real token file is a few hundred bytes; anything far larger is not one.
MAX_TOKEN_BYTES = 16 * 1024


class TokenFileError(ValueError):
    """The file is not an Apps and Books content token; the message says why."""


@dataclass(frozen=True)
class ContentToken:
    """A parsed content token. ``stoken`` is the secret: never log it."""

    stoken: str = field(repr=False)
    organisation: str
    expires_at: dt.datetime

    def expired(self, now: dt.datetime) -> bool:
        return self.expires_at <= now


def parse_token(data: bytes) -> ContentToken:
    """Read a ``.vpptoken`` file's bytes; ``TokenFileError`` for anything else."""
    if len(data) > MAX_TOKEN_BYTES:
        raise TokenFileError(f"the file is {len(data)} bytes; a content token is a few hundred")
    try:
        text = data.decode("ascii").strip()
    except UnicodeDecodeError:
        raise TokenFileError("the file is not a content token (it is not base64 text)") from None
    try:
        decoded = base64.b64decode("".join(text.split()), validate=True)
        document = json.loads(decoded)
    except (binascii.Error, ValueError):
        raise TokenFileError(
            "the file is not a content token: download the .vpptoken file from Apple School Manager "
            "(Settings, Apps and Books)"
        ) from None
    if not isinstance(document, dict):
        raise TokenFileError("the content token does not hold a JSON object")
    token, expiry, organisation = document.get("token"), document.get("expDate"), document.get("orgName")
    if not isinstance(token, str) or not token:
        raise TokenFileError("the content token has no token")
    if not isinstance(expiry, str):
        raise TokenFileError("the content token has no expiry date (expDate)")
    return ContentToken(
        stoken="".join(text.split()),
        organisation=organisation if isinstance(organisation, str) else "",
        expires_at=parse_date(expiry),
    )


def parse_date(text: str) -> dt.datetime:
    """Apple's dates: ``2030-11-08T22:33:22+0000`` (or with ``Z`` / ``+00:00``), as aware UTC."""
    cleaned = text.strip()
    if cleaned.endswith("Z"):
        cleaned = cleaned[:-1] + "+00:00"
    elif len(cleaned) > 5 and cleaned[-5] in "+-" and cleaned[-4:].isdigit():
        cleaned = f"{cleaned[:-2]}:{cleaned[-2:]}"
    try:
        moment = dt.datetime.fromisoformat(cleaned)
    except ValueError:
        raise TokenFileError(f"{text!r} is not a date Apple writes (e.g. 2030-11-08T22:33:22+0000)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)
