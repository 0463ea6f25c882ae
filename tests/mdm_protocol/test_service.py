"""The MDM service's rules, against the in-memory reference store."""

from __future__ import annotations

import plistlib

import pytest

from mdm_protocol import commands
from mdm_protocol.service import MdmError, MdmService
from tests.mdm_protocol.conftest import fixture_bytes
from tests.support.mdm_memory import Cert, MemoryStore

NANO = "micromdm+nanomdm/mdm/testdata/"
CMDMNT = "cmdmnt+commandment/testdata/"
UDID = "663b07bb783e9ade1dae4fbb92ea12afc0ce5b69"
CERT = Cert("cert-a")


@pytest.fixture
def store():
    return MemoryStore()


@pytest.fixture
def service(store):
    return MdmService(store, store, store)


def report(status, command_uuid=None, udid=UDID, **extra):
    body = {"Status": status, "UDID": udid, **extra}
    if command_uuid:
        body["CommandUUID"] = command_uuid
    return plistlib.dumps(body)


def captured(relative, command_uuid, udid=UDID):
    """A captured response, re-addressed to our command and device."""
    message = plistlib.loads(fixture_bytes(relative))
    message.update(CommandUUID=command_uuid, UDID=udid)
    return plistlib.dumps(message)


def enrol(service, cert=CERT):
    service.checkin(fixture_bytes(NANO + "Authenticate.1.plist"), cert)
    return service.checkin(fixture_bytes(NANO + "TokenUpdate.1.plist"), cert)


def command_of(reply):
    return plistlib.loads(reply.body)


def test_enrolment_binds_the_certificate_and_queues_the_initial_inventory(service, store):
    reply = enrol(service)
    assert store.bindings == {"cert-a": UDID}
    assert store.devices[UDID].state == "enrolled"
    assert store.devices[UDID].push_magic and store.devices[UDID].unlock_token
    assert [row.request_type for row in store.rows(UDID)] == [
        "DeviceInformation", "SecurityInfo", "ProfileList", "InstalledApplicationList"]
    assert reply.wake.device_id == UDID and reply.status == 200
    assert store.devices[UDID].enrolled_hooks == 1


def test_a_second_token_update_queues_nothing_more(service, store):
    enrol(service)
    reply = service.checkin(fixture_bytes(NANO + "TokenUpdate.1.plist"), CERT)
    assert len(store.rows(UDID)) == 4 and reply.wake is None


def test_full_round_trip_fills_the_inventory(service, store):
    enrol(service)
    answers = {
        "DeviceInformation": CMDMNT + "DeviceInformation/iOS-11.3.1.xml",
        "SecurityInfo": CMDMNT + "SecurityInfo/iOS-11.3.1.xml",
        "ProfileList": CMDMNT + "ProfileList/iOS-11.3.1.xml",
        "InstalledApplicationList": CMDMNT + "InstalledApplicationList/iOS-12.1.xml",
    }
    reply = service.command(report("Idle"), CERT)
    seen = []
    while reply.body:
        command = command_of(reply)
        request_type = command["Command"]["RequestType"]
        seen.append(request_type)
        reply = service.command(captured(answers[request_type], command["CommandUUID"]), CERT)
    assert seen == list(answers)
    device = store.devices[UDID]
    assert device.inventory["device_information"]["SerialNumber"] == "C00000000004"
    assert device.inventory["device_information"]["OSVersion"] == "11.3.1"
    assert [p.identifier for p in device.profiles] == [
        plistlib.loads(fixture_bytes(answers["ProfileList"]))["ProfileList"][0]["PayloadIdentifier"]]
    assert len(device.inventory["applications"]) == 12
    assert {row.status for row in store.rows(UDID)} == {"acknowledged"}


def test_not_now_is_skipped_in_the_connection_and_offered_on_the_next(service, store):
    enrol(service)
    first = command_of(service.command(report("Idle"), CERT))
    second = command_of(service.command(report("NotNow", first["CommandUUID"]), CERT))
    assert second["CommandUUID"] != first["CommandUUID"]  # the queue is not blocked
    uuids_this_connection = [first["CommandUUID"], second["CommandUUID"]]
    reply = service.command(report("Acknowledged", second["CommandUUID"]), CERT)
    while reply.body:
        uuid = command_of(reply)["CommandUUID"]
        assert uuid != first["CommandUUID"], "NotNow command offered again in the same connection"
        uuids_this_connection.append(uuid)
        reply = service.command(report("Acknowledged", uuid), CERT)
    assert len(uuids_this_connection) == 4
    # next connection: offered again, first
    again = command_of(service.command(report("Idle"), CERT))
    assert again["CommandUUID"] == first["CommandUUID"]
    assert again == first  # the same command, not lost or changed
    assert service.command(report("Acknowledged", first["CommandUUID"]), CERT).body == b""
    assert {row.status for row in store.rows(UDID)} == {"acknowledged"}


