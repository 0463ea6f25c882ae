"""The DeclarativeManagement command per Apple's schema, bodies rendered in bulk, and the slimmer daily inventory."""

from __future__ import annotations

import datetime as dt
import json
import plistlib

from mdm_protocol import apple_schema
from mdm_protocol.commands import DEFAULT_DEVICE_QUERIES
from mdm_protocol.declarative.command import SyncBodies, inventory_commands, sync_command
from mdm_protocol.declarative.declarations import SyncTokens

TOKENS = SyncTokens("7c6d85989e823101" * 2, dt.datetime(2026, 10, 12, 8, 0, tzinfo=dt.UTC))


def test_the_command_carries_a_tokens_response_or_nothing():
    assert sync_command().params == {}
    data = sync_command(TOKENS).params["Data"]
    assert json.loads(data) == {"SyncTokens": {"DeclarationsToken": TOKENS.declarations_token, "Timestamp": "2026-10-12T08:00:00Z"}}
    spec = apple_schema.command("DeclarativeManagement")
    assert apple_schema.check(spec.keys, sync_command(TOKENS).params) == []


def test_bulk_bodies_read_back_exactly_as_the_command_does():
    bodies = SyncBodies()
    for uuid, tokens in (("0B6E3A5C-1111-4A4A-8B8B-000000000001", TOKENS),
                         ("0B6E3A5C-2222-4A4A-8B8B-000000000002", SyncTokens("x" * 32, TOKENS.timestamp))):
        assert plistlib.loads(bodies.body(uuid, tokens)) == plistlib.loads(sync_command(tokens).to_plist(uuid))


def test_a_reporting_devices_inventory_leaves_out_what_its_os_reports():
    device_information, profile_list, applications = inventory_commands("ipados", "26.0")
    assert set(device_information.params["Queries"]) == set(DEFAULT_DEVICE_QUERIES) - {
        "OSVersion", "BuildVersion", "ProductName", "Model", "ModelName", "SerialNumber", "UDID"}
    assert (profile_list.request_type, applications.request_type) == ("ProfileList", "InstalledApplicationList")
    # iPadOS 15 reports neither its passcode state nor its model number or serial number (Apple's schema).
    older = inventory_commands("ipados", "15.7")
    assert [command.request_type for command in older] == [
        "DeviceInformation", "SecurityInfo", "ProfileList", "InstalledApplicationList"]
    assert {"Model", "SerialNumber", "UDID"} <= set(older[0].params["Queries"])
    assert not {"OSVersion", "BuildVersion", "ProductName", "ModelName"} & set(older[0].params["Queries"])
