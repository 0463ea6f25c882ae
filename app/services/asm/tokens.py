"""Apple School Manager server tokens: import (decrypt, check with Apple, seal), list, expiry warnings.

Several tokens may exist (one per ASM instance or region); a renewed token
for the same device management server (same ``server_uuid``) replaces the
old credentials and keeps the sync cursor. The credentials are sealed with
the secrets box and never leave this module except as a ready client.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import ssl
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from app.db import context
from app.errors import InvalidInput, NotFound
from app.models.asm import AsmDevice, AsmToken, SyncState
from app.models.base import utcnow
from app.services import audit
from app.services.access import Permission, Principal, require_central
from app.services.asm import keys
from mdm_protocol.asm import client as dep
from mdm_protocol.asm import token as server_token

log = logging.getLogger("flokk.asm")

CREDENTIALS_LABEL = "asm-token"
#: Server tokens last a year; warn central IT this long before, as for the push certificate.
RENEWAL_WARNING = dt.timedelta(days=30)


@dataclass(frozen=True)
class Imported:
    token: AsmToken
    renewed: bool


@dataclass(frozen=True)
class TokenSummary:
    """What central IT sees about a token (never its credentials)."""

    token: AsmToken
    devices: int
    expected: int  # has a school, not enrolled, not deleted
    unassigned: int  # no school yet
    enrolled: int
    deleted: int
    expires_soon: bool
    expired: bool


def import_token(session: Session, principal: Principal, data: bytes) -> Imported:
    """Decrypt a downloaded ``.p7m`` and store its credentials sealed; the scheduler syncs it within a minute.

    The same credentials imported again renew their token. Apple is not
    contacted here: the first sync reads the organisation (``GET /account``)
    and, for a server Flokk already has, moves the new credentials onto that
    token (see :func:`learn_account`). Every refusal says what to do, is
    audited, and stores nothing.
    """
    require_central(principal)
    try:
        credentials = server_token.decrypt(data, keys.key_pairs(session))
    except server_token.TokenError as error:
        _refused(session, principal, str(error))
        raise InvalidInput(str(error)) from None
    if credentials.access_token_expiry is not None and credentials.access_token_expiry <= utcnow():
        message = (f"the server token expired on {credentials.access_token_expiry:%Y-%m-%d}: "
                   "download a new one from Apple School Manager")
        _refused(session, principal, message)
        raise InvalidInput(message)
    key_hash = hashlib.sha256(credentials.consumer_key.encode()).hexdigest()
    token = session.scalar(select(AsmToken).where(AsmToken.consumer_key_hash == key_hash).with_for_update())
    renewed = token is not None
    if token is None:
        token = AsmToken(consumer_key_hash=key_hash, sync_state=SyncState.NEVER)
        session.add(token)
    _take_credentials(session, token, credentials, principal.label)
    session.flush()
    audit.record(
        session, principal, "asm.token_import", target=token,
        details={"renewed": renewed, "expires": token.access_token_expiry.isoformat() if token.access_token_expiry else None},
    )
    return Imported(token, renewed)


def learn_account(session: Session, token: AsmToken, account: dep.Account) -> AsmToken:
    """Who the token belongs to, from Apple; a new token for a server Flokk already has renews that token
    (its devices, cursor and profiles stay) and the new row goes. Returns the token to sync."""
    if token.server_uuid is None and account.server_uuid:
        existing = session.scalar(select(AsmToken).where(AsmToken.server_uuid == account.server_uuid))
        if existing is not None and existing.id != token.id:
            existing.credentials_sealed, existing.access_token_expiry = token.credentials_sealed, token.access_token_expiry
            existing.imported_by, existing.imported_at = token.imported_by, token.imported_at
            key_hash, token.consumer_key_hash = token.consumer_key_hash, f"merged:{token.id}"
            session.flush()  # the unique consumer key hash moves in two steps
            existing.consumer_key_hash = key_hash
            session.flush()
            audit.record(session, "system:asm", "asm.token_renew", target=existing,
                         details={"replaces_credentials_of": existing.id, "imported_as": token.id})
            session.delete(token)
            session.flush()
            token = existing
        else:
            token.server_uuid = account.server_uuid
    token.server_name, token.org_name = account.server_name or token.server_name, account.org_name or token.org_name
    token.org_email, token.admin_id = account.org_email or token.org_email, account.admin_id or token.admin_id
    return token


def list_tokens(session: Session, principal: Principal) -> list[TokenSummary]:
    """Every token with its device counts (central IT)."""
    require_central(principal, Permission.VIEW)
    counts = {
        row.token_id: row
        for row in session.execute(
            select(
                AsmDevice.token_id,
                func.count().label("devices"),
                func.sum(case((AsmDevice.deleted_at.is_not(None), 1), else_=0)).label("deleted"),
                func.sum(case((AsmDevice.deleted_at.is_(None) & AsmDevice.device_id.is_not(None), 1), else_=0)).label("enrolled"),
                func.sum(case((AsmDevice.deleted_at.is_(None) & AsmDevice.school_id.is_(None), 1), else_=0)).label("unassigned"),
                func.sum(case((AsmDevice.deleted_at.is_(None) & AsmDevice.school_id.is_not(None)
                               & AsmDevice.device_id.is_(None), 1), else_=0)).label("expected"),
            ).group_by(AsmDevice.token_id)
        )
    }
    now = utcnow()
    summaries = []
    for token in session.scalars(select(AsmToken).order_by(AsmToken.id)):
        row = counts.get(token.id)
        expiry = token.access_token_expiry
        summaries.append(TokenSummary(
            token=token,
            devices=int(row.devices) if row else 0,
            expected=int(row.expected or 0) if row else 0,
            unassigned=int(row.unassigned or 0) if row else 0,
            enrolled=int(row.enrolled or 0) if row else 0,
            deleted=int(row.deleted or 0) if row else 0,
            expires_soon=expiry is not None and expiry - now <= RENEWAL_WARNING,
            expired=expiry is not None and expiry <= now,
        ))
    return summaries


def get_summary(session: Session, principal: Principal, token_id: int) -> TokenSummary:
    for summary in list_tokens(session, principal):
        if summary.token.id == token_id:
            return summary
    raise NotFound(f"no Apple School Manager token {token_id}")


def request_sync(session: Session, principal: Principal, token_id: int) -> AsmToken:
    """Ask the scheduler to sync this token at its next minute (syncing 50,000 devices takes a while)."""
    require_central(principal)
    token = session.get(AsmToken, token_id)
    if token is None:
        raise NotFound(f"no Apple School Manager token {token_id}")
    token.sync_requested_at = utcnow()
    audit.record(session, principal, "asm.sync_request", target=token)
    return token


def credentials_of(session: Session, token: AsmToken) -> server_token.OAuthTokens:
    return server_token.OAuthTokens.from_json(context(session).secrets.open(token.credentials_sealed, label=CREDENTIALS_LABEL))


def client_for(session: Session, token: AsmToken) -> dep.DepClient:
    """A client for one token's device management server, with its credentials opened."""
    return new_client(session, credentials_of(session, token))