def test_not_now_many_times_never_loses_the_command(service, store):
    enrol(service)
    rows = store.rows(UDID)
    target = rows[0].uuid
    for _ in range(5):
        reply = service.command(report("Idle"), CERT)
        assert command_of(reply)["CommandUUID"] == target
        service.command(report("NotNow", target), CERT)
    assert rows[0].status == "not_now" and rows[0].deliveries == 5


def test_repeated_report_changes_nothing(service, store, monkeypatch):
    enrol(service)
    first = command_of(service.command(report("Idle"), CERT))
    body = captured(CMDMNT + "DeviceInformation/iOS-11.3.1.xml", first["CommandUUID"])
    service.command(body, CERT)
    stored = []
    monkeypatch.setattr(store, "store_inventory", lambda *args: stored.append(args))
    changed = plistlib.loads(body)
    changed["QueryResponses"]["OSVersion"] = "99.0"
    service.command(plistlib.dumps(changed), CERT)  # the same CommandUUID again
    service.command(report("Error", first["CommandUUID"]), CERT)  # and a contradicting one
    row = store.rows(UDID)[0]
    assert row.status == "acknowledged" and row.result["QueryResponses"]["OSVersion"] == "11.3.1"
    assert stored == []
    assert store.devices[UDID].inventory["device_information"]["OSVersion"] == "11.3.1"


def test_unknown_command_uuid_is_answered_with_the_next_command(service, store, caplog):
    enrol(service)
    reply = service.command(report("Acknowledged", "NO-SUCH-COMMAND"), CERT)
    assert command_of(reply)["Command"]["RequestType"] == "DeviceInformation"
    assert "unknown command NO-SUCH-COMMAND" in caplog.text


def test_errors_store_the_error_chain(service, store):
    enrol(service)
    first = command_of(service.command(report("Idle"), CERT))
    body = plistlib.loads(fixture_bytes(CMDMNT + "Errors/iOS-11.3.1-RemoveProfile-Unmanaged.xml"))
    body.update(CommandUUID=first["CommandUUID"], UDID=UDID)
    service.command(plistlib.dumps(body), CERT)
    row = store.rows(UDID)[0]
    assert row.status == "error" and row.error_chain[0]["ErrorCode"] == 12013
    second = store.rows(UDID)[1]
    service.command(report("CommandFormatError", second.uuid), CERT)
    assert second.status == "error"


def test_unsigned_message_is_refused(service, store):
    with pytest.raises(MdmError) as refused:
        service.checkin(fixture_bytes(NANO + "Authenticate.1.plist"), None)
    assert refused.value.status == 401 and refused.value.security
    assert store.devices == {}


def test_a_certificate_cannot_speak_for_another_device(service, store):
    enrol(service)
    other = fixture_bytes(NANO + "Authenticate.2.plist")  # a different UDID
    with pytest.raises(MdmError) as refused:
        service.checkin(other, CERT)
    assert refused.value.status == 403 and refused.value.security
    assert list(store.devices) == [UDID]
    with pytest.raises(MdmError):
        service.command(report("Idle", udid="66ADE930-5FDF-5EC4-8429-15640684C489"), CERT)


def test_an_unbound_certificate_cannot_report_for_an_enrolled_device(service, store):
    enrol(service)
    intruder = Cert("cert-x")
    with pytest.raises(MdmError) as refused:
        service.command(report("Idle"), intruder)
    assert refused.value.status == 403
    with pytest.raises(MdmError):
        service.checkin(fixture_bytes(NANO + "TokenUpdate.1.plist"), intruder)
    assert {row.status for row in store.rows(UDID)} == {"queued"}


def test_renewed_certificate_is_rebound(service, store):
    enrol(service)
    renewed = Cert("cert-a2", renews="cert-a")
    assert command_of(service.command(report("Idle"), renewed))["Command"]["RequestType"] == "DeviceInformation"
    assert store.bindings["cert-a2"] == UDID


def test_reenrolment_with_a_fresh_certificate_rebinds(service, store):
    enrol(service)
    enrol(service, Cert("cert-b"))
    assert store.bindings["cert-b"] == UDID


