"""The dashboard's policy page: central IT locks in the baseline, a school's ICT contact previews and saves.

Refusals (a key central IT locked, a value that does not fit) come back on
the same page with the key and the reason, status 422, and nothing is saved.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.models import AdminUser, PolicyVersion
from app.services import certificate_authority, policy
from app.services.access import Role, cli_principal, principal_for_admin
from profiles import Change
from tests.support import factories, people
from tests.support.pki import shared_ca


@pytest.fixture
def client(client):
    """In English; the Norwegian texts are checked by test_translations and the browser walk-through."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def world(db):
    with db.session() as session:
        certificate_authority.import_ca(session, cli_principal(), shared_ca().certificate_pem(), shared_ca().key_pem())
        nordby = factories.school(session, "nordby", "Nordby skole")
        for _ in range(2):
            factories.device(session, nordby)
        central = people.admin(session, [(Role.CENTRAL_ADMIN, None)], email="it@bergvik.no")
        ict = people.admin(session, [(Role.SCHOOL_ICT, nordby.id)], email="kari@nordby.no")
        session.commit()
    return {"central": central, "ict": ict}


def versions(db) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(PolicyVersion))


def post(client, path, **fields):
    return client.post(path, data={"csrf_token": people.CSRF, **fields})


def lock_the_camera(client, world):
    people.sign_in(client, world["central"])
    saved = post(client, "/policy", payload="restrictions", key="allowCamera", value="false", lock="1", intent="save")
    assert saved.status_code == 302 and saved.headers["Location"].endswith("/policy")
    page = client.get("/policy").get_data(as_text=True)
    assert "Saved as version 1" in page and "Locked in baseline by admin:it@bergvik.no" in page


def test_the_ict_contact_sees_the_lock_previews_and_saves(client, db, world):
    lock_the_camera(client, world)
    people.sign_in(client, world["ict"])
    assert 'href="/schools/nordby/policy"' in client.get("/schools/nordby").get_data(as_text=True)
    page = client.get("/schools/nordby/policy").get_data(as_text=True)
    assert "Locked in baseline by admin:it@bergvik.no" in page
    assert 'name="lock"' not in page, "only central IT locks, on the baseline"

    preview = post(client, "/schools/nordby/policy", payload="passcode", key="minLength", value="8", intent="preview")
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Preview (nothing saved)" in text
    assert "+ com.apple.mobiledevice.passwordpolicy minLength = 8" in text
    assert "<td>nordby</td><td>test.flokk.flokk.policy.passcode</td><td>install</td><td>2</td>" in text
    assert versions(db) == 1

    saved = post(client, "/schools/nordby/policy", payload="passcode", key="minLength", value="8", intent="save")
    assert saved.status_code == 302 and saved.headers["Location"].endswith("/schools/nordby/policy")
    page = client.get("/schools/nordby/policy").get_data(as_text=True)
    assert "Saved as version 1; 2 device(s) get the change." in page and "(this layer)" in page
    assert versions(db) == 2

    unset = post(client, "/schools/nordby/policy", payload="passcode", key="minLength", action="unset", intent="save")
    assert unset.status_code == 302 and versions(db) == 3


@pytest.mark.parametrize(
    ("fields", "shown"),
    [
        ({"payload": "restrictions", "key": "allowCamera", "value": "true"}, "is locked in baseline by admin:it@bergvik.no"),
        ({"payload": "passcode", "key": "minLength", "value": "eight"}, "minLength must be a whole number"),
        ({"payload": "passcode", "key": "minLength", "value": "17"}, "must be at most 16"),
        ({"payload": "passcode", "key": "minLenght", "value": "8"}, "is not a key Apple"),
        ({"payload": "teleporter", "key": "minLength", "value": "8"}, "teleporter"),
        ({"payload": "passcode", "key": "minLength"}, "Give the value to set."),
        ({"payload": "homescreen", "key": "Pages", "value": "[[{"}, "Pages must be JSON."),
        ({"payload": "homescreen", "key": "Pages", "value": '[{"$flokk": "bogus"}]'}, "use the actions remove or lock"),
        ({"payload": "homescreen", "key": "Pages", "value": "[" * 50_000}, "Pages must be JSON."),
    ],
)
def test_refusals_show_on_the_page_and_save_nothing(client, db, world, fields, shown):
    lock_the_camera(client, world)
    people.sign_in(client, world["ict"])
    for intent in ("preview", "save"):
        response = post(client, "/schools/nordby/policy", intent=intent, **fields)
        text = response.get_data(as_text=True)
        assert response.status_code == 422, text
        assert shown.replace("'", "&#39;") in text and 'role="alert"' in text
        assert "Locked in baseline" in text, "the page stays, with its locks"
    assert versions(db) == 1


def test_only_central_it_changes_the_baseline_and_forms_need_csrf(client, db, world):
    lock_the_camera(client, world)
    people.sign_in(client, world["ict"])
    page = client.get("/policy").get_data(as_text=True)
    assert "Locked in baseline" in page and "Change a setting" not in page
    assert post(client, "/policy", payload="passcode", key="minLength", value="4", intent="save").status_code == 403
    no_csrf = client.post("/schools/nordby/policy", data={"payload": "passcode", "key": "minLength", "value": "8", "intent": "save"})
    assert no_csrf.status_code == 400
    assert versions(db) == 1


def test_whole_payload_locks_and_removals_are_listed(client, db, world):
    """They set no value, so they are not among the effective values; the school must still see them."""
    with db.session() as session:
        central = principal_for_admin(session.get(AdminUser, world["central"].id))
        policy.change(session, central, "baseline", [Change.lock_it("webfilter")])
        policy.change(session, central, "school:nordby", [Change.remove("wifi:guest")])
        session.commit()
    people.sign_in(client, world["ict"])
    page = client.get("/schools/nordby/policy").get_data(as_text=True)
    assert ("<td>webfilter</td><td>(whole payload)</td><td><code>(locked)</code></td>\n<td>baseline</td>\n"
            "<td>admin:it@bergvik.no</td>\n<td><span class=\"lock\">Locked in baseline by admin:it@bergvik.no") in page
    assert "<td>wifi:guest</td><td>(whole payload)</td><td><code>(removed)</code></td>\n<td>school:nordby <small>(this layer)" in page


def test_secrets_are_masked_on_the_page(client, world):
    people.sign_in(client, world["ict"])
    for key, value in (("SSID_STR", "Nordby"), ("EncryptionType", "WPA2"), ("Password", "korrekt-hest-batteri")):
        assert post(client, "/schools/nordby/policy", payload="wifi:nordby", key=key, value=value, intent="save").status_code == 302
    page = client.get("/schools/nordby/policy").get_data(as_text=True)
    assert "korrekt-hest-batteri" not in page and "********" in page
