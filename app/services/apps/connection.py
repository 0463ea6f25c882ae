"""The Apps and Books connection: central IT imports the content token and Flokk claims the location.

Claiming (Apple's ``client/config``) writes Flokk's ``mdmInfo`` and its
notification URL; a location another MDM has claimed is refused unless the
import says ``force`` (two MDMs managing one location hand out licences
unpredictably). Every answer from Apple carries ``mdmInfo``: when it names
another MDM, the token is marked taken over and Flokk stops using it until
central IT claims it again.

The notification URL carries a random nonce; Apple authenticates with a
bearer secret derived from Flokk's master key and that nonce, so the
notification endpoint can check it without a database read (Apple sends a
test notification while the claim is still in flight), and a new claim
gives a new URL and a new secret.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
import secrets
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import __version__, endpoints
from app.config import Settings
from app.crypto import derive_key
from app.db import context
from app.errors import Conflict, FlokkError, InvalidInput, NotReady
from app.models.apps import AppsToken
from app.models.base import utcnow
from app.services import audit
from app.services.access import Principal, require_central
from app.services.fleet import schools
from mdm_protocol.apps_and_books import (
    AppsAndBooksClient,
    AppsAndBooksError,
    InvalidToken,
    MdmInfo,
    MetadataLookup,
    RequestRefused,
    TokenExpired,
    TokenFileError,
    TokenRevoked,
    parse_token,
)
from mdm_protocol.apps_and_books.client import NOTIFICATION_TYPES

log = logging.getLogger("flokk.apps")

SEAL_LABEL = "apps-and-books-token"
#: Content tokens last a year; central IT is warned this long before.
EXPIRY_WARNING = dt.timedelta(days=30)
#: Apple's errors for a notification URL it cannot use (then Flokk claims without notifications and polls).
_UNREACHABLE_NOTIFICATIONS = frozenset({9712, 9728})


class AppleUnavailable(FlokkError):
    """Apple's Apps and Books answered with an error Flokk cannot fix; the message quotes it."""

    status = 502
    code = "apps_and_books_unavailable"


def apple_error(error: AppsAndBooksError) -> FlokkError:
    """Apple's refusal as Flokk's error: a bad token is the admin's to fix (422), the rest a 502."""
    if isinstance(error, TokenExpired):
        return InvalidInput("Apple says the content token has expired: download a new one in Apple School Manager "
                            "(Settings, Apps and Books) and import it")
    if isinstance(error, TokenRevoked):
        return InvalidInput("Apple has revoked this content token (a newer one was downloaded): import the newest one")
    if isinstance(error, InvalidToken):
        return InvalidInput(f"Apple does not accept the content token: {error}")
    return AppleUnavailable(f"Apps and Books: {error}")


def mdm_info(settings: Settings) -> MdmInfo:
    """Flokk's ``mdmInfo``: an id stable for this Flokk (its master key and address), its name and host."""
    digest = derive_key(settings.secret_key, f"apps-and-books/mdm-id/{settings.public_url}", 16)
    host = urlsplit(settings.public_url).hostname or "flokk"
    return MdmInfo(id=str(uuid.UUID(bytes=digest)), name="Flokk", metadata=f"{host} (Flokk {__version__})")


def notification_secret(settings: Settings, nonce: str) -> str:
    """The bearer secret Apple sends with notifications to ``/apps/notifications/<nonce>``."""
    key = derive_key(settings.secret_key, "apps-and-books/notifications")
    return base64.urlsafe_b64encode(hmac.new(key, nonce.encode(), hashlib.sha256).digest()).decode().rstrip("=")


def notification_url(settings: Settings, nonce: str) -> str:
    return f"{settings.public_url}{endpoints.APPS_NOTIFICATIONS}/{nonce}"


def current(session: Session, organisation_id: int | None = None) -> AppsToken | None:
    """The organisation's token (the only organisation's when not named)."""
    statement = select(AppsToken)
    if organisation_id is not None:
        statement = statement.where(AppsToken.organisation_id == organisation_id)
    return session.scalars(statement.order_by(AppsToken.id)).first()


