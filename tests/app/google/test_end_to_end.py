"""Chromebooks end to end, against a running Flokk (`flokk serve`, gunicorn, TLS) and the fake Google.

Central IT connects a domain of 1,000 Chromebooks in three organisational
units with `flokk google connect`, maps each unit to a school and syncs.
Then, over HTTPS: a school's ICT contact sees only their school's
Chromebooks (API and dashboard), reboots one and sees the result; the camera
central IT locked off reaches the parent unit and the school's attempt to
allow it is refused; the school's URL block list lands on its unit under
Google's schema name; a powerwash waits for a second central admin.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

import pytest

from tests.app.mdm.test_end_to_end import free_port

COUNTS = {"Nordby": 400, "Sorby": 350, "Vestby": 250}
NEW_PASSWORD = "Et langt passord for Nordby 2026"


@dataclass
class Answer:
    status: int
    body: dict | str


class Https:
    """Requests to the running Flokk: API with a bearer token, dashboard with a session cookie."""

    def __init__(self, base_url: str, trust: ssl.SSLContext) -> None:
        self.base_url, self.trust = base_url, trust
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=trust),
                                                  urllib.request.HTTPCookieProcessor(self.cookies))

    def api(self, method: str, path: str, token: str, body: dict | None = None) -> Answer:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.base_url}/api/v1{path}", data=data, method=method,
                                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        try:
            with self.opener.open(request, timeout=60) as response:
                return Answer(response.status, json.loads(response.read() or b"{}"))
        except urllib.error.HTTPError as error:
            return Answer(error.code, json.loads(error.read() or b"{}"))

    def page(self, path: str, form: dict | None = None) -> Answer:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(f"{self.base_url}{path}", data=data, method="POST" if form is not None else "GET")
        with self.opener.open(request, timeout=60) as response:
            return Answer(response.status, response.read().decode())

    def csrf(self, path: str) -> str:
        return re.search(r'name="csrf_token" value="([^"]+)"', str(self.page(path).body)).group(1)


@pytest.fixture
def world(environment, cli, tmp_path, google, google_ca_file):
    """A domain of 1,000 Chromebooks, connected and synced with the CLI; Flokk served over HTTPS."""
    for name, count in COUNTS.items():
        google.add_devices(count, f"/Skoler/{name}", prefix=name[:2].upper())
    key = tmp_path / "key.json"
    key.write_text(json.dumps(google.service_account_key()))
    google_env = {"FLOKK_GOOGLE_ADMIN_URL": google.url, "FLOKK_GOOGLE_POLICY_URL": google.url}
    cli.env = {**cli.env, **google_env}
    port = free_port()
    base_url = f"https://localhost:{port}"
    cli.env["FLOKK_PUBLIC_URL"] = base_url

    def run(*args: str) -> str:
        done = cli(*args)
        assert done.exit_code == 0, done.output
        return done.output

    run("init", "--organisation", "Bergvik kommune")
    for name in COUNTS:
        run("school", "add", f"{name} skole", "--code", name.lower())
    assert "Connected bergvik.no" in run("google", "connect", str(key), "--admin", "it@bergvik.no", "--parent-ou", "/Skoler")
    for name in COUNTS:
        run("google", "map", name.lower(), f"/Skoler/{name}")
    synced = run("google", "sync")
    assert "full sync done: 1000 Chromebooks read in 5 pages" in synced
    tokens = {
        "central": _token(run("token", "create", "central", "--role", "central_admin")),
        "approver": _token(run("token", "create", "approver", "--role", "central_admin")),
        "nordby": _token(run("token", "create", "nordby-ikt", "--role", "school_ict", "--school", "nordby")),
    }
    ict = run("admin", "add", "ola@nordby.no", "--role", "school_ict", "--school", "nordby")
    password = re.search(r"One-time password:\s*(\S+)", ict).group(1)
    env = {**os.environ, **cli.env, "FLOKK_PUBLIC_URL": base_url, "SSL_CERT_FILE": str(google_ca_file)}
    log_path = tmp_path / "flokk.log"
    process = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
                               env=env, stdout=subprocess.DEVNULL, stderr=log_path.open("wb"))
    server_cert = os.path.join(environment["FLOKK_DATA_DIR"], "tls", "server.crt")
    deadline = time.monotonic() + 60
    while True:
        try:
            trust = ssl.create_default_context(cafile=server_cert) if os.path.exists(server_cert) else None
            if trust is None:
                raise OSError("no certificate yet")
            with urllib.request.urlopen(f"{base_url}/healthz", context=trust, timeout=5):
                break
        except (OSError, urllib.error.URLError):
            if time.monotonic() > deadline or process.poll() is not None:
                process.terminate()
                raise
            time.sleep(0.3)
    yield {"https": Https(base_url, trust), "run": run, "tokens": tokens, "ict": ("ola@nordby.no", password),
           "google": google, "log": log_path}
    process.terminate()
    process.wait(timeout=30)


def _token(output: str) -> str:
    return re.search(r"flk_\S+", output).group(0)


def test_chromebooks_end_to_end(world):
    https, run, tokens, google = world["https"], world["run"], world["tokens"], world["google"]
    ict = tokens["nordby"]

    # The ICT contact sees only their school's Chromebooks: API ...
    mine = https.api("GET", "/devices?platform=chromeos&limit=500", ict)
    assert mine.status == 200 and mine.body["total"] == COUNTS["Nordby"]
    assert {device["school"] for device in mine.body["devices"]} == {"nordby"}
    everyone = https.api("GET", "/devices?platform=chromeos&limit=1", tokens["central"])
    assert everyone.body["total"] == 1000
    other = https.api("GET", "/devices?platform=chromeos&school=sorby&limit=1", tokens["central"]).body["devices"][0]
    assert https.api("GET", f"/devices/{other['id']}", ict).status == 404
    device = mine.body["devices"][0]
    shown = https.api("GET", f"/devices/{device['id']}", ict).body
    assert shown["chromebook"]["org_unit_path"] == "/Skoler/Nordby" and shown["chromebook"]["status"] == "ACTIVE"

    # ... and dashboard.
    email, password = world["ict"]
    https.page("/login", {"csrf_token": https.csrf("/login"), "email": email, "password": password})
    https.page("/password", {"csrf_token": https.csrf("/password"), "current_password": password,
                             "new_password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD})
    page = str(https.page("/devices?platform=chromeos").body)
    assert f"({COUNTS['Nordby']})" in page and "NO0" in page and "SO0" not in page and "VE0" not in page
    assert "<code>/Skoler/Nordby</code>" in str(https.page(f"/devices/{device['id']}").body)  # its unit, from Google

    # A reboot is issued through Google and its result appears.
    sent = https.api("POST", "/commands", ict, {"request_type": "REBOOT", "device_ids": [device["id"]]})
    assert sent.status == 201, sent.body
    (issued,) = google.calls(r":issueCommand$")
    assert issued.body == {"commandType": "REBOOT"}
    assert google.complete_commands() == 1
    run("google", "commands")
    (command,) = https.api("GET", f"/commands?device_id={device['id']}", ict).body["commands"]
    assert (command["request_type"], command["status"]) == ("REBOOT", "acknowledged")

    # The camera locked off centrally reaches the parent unit; the school cannot allow it.
    locked = https.api("POST", "/policy/layers/baseline/changes", tokens["central"], {"changes": [
        {"action": "set", "payload": "restrictions", "key": "allowCamera", "value": False, "lock": True},
        {"action": "set", "payload": "passcode", "key": "minLength", "value": 6}]})
    assert locked.status == 200, locked.body
    refused = https.api("POST", "/policy/layers/school:nordby/changes", ict, {"changes": [
        {"action": "set", "payload": "restrictions", "key": "allowCamera", "value": True}]})
    assert refused.status == 422 and "locked" in refused.body["details"]["allowCamera"][0]
    blocked = https.api("POST", "/policy/layers/school:nordby/changes", ict, {"changes": [
        {"action": "set", "payload": "webfilter", "key": "DenyListURLs", "value": ["https://spill.example", "*.tiktok.com"]}]})
    assert blocked.status == 200, blocked.body
    applied = https.api("POST", "/google/policy/apply", tokens["central"], {})
    assert applied.status == 200 and all(unit["error"] is None for unit in applied.body["units"]), applied.body
    assert google.policy_at("/Skoler", "chrome.users.VideoInput") == {"videoCaptureAllowed": False}
    assert google.policy_at("/Skoler/Nordby", "chrome.users.VideoInput") is None  # follows the parent's lock
    assert google.policy_at("/Skoler/Nordby", "chrome.users.UrlBlocking") == {"urlBlocklist": ["https://spill.example", "*.tiktok.com"]}
    assert google.policy_at("/Skoler/Sorby", "chrome.users.UrlBlocking") is None
    (modify,) = [call for call in google.calls(r"orgunits:batchModify$")
                 if call.body["requests"][0]["policyValue"]["policySchema"] == "chrome.users.UrlBlocking"]
    assert modify.body["requests"][0]["policyTargetKey"] == {"targetResource": f"orgunits/{google.org_units['/Skoler/Nordby']['orgUnitId'][3:]}"}
    # A setting without a Chrome equivalent is listed on the Chromebook as not applicable.
    not_applicable = https.api("GET", f"/devices/{device['id']}", ict).body["chromebook"]["not_applicable"]
    assert "com.apple.mobiledevice.passwordpolicy minLength" in not_applicable

    # A powerwash waits for a second central admin.
    asked = https.api("POST", "/commands", ict, {"request_type": "REMOTE_POWERWASH", "device_ids": [device["id"]],
                                                  "reason": "solgt til elev etter endt skolegang"})
    assert asked.status == 202 and asked.body["status"] == "approval_required"
    assert not [call for call in google.calls(r":issueCommand$") if call.body["commandType"] == "REMOTE_POWERWASH"]
    approved = https.api("POST", f"/approvals/{asked.body['approval']['id']}/approve", tokens["approver"], {})
    assert approved.status == 200, approved.body
    assert [call.body for call in google.calls(r":issueCommand$")][-1] == {"commandType": "REMOTE_POWERWASH"}