@pytest.mark.parametrize(
    "body, status",
    [
        (fixture_bytes(NANO + "Authenticate.1.plist")[:-30], 400),  # truncated
        (plistlib.dumps({"MessageType": "Authenticate", "Topic": 5, "UDID": UDID}), 400),  # wrong type
        (plistlib.dumps({"MessageType": "DeclarativeManagement", "UDID": UDID}), 400),  # unsupported
        (b"<plist><string>" + b"A" * (10 * 1024 * 1024) + b"</string></plist>", 413),  # 10 MB
        (b'<!DOCTYPE plist [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><plist><string>&b;</string></plist>', 400),
    ],
)
def test_malformed_checkins_are_refused_cleanly(service, store, body, status):
    enrol(service)
    before = [(r.uuid, r.status) for r in store.rows(UDID)]
    with pytest.raises(MdmError) as refused:
        service.checkin(body, CERT)
    assert refused.value.status == status and not refused.value.security
    assert [(r.uuid, r.status) for r in store.rows(UDID)] == before


@pytest.mark.parametrize(
    "body",
    [
        report("Acknowledged")[:-20],
        plistlib.dumps({"Status": "Acknowledged", "UDID": UDID, "CommandUUID": 7}),
        plistlib.dumps({"Status": "Finished", "UDID": UDID}),
        plistlib.dumps({"Status": "Error", "UDID": UDID, "CommandUUID": "x", "ErrorChain": {"no": "list"}}),
    ],
)
def test_malformed_reports_lose_no_command(service, store, body):
    enrol(service)
    first = command_of(service.command(report("Idle"), CERT))
    with pytest.raises(MdmError) as refused:
        service.command(body, CERT)
    assert refused.value.status == 400
    row = next(r for r in store.rows(UDID) if r.uuid == first["CommandUUID"])
    assert row.status == "sent"
    assert sum(r.status == "queued" for r in store.rows(UDID)) == 3


def test_check_out_cancels_the_queue_and_unbinds(service, store):
    enrol(service)
    checkout = plistlib.dumps({"MessageType": "CheckOut", "Topic": "t", "UDID": UDID})
    assert service.checkin(checkout, CERT).status == 200
    assert {row.status for row in store.rows(UDID)} == {"cancelled"}
    assert store.devices[UDID].state == "unenrolled"
    with pytest.raises(MdmError):
        service.command(report("Idle"), CERT)


def test_bootstrap_token_round_trip(service, store):
    enrol(service)
    get = plistlib.dumps({"MessageType": "GetBootstrapToken", "UDID": UDID})
    assert service.checkin(get, CERT).body == b""
    service.checkin(plistlib.dumps({"MessageType": "SetBootstrapToken", "UDID": UDID, "BootstrapToken": b"boot"}), CERT)
    reply = service.checkin(get, CERT)
    assert plistlib.loads(reply.body) == {"BootstrapToken": b"boot"} and reply.content_type == "application/xml"


def test_shared_ipad_user_channel_has_its_own_queue(service, store):
    enrol(service)
    user = {"UDID": UDID, "UserID": "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF", "UserShortName": "pupil@skole.no",
            "UserLongName": "Pupil"}
    reply = service.checkin(plistlib.dumps({"MessageType": "UserAuthenticate", **user}), CERT)
    assert plistlib.loads(reply.body) == {"DigestChallenge": ""}
    service.checkin(plistlib.dumps({"MessageType": "TokenUpdate", "Topic": "t", "Token": b"u", "PushMagic": "m",
                                    **user}), CERT)
    assert "pupil@skole.no" in store.devices[UDID].users
    assert store.rows(UDID, "pupil@skole.no") == []  # no initial inventory on a user channel
    from mdm_protocol.checkin import Enrollment

    store.enqueue(Enrollment(UDID, "pupil@skole.no"), [commands.log_out_user()])
    reply = service.command(plistlib.dumps({"Status": "Idle", **user}), CERT)
    assert command_of(reply)["Command"]["RequestType"] == "LogOutUser"
    assert {r.status for r in store.rows(UDID)} == {"queued"}  # the device queue is untouched


def test_clear_passcode_gets_the_unlock_token_at_delivery(service, store):
    enrol(service)
    from mdm_protocol.checkin import Enrollment

    for row in store.rows(UDID):
        row.status = "acknowledged"
    store.enqueue(Enrollment(UDID), [commands.clear_passcode()])
    assert b"UnlockToken" not in store.rows(UDID)[-1].body
    command = command_of(service.command(report("Idle"), CERT))["Command"]
    assert command["UnlockToken"] == store.devices[UDID].unlock_token


def test_clear_passcode_without_unlock_token_fails_and_the_queue_moves_on(service, store):
    enrol(service)
    from mdm_protocol.checkin import Enrollment

    store.devices[UDID].unlock_token = None
    for row in store.rows(UDID):
        row.status = "acknowledged"
    store.enqueue(Enrollment(UDID), [commands.clear_passcode(), commands.device_lock()])
    reply = service.command(report("Idle"), CERT)
    assert command_of(reply)["Command"]["RequestType"] == "DeviceLock"
    failed = store.rows(UDID)[-2]
    assert failed.status == "error" and "unlock token" in failed.error_chain[0]["LocalizedDescription"]
