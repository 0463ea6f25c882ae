"""Command reports: envelope checked strictly, responses read into inventory tolerantly."""

from __future__ import annotations

import json
import plistlib

import pytest

from mdm_protocol import checkin, plist, reports
from mdm_protocol.reports import Status
from tests.mdm_protocol.conftest import FIXTURES

CMDMNT = "cmdmnt+commandment/testdata/"
REPORT_CAPTURES = sorted(
    path
    for path in FIXTURES.rglob("*")
    if path.suffix in (".xml", ".plist") and b"<key>Status</key>" in path.read_bytes()
)
REDACTED_INVALID = {CMDMNT + "CertificateList/iOS-11.3.1.xml"}


@pytest.mark.parametrize("path", REPORT_CAPTURES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_every_captured_report_parses(path):
    if str(path.relative_to(FIXTURES)) in REDACTED_INVALID:
        with pytest.raises(plist.PlistError):
            reports.parse(path.read_bytes())
        return
    raw = plistlib.loads(path.read_bytes())
    report = reports.parse(path.read_bytes())
    assert report.status.value == raw["Status"]
    assert report.command_uuid == raw.get("CommandUUID")
    assert len(report.error_chain) == len(raw.get("ErrorChain", []))


def test_error_chain_is_read(capture):
    report = reports.parse(capture(CMDMNT + "Errors/iOS-11.3.1-RemoveProfile-Unmanaged.xml"))
    assert report.is_error and report.status is Status.ERROR
    (item,) = report.error_chain
    assert (item.code, item.domain) == (12013, "MCMDMErrorDomain")
    assert "not managed by MDM" in item.localized_description
    assert json.dumps(item.as_json())


def test_idle_needs_no_command_uuid():
    report = reports.parse(plistlib.dumps({"Status": "Idle", "UDID": "abc"}))
    assert report.is_idle and report.command_uuid is None


@pytest.mark.parametrize(
    "message, reason",
    [
        ({"UDID": "abc"}, "Status: is required"),
        ({"Status": "Done", "UDID": "abc"}, "Status: must be one of"),
        ({"Status": ["Idle"], "UDID": "abc"}, "Status: must be one of"),
        ({"Status": "Idle"}, "UDID: is required"),
        ({"Status": "Acknowledged", "UDID": "abc"}, "CommandUUID: is required when Status is Acknowledged"),
        ({"Status": "NotNow", "UDID": "abc", "CommandUUID": 5}, "CommandUUID: must be a string, not an integer"),
        ({"Status": "Error", "UDID": "abc", "CommandUUID": "a b"}, "CommandUUID: is not a valid identifier"),
        ({"Status": "Error", "UDID": "abc", "CommandUUID": "u", "ErrorChain": "bad"}, "ErrorChain: must be an array"),
        ({"Status": "Error", "UDID": "abc", "CommandUUID": "u", "ErrorChain": [1]}, "ErrorChain[0]: must be a dictionary"),
    ],
)
def test_bad_envelopes_are_refused_naming_the_key(message, reason):
    with pytest.raises(checkin.CheckinError) as caught:  # ReportError is one
        reports.parse(plistlib.dumps(message))
    assert reason in str(caught.value)


def test_device_information_fills_device_fields(capture):
    report = reports.parse(capture(CMDMNT + "DeviceInformation/iOS-11.3.1.xml"))
    update = reports.inventory_from_response("DeviceInformation", report)
    assert update.section == "device_information"
    assert update.device_fields == {
        "serial_number": "C00000000004",
        "product_name": "iPad4,1",
        "model": "MD786X",
        "model_name": "iPad",
        "os_version": "11.3.1",
        "build_version": "15E302",
        "device_name": "iPad",
    }
    assert update.value["WiFiMAC"] == "00:00:00:00:00:00"
    json.dumps(update.value)  # JSON-safe
    assert update.problems == ()


def test_wrong_types_in_a_response_are_dropped_and_named(capture):
    raw = plistlib.loads(capture(CMDMNT + "DeviceInformation/iOS-11.3.1.xml"))
    raw["QueryResponses"]["OSVersion"] = 11
    raw["QueryResponses"]["FutureKey"] = b"\x01"
    update = reports.inventory_from_response("DeviceInformation", reports.from_dict(raw))
    assert "OSVersion" not in update.value and "os_version" not in update.device_fields
    assert update.problems == ("QueryResponses.OSVersion: must be a string, not an integer",)
    assert update.value["FutureKey"] == "AQ=="  # unknown keys kept, data as base64
    assert update.device_fields["serial_number"] == "C00000000004"


def test_response_without_its_key_is_named():
    report = reports.from_dict({"Status": "Acknowledged", "UDID": "abc", "CommandUUID": "u"})
    update = reports.inventory_from_response("SecurityInfo", report)
    assert update.value is None and update.problems == ("SecurityInfo: is missing",)


def test_profile_list_lists_installed_profiles(capture):
    report = reports.parse(capture(CMDMNT + "ProfileList/iOS-11.3.1.xml"))
    update = reports.inventory_from_response("ProfileList", report)
    (profile,) = update.profiles
    raw = plistlib.loads(capture(CMDMNT + "ProfileList/iOS-11.3.1.xml"))["ProfileList"][0]
    assert profile.identifier == raw["PayloadIdentifier"] and profile.uuid == raw["PayloadUUID"]
    assert profile.is_managed is False
    assert "com.apple.mdm" in profile.payload_types
    assert update.problems == ()


def test_profile_list_entry_without_identifier_is_skipped():
    report = reports.from_dict(
        {"Status": "Acknowledged", "UDID": "a", "CommandUUID": "u",
         "ProfileList": [{"PayloadDisplayName": "x"}, {"PayloadIdentifier": "p", "PayloadUUID": "1"}]}
    )
    update = reports.inventory_from_response("ProfileList", report)
    assert [p.identifier for p in update.profiles] == ["p"]
    assert any("ProfileList[0]" in problem for problem in update.problems)


def test_installed_applications(capture):
    update = reports.inventory_from_response(
        "InstalledApplicationList", reports.parse(capture(CMDMNT + "InstalledApplicationList/iOS-12.1.xml"))
    )
    assert len(update.value) == 12
    assert update.value[0]["Identifier"] == "com.agilebits.onepassword-ios"


def test_certificate_list_is_summarised_without_the_der(capture):
    update = reports.inventory_from_response(
        "CertificateList", reports.parse(capture(CMDMNT + "CertificateList/10.11.x.xml"))
    )
    first = update.value[0]
    assert first["CommonName"] == "com.apple.systemdefault" and first["IsIdentity"] is True
    assert first["Subject"].startswith("O=System Identity") or "CN=com.apple.systemdefault" in first["Subject"]
    assert len(first["SHA256"]) == 64 and "Data" not in first
    json.dumps(update.value)


def test_security_info(capture):
    update = reports.inventory_from_response("SecurityInfo", reports.parse(capture(CMDMNT + "SecurityInfo/iOS-11.3.1.xml")))
    assert update.section == "security_info" and "PasscodePresent" in update.value


def test_not_acknowledged_or_not_a_query_gives_no_inventory(capture):
    assert reports.inventory_from_response("DeviceInformation", reports.parse(capture(CMDMNT + "NotNow/iOS-11.3.1.xml"))) is None
    assert reports.inventory_from_response("DeviceLock", reports.parse(capture(CMDMNT + "DeviceLock/iOS-11.3.1.xml"))) is None


def test_device_location_reads_top_level_keys():
    report = reports.from_dict(
        {"Status": "Acknowledged", "UDID": "a", "CommandUUID": "u", "Latitude": 59.9, "Longitude": 10.7,
         "HorizontalAccuracy": 5.0, "VerticalAccuracy": 3.0, "Altitude": 10.0, "Speed": 0.0, "Course": 0.0,
         "Timestamp": "2024-05-01T10:00:00Z"}
    )
    update = reports.inventory_from_response("DeviceLocation", report)
    assert update.value["Latitude"] == 59.9 and "Status" not in update.value