def stoken(session: Session, token: AppsToken) -> str:
    return context(session).secrets.open(token.sealed_token, label=SEAL_LABEL).decode()


def client_for(session: Session, token: AppsToken) -> AppsAndBooksClient:
    settings = context(session).settings
    return AppsAndBooksClient(stoken(session, token), base_url=settings.apps_url)


def lookup_for(session: Session, token: AppsToken) -> MetadataLookup:
    return MetadataLookup(base_url=context(session).settings.apps_lookup_url, country=token.country or "us")


def usable(session: Session, organisation_id: int | None = None) -> AppsToken:
    """The token, if Flokk may use it now; NotReady saying what central IT must do otherwise."""
    token = current(session, organisation_id)
    if token is None:
        raise NotReady("no Apps and Books content token yet: central IT imports it with `flokk apps token import FILE`")
    if token.foreign_mdm:
        raise NotReady(f"the Apps and Books location is now managed by another MDM ({token.foreign_mdm}); "
                       "import the token again with --force to take it back")
    if token.expires_at <= utcnow():
        raise NotReady(f"the Apps and Books content token expired on {token.expires_at:%Y-%m-%d}: import a new one")
    return token


def still_ours(session: Session, token: AppsToken, client: AppsAndBooksClient) -> bool:
    """False (and the token marked taken over, audited) when Apple's latest answer names another MDM.

    Callers stop using the token but let their unit of work commit, so the mark stays.
    """
    seen = client.seen_mdm_info
    if seen is None or seen.id == mdm_info(context(session).settings).id:
        return True
    token.foreign_mdm = f"{seen.name or 'unknown'}, {seen.metadata or seen.id}"[:255]
    token.last_error = (f"another MDM ({token.foreign_mdm}) has claimed the location; Flokk stopped using it. "
                        "Import the token again with --force to take it back.")[:500]
    audit.record(session, "system:apps", "apps.token_taken_over", outcome=audit.FAILURE,
                 details={"location": token.location_name, "other_mdm": token.foreign_mdm})
    log.warning("the Apps and Books location %s is now claimed by another MDM (%s)", token.location_name, token.foreign_mdm)
    return False


@dataclass(frozen=True)
class Imported:
    token: AppsToken
    took_over: str | None
    notifications: bool


def import_token(session: Session, principal: Principal, data: bytes, *, force: bool = False,
                 organisation: str | None = None) -> Imported:
    """Store a ``.vpptoken`` (sealed) and claim its location for this Flokk."""
    require_central(principal)
    try:
        parsed = parse_token(data)
    except TokenFileError as error:
        raise InvalidInput(str(error)) from None
    now = utcnow()
    if parsed.expired(now):
        raise InvalidInput(f"the content token expired on {parsed.expires_at:%Y-%m-%d}: download a new one in "
                           "Apple School Manager (Settings, Apps and Books)")
    settings = context(session).settings
    owner = schools.organisation_for(session, organisation)
    client = AppsAndBooksClient(parsed.stoken, base_url=settings.apps_url)
    ours = mdm_info(settings)
    try:
        config = client.client_config()
    except AppsAndBooksError as error:
        raise apple_error(error) from None
    other = config.mdm_info if config.mdm_info and config.mdm_info.id != ours.id else None
    if other is not None and not force:
        raise Conflict(
            f"this content token is in use by another MDM ({other.name or 'unnamed'}, {other.metadata or other.id}) "
            f"for the location {config.location_name or config.uid}. Flokk does not take it over silently: two MDMs "
            "managing one location hand out licences unpredictably. Import it with --force to take it over."
        )
    token = current(session, owner.id) or AppsToken(organisation_id=owner.id)
    token.sealed_token = context(session).secrets.seal(parsed.stoken.encode(), label=SEAL_LABEL)
    token.organisation_name = parsed.organisation[:200]
    token.location_name = config.location_name[:200]
    token.location_uid = config.uid[:64]
    token.country = config.country[:8]
    token.expires_at = parsed.expires_at
    token.notification_nonce = secrets.token_urlsafe(24)
    token.foreign_mdm = None
    token.last_error = None
    session.add(token)
    session.flush()
    notifications = _claim(client, settings, ours, token)
    token.claimed_at, token.claimed_by = now, principal.label
    audit.record(session, principal, "apps.token_import", target=("apps_token", token.location_uid or token.id), details={
        "location": token.location_name, "organisation": token.organisation_name,
        "expires": token.expires_at.date().isoformat(), "took_over": other.name if other else None,
        "notifications": notifications,
    })
    return Imported(token, f"{other.name} ({other.metadata or other.id})" if other else None, notifications)


