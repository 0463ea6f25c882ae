"""Status reports: the real captures read and flattened; malformed reports refused with the item named."""

from __future__ import annotations

import json

import pytest

from mdm_protocol.declarative import status
from tests.mdm_protocol.conftest import fixture_bytes

KMF = "jessepeterson+kmfddm/"
IPHONE = KMF + "ddm/testdata/A047820F-FC6B-4104-BED0-466876D82BB8.20220628-103225.001918.status.json"
FIRST = KMF + "test/e2e/testdata/status.1st.json"
ERROR = KMF + "test/e2e/testdata/status.D0.error.json"


def test_the_iphone_capture_gives_its_items_declarations_and_capabilities():
    report = status.parse(fixture_bytes(IPHONE))
    assert report.items["device.operating-system.version"] == "16.0"
    assert report.items["device.model.identifier"] == "iPhone10,2"
    assert "com.apple.configuration.passcode.settings" in \
        report.items["management.client-capabilities"]["supported-payloads"]["declarations"]["configurations"]
    assert "management.declarations" not in report.items
    assert report.unknown == ("management.push-token",)  # not an item Apple's schema names
    invalid = [item for item in report.declarations if item.valid == "invalid"]
    assert [item.identifier for item in invalid] == ["0FCD2F56-D5BC-48EA-B98D-E0CCC0C6F9E0", "4D6F8451-C089-4E65-A615-7C6EFF154F72"]
    assert invalid[1].reasons[0]["details"] == {"Error": "Profile Installation Failed"}
    kinds = {item.kind for item in report.declarations}
    assert kinds == {"activation", "configuration", "management"}


def test_the_first_report_of_a_mac_flattens_nested_names():
    report = status.parse(fixture_bytes(FIRST))
    assert report.items["device.operating-system.supplemental.extra-version"] == "(a)"
    assert report.items["device.identifier.serial-number"] == "ZRMXJQTTFX"
    assert report.declarations == () and report.errors == () and not report.full_report


def test_a_declaration_error_keeps_its_code_and_description():
    (item,) = status.parse(fixture_bytes(ERROR)).declarations
    assert (item.identifier, item.valid, item.active) == ("com.example.test", "unknown", False)
    assert item.reasons[0]["code"] == "Info.NotReferencedByActivation"


def test_incremental_items_of_apples_schema_are_read_even_with_values_newer_than_the_schema():
    body = {"StatusItems": {"softwareupdate": {"install-state": "waiting",  # not in the schema's rangelist yet
                                               "failure-reason": {"count": 2, "reason": "Not enough space"}}},
            "Errors": [{"StatusItem": "device.power.battery-health", "Reasons": [{"Code": "Error.Unsupported"}]}],
            "FullReport": True}
    report = status.from_json(body)
    assert report.items == {"softwareupdate.install-state": "waiting",
                            "softwareupdate.failure-reason": {"count": 2, "reason": "Not enough space"}}
    assert report.errors[0].item == "device.power.battery-health" and report.full_report


@pytest.mark.parametrize(
    "body, named",
    [
        (b"{not json", "is not valid JSON"),
        (b"[]", "a StatusReport is a JSON object"),
        (json.dumps({"Errors": []}).encode(), "StatusItems: is required"),
        (json.dumps({"StatusItems": {}}).encode(), "Errors: is required"),
        (json.dumps({"StatusItems": [], "Errors": []}).encode(), "StatusItems: must be a dictionary"),
        (json.dumps({"StatusItems": {"device": {"operating-system": {"version": 26}}}, "Errors": []}).encode(),
         "device.operating-system.version: must be a string"),
        (json.dumps({"StatusItems": {"softwareupdate": {"failure-reason": {"reason": "x"}}}, "Errors": []}).encode(),
         "softwareupdate.failure-reason.count: is required"),
        (json.dumps({"StatusItems": {"management": {"declarations": {"activations": [{"identifier": "a"}],
                     "configurations": [], "assets": [], "management": []}}}, "Errors": []}).encode(),
         "management.declarations.activations[0].server-token: is required"),
        (json.dumps({"StatusItems": {"passcode": {"is-compliant": "yes"}}, "Errors": []}).encode(),
         "passcode.is-compliant: must be a boolean"),
        (json.dumps({"StatusItems": {}, "Errors": [{"Reasons": []}]}).encode(), "Errors[0].StatusItem: is required"),
        (b'{"StatusItems": {"x": "nul\\u0000"}, "Errors": []}', "NUL"),
        (b'{"StatusItems": {"x": "\\ud800"}, "Errors": []}', "lone surrogate"),
        (b'{"StatusItems": {"x": 123456789012345678901234567890}, "Errors": []}', "too large"),
        (b'{"StatusItems": {"x": NaN}, "Errors": []}', "NaN"),
        (b'{"StatusItems": ' + b'{"a": ' * 40 + b"1" + b"}" * 40 + b', "Errors": []}', "nested deeper"),
        (b'{"StatusItems": ' + b"[" * 5000 + b"]" * 5000 + b', "Errors": []}', "nested deeper"),
        ("{}".encode("utf-16"), "not UTF-8"),
    ],
)
def test_malformed_reports_are_refused_naming_the_problem(body, named):
    with pytest.raises(status.StatusError) as refused:
        status.parse(body)
    assert named in str(refused.value)
