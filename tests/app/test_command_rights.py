"""Which MDM commands each role may send, and what waits for approval or is refused for everyone.

Every role × every kind of command, through the REST API; the same rules through
the CLI and the dashboard (they all send through ``approvals.submit``). Before
this, anyone with the command right could send any Apple request type: an
``InstallProfile`` replacing a policy profile, a ``RemoveProfile`` of the
enrollment profile with no approval.
"""

from __future__ import annotations

import plistlib
import uuid

import pytest
from sqlalchemy import func, select

from app.models import ApprovalRequest, Command, PolicyNamespace
from app.services.access import Role
from mdm_protocol import apple_schema
from mdm_protocol import commands as mdm_commands
from tests.support import factories, people

#: The test settings' FLOKK_PUBLIC_URL is https://flokk.test: Flokk's profiles start so.
FLOKK = "test.flokk.flokk"
#: A prefix stored when the policy was first used under an older address.
OLD_FLOKK = "no.gammel-vert.flokk"


def profile(identifier: str, *payload_types: str) -> bytes:
    content = [
        {"PayloadIdentifier": f"{identifier}.{index}", "PayloadType": kind, "PayloadUUID": str(uuid.uuid4()),
         "PayloadVersion": 1}
        for index, kind in enumerate(payload_types)
    ]
    return plistlib.dumps({"PayloadIdentifier": identifier, "PayloadType": "Configuration", "PayloadVersion": 1,
                           "PayloadUUID": str(uuid.uuid4()), "PayloadContent": content})


def b64(data: bytes) -> dict:
    import base64

    return {"$data": base64.b64encode(data).decode()}


QUEUED, APPROVAL, NOT_YOURS, FLOKKS_OWN = "201 queued", "202 approval", "403 role", "403 Flokk's own"

#: kind of command → (request type, params as JSON, reason needed); params with bytes are sent base64.
KINDS = {
    "query": ("ProfileList", {}),
    "everyday action": ("DeviceLock", {"Message": "Lever til IT"}),
    "lost mode": ("EnableLostMode", {"Message": "Funnet? Ring skolen"}),
    "wipe": ("EraseDevice", {}),
    "settings": ("Settings", {"Settings": [{"Item": "DeviceName", "DeviceName": "Elev 7"}]}),
    "app": ("RemoveApplication", {"Identifier": "com.example.game"}),
    "own profile install": ("InstallProfile", {"Payload": profile("no.skole.wifi", "com.apple.wifi.managed")}),
    "own profile removal": ("RemoveProfile", {"Identifier": "no.skole.wifi"}),
    "policy profile install": ("InstallProfile", {"Payload": profile(f"{FLOKK}.policy.restrictions",
                                                                      "com.apple.applicationaccess")}),
    "payload id of Flokk's": ("InstallProfile", {"Payload": profile("no.skole.sneaky", "com.apple.applicationaccess")
                                                 .replace(b"no.skole.sneaky.0", f"{FLOKK}.policy.passcode.0".encode())}),
    "MDM payload install": ("InstallProfile", {"Payload": profile("no.skole.mdm", "com.apple.mdm")}),
    "policy profile removal": ("RemoveProfile", {"Identifier": f"{FLOKK}.policy.restrictions"}),
    "old policy profile removal": ("RemoveProfile", {"Identifier": f"{OLD_FLOKK}.policy.restrictions"}),
    "enrollment profile removal": ("RemoveProfile", {"Identifier": f"{FLOKK}.enrollment.nordby"}),
    "outside the catalogue": ("AvailableOSUpdates", {}),
}
#: What each role gets for each kind of command, on a device of its own school.
EXPECTED = {
    "central_admin": {
        "query": QUEUED, "everyday action": QUEUED, "lost mode": QUEUED, "wipe": APPROVAL, "settings": QUEUED,
        "app": QUEUED, "own profile install": QUEUED, "own profile removal": QUEUED,
        "policy profile install": FLOKKS_OWN, "payload id of Flokk's": FLOKKS_OWN, "MDM payload install": FLOKKS_OWN,
        "policy profile removal": FLOKKS_OWN, "old policy profile removal": FLOKKS_OWN,
        "enrollment profile removal": APPROVAL, "outside the catalogue": APPROVAL,
    },
    "central_helpdesk": {
        "query": QUEUED, "everyday action": QUEUED, "lost mode": QUEUED, "wipe": NOT_YOURS, "settings": NOT_YOURS,
        "app": NOT_YOURS, "own profile install": NOT_YOURS, "own profile removal": NOT_YOURS,
        "policy profile install": FLOKKS_OWN, "payload id of Flokk's": FLOKKS_OWN, "MDM payload install": FLOKKS_OWN,
        "policy profile removal": FLOKKS_OWN, "old policy profile removal": FLOKKS_OWN,
        "enrollment profile removal": NOT_YOURS, "outside the catalogue": NOT_YOURS,
    },
    "school_ict": {
        "query": QUEUED, "everyday action": QUEUED, "lost mode": QUEUED, "wipe": APPROVAL, "settings": NOT_YOURS,
        "app": NOT_YOURS, "own profile install": NOT_YOURS, "own profile removal": NOT_YOURS,
        "policy profile install": FLOKKS_OWN, "payload id of Flokk's": FLOKKS_OWN, "MDM payload install": FLOKKS_OWN,
        "policy profile removal": FLOKKS_OWN, "old policy profile removal": FLOKKS_OWN,
        "enrollment profile removal": NOT_YOURS, "outside the catalogue": NOT_YOURS,
    },
    "auditor": {kind: NOT_YOURS for kind in KINDS},  # no command right at all: refused at the endpoint
}
ROLE_OF = {"central_admin": Role.CENTRAL_ADMIN, "central_helpdesk": Role.CENTRAL_HELPDESK,
           "school_ict": Role.SCHOOL_ICT, "auditor": Role.AUDITOR}


