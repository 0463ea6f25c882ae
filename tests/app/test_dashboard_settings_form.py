"""Settings as a form from Apple's schema: titles, switches, selects, numbers with their range; a setting
central IT locked is read-only with who locked it; the form previews and saves only what changed."""

from __future__ import annotations

import re

import pytest
from app.services import policy
from app.services.access import Role, cli_principal
from app.services.pki import certificate_authority
from profiles import Change
from tests.support import factories, people
from tests.support.pki import shared_ca

EN = {"Accept-Language": "en"}


@pytest.fixture
def world(db):
    with db.session() as session:
        certificate_authority.import_ca(session, cli_principal(), shared_ca().certificate_pem(), shared_ca().key_pem())
        nordby = factories.school(session, "nordby", "Nordby skole")
        for _ in range(2):
            factories.device(session, nordby)
        ict = people.admin(session, [(Role.SCHOOL_ICT, nordby.id)], email="kari@nordby.no")
        auditor = people.admin(session, [(Role.AUDITOR, None)])
        session.commit()
    with db.unit_of_work() as session:
        policy.change(session, cli_principal(), "baseline", [Change.set("restrictions", "allowCamera", False, lock=True)])
    return {"ict": ict, "auditor": auditor}


def row(page: str, key: str) -> str:
    return re.search(rf'<tr class="[^"]*" id="setting-{key}">(.*?)</tr>', page, flags=re.S).group(1)


def test_the_form_shows_apples_titles_switches_and_ranges_and_a_locked_one_read_only(client, world):
    people.sign_in(client, world["ict"])
    page = client.get("/schools/nordby/policy?form=restrictions", headers=EN).get_data(as_text=True)
    camera = row(page, "allowCamera")
    assert "Allow Camera Use" in camera and "Locked in baseline by cli" in camera
    assert "<input" not in camera  # read-only
    airdrop = row(page, "allowAirDrop")
    assert 'type="checkbox" role="switch"' in airdrop and "supervised iPads only" in airdrop
    passcode = client.get("/schools/nordby/policy?form=passcode", headers=EN).get_data(as_text=True)
    length = row(passcode, "minLength")
    assert 'type="number"' in length and 'min="0"' in length and 'max="16"' in length and "from 0 to 16" in length
    norwegian = client.get("/schools/nordby/policy?form=passcode", headers={"Accept-Language": "nb"}).get_data(as_text=True)
    assert "Endre innstillinger" in norwegian and "Apples standard" in norwegian
    assert client.get("/schools/nordby/policy?form=wifi", headers=EN).status_code == 422


def test_switch_preview_and_save_only_what_changed(client, db, world):
    people.sign_in(client, world["ict"])
    form = {"csrf_token": people.CSRF, "form_payload": "restrictions", "intent": "preview",
            "setting.allowAirDrop": ["false"],  # switched off (a switch that is on sends "false" then "true")
            "setting.allowSafari": ["false", "true"], "setting.allowCamera": ["false", "true"]}
    # The camera is locked: a locked field is not in the form; sent anyway it is left out, not changed.
    form.pop("setting.allowCamera")
    preview = client.post("/schools/nordby/policy", data=form, headers=EN)
    assert preview.status_code == 200
    text = preview.get_data(as_text=True)
    assert "Preview (nothing saved)" in text and "allowAirDrop" in text and "allowSafari" not in text.split("Preview")[1].split("</section>")[0]
    form["intent"] = "save"
    saved = client.post("/schools/nordby/policy", data=form, headers=EN)
    assert saved.status_code == 302
    stack_page = client.get("/schools/nordby/policy?form=restrictions", headers=EN).get_data(as_text=True)
    airdrop = row(stack_page, "allowAirDrop")
    assert "checked" not in airdrop and "school:nordby" in airdrop
    # Saving the same again changes nothing.
    again = client.post("/schools/nordby/policy", data=form, headers=EN)
    assert again.status_code == 302
    assert "Nothing changed" in client.get(again.headers["Location"], headers=EN).get_data(as_text=True)


def test_a_value_out_of_range_and_a_locked_key_are_refused_on_the_page(client, world):
    people.sign_in(client, world["ict"])
    form = {"csrf_token": people.CSRF, "form_payload": "passcode", "intent": "save", "setting.minLength": "99"}
    refused = client.post("/schools/nordby/policy", data=form, headers=EN)
    assert refused.status_code == 422 and "minLength" in refused.get_data(as_text=True)
    bogus = {"csrf_token": people.CSRF, "form_payload": "passcode", "intent": "save", "setting.noSuchKey": "1"}
    assert client.post("/schools/nordby/policy", data=bogus, headers=EN).status_code == 422


def test_a_read_only_role_sees_values_without_inputs(client, world):
    people.sign_in(client, world["auditor"])
    page = client.get("/schools/nordby/policy?form=passcode", headers=EN).get_data(as_text=True)
    assert "<input type=\"number\"" not in page and "Apple's default" in page
