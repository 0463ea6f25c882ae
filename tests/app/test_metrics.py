"""``GET /metrics``: refused without ``FLOKK_METRICS_TOKEN``, Prometheus' text format with it, and the
fleet's state read from the database. (Counters across gunicorn workers after an iPad's life:
``tests/app/mdm/test_metrics_live.py``.)"""

from __future__ import annotations

import datetime as dt

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app import create_app
from app.models.base import utcnow
from app.services.access import Role, cli_principal
from app.services.mdm import commands
from tests.support import factories, people

TOKEN = "scrape-me-0123456789abcdef"


@pytest.fixture
def monitored(settings, db):
    flask_app = create_app(settings.replace(metrics_token=TOKEN))
    flask_app.config["TESTING"] = True
    flask_app.extensions["flokk"].db = db
    return flask_app.test_client()


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def moved(before: dict, after: dict, name: str, **labels: str) -> float:
    """How far one sample moved between two scrapes."""
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0) - before.get(key, 0)


def scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200 and response.mimetype == "text/plain"
    return samples(response.get_data(as_text=True))


def test_metrics_are_refused_without_a_configured_token(client):
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 403 and "FLOKK_METRICS_TOKEN" in response.get_json()["message"]


@pytest.mark.parametrize("header", [None, "Bearer wrong-token-0123456789", f"Basic {TOKEN}", f"Bearer {TOKEN}x"])
def test_metrics_need_the_token(monitored, header):
    response = monitored.get("/metrics", headers={"Authorization": header} if header else {})
    assert response.status_code == 401 and b"flokk_" not in response.data


def test_requests_are_counted_by_endpoint_class_and_status(monitored):
    before = scrape(monitored)
    monitored.get("/healthz")
    monitored.get("/api/v1/me")  # 401
    after = scrape(monitored)
    assert moved(before, after, "flokk_http_requests_total", endpoint_class="health", status="200") == 1
    assert moved(before, after, "flokk_http_requests_total", endpoint_class="api", status="401") == 1
    assert moved(before, after, "flokk_http_request_duration_seconds_count", endpoint_class="health") == 1


def test_the_fleets_state_is_read_from_the_database(monitored, db):
    with db.session() as session:
        school = factories.school(session, "nordby")
        devices = [factories.device(session, school) for _ in range(3)]
        commands.enqueue(session, cli_principal(), [devices[0].id, devices[1].id], "ProfileList")
        people.api_token(session, [(Role.AUDITOR, None)], name="grafana")
        from app.models import ApiToken

        token = session.query(ApiToken).filter_by(name="grafana").one()
        token.expires_at = utcnow() + dt.timedelta(days=10)
        session.commit()
    found = scrape(monitored)
    assert found[("flokk_command_queue_depth", (("status", "queued"),))] == 2
    assert found[("flokk_command_queue_depth", (("status", "sent"),))] == 0
    assert found[("flokk_command_queue_oldest_age_seconds", ())] >= 0
    enrolled = sum(value for (name, labels), value in found.items()
                   if name == "flokk_devices" and ("state", "enrolled") in labels)
    assert enrolled == 3
    assert 9.9 < found[("flokk_api_token_expiry_days", (("token", "grafana"),))] <= 10
    assert found[("flokk_webhook_deliveries", (("status", "pending"),))] == 0
