"""An iPad's life against a running Flokk (`flokk serve`, two gunicorn workers, TLS).

Central IT's steps run as `flokk` commands. The iPad downloads its school's
enrollment profile, gets its identity by SCEP with the profile's challenge,
sends Authenticate and TokenUpdate signed with that identity, is woken at
the fake APNs, connects, and answers the initial inventory with captured
responses; `flokk device show` then has its model, OS, serial and profiles.
"""

from __future__ import annotations

import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from app.models import Command, Device
from app.models.tenancy import School
from app.services.access import cli_principal
from app.services.mdm import commands as queue
from tests.app.mdm.test_commands import ANSWERS, answer_for
from tests.support.ipad import PUSH_TOPIC, HttpsTransport, SimulatedIpad, read_profile, scep_enrol


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class RunningFlokk:
    run: object
    base_url: str
    trust: ssl.SSLContext
    enrollment_url: str
    log_path: object  # the server's log, at DEBUG

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def fetch(self, method: str, url: str, body: bytes | None = None) -> bytes:
        request = urllib.request.Request(url, data=body, method=method,
                                         headers={"Content-Type": "application/x-pki-message"} if body else {})
        with urllib.request.urlopen(request, context=self.trust, timeout=30) as response:
            return response.read()

    def transport(self) -> HttpsTransport:
        return HttpsTransport(self.base_url, self.trust)


@pytest.fixture
def flokk(environment, cli, tmp_path, apns_tls, fake_apns):
    port = free_port()
    base_url = f"https://localhost:{port}"
    env = {**os.environ, **environment, "FLOKK_PUBLIC_URL": base_url, "FLOKK_LOG_LEVEL": "DEBUG",
           "FLOKK_LOG_FORMAT": "json"}
    log_path = tmp_path / "flokk.log"
    cli.env = {**cli.env, "FLOKK_PUBLIC_URL": base_url}

    def run(*args: str) -> str:
        done = cli(*args)
        assert done.exit_code == 0, done.output
        return done.output

    run("init", "--organisation", "Bergvik kommune")
    (tmp_path / "push.pem").write_bytes(apns_tls["push"].cert_pem)
    (tmp_path / "push.key").write_bytes(apns_tls["push"].key_pem)
    run("apns", "import", str(tmp_path / "push.pem"), str(tmp_path / "push.key"))
    run("school", "add", "Nordby skole", "--code", "nordby")
    created = run("enroll", "token", "create", "--school", "nordby", "--expires", "30d")
    enrollment_url = re.search(r"https://localhost:\d+/enroll/\S+", created).group(0)
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        env=env, stdout=subprocess.DEVNULL, stderr=log_path.open("wb"),
    )
    ca_pem = tmp_path / "flokk-ca.pem"
    ca_pem.write_text(run("ca", "show", "--pem"))
    server_cert = os.path.join(environment["FLOKK_DATA_DIR"], "tls", "server.crt")
    deadline = time.monotonic() + 60
    while True:
        try:
            # Trust Flokk's CA and the TLS certificate `flokk serve` generated (once it exists).
            trust = ssl.create_default_context(cafile=str(ca_pem))
            if os.path.exists(server_cert):
                trust.load_verify_locations(cafile=server_cert)
            with urllib.request.urlopen(f"{base_url}/healthz", context=trust, timeout=5):
                break
        except (OSError, urllib.error.URLError):
            if time.monotonic() > deadline or process.poll() is not None:
                process.terminate()
                raise
            time.sleep(0.3)
    yield RunningFlokk(run, base_url, trust, enrollment_url, log_path)
    process.terminate()
    process.wait(timeout=30)


