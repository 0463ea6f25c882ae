"""The service's re-enrolment and replay rules, against the in-memory reference store."""

from __future__ import annotations

import pytest

from mdm_protocol.service import MdmError, MdmService
from tests.mdm_protocol.conftest import fixture_bytes
from tests.mdm_protocol.test_service import NANO, UDID, command_of, report
from tests.support.mdm_memory import Cert, MemoryStore

AUTHENTICATE = fixture_bytes(NANO + "Authenticate.1.plist")
TOKEN_UPDATE = fixture_bytes(NANO + "TokenUpdate.1.plist")


@pytest.fixture
def store():
    return MemoryStore()


@pytest.fixture
def service(store):
    return MdmService(store, store, store, signatures=store)


def enrol(service, cert):
    service.checkin(AUTHENTICATE, cert)
    service.checkin(TOKEN_UPDATE, cert)


def test_a_new_certificate_the_store_refuses_binds_nothing(service, store):
    enrol(service, Cert("cert-a", school="nordby"))
    with pytest.raises(MdmError) as refused:
        service.checkin(AUTHENTICATE, Cert("cert-b", school="sorby"))
    assert (refused.value.status, refused.value.security) == (403, True)
    assert "another school" in refused.value.reason
    assert store.bindings == {"cert-a": UDID} and store.devices[UDID].state == "enrolled"


def test_a_new_certificate_the_store_allows_rebinds(service, store):
    enrol(service, Cert("cert-a", school="nordby"))
    service.checkin(AUTHENTICATE, Cert("cert-b", school="nordby"))
    assert store.bindings["cert-b"] == UDID


def test_a_signature_is_accepted_once(service, store):
    enrol(service, Cert("cert-a"))
    cert = Cert("cert-a")
    assert command_of(service.command(report("Idle"), cert, signature_id=b"sig-1"))["CommandUUID"]
    before = [(row.uuid, row.status) for row in store.rows(UDID)]
    with pytest.raises(MdmError) as refused:
        service.command(report("Idle"), cert, signature_id=b"sig-1")
    assert (refused.value.status, refused.value.security) == (403, True) and "replay" in refused.value.reason
    assert [(row.uuid, row.status) for row in store.rows(UDID)] == before
    with pytest.raises(MdmError):
        service.checkin(AUTHENTICATE, cert, signature_id=b"sig-1")
    service.command(report("Idle"), cert, signature_id=b"sig-2")  # a new signature is served
    service.command(report("Idle"), cert)  # no signature (mutual TLS): nothing to check
