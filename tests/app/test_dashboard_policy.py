"""The dashboard's policy page: central IT locks in the baseline, a school's ICT contact previews and saves.

Refusals (a key central IT locked, a value that does not fit) come back on
the same page with the key and the reason, status 422, and nothing is saved.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.models import AdminUser, Device, Group, PolicyVersion, School
from app.services import policy
from app.services.access import Role, cli_principal, principal_for_admin
from app.services.pki import certificate_authority
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


def test_the_form_suggests_payloads_and_keys_so_nobody_needs_apples_schema_at_hand(client, world):
    people.sign_in(client, world["ict"])
    page = client.get("/schools/nordby/policy").get_data(as_text=True)
    assert '<option value="passcode">' in page and '<option value="minLength">passcode: ' in page
    assert '<option value="allowCamera">restrictions: ' in page
    assert '<option value="PayloadUUID">' not in page  # Flokk writes those


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
        ({"payload": "passcode", "key": "minLength", "value": "8", "note": "n" * 501}, "Longer than maximum length 500."),
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


# ------------------------------------------------------- a group's layer, history and restore


@pytest.fixture
def group(db, world):
    """Class 5A/B of Nordby (a name with a slash) with one of its two iPads; Sørby with its own class."""
    with db.session() as session:
        nordby = session.scalar(select(School).where(School.code == "nordby"))
        found = factories.group(session, nordby, "5A/B")
        ipad = session.scalars(select(Device).where(Device.school_id == nordby.id).order_by(Device.id)).first()
        ipad.group_id = found.id
        sorby = factories.school(session, "sorby", "Sørby skole")
        factories.group(session, sorby, "Sorby 6C")
        session.commit()
        return {"id": found.id, "device": ipad.id}


def test_the_ict_contact_sets_a_class_setting_in_context(client, db, world, group):
    lock_the_camera(client, world)
    people.sign_in(client, world["ict"])
    assert post(client, "/schools/nordby/policy", payload="passcode", key="minLength", value="6", intent="save").status_code == 302
    path = f"/groups/{group['id']}/policy"
    assert f'href="{path}"' in client.get("/groups").get_data(as_text=True)
    assert f'href="{path}"' in client.get("/schools/nordby").get_data(as_text=True)

    page = client.get(path).get_data(as_text=True)
    assert "Policy of 5A/B (Nordby skole)" in page
    assert "baseline → school:nordby → <b>group:nordby/5A/B</b>" in page
    assert "Locked in baseline by admin:it@bergvik.no" in page, "the baseline's lock shows on the group's page"
    assert "<td>passcode</td><td>minLength</td><td><code>6</code></td>\n<td>school:nordby</td>" in page
    assert f'action="{path}"' in page and 'name="lock"' not in page

    preview = post(client, path, payload="passcode", key="minLength", value="8", intent="preview")
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Preview (nothing saved)" in text
    assert "<td>nordby</td><td>test.flokk.flokk.policy.passcode</td><td>install</td><td>1</td>" in text, "only the class's iPad"
    before = versions(db)

    saved = post(client, path, payload="passcode", key="minLength", value="8", intent="save", note="exams in 5A/B")
    assert saved.status_code == 302 and saved.headers["Location"].endswith(path)
    page = client.get(path).get_data(as_text=True)
    assert "Saved as version 1; 1 device(s) get the change." in page
    assert "<td>passcode</td><td>minLength</td><td><code>8</code></td>\n<td>group:nordby/5A/B <small>(this layer)" in page
    assert versions(db) == before + 1
    assert client.get("/schools/nordby/policy").get_data(as_text=True).count("<code>6</code>") == 1, "the school keeps its value"

    refused = post(client, path, payload="restrictions", key="allowCamera", value="true", intent="save")
    assert refused.status_code == 422
    assert "allowCamera</b>: is locked in baseline by admin:it@bergvik.no" in refused.get_data(as_text=True)
    assert versions(db) == before + 1


def test_history_shows_who_when_note_and_what_changed(client, db, world, group):
    people.sign_in(client, world["ict"])
    path = f"/groups/{group['id']}/policy"
    assert "Not changed yet." in client.get(path).get_data(as_text=True)
    post(client, path, payload="passcode", key="minLength", value="8", intent="save", note="exams")
    post(client, path, payload="passcode", key="minLength", value="10", intent="save")
    page = client.get(path).get_data(as_text=True)
    history = page[page.index('id="history"'):]
    assert history.index("<tr><td>2</td>") < history.index("<tr><td>1</td>"), "newest first"
    assert "<td>admin:kari@nordby.no</td>\n<td>exams</td>" in history
    assert "<code>+ com.apple.mobiledevice.passwordpolicy minLength = 8</code>" in history
    assert "<code>~ com.apple.mobiledevice.passwordpolicy minLength: 8 -&gt; 10</code>" in history
    assert history.count("<button type=\"submit\">Restore</button>") == 1, "the current version is not offered"
    for layer_path in ("/schools/nordby/policy", "/policy"):
        assert 'id="history"' in client.get(layer_path).get_data(as_text=True)


def test_a_long_history_lists_the_newest_versions_and_counts_the_rest(client, db, world, monkeypatch):
    from app.http.dashboard import policy as policy_page

    monkeypatch.setattr(policy_page, "HISTORY_SHOWN", 3)
    with db.unit_of_work() as session:
        for length in range(4, 9):
            policy.change(session, cli_principal(), "school:nordby", [Change.set("passcode", "minLength", length)])
        label, newest = policy.history(session, cli_principal(), "school:nordby", newest=3)
        assert [version.number for version in newest] == [3, 4, 5]
    people.sign_in(client, world["ict"])
    history = client.get("/schools/nordby/policy").get_data(as_text=True).split('id="history"')[1]
    assert history.index("<tr><td>5</td>") < history.index("<tr><td>3</td>") and "<tr><td>2</td>" not in history
    assert "2 older version(s) not shown." in history


def test_restore_makes_an_old_version_current_again(client, db, world, group):
    people.sign_in(client, world["ict"])
    path = f"/groups/{group['id']}/policy"
    post(client, path, payload="passcode", key="minLength", value="8", intent="save")
    post(client, path, payload="passcode", key="minLength", value="10", intent="save")
    assert f'action="{path}/versions/1/restore"' in client.get(path).get_data(as_text=True)
    restored = post(client, f"{path}/versions/1/restore")
    assert restored.status_code == 302 and restored.headers["Location"].endswith(path)
    page = client.get(path).get_data(as_text=True)
    assert "Version 1 restored as version 3; 1 device(s) get the change." in page
    assert "<td>passcode</td><td>minLength</td><td><code>8</code></td>" in page
    assert "<td>Restored version 1</td>" in page
    again = post(client, f"{path}/versions/3/restore")
    assert again.status_code == 302 and "Nothing changed" in client.get(path).get_data(as_text=True)
    assert post(client, f"{path}/versions/99/restore").status_code == 404
    assert versions(db) == 3


def test_restore_is_refused_for_a_key_locked_since(client, db, world, group):
    """The group's version 1 set the camera; central IT has locked it since: the restore is refused, nothing saved."""
    people.sign_in(client, world["ict"])
    path = f"/groups/{group['id']}/policy"
    post(client, path, payload="restrictions", key="allowCamera", value="true", intent="save")
    post(client, path, payload="restrictions", key="allowCamera", action="unset", intent="save")
    lock_the_camera(client, world)
    people.sign_in(client, world["ict"])
    before = versions(db)
    refused = post(client, f"{path}/versions/1/restore")
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'role="alert"' in text
    assert "group:nordby/5A/B: change refused, nothing saved" in text
    assert "allowCamera</b>: is locked in baseline by admin:it@bergvik.no" in text
    assert "Policy of 5A/B (Nordby skole)" in text and 'id="history"' in text, "the page stays, with its history"
    assert versions(db) == before


