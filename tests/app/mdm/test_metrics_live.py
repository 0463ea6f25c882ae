"""``/metrics`` of a running Flokk (`flokk serve`, two gunicorn workers) after an iPad's life:
every worker's counters are added up and moved by exactly what the iPad did."""

from __future__ import annotations

import urllib.request

import pytest

from tests.app.mdm.test_commands import ANSWERS
from tests.app.mdm.test_end_to_end import flokk, live_an_ipads_life  # noqa: F401 - the fixture
from tests.app.test_metrics import moved as moved_between
from tests.app.test_metrics import samples

TOKEN = "scrape-me-0123456789abcdef"


@pytest.fixture
def environment(environment):
    return {**environment, "FLOKK_METRICS_TOKEN": TOKEN}


def scrape(flokk) -> dict:  # noqa: F811
    request = urllib.request.Request(f"{flokk.base_url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, context=flokk.trust, timeout=30) as response:
        return samples(response.read().decode())


def test_an_ipads_life_moves_the_counters_by_what_it_did(flokk, fake_apns):  # noqa: F811
    before = scrape(flokk)
    live_an_ipads_life(flokk, fake_apns)
    after = scrape(flokk)

    def moved(name, **labels):
        return moved_between(before, after, name, **labels)

    assert moved("flokk_mdm_messages_total", endpoint="checkin", message_type="Authenticate") == 1
    assert moved("flokk_mdm_messages_total", endpoint="checkin", message_type="TokenUpdate") == 1
    assert moved("flokk_mdm_messages_total", endpoint="command", message_type="Idle") == 1
    assert moved("flokk_mdm_messages_total", endpoint="command", message_type="Acknowledged") == len(ANSWERS)
    assert moved("flokk_http_requests_total", endpoint_class="mdm", status="200") == 3 + len(ANSWERS)
    assert moved("flokk_http_requests_total", endpoint_class="enroll", status="200") == 1
    assert moved("flokk_http_requests_total", endpoint_class="metrics", status="200") == 1  # the first scrape
    assert moved("flokk_pushes_total", outcome="sent") == 1
    assert after[("flokk_devices", (("platform", "ipados"), ("state", "enrolled")))] == 1
    assert after[("flokk_command_queue_depth", (("status", "queued"),))] == 0
    assert after[("flokk_certificate_expiry_days", (("certificate", "apns_push"),))] > 0
