"""Malformed and misdirected declarative requests: a clear 4xx, nothing stored; identity rules as for all MDM messages."""

from __future__ import annotations

import json
import plistlib
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from app.models import AuditEvent, Command
from app.models.declarations import DeclarationReport, DeclarativeDevice
from app.services import policy
from profiles import Change
from tests.support.ddm_ipad import DeclarativeIpad


def snapshot(db):
    """Everything a declarative request could change."""
    with db.session() as session:
        devices = [(row.device_id, row.confirmed_at, row.declarations_token, row.token_changed_at, row.status_at,
                    json.dumps(row.status_items, sort_keys=True), row.update_state)
                   for row in session.scalars(select(DeclarativeDevice).order_by(DeclarativeDevice.device_id))]
        reports = session.scalar(select(func.count()).select_from(DeclarationReport))
        commands = sorted((row.uuid, row.status) for row in session.scalars(select(Command)))
        return devices, reports, commands


@pytest.fixture
def pair(db, principal, world, declarative, transport):
    """A DDM iPad in each school; the other school has a Wi-Fi network of its own."""
    with db.unit_of_work() as session:
        policy.change(session, principal, "baseline", [Change.set("passcode", "minLength", 6)])
        policy.change(session, principal, "school:sorby", [
            Change.set("wifi:guest", "SSID_STR", "Sorby gjest"), Change.set("wifi:guest", "EncryptionType", "WPA2"),
            Change.set("wifi:guest", "Password", "hemmelig-passord")])
    return declarative(), declarative(world.other_school)


@pytest.mark.parametrize(
    "endpoint, data, status, reason",
    [
        ("inventory", None, 400, b"is not tokens, declaration-items, status"),
        ("declaration/profile/x", None, 400, b"is not a declaration kind"),
        ("declaration/configuration/a\tb", None, 400, b"control characters"),
        ("status", None, 400, b"Data: is required"),
        ("status", b"{\"StatusItems\": {", 400, b"is not valid JSON"),
        ("status", b"[1, 2]", 400, b"a StatusReport is a JSON object"),
        ("status", json.dumps({"StatusItems": {"passcode": {"is-present": "yes"}}, "Errors": []}).encode(), 400,
         b"passcode.is-present: must be a boolean"),
        ("status", b'{"StatusItems": {"device": {"operating-system": {"version": "26\\u0000"}}}, "Errors": []}', 400,
         b"NUL"),
        ("status", b'{"StatusItems": {"softwareupdate": {"failure-reason": {"count": 99999999999999999999999}}}, "Errors": []}',
         400, b"too large"),
        ("declaration/configuration/no.such.declaration", None, 404, b"no such declaration"),
    ],
)
def test_malformed_requests_get_4xx_and_store_nothing(db, pair, transport, endpoint, data, status, reason):
    ipad, _ = pair
    before = snapshot(db)
    answer = ipad.declarative(transport, endpoint, data)
    assert answer.status == status and reason in answer.body, answer.body
    assert snapshot(db) == before


def test_a_declaration_of_another_school_is_not_found(db, pair, transport):
    nordby, sorby = pair
    (guest,) = [identifier for identifier in sorby.held if identifier.endswith("legacy.wifi.guest")]
    before = snapshot(db)
    assert nordby.declarative(transport, f"declaration/configuration/{guest}").status == 404
    assert snapshot(db) == before


def test_a_profile_url_is_good_for_its_own_device_and_version_only(db, pair, transport):
    nordby, sorby = pair
    (guest,) = [held for identifier, held in sorby.held.items() if identifier.endswith("legacy.wifi.guest")]
    path = urlsplit(guest.payload["ProfileURL"]).path
    assert transport.get(path).status == 200
    prefix, device_id, token, identifier, version = path.rsplit("/", 4)
    tampered = [
        f"{prefix}/{int(device_id) + 1}/{token}/{identifier}/{version}",  # the token is another device's
        f"{prefix}/{device_id}/{'0' * len(token)}/{identifier}/{version}",  # a guessed token
        f"{prefix}/{device_id}/{token}/{identifier}/{version[:-1]}0",  # another version
        f"{prefix}/{device_id}/{token}/{identifier.replace('guest', 'staff')}/{version}",
    ]
    for forged in tampered:
        assert transport.get(forged).status == 404, forged
    # Once the network is removed from the school, the old URL no longer serves it.
    with db.unit_of_work() as session:
        from app.services.access import cli_principal

        policy.change(session, cli_principal(), "school:sorby", [Change.remove("wifi:guest")])
    assert transport.get(path).status == 404


def test_the_identity_rules_of_every_mdm_message_apply(db, pair, transport):
    nordby, sorby = pair
    before = snapshot(db)
    impostor = DeclarativeIpad(udid=sorby.udid, certificate=nordby.certificate, key=nordby.key)
    assert impostor.declarative(transport, "tokens").status == 403
    assert impostor.declarative(transport, "declaration-items").status == 403
    status = json.dumps(impostor.status_document()).encode()
    assert impostor.declarative(transport, "status", status).status == 403
    unsigned = transport.client.put("/mdm/checkin", data=plistlib.dumps(nordby.declarative_message("tokens")),
                                    headers={"Content-Type": "application/x-apple-aspen-mdm-checkin"})
    assert unsigned.status_code == 401
    assert snapshot(db) == before
    with db.session() as session:
        refused = session.scalars(select(AuditEvent).where(AuditEvent.action == "mdm.identity_refused")).all()
        assert len(refused) == 4 and {event.target_id for event in refused[:3]} == {sorby.udid}
