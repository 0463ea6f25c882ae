"""The scheduler's webhook job: read new events from the audit log, then deliver what is due."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.scheduler import Job
from app.services.webhooks import delivery, events


def run(session: Session) -> None:
    events.dispatch(session)
    delivery.deliver_due(session)


def jobs() -> list[Job]:
    return [Job("webhooks", run, seconds=10)]