def test_central_it_restores_the_baseline_and_nobody_else(client, db, world):
    lock_the_camera(client, world)
    post(client, "/policy", payload="passcode", key="minLength", value="6", intent="save")
    restored = post(client, "/policy/versions/1/restore")
    assert restored.status_code == 302 and restored.headers["Location"].endswith("/policy")
    assert "Version 1 restored as version 3" in client.get("/policy").get_data(as_text=True)
    people.sign_in(client, world["ict"])
    page = client.get("/policy").get_data(as_text=True)
    assert 'id="history"' in page and "Restore</button>" not in page
    assert post(client, "/policy/versions/2/restore").status_code == 403
    assert versions(db) == 3


def test_school_layer_restore(client, db, world):
    people.sign_in(client, world["ict"])
    post(client, "/schools/nordby/policy", payload="passcode", key="minLength", value="8", intent="save")
    post(client, "/schools/nordby/policy", payload="passcode", key="minLength", action="unset", intent="save")
    restored = post(client, "/schools/nordby/policy/versions/1/restore")
    assert restored.status_code == 302
    assert "<td>passcode</td><td>minLength</td><td><code>8</code></td>" in client.get("/schools/nordby/policy").get_data(as_text=True)


def test_group_forms_need_csrf_and_another_school_is_hidden(client, db, world, group):
    people.sign_in(client, world["ict"])
    path = f"/groups/{group['id']}/policy"
    form = {"payload": "passcode", "key": "minLength", "value": "8", "intent": "save"}
    assert client.post(path, data=form).status_code == 400
    assert client.post(path, data={**form, "csrf_token": "forged"}).status_code == 400
    post(client, path, **form)
    assert client.post(f"{path}/versions/1/restore").status_code == 400
    assert versions(db) == 1
    with db.session() as session:
        theirs = session.scalar(select(Group).where(Group.name == "Sorby 6C")).id
    assert client.get(f"/groups/{theirs}/policy").status_code == 404
    assert client.get("/groups/999999/policy").status_code == 404


