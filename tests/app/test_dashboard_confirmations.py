"""Every destructive or access-changing button asks first (the question names what happens), a new right
defaults to the least privilege, and an approval shows what, on which devices, who asked and why."""

from __future__ import annotations

import re

import pytest

from app.services.access import Role, approvals, principal_for_admin
from app.services.mdm import enrollment
from tests.support import factories, people

EN = {"Accept-Language": "en"}


@pytest.fixture
def world(db):
    with db.session() as session:
        nordby = factories.school(session, "nordby", "Nordby skole")
        class_4a = factories.group(session, nordby, "4A")
        ipad = factories.device(session, nordby, group=class_4a)
        ipad.name, ipad.serial_number = "Elev-iPad 7", "DMPX1234"
        central = people.admin(session, [(Role.CENTRAL_ADMIN, None)], email="it@bergvik.no")
        ict = people.admin(session, [(Role.SCHOOL_ICT, nordby.id)], email="kari@nordby.no")
        session.flush()
        token = enrollment.create_token(session, principal_for_admin(central), school_code="nordby", label="Vogn 1").token
        api = people.api_token(session, [(Role.AUDITOR, None)], name="reports")
        request = approvals.submit(session, principal_for_admin(ict), [ipad.id], "EraseDevice",
                                   reason="Stolen from the classroom").approval
        session.commit()
        return {"central": central, "ict": ict, "ipad": ipad.id, "group": class_4a.id, "token": token.id,
                "approval": request.id, "api": api}


def confirm_forms(page: str) -> dict[str, str]:
    """Each confirmation's form action → the question it asks (inside <details class="confirm">)."""
    found = {}
    for block in re.findall(r'<details class="confirm">(.*?)</details>', page, flags=re.S):
        action = re.search(r'<form method="post" action="([^"]+)"', block).group(1)
        found[action] = re.sub(r"\s+", " ", re.search(r"<p>(.*?)</p>", block, flags=re.S).group(1))
    return found


def no_bare_post(page: str, action: str) -> None:
    """The action is only reachable through its confirmation."""
    outside = re.sub(r'<details class="confirm">.*?</details>', "", page, flags=re.S)
    assert f'action="{action}"' not in outside, action


def test_the_destructive_buttons_ask_first(client, world):
    people.sign_in(client, world["central"])
    admin_page = client.get(f"/admins/{world['ict'].id}", headers=EN).get_data(as_text=True)
    forms = confirm_forms(admin_page)
    deactivate = f"/admins/{world['ict'].id}/active"
    assert "Deactivate kari@nordby.no?" in forms[deactivate]
    no_bare_post(admin_page, deactivate)
    assert any("Remove the right “school ICT contact” from kari@nordby.no?" in question for question in forms.values())

    links = client.get("/enrollment-tokens", headers=EN).get_data(as_text=True)
    revoke = f"/enrollment-tokens/{world['token']}/revoke"
    assert "Revoke the enrollment link Vogn 1?" in confirm_forms(links)[revoke]
    no_bare_post(links, revoke)

    groups = client.get("/groups", headers=EN).get_data(as_text=True)
    delete = f"/groups/{world['group']}/delete"
    assert "Delete the group 4A? Its 1 device(s) stay" in confirm_forms(groups)[delete]
    no_bare_post(groups, delete)

    tokens = client.get("/api-tokens", headers=EN).get_data(as_text=True)
    assert any("Revoke the API token reports?" in question for question in confirm_forms(tokens).values())


def test_an_erase_is_asked_for_with_a_confirmation_and_a_reason(client, world):
    people.sign_in(client, world["ict"])
    page = client.get(f"/devices/{world['ipad']}", headers=EN).get_data(as_text=True)
    action = f"/devices/{world['ipad']}/commands"
    erase = [block for block in re.findall(r'<details class="confirm">(.*?)</details>', page, flags=re.S)
             if 'value="EraseDevice"' in block]
    assert len(erase) == 1 and "Ask for “Erase all content (needs approval)” on Elev-iPad 7?" in erase[0]
    assert 'name="reason"' in erase[0] and "required" in erase[0]
    # The everyday command list no longer offers the erase without the question.
    select = re.search(r'<select name="request_type".*?</select>', page, flags=re.S).group(0)
    assert "EraseDevice" not in select and "DeviceLock" in select
    assert action  # the same endpoint answers both


def test_an_approval_shows_the_devices_who_and_why_and_asks_before_deciding(client, world):
    people.sign_in(client, world["central"])
    page = client.get("/approvals?status=pending", headers=EN).get_data(as_text=True)
    card = page[page.index(f'id="approval-{world["approval"]}"'):]
    for expected in ("Erase all content", "Nordby skole", "kari@nordby.no", "Stolen from the classroom",
                     "Elev-iPad 7", "DMPX1234", "<td>4A</td>"):
        assert expected in card, expected
    forms = confirm_forms(page)
    approve, reject = f"/approvals/{world['approval']}/approve", f"/approvals/{world['approval']}/reject"
    assert "to 1 device(s) now? This cannot be undone." in forms[approve]
    assert "Reject the request?" in forms[reject]
    no_bare_post(page, approve)
    norwegian = client.get("/approvals?status=pending", headers={"Accept-Language": "nb"}).get_data(as_text=True)
    assert "Godkjenn …" in norwegian and "Hvorfor" in norwegian
    # Approving with a note.
    response = client.post(approve, data={"csrf_token": people.CSRF, "note": "Confirmed by phone"}, headers=EN)
    assert response.status_code == 302
    decided = client.get("/approvals", headers=EN).get_data(as_text=True)
    assert "Confirmed by phone" in decided


def test_an_ict_contact_sees_only_devices_of_their_school_in_a_request(client, db, world):
    with db.session() as session:
        sorby = factories.school(session, "sorby", "Sørby skole")
        other = people.admin(session, [(Role.SCHOOL_ICT, sorby.id)])
        session.commit()
    people.sign_in(client, other)
    page = client.get("/approvals", headers=EN).get_data(as_text=True)
    assert "Elev-iPad 7" not in page and "DMPX1234" not in page


def test_a_new_right_defaults_to_the_least_privilege_at_one_school(client, world):
    people.sign_in(client, world["central"])
    for path in ("/admins", f"/admins/{world['ict'].id}"):
        page = client.get(path, headers=EN).get_data(as_text=True)
        role = re.search(r'<select name="role">(.*?)</select>', page, flags=re.S).group(1)
        school = re.search(r'<select name="school">(.*?)</select>', page, flags=re.S).group(1)
        first_role = re.search(r'<option value="([^"]*)"', role).group(1)
        first_school = re.search(r'<option value="([^"]*)"', school).group(1)
        assert first_role == "auditor" and first_school == "nordby", path
        assert role.index('"central_admin"') > role.index('"school_ict"')
