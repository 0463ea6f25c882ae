"""Which school expects each device: rules, CSV, by hand; what ICT contacts see and may change; profiles follow."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.errors import Forbidden, InvalidInput, NotFound
from app.models.asm import AsmDevice, AsmToken
from app.services.access import Role, cli_principal
from app.services.asm import assignment, profiles, sync
from tests.support import people

ENGLISH = {"Accept-Language": "en"}


@pytest.fixture
def synced(db, fake_dep, imported_token):
    """Six devices from two purchasers, synced; returns (token id, nordby serials, sorby serials)."""
    nordby = fake_dep.add_devices(3, prefix="DMPN", device_assigned_by="innkjop@nordby.bergvik.no")
    sorby = fake_dep.add_devices(3, prefix="DMPS", device_assigned_by="Innkjop@Sorby.bergvik.no", description="IPAD AIR")
    token_id = imported_token()
    with db.unit_of_work() as session:
        assert sync.sync_token(session, token_id).ok
    return token_id, nordby, sorby


def expected(db) -> dict[str, tuple[str | None, str | None, str | None]]:
    with db.session() as session:
        return {row.serial_number: (row.school.code if row.school else None, row.group.name if row.group else None,
                                    row.assigned_via)
                for row in session.scalars(select(AsmDevice))}


def run_sync(db, token_id):
    with db.unit_of_work() as session:
        return sync.sync_token(session, token_id)


def test_a_rule_gives_devices_without_a_school_their_school_at_once(db, synced):
    _, nordby, sorby = synced
    with db.unit_of_work() as session:
        _, count = assignment.add_rule(session, cli_principal(), field="assigned_by", pattern="*@nordby.bergvik.no",
                                       school_code="nordby", group="5A")
        assert count == 3
        assignment.add_rule(session, cli_principal(), field="description", pattern="ipad air", school_code="sorby")
    found = expected(db)
    assert {found[s][:2] for s in nordby} == {("nordby", "5A")} and {found[s][:2] for s in sorby} == {("sorby", None)}
    assert found[nordby[0]][2].startswith("rule:")


def test_the_first_rule_by_position_wins_and_rules_never_move_a_device_assigned_by_hand(db, fake_dep, synced):
    token_id, nordby, _ = synced
    with db.unit_of_work() as session:
        assignment.assign(session, cli_principal(), [nordby[0]], "sorby")
        assignment.add_rule(session, cli_principal(), field="serial_number", pattern="DMP*", school_code="sorby", position=200)
        assignment.add_rule(session, cli_principal(), field="serial_number", pattern="DMPN*", school_code="nordby", position=10)
    found = expected(db)
    assert found[nordby[0]][0] == "sorby" and found[nordby[0]][2] == "manual:" + cli_principal().label
    assert found[nordby[1]][0] == "sorby"  # the first rule took every device without a school at once
    new = fake_dep.add_devices(1, prefix="DMPN", start=50)[0]
    run_sync(db, token_id)
    assert expected(db)[new][0] == "nordby"  # a new device meets the rules in their order


def test_a_csv_is_checked_whole_before_anything_is_applied(db, synced):
    _, nordby, sorby = synced
    with db.unit_of_work() as session, pytest.raises(InvalidInput) as refused:
        assignment.assign_csv(session, cli_principal(), f"serial,school,class\n{nordby[0]},nordby,5A\n{sorby[0]}\n")
    assert refused.value.details == {"csv": ["line 3: expected serial,school[,class]"]}
    assert expected(db)[nordby[0]][0] is None
    with db.unit_of_work() as session, pytest.raises(NotFound, match="not assigned"):
        assignment.assign_csv(session, cli_principal(), f"{nordby[0]},nordby\nC02UNKNOWN1,nordby\n")
    assert expected(db)[nordby[0]][0] is None
    with db.unit_of_work() as session:
        assert assignment.assign_csv(session, cli_principal(), f"{nordby[0]},nordby,5A\n{sorby[0]},SORBY\n") == 2
    found = expected(db)
    assert found[nordby[0]][:2] == ("nordby", "5A") and found[sorby[0]][:2] == ("sorby", None)
    assert found[sorby[0]][2].startswith("csv:")


def test_moving_a_device_to_another_school_moves_its_profile_at_apple(db, fake_dep, synced):
    token_id, nordby, _ = synced
    with db.unit_of_work() as session:
        assignment.assign(session, cli_principal(), nordby, "nordby")
        assert session.scalar(select(AsmToken.sync_requested_at).where(AsmToken.id == token_id)) is not None
    report = run_sync(db, token_id)
    assert report.profiles.defined == 1 and report.profiles.assigned == 3
    nordby_profile = fake_dep.assigned()[nordby[0]]
    with db.unit_of_work() as session:
        assignment.assign(session, cli_principal(), [nordby[0]], "sorby")
    report = run_sync(db, token_id)
    assert report.profiles.defined == 1 and report.profiles.assigned == 1
    assert fake_dep.assigned()[nordby[0]] != nordby_profile and fake_dep.assigned()[nordby[1]] == nordby_profile
    assert fake_dep.profiles[fake_dep.assigned()[nordby[0]]]["department"] == "Sørby skole"
    assert run_sync(db, token_id).profiles.assigned == 0  # nothing left to do
    with db.unit_of_work() as session:
        assignment.assign(session, cli_principal(), [nordby[1]], None)  # expected nowhere
    assert run_sync(db, token_id).profiles.removed == 1
    assert nordby[1] not in fake_dep.assigned() and fake_dep.devices[nordby[1]].profile_status == "removed"


def test_a_changed_school_profile_is_defined_again_and_reassigned(db, fake_dep, synced):
    token_id, nordby, _ = synced
    with db.unit_of_work() as session:
        assignment.assign(session, cli_principal(), nordby, "nordby")
    run_sync(db, token_id)
    with db.unit_of_work() as session:
        profiles.update_school_profile(session, cli_principal(), "nordby", support_phone="+47 55 12 34 56", department=None)
        profiles.update_settings(session, cli_principal(), {"skip_setup_items": ["Siri", "restore"], "support_email": "it@bergvik.no"})
    report = run_sync(db, token_id)
    assert report.profiles.defined == 1 and report.profiles.assigned == 3
    defined = fake_dep.profiles[fake_dep.assigned()[nordby[0]]]
    assert defined["support_phone_number"] == "+47 55 12 34 56" and defined["skip_setup_items"] == ["Restore", "Siri"]
    assert defined["support_email_address"] == "it@bergvik.no"


def test_settings_apple_would_refuse_are_refused_here(db, world):
    with db.unit_of_work() as session:
        with pytest.raises(InvalidInput, match="skip"):
            profiles.update_settings(session, cli_principal(), {"skip_setup_items": ["FileVault"]})
        with pytest.raises(InvalidInput, match="region"):
            profiles.update_settings(session, cli_principal(), {"region": "Norway"})
        with pytest.raises(InvalidInput, match="support_phone"):
            profiles.update_school_profile(session, cli_principal(), "nordby", support_phone="ring meg", department=None)


def test_an_ict_contact_sees_and_sorts_only_their_schools_expected_ipads(db, client, world, synced):
    _, nordby, sorby = synced
    with db.unit_of_work() as session:
        assignment.assign(session, cli_principal(), nordby[:2], "nordby")
        assignment.assign(session, cli_principal(), sorby[:1], "sorby")
        ict = people.api_token(session, [(Role.SCHOOL_ICT, world.nordby.id)])
        ids = {row.serial_number: row.id for row in session.scalars(select(AsmDevice))}
    headers = people.bearer(ict)
    listed = client.get("/api/v1/asm/devices", headers=headers).get_json()
    assert listed["total"] == 2 and {item["serial_number"] for item in listed["devices"]} == set(nordby[:2])
    assert client.get(f"/api/v1/asm/devices/{ids[sorby[0]]}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/asm/devices/{ids[nordby[2]]}", headers=headers).status_code == 404  # no school yet
    moved = client.put(f"/api/v1/asm/devices/{ids[nordby[0]]}/assignment", headers=headers, json={"group": "5A"})
    assert moved.status_code == 200 and moved.get_json()["group"] == "5A"
    refused = client.put(f"/api/v1/asm/devices/{ids[nordby[0]]}/assignment", headers=headers, json={"school": "sorby"})
    assert refused.status_code == 403
    assert client.put(f"/api/v1/asm/devices/{ids[sorby[0]]}/assignment", headers=headers, json={"group": "5A"}).status_code == 404
    assert client.put("/api/v1/asm/settings", headers=headers, json={"language": "en"}).status_code == 403
    assert client.put("/api/v1/asm/schools/nordby", headers=headers, json={"support_phone": "+47 12345678"}).status_code == 200
    assert client.put("/api/v1/asm/schools/sorby", headers=headers, json={"support_phone": "+47 12345678"}).status_code == 404
    page = client.get("/asm/devices?school=nordby")
    assert page.status_code == 302  # the dashboard wants a signed-in admin, not a token


def test_an_ict_contacts_dashboard_lists_the_expected_ipads_with_their_class(db, client, world, synced):
    _, nordby, sorby = synced
    with db.unit_of_work() as session:
        assignment.assign(session, cli_principal(), nordby[:2], "nordby", "5A")
        assignment.assign(session, cli_principal(), sorby[:1], "sorby")
        ict = people.admin(session, [(Role.SCHOOL_ICT, world.nordby.id)])
    people.sign_in(client, ict)
    page = client.get("/asm/devices?school=nordby", headers=ENGLISH).get_data(as_text=True)
    assert nordby[0] in page and nordby[1] in page and sorby[0] not in page and "5A" in page
    assert client.get("/asm/devices?school=sorby").status_code == 404
    assert client.get("/asm").status_code == 403


def test_group_of_another_school_is_refused(db, world, synced):
    _, nordby, _ = synced
    with db.unit_of_work() as session:
        with pytest.raises(NotFound, match="no class"):
            assignment.assign(session, cli_principal(), nordby[:1], "sorby", "5A")
        ict = people.principal(people.admin(session, [(Role.SCHOOL_ICT, world.nordby.id)]))
        with pytest.raises(Forbidden):
            assignment.assign(session, ict, nordby[:1], "nordby")