def test_a_group_name_too_long_or_odd_is_no_problem(client, db, world):
    """Names with spaces, slashes and non-ASCII letters address the layer by id, whatever they hold."""
    with db.session() as session:
        nordby = session.scalar(select(School).where(School.code == "nordby"))
        odd = factories.group(session, nordby, "Vogn 2/3 – Ærlig #1 ?x=y").id
        session.commit()
    people.sign_in(client, world["ict"])
    saved = post(client, f"/groups/{odd}/policy", payload="passcode", key="minLength", value="8", intent="save")
    assert saved.status_code == 302
    assert "group:nordby/Vogn 2/3 – Ærlig #1 ?x=y" in client.get(f"/groups/{odd}/policy").get_data(as_text=True)


# ------------------------------------------------------- a device's effective policy


def test_a_device_page_links_to_its_effective_policy(client, db, world, group):
    lock_the_camera(client, world)
    people.sign_in(client, world["ict"])
    post(client, "/schools/nordby/policy", payload="passcode", key="minLength", value="6", intent="save")
    post(client, f"/groups/{group['id']}/policy", payload="passcode", key="minLength", value="8", intent="save")
    device_page = client.get(f"/devices/{group['device']}").get_data(as_text=True)
    assert f'href="/devices/{group["device"]}/policy"' in device_page
    assert f'href="/groups/{group["id"]}/policy"' in device_page
    response = client.get(f"/devices/{group['device']}/policy")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "baseline → school:nordby → group:nordby/5A/B" in page
    assert ("<td>passcode</td><td>minLength</td><td><code>8</code></td><td>group:nordby/5A/B</td><td>admin:kari@nordby.no</td>"
            "\n<td></td>\n<td>school:nordby: <code>6</code></td>") in page
    assert "<td>restrictions</td><td>allowCamera</td><td><code>false</code></td><td>baseline</td>" in page
    assert "Locked in baseline by admin:it@bergvik.no" in page
    assert "<code>test.flokk.flokk.policy.passcode</code>" in page
    assert client.get("/devices/999999/policy").status_code == 404


def test_the_device_policy_page_in_norwegian(client, db, world, group):
    lock_the_camera(client, world)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "nb"
    people.sign_in(client, world["ict"])
    page = client.get(f"/devices/{group['device']}/policy").get_data(as_text=True)
    assert "Gjeldende regelverk" in page and "Låst i baseline av admin:it@bergvik.no" in page
    assert "Historikk" in client.get(f"/groups/{group['id']}/policy").get_data(as_text=True)