@pytest.fixture
def fleet(db):
    with db.session() as session:
        nordby = factories.school(session, "nordby")
        ipad = factories.device(session, nordby)
        session.add(PolicyNamespace(organisation_id=nordby.organisation_id, identifier_prefix=OLD_FLOKK))
        tokens = {
            name: people.api_token(session, [(role, None if name.startswith("central") else nordby.id)], name=name)
            for name, role in ROLE_OF.items()
        }
        session.commit()
    return {"ipad": ipad.id, "school": nordby.id, "tokens": tokens}


def _outcome(response) -> str:
    body = response.get_json()
    if response.status_code == 201:
        return QUEUED
    if response.status_code == 202:
        return APPROVAL
    if response.status_code == 403:
        return FLOKKS_OWN if "Flokk" in body["message"] or "MDM payload" in body["message"] else NOT_YOURS
    return f"{response.status_code} {body}"


CELLS = [(role, kind) for role in EXPECTED for kind in KINDS]


@pytest.mark.parametrize(("role", "kind"), CELLS, ids=[f"{role}-{kind}" for role, kind in CELLS])
def test_each_role_sends_only_its_commands(client, db, fleet, role, kind):
    request_type, params = KINDS[kind]
    body = {
        "request_type": request_type,
        "device_ids": [fleet["ipad"]],
        "params": {key: b64(value) if isinstance(value, bytes) else value for key, value in params.items()},
        "reason": "the pupil reported it stolen",
    }
    response = client.post("/api/v1/commands", json=body, headers=people.bearer(fleet["tokens"][role]))
    assert _outcome(response) == EXPECTED[role][kind], response.get_json()
    with db.session() as session:
        queued = session.scalar(select(func.count()).select_from(Command))
        requested = session.scalar(select(func.count()).select_from(ApprovalRequest))
    assert (queued, requested) == {QUEUED: (1, 0), APPROVAL: (0, 1)}.get(EXPECTED[role][kind], (0, 0))


def test_the_refusal_names_the_profile_and_what_to_do(client, fleet):
    body = {"request_type": "RemoveProfile", "device_ids": [fleet["ipad"]],
            "params": {"Identifier": f"{FLOKK}.policy.restrictions"}}
    response = client.post("/api/v1/commands", json=body, headers=people.bearer(fleet["tokens"]["central_admin"]))
    assert response.status_code == 403
    assert f"{FLOKK}.policy.restrictions" in response.json["message"] and "policy" in response.json["message"]
    assert response.json["details"] == {"Identifier": ["Is a Flokk policy profile; change the policy instead."]}


def test_a_profile_flokk_cannot_read_is_refused(client, fleet):
    body = {"request_type": "InstallProfile", "device_ids": [fleet["ipad"]], "params": {"Payload": b64(b"not a plist")}}
    response = client.post("/api/v1/commands", json=body, headers=people.bearer(fleet["tokens"]["central_admin"]))
    assert response.status_code == 422 and "Payload" in response.json["details"]


