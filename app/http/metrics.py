"""``GET /metrics``: Prometheus' text format, for a scraper holding ``FLOKK_METRICS_TOKEN``.

Counters come from :mod:`app.metrics` (every worker of this node); state is
read from the database at each scrape by :class:`FleetState`, a few grouped
counts over indexed columns, so each node reports the same fleet.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import metrics
from app.http import db_session
from app.http.rules import monitoring_endpoint
from app.models import ApiToken, CertificateAuthorityRecord, Command, Device, PushCertificateRecord, WebhookDelivery
from app.models.base import utcnow
from app.models.commands import CommandStatus

blueprint = Blueprint("metrics", __name__)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_OPEN = (CommandStatus.QUEUED, CommandStatus.SENT, CommandStatus.NOT_NOW)


@blueprint.get("/metrics")
@monitoring_endpoint
def scrape() -> Response:
    return Response(metrics.exposition(FleetState(db_session())), content_type=CONTENT_TYPE,
                    headers={"Cache-Control": "no-store"})


class FleetState:
    """Gauges read from the database when scraped."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily  # after the fork (app.metrics says why)

        session, now = self.session, utcnow()
        queue = GaugeMetricFamily("flokk_command_queue_depth", "Open MDM commands by status.", labels=["status"])
        counts = dict(session.execute(select(Command.status, func.count()).where(Command.status.in_(_OPEN)).group_by(Command.status)).all())
        for status in _OPEN:
            queue.add_metric([status.value], counts.get(status, 0))
        yield queue
        oldest = session.scalar(select(func.min(Command.created_at)).where(Command.status == CommandStatus.QUEUED))
        yield GaugeMetricFamily("flokk_command_queue_oldest_age_seconds", "Age of the oldest queued command (0: none).",
                                value=_seconds_since(oldest, now))
        devices = GaugeMetricFamily("flokk_devices", "Devices by platform and enrollment state.", labels=["platform", "state"])
        for platform, state, count in session.execute(
            select(Device.platform, Device.enrollment_state, func.count()).group_by(Device.platform, Device.enrollment_state)
        ):
            devices.add_metric([str(platform), str(state)], count)
        yield devices
        expiry = GaugeMetricFamily("flokk_certificate_expiry_days", "Days until a certificate in use expires.", labels=["certificate"])
        push = session.scalar(select(PushCertificateRecord.not_after).where(PushCertificateRecord.replaced_at.is_(None))
                              .order_by(PushCertificateRecord.id.desc()).limit(1))
        ca = session.scalar(select(CertificateAuthorityRecord.not_after).where(CertificateAuthorityRecord.retired_at.is_(None))
                            .order_by(CertificateAuthorityRecord.id.desc()).limit(1))
        for name, not_after in (("apns_push", push), ("ca", ca)):
            if not_after is not None:
                expiry.add_metric([name], _days_until(not_after, now))
        yield expiry
        tokens = GaugeMetricFamily("flokk_api_token_expiry_days", "Days until an active API token expires.", labels=["token"])
        for name, expires_at in session.execute(
            select(ApiToken.name, ApiToken.expires_at).where(ApiToken.revoked_at.is_(None), ApiToken.expires_at.is_not(None),
                                                             ApiToken.expires_at > now)
        ):
            tokens.add_metric([name], _days_until(expires_at, now))
        yield tokens
        waiting = GaugeMetricFamily("flokk_webhook_deliveries", "Webhook deliveries not delivered, by status.", labels=["status"])
        counts = dict(session.execute(select(WebhookDelivery.status, func.count()).where(WebhookDelivery.status != "delivered")
                                      .group_by(WebhookDelivery.status)).all())
        for status in ("pending", "failed"):
            waiting.add_metric([status], counts.get(status, 0))
        yield waiting


def _days_until(moment: dt.datetime, now: dt.datetime) -> float:
    return round((moment - now).total_seconds() / 86400, 2)


def _seconds_since(moment: dt.datetime | None, now: dt.datetime) -> float:
    return max(0.0, (now - moment).total_seconds()) if moment is not None else 0.0
