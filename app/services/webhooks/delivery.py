"""Delivering webhook events: signed POSTs from the scheduler, retried with back-off.

A delivery is done when the receiver answers 2xx. Anything else (an error
status, a redirect, a time-out, a refused connection) is tried again after
30 s, 1, 2, 4 ... minutes, at most every 6 hours, :data:`MAX_ATTEMPTS` times
in all (about a day), then marked failed; the webhook's page and
``flokk webhook list`` show the last status. The POSTs of one run go out in
parallel with a short time-out, so one slow receiver delays neither the
others nor any request (requests never deliver).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import __version__, metrics
from app.models import WebhookDelivery
from app.models.base import utcnow
from app.services.webhooks import DELIVERED, FAILED, PENDING, secret_of, signing
from app.services.webhooks.events import message_id

log = logging.getLogger("flokk.webhooks")

BACKOFF_BASE = dt.timedelta(seconds=30)
BACKOFF_CAP = dt.timedelta(hours=6)
MAX_ATTEMPTS = 12
TIMEOUT_SECONDS = 10
#: Deliveries attempted per run, and at once.
BATCH = 200
PARALLEL = 8


@dataclass(frozen=True)
class Attempt:
    status_code: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


Post = Callable[[str, bytes, dict[str, str]], Attempt]


def post(url: str, body: bytes, headers: dict[str, str]) -> Attempt:
    """One POST; never raises. Redirects are not followed (the receiver's URL is the one registered)."""
    try:
        response = requests.post(url, data=body, headers=headers, timeout=TIMEOUT_SECONDS, allow_redirects=False)
    except requests.RequestException as error:
        return Attempt(None, type(error).__name__ + ": " + str(error)[:300])
    return Attempt(response.status_code, None if 200 <= response.status_code < 300 else (response.reason or "")[:300])


def next_delay(attempts: int) -> dt.timedelta:
    return min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(0, attempts - 1)))


def deliver_due(session: Session, *, now: dt.datetime | None = None, send: Post = post) -> int:
    """Attempt every delivery that is due (a scheduler job); returns how many were delivered."""
    now = now or utcnow()
    due = list(session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(BATCH)
    ))
    if not due:
        return 0
    secrets: dict[int, str] = {}
    requests_to_send = []
    for delivery in due:
        if delivery.webhook_id not in secrets:
            secrets[delivery.webhook_id] = secret_of(session, delivery.webhook)
        body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
        headers = {
            **signing.headers(secrets[delivery.webhook_id], message_id(delivery.event_id), int(time.time()), body),
            "Content-Type": "application/json",
            "User-Agent": f"Flokk/{__version__}",
        }
        requests_to_send.append((delivery.webhook.url, body, headers))
    with ThreadPoolExecutor(max_workers=min(PARALLEL, len(due))) as pool:
        attempts = list(pool.map(lambda item: send(*item), requests_to_send))
    delivered = 0
    for delivery, attempt in zip(due, attempts, strict=True):
        delivery.attempts += 1
        delivery.last_attempt_at = utcnow()
        delivery.last_status_code, delivery.last_error = attempt.status_code, attempt.error
        if attempt.ok:
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = DELIVERED, delivery.last_attempt_at, None
            delivered += 1
            outcome = "delivered"
        elif delivery.attempts >= MAX_ATTEMPTS:
            delivery.status, delivery.next_attempt_at = FAILED, None
            outcome = "failed"
            log.warning("webhook %s gave up on event %s after %d attempts: %s", delivery.webhook_id, delivery.event_id,
                        delivery.attempts, attempt.error or attempt.status_code)
        else:
            delivery.next_attempt_at = now + next_delay(delivery.attempts)
            outcome = "retry"
        metrics.metrics().webhook_attempts.labels(outcome).inc()
    session.flush()
    return delivered
