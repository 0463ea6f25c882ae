"""The dashboard's Chromebook pages: central IT's Google page, a Chromebook's own page, its commands."""

from __future__ import annotations

from sqlalchemy import select

from app.db import commit
from app.models.devices import Device
from app.services import policy as policy_service
from app.services.access import Role
from app.services.google import inventory, policy
from profiles import Change
from tests.support import people


def _sign_in(client, db, grants):
    with db.unit_of_work() as session:
        admin = people.admin(session, grants)
    people.sign_in(client, admin)


def _form(**fields):
    return {**fields, "csrf_token": people.CSRF}


def test_central_its_google_page_shows_units_and_drift(client, db, domain, principal):
    with db.unit_of_work() as session:
        policy_service.change(session, principal, "baseline", [Change.set("restrictions", "allowCamera", False, lock=True)])
    with db.unit_of_work() as session:
        policy.apply(session, principal)
    domain.google.set_policy_in_console("/Skoler/Nordby", "chrome.users.VideoInput", {"videoCaptureAllowed": True})
    _sign_in(client, db, [(Role.CENTRAL_ADMIN, None)])
    client.post("/language", data=_form(lang="en", next="/google"))
    assert client.post("/google/policy", data=_form()).status_code == 302
    page = client.get("/google").get_data(as_text=True)
    assert "bergvik.no" in page and "/Skoler/Nordby" in page
    assert "chrome.users.VideoInput</code> changed" in page
    assert "PRIVATE KEY" not in page


def test_a_school_ict_contact_has_no_google_page(client, db, domain):
    _sign_in(client, db, [(Role.SCHOOL_ICT, domain.schools["nordby"].id)])
    assert client.get("/google").status_code == 403


def test_a_bad_key_in_the_form_is_a_clear_error_and_nothing_changes(client, db, domain):
    _sign_in(client, db, [(Role.CENTRAL_ADMIN, None)])
    client.post("/language", data=_form(lang="en", next="/"))
    response = client.post("/google/connection", data=_form(key="{not json", admin="it@bergvik.no"))
    assert response.status_code == 422 and "not JSON" in response.get_data(as_text=True)


def test_a_chromebooks_page_and_its_commands(client, db, domain, principal):
    with db.unit_of_work() as session:
        inventory.sync(session, principal, checkpoint=lambda: commit(session))
        policy_service.change(session, principal, "baseline", [Change.set("passcode", "minLength", 6)])
        device = session.scalar(select(Device).where(Device.school_id == domain.schools["nordby"].id).limit(1))
    _sign_in(client, db, [(Role.SCHOOL_ICT, domain.schools["nordby"].id)])
    client.post("/language", data=_form(lang="en", next="/"))
    page = client.get(f"/devices/{device.id}").get_data(as_text=True)
    assert "<code>/Skoler/Nordby</code>" in page and "Not applicable to Chromebooks" in page
    assert "com.apple.mobiledevice.passwordpolicy minLength" in page
    assert 'value="REMOTE_POWERWASH"' in page and 'value="EraseDevice"' not in page
    sent = client.post(f"/devices/{device.id}/commands", data=_form(request_type="SET_VOLUME", volume="30"))
    assert sent.status_code == 302
    (call,) = domain.google.calls(r":issueCommand$")
    assert call.body == {"commandType": "SET_VOLUME", "payload": '{"volume": 30}'}
    asked = client.post(f"/devices/{device.id}/commands", data=_form(request_type="WIPE_USERS", reason="ny elev neste år"))
    assert asked.status_code == 302
    assert len(domain.google.calls(r":issueCommand$")) == 1  # the wipe waits for approval