def live_an_ipads_life(flokk, fake_apns):
    """Profile, SCEP, Authenticate, TokenUpdate, push, inventory: what every enrolled iPad does."""
    ipad = SimulatedIpad()
    payloads = read_profile(flokk.fetch("GET", flokk.enrollment_url))
    assert payloads.mdm["Topic"] == PUSH_TOPIC
    assert payloads.mdm["CheckInURL"] == flokk.base_url + "/mdm/checkin"
    assert payloads.mdm["ServerURL"] == flokk.base_url + "/mdm/connect"
    scep_enrol(ipad, payloads.scep, flokk.fetch)
    transport = flokk.transport()

    assert ipad.checkin(transport, ipad.authenticate_message()).status == 200
    assert ipad.checkin(transport, ipad.token_update_message()).status == 200
    assert fake_apns.wait_for(1, timeout=20), "no push reached APNs"
    (push,) = fake_apns.pushes
    assert (push.token, push.push_magic, push.topic) == (ipad.push_token.hex(), ipad.push_magic, PUSH_TOPIC)

    answer = ipad.idle(transport)  # woken: the iPad connects
    delivered = []
    while answer.command:
        delivered.append(answer.request_type)
        answer = ipad.send(transport, answer_for(ipad, answer.command_uuid, answer.request_type))
    assert answer.status == 200 and delivered == list(ANSWERS)
    return ipad, payloads


def test_an_ipad_enrols_is_pushed_and_reports_its_inventory(flokk, fake_apns):
    ipad, _ = live_an_ipads_life(flokk, fake_apns)
    shown = flokk.run("device", "show", ipad.udid)
    for label, value in (("School", "nordby"), ("Model", "iPad4,1"), ("Os version", "11.3.1"),
                         ("Serial", "C00000000004"), ("State", "enrolled"), ("Open commands", "0")):
        assert re.search(rf"^{label}:\s+{re.escape(value)}$", shown, re.MULTILINE), (label, shown)
    assert "Installed profiles (1):\n  dev.commandment.enroll  Commandment Enrollment Profile" in shown


def test_no_secret_reaches_the_servers_log_even_at_debug(flokk, fake_apns, environment):
    ipad, payloads = live_an_ipads_life(flokk, fake_apns)
    api_token = re.search(r"Token:\s+(\S+)", flokk.run("token", "create", "sync", "--role", "auditor")).group(1)
    request = urllib.request.Request(f"{flokk.base_url}/api/v1/devices", headers={"Authorization": f"Bearer {api_token}"})
    with urllib.request.urlopen(request, context=flokk.trust, timeout=30) as response:
        assert ipad.udid in response.read().decode()
    log = flokk.log()
    assert "GET /api/v1/devices 200" in log and "PUT /mdm/checkin 200" in log  # the log is there and at work
    secrets = {
        "enrollment token": flokk.enrollment_url.rsplit("/", 1)[1],
        "SCEP challenge": payloads.scep["Challenge"],
        "push token": ipad.push_token.hex(),
        "PushMagic": ipad.push_magic,
        "UnlockToken": ipad.unlock_token.hex(),
        "API token": api_token,
        "FLOKK_SECRET_KEY": environment["FLOKK_SECRET_KEY"],
        "a private key": "PRIVATE KEY",
    }
    leaked = [name for name, secret in secrets.items() if secret.lower() in log.lower()]
    assert not leaked, f"in the server's log: {leaked}"


def test_two_workers_serve_one_device_exactly_once(flokk, db):
    ipad = SimulatedIpad()
    with db.unit_of_work() as session:
        school_id = session.scalar(select(School.id).where(School.code == "nordby"))
        ipad.issue_identity(session, school_id)
    ipad.enrol(flokk.transport())
    with db.unit_of_work() as session:
        device_id = session.scalar(select(Device.id).where(Device.udid == ipad.udid))
        for number in range(30):
            queue.enqueue(session, cli_principal(), [device_id], "DeviceLock", {"Message": f"{number}"})
    delivered: list[str] = []
    statuses: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        transport = flokk.transport()
        empty = 0
        while empty < 3:
            answer = ipad.idle(transport)
            with lock:
                statuses.append(answer.status)
            if not answer.command:
                empty += 1
                continue
            while answer.command:
                with lock:
                    delivered.append(answer.command_uuid)
                answer = ipad.report(transport, "Acknowledged", answer.command_uuid)
                with lock:
                    statuses.append(answer.status)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    assert set(statuses) == {200}
    assert len(delivered) == len(set(delivered)) == 34
    with db.session() as session:
        rows = session.scalars(select(Command).where(Command.device_id == device_id)).all()
        assert {(row.status, row.delivery_count) for row in rows} == {("acknowledged", 1)}
