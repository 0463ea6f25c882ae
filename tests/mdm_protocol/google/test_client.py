"""The Google client: Google's request shapes, paging, typed errors, retries with back-off, no discovery fetch."""

from __future__ import annotations

import json

import pytest

from mdm_protocol.google import commands, errors, keys, policies
from mdm_protocol.google.client import pages
from mdm_protocol.google.devices import ChromeDevice
from tests.fakes.google import ALL_SCOPES, POLICY_API


def test_the_discovery_documents_are_bundled(google, client_for):
    client_for().customer_info()
    paths = {item.path for item in google.requests}
    assert not any("discovery" in path or "$discovery" in path for path in paths)
    assert "/admin/directory/v1/customers/my_customer" in paths


def test_devices_come_in_pages_of_at_most_300(google, client_for):
    google.add_devices(650, "/Skoler/Nordby")
    client = client_for()
    found = [device for page in pages(client, max_results=1000) for device in page.devices]
    assert len({device.device_id for device in found}) == 650
    assert [call.query["maxResults"][0] for call in google.calls(r"/devices/chromeos$")] == ["300", "300", "300"]


def test_a_device_as_google_describes_it():
    device = ChromeDevice.from_api({
        "deviceId": "abc", "serialNumber": "5CD81234", "status": "ACTIVE", "orgUnitPath": "/Skoler/Nordby",
        "lastSync": "2026-08-14T07:12:03.120Z", "autoUpdateExpiration": "1940544000000", "recentUsers": [{"email": "a@b.no"}],
        "somethingNew": {"Google": "adds fields"},
    })
    assert (device.serial_number, str(device.auto_update_expiration), device.last_sync.isoformat()) == (
        "5CD81234", "2031-06-30", "2026-08-14T07:12:03.120000+00:00")
    assert device.recent_users is None  # only when asked for
    with pytest.raises(ValueError):
        ChromeDevice.from_api({"serialNumber": "no id"})


def test_429_is_retried_after_what_google_asks(google, client_for, clock):
    google.fail(r"/customers/", 429, times=2, retry_after="7")
    client = client_for()
    assert client.customer_info()["id"] == google.customer_id
    assert clock.waits[:2] == [7.0, 7.0]
    assert client.caller.pace > 0  # the next calls are spaced out a little


def test_5xx_is_retried_with_growing_waits_then_given_up(google, client_for, clock):
    google.fail(r"/customers/", 503, times=10)
    with pytest.raises(errors.Unavailable):
        client_for(attempts=4).customer_info()
    assert clock.waits == [1.0, 2.0, 4.0]
    assert len(google.calls(r"/customers/")) == 4


def test_errors_are_google_rpc_status_and_typed(google, client_for):
    client = client_for()
    with pytest.raises(errors.NotFound):
        client.get_device("no-such-device")
    with pytest.raises(errors.PermissionDenied, match="Not Authorized"):
        client.customer_info("C0someoneelse")
    google.disabled_apis.add(POLICY_API)
    with pytest.raises(errors.ApiNotEnabled):
        client.resolve(google.org_units["/"]["orgUnitId"][3:], "chrome.users.*")


def test_403_for_a_missing_scope(google, client_for):
    narrow = google.service_account_key("narrow", scopes=ALL_SCOPES)
    client = client_for(narrow)
    client.customer_info()  # a token with every scope
    for token in google.tokens.values():  # Google then narrows what the token may do
        token.scopes = frozenset({ALL_SCOPES[0]})
    with pytest.raises(errors.MissingScope):
        client.device_page()
    (refused,) = [call for call in google.requests if call.status == 403]
    assert refused.path.endswith("/devices/chromeos")


def test_token_endpoint_refusals_are_typed(google, client_for):
    with pytest.raises(errors.DelegationMissing, match="client id"):
        client_for(google.service_account_key("nodwd", delegated=False)).customer_info()
    with pytest.raises(errors.SignInRefused, match="admin's email"):
        client_for(admin="nobody@bergvik.no").customer_info()


