"""Apple's notifications through the real HTTP stack: `flokk serve` (gunicorn, TLS) receives the test
notification while the token is claimed, the notifications of a finished assignment (which queue the
iPad's installs at once), and refuses a notification with a wrong secret."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from sqlalchemy import select

from app.models import Command, Device
from app.models.apps import AppLicence
from app.services.access import cli_principal
from app.services.apps import licences, settings
from tests.app.apps.conftest import EXAM_APP
from tests.app.mdm.test_end_to_end import free_port
from tests.support import factories


@pytest.fixture
def served(environment, cli, tmp_path, fake_apps):
    port = free_port()
    base_url = f"https://localhost:{port}"
    env = {**os.environ, **environment, "FLOKK_PUBLIC_URL": base_url}
    cli.env = {**cli.env, "FLOKK_PUBLIC_URL": base_url}
    assert cli("init", "--organisation", "Bergvik kommune").exit_code == 0
    log = tmp_path / "flokk.log"
    process = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
                               env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb"))
    server_cert = os.path.join(environment["FLOKK_DATA_DIR"], "tls", "server.crt")
    deadline = time.monotonic() + 60
    while True:
        try:
            trust = ssl.create_default_context(cafile=server_cert)
            with urllib.request.urlopen(f"{base_url}/healthz", context=trust, timeout=5):
                break
        except (OSError, urllib.error.URLError, ssl.SSLError):
            if time.monotonic() > deadline or process.poll() is not None:
                process.terminate()
                raise AssertionError(log.read_text(errors="replace")[-3000:]) from None
            time.sleep(0.3)

    def deliver(url: str, headers: dict[str, str], body: bytes) -> int:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, context=trust, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    fake_apps.deliver = deliver
    yield base_url, deliver
    process.terminate()
    process.wait(timeout=30)


def test_apple_notifies_a_served_flokk_and_a_wrong_secret_is_refused(db, cli, served, fake_apps, location, token_file):
    base_url, deliver = served
    place, _ = location
    result = cli("apps", "token", "import", str(token_file))
    assert result.exit_code == 0, result.output
    assert "polls Apple instead" not in result.output  # the test notification reached Flokk over HTTPS
    assert place.notification_url.startswith(f"{base_url}/apps/notifications/")
    assert fake_apps.notifications[-1][1] == 200
    assert cli("apps", "sync").exit_code == 0

    with db.unit_of_work() as session:
        school = factories.school(session, code="nordby")
        device = factories.device(session, school)
        serial, device_id = device.serial_number, device.id
        settings.set_app(session, cli_principal(), "baseline", EXAM_APP.adam_id, "required")
    fake_apps.polls_until_done = 99  # Apple is slow to answer the poll; its notification comes first
    with db.unit_of_work() as session:
        assert licences.process(session).requested == 1
    fake_apps.complete_pending()
    fake_apps.settle()
    (url, status, sent) = fake_apps.notifications[-1]
    assert (sent["notificationType"], status) == ("ASSET_MANAGEMENT", 200)
    with db.session() as session:
        assert session.scalar(select(AppLicence.state).where(AppLicence.serial_number == serial)) == "associated"
        installs = session.scalars(select(Command.request_type).where(Command.device_id == device_id)).all()
    assert "InstallApplication" in installs

    # the same notification again changes nothing; a wrong secret is refused and audited
    assert deliver(url, {"Authorization": f"Bearer {place.notification_token}", "Content-Type": "application/json"},
                   json.dumps(sent).encode()) == 200
    with db.session() as session:
        assert session.scalars(select(Command.request_type).where(Command.device_id == device_id)).all() == installs
    assert deliver(url, {"Authorization": "Bearer not-the-secret", "Content-Type": "application/json"},
                   json.dumps(sent).encode()) == 401
    assert deliver(url, {"Content-Type": "application/json"}, json.dumps(sent).encode()) == 401
    audit = cli("audit", "--action", "apps.notification", "--outcome", "denied")
    assert audit.output.count("apps.notification") == 2, audit.output
    with db.session() as session:
        assert session.scalar(select(Device.enrollment_state).where(Device.id == device_id)) == "enrolled"