def new_client(session: Session, credentials: server_token.OAuthTokens) -> dep.DepClient:
    settings = context(session).settings
    trust = ssl.create_default_context(cafile=str(settings.apns_ca_file) if settings.apns_ca_file else None)
    return dep.DepClient(credentials, transport=dep.HttpsTransport(trust), base_url=settings.asm_url)


def warn_before_expiry(session: Session) -> list[str]:
    """Scheduler job (daily): a warning in the log and the audit log for each token expiring within
    RENEWAL_WARNING (or expired): without a valid token no new iPad gets its school's profile."""
    now = utcnow()
    messages = []
    for token in session.scalars(select(AsmToken).where(AsmToken.access_token_expiry.is_not(None))):
        left = token.access_token_expiry - now  # type: ignore[operator]
        if left > RENEWAL_WARNING:
            continue
        if left.total_seconds() <= 0:
            message = f"the Apple School Manager token {token.label} expired on {token.access_token_expiry:%Y-%m-%d}"
        else:
            message = (f"the Apple School Manager token {token.label} expires on {token.access_token_expiry:%Y-%m-%d} "
                       f"({left.days} days): download a new one in ASM and run `flokk asm import`")
        log.warning(message)
        audit.record(session, "system:asm", "asm.token_expiring", outcome=audit.FAILURE, target=token,
                     details={"expires": token.access_token_expiry.isoformat()})  # type: ignore[union-attr]
        messages.append(message)
    return messages


def _take_credentials(session: Session, token: AsmToken, credentials: server_token.OAuthTokens, imported_by: str) -> None:
    now = utcnow()
    token.credentials_sealed = context(session).secrets.seal(credentials.to_json(), label=CREDENTIALS_LABEL)
    token.access_token_expiry = credentials.access_token_expiry
    token.imported_by, token.imported_at = imported_by, now
    token.sync_requested_at = now
    if token.sync_state in (SyncState.TOKEN_REJECTED, SyncState.TERMS_NOT_SIGNED):
        token.sync_state, token.sync_message = SyncState.NEVER, None


def _refused(session: Session, principal: Principal, reason: str) -> None:
    audit.record(session, principal, "asm.token_import", outcome=audit.DENIED, details={"reason": reason[:300]},
                 durable=True)
