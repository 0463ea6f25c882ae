"""Webhooks: a receiver gets a signed ``device.enrolled`` event from the scheduler; a receiver that
answers 500 gets retries with back-off and never holds up a check-in (requests never deliver)."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from app.models import Device, WebhookDelivery
from app.models.base import utcnow
from app.scheduler import run_job
from app.services import webhooks
from app.services.access import cli_principal
from app.services.webhooks import delivery, events, jobs, signing


class Receiver:
    """An HTTP receiver on 127.0.0.1 answering ``status``; it keeps what it got."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(({key.lower(): value for key, value in self.headers.items()}, body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/flokk-events?token=abc"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    found = Receiver()
    yield found
    found.close()


def subscribe(db, url: str, events_wanted=("device.enrolled",)) -> tuple[int, str]:
    with db.unit_of_work() as session:
        hook, secret = webhooks.create_webhook(session, cli_principal(), name="ticket system", url=url, events=list(events_wanted))
        return hook.id, secret


def run_webhooks_job(db) -> None:
    run_job(db, jobs.jobs()[0])


def test_a_receiver_gets_a_signed_device_enrolled_event(db, world, new_ipad, transport, fake_apns, receiver):
    hook_id, secret = subscribe(db, receiver.url)
    ipad = new_ipad()
    assert ipad.enrol(transport).status == 200
    assert receiver.received == []  # the check-in delivered nothing itself
    run_webhooks_job(db)
    assert len(receiver.received) == 1
    headers, body = receiver.received[0]
    assert signing.verify(secret, headers, body, now=int(time.time()))
    assert not signing.verify(secret, headers, body.replace(b"nordby", b"sorby"), now=int(time.time()))
    assert not signing.verify(secret, headers, body, now=int(time.time()) + 3600)  # a replay an hour later
    event = json.loads(body)
    with db.session() as session:
        device_id = session.scalar(select(Device.id).where(Device.udid == ipad.udid))
    assert event["type"] == "device.enrolled" and event["school"] == "nordby"
    assert event["target"] == {"type": "device", "id": str(device_id)} and event["actor"] == f"device:{ipad.udid}"
    assert headers["webhook-id"] == event["id"] and headers["content-type"] == "application/json"
    run_webhooks_job(db)
    assert len(receiver.received) == 1  # delivered once
    with db.session() as session:
        (summary,) = webhooks.list_webhooks(session, cli_principal())
        assert summary.webhook.id == hook_id and summary.last_status == "delivered (200)" and summary.pending == 0


def test_a_failing_receiver_gets_retries_with_back_off_and_never_holds_up_check_ins(
        db, world, new_ipad, transport, fake_apns, receiver):
    receiver.status = 500
    subscribe(db, receiver.url)
    ipad = new_ipad()
    assert ipad.enrol(transport).status == 200
    run_webhooks_job(db)
    assert len(receiver.received) == 1
    for _ in range(3):  # the iPad goes on checking in while the receiver fails
        assert ipad.idle(transport).status == 200
    assert len(receiver.received) == 1
    with db.session() as session:
        (row,) = session.scalars(select(WebhookDelivery)).all()
        assert (row.status, row.attempts, row.last_status_code) == ("pending", 1, 500)
        first_retry = row.next_attempt_at
        assert dt.timedelta(seconds=25) < first_retry - row.last_attempt_at <= dt.timedelta(seconds=31)
    run_webhooks_job(db)  # not due yet: nothing sent
    assert len(receiver.received) == 1
    later = first_retry + dt.timedelta(seconds=1)
    for attempt in range(2, delivery.MAX_ATTEMPTS + 1):
        with db.unit_of_work() as session:
            delivery.deliver_due(session, now=later)
            row = session.scalars(select(WebhookDelivery)).one()
            if attempt < delivery.MAX_ATTEMPTS:
                assert row.status == "pending" and row.next_attempt_at - later == delivery.next_delay(attempt)
                later = row.next_attempt_at + dt.timedelta(seconds=1)
    assert len(receiver.received) == delivery.MAX_ATTEMPTS
    assert len({headers["webhook-id"] for headers, _ in receiver.received}) == 1  # the same event each time
    with db.session() as session:
        row = session.scalars(select(WebhookDelivery)).one()
        assert row.status == "failed" and row.attempts == delivery.MAX_ATTEMPTS
        (summary,) = webhooks.list_webhooks(session, cli_principal())
        assert summary.failed == 1 and summary.last_status.startswith("failed after 12 attempt(s): HTTP 500")