def test_a_user_channel_follows_the_same_rules(client, db, fleet):
    from app.models import DeviceUser

    with db.session() as session:
        session.add(DeviceUser(school_id=fleet["school"], device_id=fleet["ipad"], user_id="U1", short_name="elev1"))
        session.commit()
    body = {"request_type": "RemoveApplication", "device_ids": [fleet["ipad"]], "user": "elev1",
            "params": {"Identifier": "com.example.game"}}
    refused = client.post("/api/v1/commands", json=body, headers=people.bearer(fleet["tokens"]["school_ict"]))
    assert refused.status_code == 403
    body = {"request_type": "ProfileList", "device_ids": [fleet["ipad"]], "user": "elev1"}
    assert client.post("/api/v1/commands", json=body, headers=people.bearer(fleet["tokens"]["school_ict"])).status_code == 201


def test_the_cli_refuses_flokks_own_profiles_and_asks_approval_to_unenrol(cli, fleet, tmp_path):
    assert cli("command", "send", str(fleet["ipad"]), "RemoveProfile", "-p", f"Identifier={FLOKK}.policy.wifi.guest").exit_code == 1
    policy_profile = tmp_path / "restrictions.mobileconfig"
    policy_profile.write_bytes(profile(f"{FLOKK}.policy.restrictions", "com.apple.applicationaccess"))
    result = cli("command", "send", str(fleet["ipad"]), "InstallProfile", "-p", f"Payload=@{policy_profile}")
    assert result.exit_code == 1 and "Flokk's own profiles" in result.output
    result = cli("command", "send", str(fleet["ipad"]), "RemoveProfile", "-p", f"Identifier={FLOKK}.enrollment.nordby",
                 "--reason", "leased iPad goes back")
    assert result.exit_code == 0 and "approval" in result.output
    result = cli("command", "send", str(fleet["ipad"]), "RemoveProfile", "-p", "Identifier=no.skole.wifi")
    assert result.exit_code == 0 and "Queued RemoveProfile" in result.output


def test_the_dashboard_sends_what_the_role_may(client, db, fleet):
    with db.session() as session:
        ict = people.admin(session, [(Role.SCHOOL_ICT, fleet["school"])])
        session.commit()
    people.sign_in(client, ict)
    path = f"/devices/{fleet['ipad']}/commands"
    assert client.post(path, data={"request_type": "AvailableOSUpdates", "csrf_token": people.CSRF}).status_code == 403
    assert client.post(path, data={"request_type": "DeviceLock", "csrf_token": people.CSRF}).status_code == 302


def test_the_command_table_names_only_commands_apple_defines():
    """Every command a role may send exists (or is Flokk's "remove from Flokk"); wiping ones are never everyday ones."""
    from app.services.access import EVERYDAY_COMMANDS, ROLE_COMMANDS, WIPING_COMMANDS
    from app.services.fleet.device_removal import REMOVE_DEVICE

    known = set(apple_schema.names("command")) | {REMOVE_DEVICE}
    for allowed in ROLE_COMMANDS.values():
        assert allowed is None or allowed <= known
    assert EVERYDAY_COMMANDS <= set(mdm_commands.CATALOGUE)
    assert not EVERYDAY_COMMANDS & WIPING_COMMANDS
    assert {name for name, entry in mdm_commands.CATALOGUE.items() if entry.destructive} <= WIPING_COMMANDS


def test_a_profile_install_to_many_devices_waits_for_approval_with_its_payload_intact(app, client, db, fleet, settings):
    """Approval requests keep data parameters as {"$data": base64}: a profile's bytes used to fail the JSON column."""
    db._context.settings = settings.replace(approval_bulk_threshold=1)
    with db.session() as session:
        from app.models import Device

        second = factories.device(session, session.get(Device, fleet["ipad"]).school).id
        other_admin = people.api_token(session, [(Role.CENTRAL_ADMIN, None)], name="central-b")
        session.commit()
    payload = profile("no.skole.wifi", "com.apple.wifi.managed")
    body = {"request_type": "InstallProfile", "device_ids": [fleet["ipad"], second], "params": {"Payload": b64(payload)},
            "reason": "new Wi-Fi for the whole school"}
    requested = client.post("/api/v1/commands", json=body, headers=people.bearer(fleet["tokens"]["central_admin"]))
    assert requested.status_code == 202 and requested.json["approval"]["kind"] == "bulk"
    approval = requested.json["approval"]["id"]
    approved = client.post(f"/api/v1/approvals/{approval}/approve", json={}, headers=people.bearer(other_admin))
    assert approved.status_code == 200 and approved.json["queued_count"] == 2
    with db.session() as session:
        bodies = [plistlib.loads(row.body) for row in session.scalars(select(Command))]
    assert [item["Command"]["Payload"] for item in bodies] == [payload, payload]