def _claim(client: AppsAndBooksClient, settings: Settings, ours: MdmInfo, token: AppsToken) -> bool:
    """Set Flokk's mdmInfo and notification URL; without notifications when Apple cannot reach Flokk."""
    url = notification_url(settings, token.notification_nonce)
    try:
        client.set_client_config(ours, notification_url=url,
                                 notification_auth_token=notification_secret(settings, token.notification_nonce),
                                 notification_types=NOTIFICATION_TYPES)
        token.notification_url = url
        return True
    except RequestRefused as error:
        if error.number not in _UNREACHABLE_NOTIFICATIONS:
            raise apple_error(error) from None
        log.warning("Apple cannot reach %s for notifications (%s): Flokk will poll instead", url, error)
    except AppsAndBooksError as error:
        raise apple_error(error) from None
    try:
        client.set_client_config(ours)
    except AppsAndBooksError as error:
        raise apple_error(error) from None
    token.notification_url = None
    return False


@dataclass(frozen=True)
class TokenSummary:
    organisation_name: str
    location_name: str
    location_uid: str
    country: str
    expires_at: dt.datetime
    expires_soon: bool
    expired: bool
    claimed_at: dt.datetime | None
    claimed_by: str | None
    foreign_mdm: str | None
    notifications: bool
    last_sync_at: dt.datetime | None
    last_error: str | None


def summary(session: Session, principal: Principal) -> TokenSummary:
    require_central(principal)
    token = current(session)
    if token is None:
        raise NotReady("no Apps and Books content token yet: import one with `flokk apps token import FILE`")
    return summarise(token)


def summarise(token: AppsToken) -> TokenSummary:
    now = utcnow()
    return TokenSummary(
        organisation_name=token.organisation_name,
        location_name=token.location_name,
        location_uid=token.location_uid,
        country=token.country,
        expires_at=token.expires_at,
        expires_soon=token.expires_at - now <= EXPIRY_WARNING,
        expired=token.expires_at <= now,
        claimed_at=token.claimed_at,
        claimed_by=token.claimed_by,
        foreign_mdm=token.foreign_mdm,
        notifications=token.notification_url is not None,
        last_sync_at=token.last_sync_at,
        last_error=token.last_error,
    )


def warn_before_expiry(session: Session) -> list[str]:
    """Scheduler job: a warning in the log and the audit log from 30 days before a token expires."""
    warnings = []
    now = utcnow()
    for token in session.scalars(select(AppsToken)):
        if token.expires_at - now > EXPIRY_WARNING:
            continue
        verb = "expired" if token.expires_at <= now else "expires"
        message = (f"the Apps and Books content token for {token.location_name or token.organisation_name} {verb} on "
                   f"{token.expires_at:%Y-%m-%d}: download a new one in Apple School Manager and run "
                   "`flokk apps token import FILE`")
        log.warning(message)
        audit.record(session, "system:apps", "apps.token_expiring", outcome=audit.FAILURE,
                     details={"location": token.location_name, "expires": token.expires_at.date().isoformat()})
        warnings.append(message)
    return warnings