def test_key_files_are_checked_before_use(google):
    good = google.service_account_key()
    assert keys.parse_key(json.dumps(good)).client_email == good["client_email"]
    for broken, message in (
        (b"\x00\xff", "not JSON"),
        (json.dumps([1, 2]), "not a JSON object"),
        (json.dumps({**good, "token_uri": "http://insecure.example/token"}), "not an https"),
        (json.dumps({**good, "private_key": "x"}), "not a PEM private key"),
        (b"{" + b" " * (keys.MAX_KEY_BYTES + 1) + b"}", "larger than"),
    ):
        with pytest.raises(errors.KeyFileError, match=message):
            keys.parse_key(broken)
    assert "PRIVATE" not in repr(keys.parse_key(json.dumps(good)))


def test_commands_in_googles_shapes(google, client_for):
    device = google.add_devices(1, "/Skoler/Nordby")[0]["deviceId"]
    client = client_for()
    command = commands.command("SET_VOLUME")
    params = command.check({"volume": "40"})
    command_id = client.issue_command(device, "SET_VOLUME", command.issue_payload(params))
    assert google.commands[command_id]["payload"] == '{"volume": 40}'
    assert client.get_command(device, command_id)["state"] == "PENDING"
    google.complete_commands(result="FAILURE", error_message="muted by the user")
    answer = client.get_command(device, command_id)
    assert (answer["state"], answer["commandResult"]["result"]) == ("EXECUTED_BY_CLIENT", "FAILURE")
    results = client.batch_change_status([device, "unknown"], "CHANGE_CHROME_OS_DEVICE_STATUS_ACTION_DISABLE")
    assert [(item.device_id, item.error) for item in results] == [(device, None), ("unknown", "Device not found")]
    with pytest.raises(ValueError):
        client.batch_change_status([device] * 51, "CHANGE_CHROME_OS_DEVICE_STATUS_ACTION_DISABLE")


def test_policy_batches_keep_one_namespace_and_key_set():
    requests = [
        policies.modify_request("ou1", "chrome.users.VideoInput", {"videoCaptureAllowed": False}),
        policies.modify_request("ou1", "chrome.devices.GuestMode", {"guestModeEnabled": False}),
        policies.modify_request("ou1", "chrome.users.apps.InstallType", {"appInstallType": "FORCED"}, (("app_id", "chrome:a"),)),
        policies.modify_request("ou1", "chrome.users.UrlBlocking", {"urlBlocklist": ["x"], "urlAllowlist": []}),
    ]
    grouped = policies.batches(requests)
    assert [[r["policyValue"]["policySchema"] for r in batch] for batch in grouped] == [
        ["chrome.devices.GuestMode"], ["chrome.users.VideoInput", "chrome.users.UrlBlocking"], ["chrome.users.apps.InstallType"]]
    assert requests[3]["updateMask"] == "urlAllowlist,urlBlocklist"


def test_modify_inherit_and_resolve_round_trip(google, client_for):
    unit = google.add_org_unit("/Skoler/Nordby")["orgUnitId"][3:]
    parent = google.org_units["/Skoler"]["orgUnitId"][3:]
    client = client_for()
    client.batch_modify([policies.modify_request(parent, "chrome.users.VideoInput", {"videoCaptureAllowed": False})])
    client.batch_modify([policies.modify_request(unit, "chrome.users.VideoInput", {"videoCaptureAllowed": True})])
    (resolved,) = client.resolve(unit, "chrome.users.*")
    assert resolved["value"]["value"] == {"videoCaptureAllowed": True}
    assert resolved["sourceKey"]["targetResource"] == f"orgunits/{unit}"
    client.batch_inherit([policies.inherit_request(unit, "chrome.users.VideoInput")])
    (resolved,) = client.resolve(unit, "chrome.users.*")
    assert resolved["sourceKey"]["targetResource"] == f"orgunits/{parent}"
    with pytest.raises(errors.InvalidArgument, match="same root namespace"):
        client.batch_modify([policies.modify_request(unit, "chrome.users.VideoInput", {"videoCaptureAllowed": True}),
                             policies.modify_request(unit, "chrome.devices.GuestMode", {"guestModeEnabled": True})])