def test_a_receiver_that_recovers_gets_the_event(db, world, new_ipad, transport, fake_apns, receiver):
    receiver.status = 503
    subscribe(db, receiver.url)
    assert new_ipad().enrol(transport).status == 200
    run_webhooks_job(db)
    receiver.status = 204
    with db.unit_of_work() as session:
        assert delivery.deliver_due(session, now=utcnow() + dt.timedelta(minutes=1)) == 1
    assert len(receiver.received) == 2


def test_only_subscribed_events_after_the_webhook_was_made_are_sent(db, world, new_ipad, transport, fake_apns, receiver):
    assert new_ipad().enrol(transport).status == 200  # before the webhook: not sent
    subscribe(db, receiver.url, events_wanted=("device.checked_out",))
    assert new_ipad().enrol(transport).status == 200  # not subscribed
    run_webhooks_job(db)
    assert receiver.received == []


def test_an_entry_committed_late_is_still_delivered(db, world, receiver):
    """The cursor stays behind entries younger than SETTLE: a unit of work that committed after a
    later one was read (its id is lower) is picked up by the next run."""
    from sqlalchemy import func

    from app.services import audit

    subscribe(db, receiver.url, events_wanted=("policy.changed",))
    with db.unit_of_work() as session:  # ids far past the sequence, so no later test meets them
        base = session.scalar(select(func.max(events.AuditEvent.id))) + 1_000_000
        audit.record(session, "admin:a", "policy.change", target=("policy_layer", "baseline")).id = base + 100
    with db.unit_of_work() as session:
        assert events.dispatch(session) == 1
    with db.unit_of_work() as session:  # flushed before the entry above, committed after it was read
        audit.record(session, "admin:b", "policy.restore", target=("policy_layer", "baseline")).id = base + 50
    with db.unit_of_work() as session:
        assert events.dispatch(session) == 1
        assert events.dispatch(session) == 0
        assert events.dispatch(session, now=utcnow() + dt.timedelta(minutes=5)) == 0
        assert session.get(events.WebhookCursor, 1).last_event_id == base + 100


@pytest.mark.parametrize(("url", "reason"), [
    ("http://tickets.example.org/hook", "https://"),
    ("ftp://tickets.example.org/hook", "https://"),
    ("https://user:pw@tickets.example.org/hook", "no password"),
    ("not a url", "https://"),
])
def test_a_bad_url_is_refused(db, url, reason):
    from app.errors import InvalidInput

    with db.unit_of_work() as session, pytest.raises(InvalidInput, match=reason):
        webhooks.create_webhook(session, cli_principal(), name="x", url=url, events=["device.enrolled"])


def test_central_it_manages_webhooks_from_the_command_line_and_the_api(cli, client, db, receiver):
    from tests.support import people
    from app.services.access import Role

    added = cli("webhook", "add", "tickets", receiver.url, "--event", "device.enrolled", "--event", "policy.changed")
    assert added.exit_code == 0 and "Secret:  whsec_" in added.output
    listed = cli("webhook", "list")
    assert "tickets" in listed.output and "token=abc" not in listed.output and "no delivery yet" in listed.output
    assert cli("webhook", "add", "x", receiver.url, "--event", "device.stolen").exit_code == 1
    with db.session() as session:
        central = people.bearer(people.api_token(session, [(Role.CENTRAL_ADMIN, None)]))
        auditor = people.bearer(people.api_token(session, [(Role.AUDITOR, None)]))
        ict = people.bearer(people.api_token(session, [(Role.SCHOOL_ICT, None)]))
        session.commit()
    created = client.post("/api/v1/webhooks", json={"name": "chat", "url": "https://chat.test/in", "events": ["command.failed"]},
                          headers=central)
    assert created.status_code == 201 and created.get_json()["secret"].startswith("whsec_")
    hook_id = created.get_json()["id"]
    shown = client.get(f"/api/v1/webhooks/{hook_id}", headers=auditor).get_json()
    assert shown["events"] == ["command.failed"] and "secret" not in shown and shown["last_status"] == "no delivery yet"
    assert client.get(f"/api/v1/webhooks/{hook_id}/deliveries", headers=auditor).get_json() == {"deliveries": []}
    assert client.delete(f"/api/v1/webhooks/{hook_id}", headers=auditor).status_code == 403
    assert client.get("/api/v1/webhooks", headers=ict).status_code == 403
    assert client.delete(f"/api/v1/webhooks/{hook_id}", headers=central).status_code == 204
    assert [item["name"] for item in client.get("/api/v1/webhooks", headers=central).get_json()["webhooks"]] == ["tickets"]
    assert cli("webhook", "deliveries", "999").exit_code == 1
