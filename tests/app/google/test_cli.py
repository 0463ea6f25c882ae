"""`flokk google ...` and the scheduler jobs: clear output, one-line errors, nothing half-done."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from app.models.devices import Device
from app.models.google import GoogleConnection
from app.services.google import connection, jobs


def _env(cli, google):
    cli.env = {**cli.env, "FLOKK_GOOGLE_ADMIN_URL": google.url, "FLOKK_GOOGLE_POLICY_URL": google.url}
    return cli


def test_connect_map_sync_status(cli, google, tmp_path):
    cli = _env(cli, google)
    google.add_devices(250, "/Skoler/Nordby")
    key = tmp_path / "key.json"
    key.write_text(json.dumps(google.service_account_key()))
    assert cli("init").exit_code == 0
    assert cli("school", "add", "Nordby skole", "--code", "nordby").exit_code == 0
    connected = cli("google", "connect", str(key), "--admin", "it@bergvik.no", "--parent-ou", "/Skoler")
    assert connected.exit_code == 0 and "Connected bergvik.no" in connected.output
    assert "PRIVATE KEY" not in connected.output
    assert cli("google", "map", "nordby", "/Skoler/Nordby").exit_code == 0
    synced = cli("google", "sync")
    assert synced.exit_code == 0 and "250 Chromebooks read in 2 pages (250 added)" in synced.output
    status = cli("google", "status", "--json")
    data = json.loads(status.output)
    assert data["chromebooks"] == {"in_google": 250, "gone_from_google": 0}
    assert [unit["ou_path"] for unit in data["units"]] == ["/Skoler", "/Skoler/Nordby"]
    assert "private_key" not in status.output
    listed = cli("device", "list", "--school", "nordby", "--json")
    assert len(json.loads(listed.output)) == 250
    serial = json.loads(listed.output)[0]["serial"]
    shown = cli("device", "show", serial)
    assert "Org unit path:    /Skoler/Nordby" in shown.output


def test_a_bad_key_file_is_one_error_line(cli, google, tmp_path):
    cli = _env(cli, google)
    assert cli("init").exit_code == 0
    bad = tmp_path / "key.json"
    bad.write_text("{\"type\": \"service_account\"")
    result = cli("google", "connect", str(bad), "--admin", "it@bergvik.no")
    assert result.exit_code == 1 and result.output.startswith("Error: the key file cannot be used: the key file is not JSON")
    other = tmp_path / "other.json"
    other.write_text(json.dumps(google.service_account_key("stranger", project="other-project", registered=False)))
    result = cli("google", "connect", str(other), "--admin", "it@bergvik.no")
    assert result.exit_code == 1 and "not allowed domain-wide delegation" in result.output
    assert json.loads(cli("google", "status", "--json").output) == {"connected": False}


def test_an_unknown_device_is_a_clear_error(cli, google, domain):
    cli = _env(cli, google)
    result = cli("command", "send", "no-such-google-device-id", "REBOOT")
    assert result.exit_code == 1 and result.output == "Error: no device no-such-google-device-id\n"
    result = cli("google", "move", "no-such-serial", "--school", "vestby")
    assert result.exit_code == 1 and "no device" in result.output


def test_the_scheduler_syncs_when_asked_and_resumes(db, domain, principal):
    with db.unit_of_work() as session:
        assert jobs.sync_inventory(session) == 9  # never synced: due
    with db.unit_of_work() as session:
        assert jobs.sync_inventory(session) == 0  # synced a moment ago
        connection.request_sync(session, principal, full=True)
    domain.google.fail(r"/devices/chromeos$", 500, times=4)
    with db.unit_of_work() as session:
        assert jobs.sync_inventory(session) == 0  # Google failed: logged, retried next run
    with db.session() as session:
        row = session.scalar(select(GoogleConnection))
        assert row.sync_run is not None and row.last_sync_error
    with db.unit_of_work() as session:
        assert jobs.sync_inventory(session) == 9
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Device)) == 9
