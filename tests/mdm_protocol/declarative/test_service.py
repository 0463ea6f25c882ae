"""The DeclarativeManagement endpoints, through MdmService and the in-memory reference store.

The identity rules are the MDM service's own (a message must be signed by
the identity bound to the device it names), so a declarative request of
another device is refused before any declaration is looked at.
"""

from __future__ import annotations

import datetime as dt
import json
import plistlib

import pytest

from mdm_protocol.declarative.declarations import Declaration, DeclarationSet, SyncTokens
from mdm_protocol.declarative.requests import EndpointKind, RequestError, parse_endpoint
from mdm_protocol.declarative.service import DeclarativeService
from mdm_protocol.service import MdmError, MdmService
from tests.mdm_protocol.conftest import fixture_bytes
from tests.support.mdm_memory import Cert, MemoryStore

NANO = "micromdm+nanomdm/mdm/testdata/"
UDID = "663b07bb783e9ade1dae4fbb92ea12afc0ce5b69"
CERT = Cert("cert-a")
PASSCODE = Declaration("com.apple.configuration.passcode.settings", "no.bergvik.passcode", {"MinimumLength": 6})
ACTIVATION = Declaration("com.apple.activation.simple", "no.bergvik.activation", {"StandardConfigurations": [PASSCODE.identifier]})
SINCE = dt.datetime(2026, 10, 1, 12, tzinfo=dt.UTC)


class Declarations:
    """The reference DeclarationStore: one set per device, statuses kept in order."""

    def __init__(self) -> None:
        self.sets = {UDID: DeclarationSet((PASSCODE, ACTIVATION))}
        self.statuses: list = []

    def declaration_set(self, enrollment):
        return self.sets.get(enrollment.device_id, DeclarationSet(()))

    def sync_tokens(self, enrollment, declarations):
        return SyncTokens(declarations.token, SINCE)

    def record_status(self, enrollment, report):
        self.statuses.append((enrollment.device_id, report))


@pytest.fixture
def declarations():
    return Declarations()


@pytest.fixture
def service(declarations):
    store = MemoryStore()
    mdm = MdmService(store, store, store, declarative=DeclarativeService(declarations))
    mdm.checkin(fixture_bytes(NANO + "Authenticate.1.plist"), CERT)
    mdm.checkin(fixture_bytes(NANO + "TokenUpdate.1.plist"), CERT)
    return mdm


def request(endpoint, data=None, udid=UDID):
    message = {"MessageType": "DeclarativeManagement", "UDID": udid, "Endpoint": endpoint}
    if data is not None:
        message["Data"] = data
    return plistlib.dumps(message)


def test_tokens_items_and_each_declaration(service):
    tokens = json.loads(service.checkin(request("tokens"), CERT).body)
    expected_token = DeclarationSet((PASSCODE, ACTIVATION)).token
    assert tokens == {"SyncTokens": {"DeclarationsToken": expected_token, "Timestamp": "2026-10-01T12:00:00Z"}}
    items = service.checkin(request("declaration-items"), CERT)
    assert items.content_type == "application/json"
    manifest = json.loads(items.body)["Declarations"]
    assert manifest["Configurations"] == [{"Identifier": PASSCODE.identifier, "ServerToken": PASSCODE.server_token}]
    fetched = json.loads(service.checkin(request(f"declaration/configuration/{PASSCODE.identifier}"), CERT).body)
    assert fetched == {"Type": PASSCODE.type, "Identifier": PASSCODE.identifier, "ServerToken": PASSCODE.server_token,
                       "Payload": {"MinimumLength": 6}}


def test_a_declaration_not_in_the_set_is_404_so_the_device_removes_it(service):
    for endpoint in (f"declaration/activation/{PASSCODE.identifier}", "declaration/configuration/no.bergvik.gone"):
        assert service.checkin(request(endpoint), CERT).status == 404


def test_a_status_report_is_stored_and_answered_with_an_empty_200(service, declarations):
    body = fixture_bytes("jessepeterson+kmfddm/test/e2e/testdata/status.1st.json")
    reply = service.checkin(request("status", body), CERT)
    assert (reply.status, reply.body) == (200, b"")
    ((device, report),) = declarations.statuses
    assert device == UDID and report.items["device.operating-system.version"] == "13.3.1"


@pytest.mark.parametrize(
    "body, reason",
    [
        (request("bogus"), "is not tokens, declaration-items, status"),
        (request("declaration/profile/x"), "is not a declaration kind"),
        (request("declaration/configuration"), "declaration/<kind>/<identifier>"),
        (request("status"), "Data: is required"),
        (request("status", b"{not json"), "is not valid JSON"),
        (request("status", json.dumps({"StatusItems": {}}).encode()), "Errors: is required"),
        (plistlib.dumps({"MessageType": "DeclarativeManagement", "UDID": UDID}), "Endpoint: is required"),
        (plistlib.dumps({"MessageType": "DeclarativeManagement", "UDID": UDID, "Endpoint": 7}), "Endpoint: must be a string"),
        (plistlib.dumps({"MessageType": "DeclarativeManagement", "UDID": UDID, "Endpoint": "status", "Data": "text"}),
         "Data: must be a data"),
    ],
)
def test_malformed_requests_are_400_and_store_nothing(service, declarations, body, reason):
    with pytest.raises(MdmError) as refused:
        service.checkin(body, CERT)
    assert refused.value.status == 400 and reason in refused.value.reason and not refused.value.security
    assert declarations.statuses == []


def test_another_devices_identity_cannot_ask_for_this_devices_declarations(service):
    with pytest.raises(MdmError) as refused:
        service.checkin(request("tokens"), Cert("cert-b"))
    assert refused.value.status == 403 and refused.value.security
    with pytest.raises(MdmError) as unsigned:
        service.checkin(request("tokens"), None)
    assert unsigned.value.status == 401


def test_without_a_declarative_handler_the_message_is_refused():
    store = MemoryStore()
    plain = MdmService(store, store, store)
    plain.checkin(fixture_bytes(NANO + "Authenticate.1.plist"), CERT)
    with pytest.raises(MdmError) as refused:
        plain.checkin(request("tokens"), CERT)
    assert refused.value.status == 400 and "not supported" in refused.value.reason


@pytest.mark.parametrize(
    "text, kind, declaration_kind, identifier",
    [
        ("tokens", EndpointKind.TOKENS, None, None),
        ("declaration-items", EndpointKind.DECLARATION_ITEMS, None, None),
        ("status", EndpointKind.STATUS, None, None),
        ("declaration/management/no.x.caps", EndpointKind.DECLARATION, "management", "no.x.caps"),
        ("declaration/asset/a/b", EndpointKind.DECLARATION, "asset", "a/b"),
    ],
)
def test_endpoints(text, kind, declaration_kind, identifier):
    found = parse_endpoint(text)
    assert (found.kind, found.declaration_kind, found.identifier) == (kind, declaration_kind, identifier)


@pytest.mark.parametrize("text", ["", "Tokens", "declaration", "declaration//x", "declaration/configuration/",
                                  "declaration/configuration/x\ty", "declaration/configuration/" + "x" * 300])
def test_bad_endpoints(text):
    with pytest.raises(RequestError):
        parse_endpoint(text)
