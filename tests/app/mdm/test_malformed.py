"""Whatever a device sends, the answer is a clear 4xx, never a 500, and no queued command is lost."""

from __future__ import annotations

import plistlib

from sqlalchemy import select

from app.models import Command

TEN_MB = b"<plist><string>" + b"A" * (10 * 1024 * 1024) + b"</string></plist>"
BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE plist [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><plist><dict><key>Status</key><string>&c;</string></dict></plist>'
)
EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE plist [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b"<plist><dict><key>MessageType</key><string>&x;</string></dict></plist>"
)


def queue_state(db):
    with db.session() as session:
        return sorted((c.uuid, c.status, c.delivery_count) for c in session.scalars(select(Command)))


def bodies(udid):
    good_checkin = plistlib.dumps({"MessageType": "TokenUpdate", "Topic": "t", "UDID": udid, "Token": b"t" * 32,
                                   "PushMagic": "m"})
    good_report = plistlib.dumps({"Status": "Acknowledged", "UDID": udid, "CommandUUID": "X"})
    return {
        "truncated checkin": ("/mdm/checkin", good_checkin[:-25], 400),
        "truncated report": ("/mdm/connect", good_report[:-25], 400),
        "binary garbage": ("/mdm/connect", b"bplist00\x00\x01\x02garbage", 400),
        "empty": ("/mdm/connect", b"", 400),
        "not a dictionary": ("/mdm/connect", plistlib.dumps(["Idle"]), 400),
        "wrong type: Status": ("/mdm/connect", plistlib.dumps({"Status": 1, "UDID": udid}), 400),
        "wrong type: CommandUUID": ("/mdm/connect", plistlib.dumps({"Status": "Acknowledged", "UDID": udid,
                                                                     "CommandUUID": ["x"]}), 400),
        "wrong type: Token": ("/mdm/checkin", plistlib.dumps({"MessageType": "TokenUpdate", "Topic": "t", "UDID": udid,
                                                               "Token": "text", "PushMagic": "m"}), 400),
        "wrong type: UDID": ("/mdm/checkin", plistlib.dumps({"MessageType": "Authenticate", "Topic": "t", "UDID": 42}), 400),
        "missing MessageType": ("/mdm/checkin", plistlib.dumps({"UDID": udid}), 400),
        "invalid base64": ("/mdm/checkin", b"<plist><dict><key>MessageType</key><string>TokenUpdate</string>"
                                           b"<key>Token</key><data>Base64=</data></dict></plist>", 400),
        "deep nesting": ("/mdm/connect", b"<plist>" + b"<array>" * 200 + b"</array>" * 200 + b"</plist>", 400),
        "NUL in a string": ("/mdm/connect", plistlib.dumps({"Status": "Idle", "UDID": udid, "X": "a\x00b"},
                                                            fmt=plistlib.FMT_BINARY), 400),
        "UDID too long": ("/mdm/checkin", plistlib.dumps({"MessageType": "Authenticate", "Topic": "t",
                                                           "UDID": "A" * 65}), 400),
        "PushMagic too long": ("/mdm/checkin", plistlib.dumps({"MessageType": "TokenUpdate", "Topic": "t",
                                                                "UDID": udid, "Token": b"t" * 32,
                                                                "PushMagic": "m" * 500}), 400),
        "10 MB": ("/mdm/connect", TEN_MB, 413),
        "billion laughs": ("/mdm/connect", BILLION_LAUGHS, 400),
        "external entity": ("/mdm/checkin", EXTERNAL_ENTITY, 400),
    }


def test_malformed_messages_are_a_clear_4xx_and_lose_nothing(db, enrolled, transport, client):
    """One enrolled iPad sends each malformed body in turn (one world for all: the cases are many)."""
    first = enrolled.idle(transport)  # one command out, three waiting
    before = queue_state(db)
    for case, (path, body, status) in bodies(enrolled.udid).items():
        response = client.put(path, data=body, headers=enrolled.headers(body, "application/x-apple-aspen-mdm"))
        assert response.status_code == status, (case, response.get_data()[:300])
        assert response.is_json and response.get_json()["message"], case
        assert queue_state(db) == before, case
    # the device carries on: its command is still waiting for its answer, the others for their turn
    answer = enrolled.report(transport, "Acknowledged", first.command_uuid)
    assert answer.status == 200 and answer.request_type == "SecurityInfo"


def test_a_body_over_the_limit_is_refused_before_it_is_read(db, enrolled, client):
    response = client.put("/mdm/connect", data=TEN_MB, headers={"Content-Type": "application/x-apple-aspen-mdm"})
    assert response.status_code == 413


def test_over_long_device_facts_are_cut_to_fit_not_a_500(db, world, new_ipad, transport):
    ipad = new_ipad()
    message = {**ipad.authenticate_message(), "OSVersion": "17." * 40, "DeviceName": "iPad " * 100,
               "SerialNumber": "S" * 200}
    assert ipad.checkin(transport, message).status == 200
    with db.session() as session:
        from app.models import Device

        device = session.scalar(select(Device))
        assert (len(device.os_version), len(device.name), len(device.serial_number)) == (32, 200, 64)
