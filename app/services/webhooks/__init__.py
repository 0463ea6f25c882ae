"""Webhooks: central IT's systems (a ticket system, a chat channel) told of events as they happen.

A webhook is a URL, the event types it wants and a signing secret (shown
once, sealed at rest). Events are not written by the requests that cause
them: they are read from the audit log, which every change and command
result already goes to in the same unit of work, by the scheduler
(:mod:`app.services.webhooks.events`), which then delivers them, signed and
retried with back-off (:mod:`app.services.webhooks.delivery`). So a webhook
costs a request nothing, and a receiver that is down delays only itself.
Only central IT manages webhooks; every change is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import context
from app.errors import InvalidInput, NotFound
from app.models import AuditEvent, Webhook, WebhookDelivery
from app.services import audit
from app.services.access import Permission, Principal, require_central
from app.services.webhooks import signing

SECRET_LABEL = "webhook-secret"
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
#: Event types, what causes each and the audit action(s) it is read from.
EVENT_TYPES: dict[str, str] = {
    "device.enrolled": "an iPad finished enrolling (its first TokenUpdate)",
    "device.checked_out": "an iPad left MDM (CheckOut: the profile was removed on the device)",
    "command.finished": "a device acknowledged a command an admin or token sent",
    "command.failed": "a device answered Error (or could not be given) a command an admin or token sent",
    "approval.requested": "a destructive or bulk action waits for a second central admin",
    "approval.decided": "an approval request was approved, rejected or expired",
    "policy.changed": "a policy layer was saved or restored as a new version",
    "certificate.expiring": "the Apple push certificate expires within 30 days (daily until renewed)",
}
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class WebhookSummary:
    webhook: Webhook
    last: WebhookDelivery | None
    pending: int
    failed: int

    @property
    def last_status(self) -> str:
        if self.last is None:
            return "no delivery yet"
        if self.last.status == DELIVERED:
            return f"delivered ({self.last.last_status_code})"
        reason = f"HTTP {self.last.last_status_code}" if self.last.last_status_code else (self.last.last_error or "not tried")
        return f"{self.last.status} after {self.last.attempts} attempt(s): {reason}"


def checked_url(url: str) -> str:
    parts = urlsplit(url)
    local = parts.hostname in _LOCAL_HOSTS
    if not parts.hostname or not (parts.scheme == "https" or (parts.scheme == "http" and local)):
        raise InvalidInput("the webhook URL must be https:// (http:// only on this machine)", details={"url": ["Not an https:// URL."]})
    if parts.username or parts.password:
        raise InvalidInput("put no password in the webhook URL; receivers check the signature", details={"url": ["Has credentials."]})
    return url


def checked_events(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown:
        raise InvalidInput(f"unknown event type(s): {', '.join(unknown)}", details={"events": [f"Use {', '.join(EVENT_TYPES)}."]})
    if not events:
        raise InvalidInput("name at least one event type", details={"events": ["Give at least one."]})
    return sorted(set(events))


def create_webhook(session: Session, principal: Principal, *, name: str, url: str, events: list[str]) -> tuple[Webhook, str]:
    """A new webhook and its signing secret (shown only now). It gets the events from now on."""
    require_central(principal, Permission.ADMINISTER)
    secret = signing.new_secret()
    webhook = Webhook(
        name=name, url=checked_url(url), events=checked_events(events), created_by=principal.label,
        secret_sealed=context(session).secrets.seal(secret.encode(), label=SECRET_LABEL),
        after_event_id=session.scalar(select(func.coalesce(func.max(AuditEvent.id), 0))),
    )
    session.add(webhook)
    session.flush()
    audit.record(session, principal, "webhook.create", target=webhook,
                 details={"name": name, "url": shown_url(webhook.url), "events": webhook.events})
    return webhook, secret


def list_webhooks(session: Session, principal: Principal) -> list[WebhookSummary]:
    require_central(principal, Permission.AUDIT)
    hooks = list(session.scalars(select(Webhook).order_by(Webhook.id)))
    counts: dict[tuple[int, str], int] = {
        (webhook_id, status): count
        for webhook_id, status, count in session.execute(
            select(WebhookDelivery.webhook_id, WebhookDelivery.status, func.count())
            .where(WebhookDelivery.status != DELIVERED)
            .group_by(WebhookDelivery.webhook_id, WebhookDelivery.status)
        )
    }
    return [WebhookSummary(hook, _last(session, hook.id), counts.get((hook.id, PENDING), 0), counts.get((hook.id, FAILED), 0))
            for hook in hooks]


def _last(session: Session, webhook_id: int) -> WebhookDelivery | None:
    return session.scalar(
        select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.last_attempt_at.is_not(None))
        .order_by(WebhookDelivery.last_attempt_at.desc(), WebhookDelivery.id.desc()).limit(1)
    )


def get_webhook(session: Session, principal: Principal, webhook_id: int) -> WebhookSummary:
    require_central(principal, Permission.AUDIT)
    found = session.get(Webhook, webhook_id)
    if found is None:
        raise NotFound(f"no webhook {webhook_id}")
    counts = dict(session.execute(
        select(WebhookDelivery.status, func.count()).where(WebhookDelivery.webhook_id == webhook_id).group_by(WebhookDelivery.status)
    ).all())
    return WebhookSummary(found, _last(session, found.id), counts.get(PENDING, 0), counts.get(FAILED, 0))


def delete_webhook(session: Session, principal: Principal, webhook_id: int) -> None:
    require_central(principal, Permission.ADMINISTER)
    found = session.get(Webhook, webhook_id)
    if found is None:
        raise NotFound(f"no webhook {webhook_id}")
    audit.record(session, principal, "webhook.delete", target=found, details={"name": found.name, "url": shown_url(found.url)})
    session.delete(found)
    session.flush()


def deliveries(session: Session, principal: Principal, webhook_id: int, *, limit: int = 50) -> list[WebhookDelivery]:
    """The webhook's latest deliveries, newest first."""
    get_webhook(session, principal, webhook_id)
    return list(session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id).order_by(WebhookDelivery.id.desc()).limit(limit)
    ))


def secret_of(session: Session, webhook: Webhook) -> str:
    return context(session).secrets.open(webhook.secret_sealed, label=SECRET_LABEL).decode()


def shown_url(url: str) -> str:
    """Scheme, host and path only: a query string may hold a receiver's token (logs, lists)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"

