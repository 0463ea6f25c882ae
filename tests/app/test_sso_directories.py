"""Sign-in with Feide and Entra ID as schools really use them: grants from Feide's Groups API and from
Entra's group claims, their overage (Microsoft Graph) and app roles, re-evaluated at every sign-in."""

from __future__ import annotations

import uuid

import pytest
import requests
from sqlalchemy import select

from app import create_app
from app.models import AdminUser, AuditEvent, Device, Group, RoleGrant, RosterClass, School, SsoGrantRule
from app.services.access import Role, system_principal
from app.services.rosters import importer
from app.services.rosters.roster_csv import Person, RosterGroup
from tests.fakes.entra import FakeEntra
from tests.fakes.feide import FakeFeide, school, school_owner, teaching_group
from tests.support import factories

REALM, NORDBY_UNIT = "bergvik.kommune.no", "NO975278964"
UNIT = f"fc:org:{REALM}:unit:{NORDBY_UNIT}"
EMPLOYEE, PUPIL = ["member", "employee", "faculty"], ["member", "student"]


@pytest.fixture(autouse=True)
def _plain_http(monkeypatch):
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # the fakes speak plain HTTP on 127.0.0.1


@pytest.fixture
def feide():
    with FakeFeide() as fake:
        yield fake


@pytest.fixture
def entra():
    with FakeEntra() as fake:
        yield fake


@pytest.fixture
def sso_app(settings, db, feide, entra):
    flask_app = create_app(settings.replace(
        oidc_feide_issuer=feide.issuer, oidc_feide_client_id=feide.client_id, oidc_feide_client_secret=feide.client_secret,
        oidc_feide_groups_url=feide.groups_url,
        oidc_entra_issuer=entra.issuer, oidc_entra_client_id=entra.client_id, oidc_entra_client_secret=entra.client_secret,
        oidc_entra_graph_url=entra.graph_url,
    ))
    flask_app.config["TESTING"] = True
    flask_app.extensions["flokk"].db = db
    return flask_app


@pytest.fixture
def nordby(db):
    """Two schools; Nordby's ICT contacts are its employees; teachers of teaching groups teach the class made from it."""
    with db.session() as session:
        nordby, sorby = factories.school(session, "nordby"), factories.school(session, "sorby")
        session.add_all([
            SsoGrantRule(provider="feide", claim_value=UNIT, affiliation="employee", role=Role.SCHOOL_ICT,
                         school_id=nordby.id, created_by="test"),
            SsoGrantRule(provider="feide", claim_value="type:fc:gogroup:u", affiliation="faculty", role=Role.TEACHER,
                         created_by="test"),
        ])
        session.commit()
        return {"nordby": nordby.id, "sorby": sorby.id}


def sign_in(client, provider: str):
    start = client.get(f"/login/{provider}")
    assert start.status_code == 302, start.get_data(as_text=True)
    at_provider = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    assert at_provider.status_code == 302, at_provider.text
    return client.get(at_provider.headers["Location"].removeprefix("https://flokk.test"))


def grants_of(db, email: str) -> list[tuple]:
    with db.session() as session:
        admin = session.scalar(select(AdminUser).where(AdminUser.email == email))
        if admin is None:
            return []
        return sorted((g.role, g.school.code if g.school else None, g.group.name if g.group else None) for g in admin.grants)


# ------------------------------------------------------------------------------------------ Feide


def test_the_ict_contact_of_a_school_gets_it_through_the_org_unit_group(sso_app, db, feide, nordby):
    feide.sign_in_as("sub-kari", "kari@bergvik.kommune.no", "Kari",
                     [school_owner(REALM, "Bergvik kommune", EMPLOYEE, "employee"), school(REALM, NORDBY_UNIT, "Nordby skole")])
    client = sso_app.test_client()
    assert sign_in(client, "feide").headers["Location"] == "/"
    assert grants_of(db, "kari@bergvik.kommune.no") == [("school_ict", "nordby", None)]
    assert client.get("/schools/nordby").status_code == 200
    assert client.get("/schools/sorby").status_code == 404
    assert feide.groups_requests == 1  # read once per sign-in, with the person's own token


def test_a_pupil_of_the_same_school_gets_nothing(sso_app, db, feide, nordby):
    feide.sign_in_as("sub-ola", "ola@bergvik.kommune.no", "Ola",
                     [school_owner(REALM, "Bergvik kommune", PUPIL, "student"), school(REALM, NORDBY_UNIT, "Nordby skole")])
    refused = sign_in(sso_app.test_client(), "feide")
    assert refused.headers["Location"] == "/login/refused"
    assert grants_of(db, "ola@bergvik.kommune.no") == []


def _class_from(db, school_id: int, group: dict, name: str, devices: int = 2) -> tuple[int, list[int]]:
    """The class Flokk made from a teaching group (as an import would), with its iPads."""
    with db.session() as session:
        found = session.get(School, school_id)
        importer.apply(session, system_principal(), found,
                       [RosterGroup(group["id"], name, (Person("ola@bergvik.kommune.no", "Ola", "student"),))],
                       source=importer.FEIDE, complete=False)
        made = session.scalar(select(Group).join(RosterClass, RosterClass.group_id == Group.id)
                              .where(RosterClass.external_id == group["id"]))
        device_ids = [factories.device(session, found, group=made).id for _ in range(devices)]
        session.commit()
        return made.id, device_ids


def test_a_teacher_gets_their_class_through_the_teaching_group(sso_app, db, feide, nordby):
    maths = teaching_group(REALM, NORDBY_UNIT, "8a-matte", "Matte 8A", "faculty")
    english = teaching_group(REALM, NORDBY_UNIT, "8b-eng", "Engelsk 8B", "faculty")
    maths_group, maths_devices = _class_from(db, nordby["nordby"], maths, "Matte 8A")
    _, english_devices = _class_from(db, nordby["nordby"], english, "Engelsk 8B")
    feide.sign_in_as("sub-per", "per@bergvik.kommune.no", "Per Lærer",
                     [school_owner(REALM, "Bergvik kommune", ["member", "faculty"], "faculty"),
                      school(REALM, NORDBY_UNIT, "Nordby skole"), maths])
    client = sso_app.test_client()
    assert sign_in(client, "feide").headers["Location"] == "/"
    assert grants_of(db, "per@bergvik.kommune.no") == [("teacher", "nordby", "Matte 8A")]
    listed = client.get("/devices").get_data(as_text=True)
    with db.session() as session:
        serials = {d.id: d.serial_number for d in session.scalars(select(Device))}
    assert all(serials[i] in listed for i in maths_devices)
    assert not any(serials[i] in listed for i in english_devices)
    assert client.get(f"/devices/{maths_devices[0]}").status_code == 200
    assert client.get(f"/devices/{english_devices[0]}").status_code == 404
    assert client.get("/schools/nordby").status_code == 404  # the school itself is not the teacher's


def test_a_pupil_in_the_teaching_group_is_not_its_teacher(sso_app, db, feide, nordby):
    maths = teaching_group(REALM, NORDBY_UNIT, "8a-matte", "Matte 8A", "student")
    _class_from(db, nordby["nordby"], maths, "Matte 8A")
    feide.sign_in_as("sub-ola", "ola@bergvik.kommune.no", "Ola",
                     [school_owner(REALM, "Bergvik kommune", PUPIL), school(REALM, NORDBY_UNIT, "Nordby skole"), maths])
    assert sign_in(sso_app.test_client(), "feide").headers["Location"] == "/login/refused"


def test_the_grant_ends_at_the_next_sign_in_when_the_affiliation_does(sso_app, db, feide, nordby):
    feide.sign_in_as("sub-kari", "kari@bergvik.kommune.no", "Kari",
                     [school_owner(REALM, "Bergvik kommune", EMPLOYEE, "employee"), school(REALM, NORDBY_UNIT, "Nordby skole")])
    client = sso_app.test_client()
    sign_in(client, "feide")
    assert client.get("/schools/nordby").status_code == 200
    # She left her job: Feide still lists her (an alumna account) but no longer as an employee.
    feide.groups["sub-kari"] = [school_owner(REALM, "Bergvik kommune", ["member", "alum"], "alum"),
                                school(REALM, NORDBY_UNIT, "Nordby skole")]
    assert sign_in(sso_app.test_client(), "feide").headers["Location"] == "/login/refused"
    assert grants_of(db, "kari@bergvik.kommune.no") == []
    assert client.get("/schools/nordby").status_code == 403  # the session still open has lost its rights
    with db.session() as session:
        removed = session.scalar(select(AuditEvent.details).where(AuditEvent.action == "grant.remove"))
        assert removed["role"] == "school_ict" and removed["source"] == "sso:feide"


def test_a_teacher_grant_ends_when_the_teaching_group_has_ended(sso_app, db, feide, nordby):
    this_year = teaching_group(REALM, NORDBY_UNIT, "7a-matte", "Matte 7A", "faculty")
    group_id, _ = _class_from(db, nordby["nordby"], this_year, "Matte 7A")
    owner, unit = school_owner(REALM, "Bergvik kommune", ["member", "faculty"]), school(REALM, NORDBY_UNIT, "Nordby")
    feide.sign_in_as("sub-per", "per@bergvik.kommune.no", "Per", [owner, unit, this_year])
    sign_in(sso_app.test_client(), "feide")
    assert grants_of(db, "per@bergvik.kommune.no") == [("teacher", "nordby", "Matte 7A")]
    this_year["notAfter"] = "2020-06-30T00:00:00Z"  # the group has ended: Feide no longer lists it as active
    assert sign_in(sso_app.test_client(), "feide").headers["Location"] == "/login/refused"
    assert grants_of(db, "per@bergvik.kommune.no") == []


def test_when_the_groups_api_is_down_no_grant_is_given_and_the_page_says_why(sso_app, db, feide, nordby):
    feide.sign_in_as("sub-kari", "kari@bergvik.kommune.no", "Kari",
                     [school_owner(REALM, "Bergvik kommune", EMPLOYEE), school(REALM, NORDBY_UNIT, "Nordby skole")])
    client = sso_app.test_client()
    sign_in(client, "feide")
    assert grants_of(db, "kari@bergvik.kommune.no") == [("school_ict", "nordby", None)]
    feide.groups_status = 503
    fresh = sso_app.test_client()
    refused = sign_in(fresh, "feide")
    assert refused.headers["Location"] == "/login/refused"
    page = fresh.get("/login/refused", headers={"Accept-Language": "en"})
    text = page.get_data(as_text=True)
    assert page.status_code == 403
    assert "could not read your groups from Feide" in text and "503" in text
    assert grants_of(db, "kari@bergvik.kommune.no") == []  # derived grants are denied, not kept from last time
    assert client.get("/schools/nordby").status_code == 403


def test_a_new_person_while_the_groups_api_is_down_is_told_so(sso_app, db, feide, nordby):
    feide.sign_in_as("sub-new", "ny@bergvik.kommune.no", "Ny", [school_owner(REALM, "Bergvik kommune", EMPLOYEE)])
    feide.groups_status = 500
    client = sso_app.test_client()
    sign_in(client, "feide")
    assert "could not read your groups from Feide" in client.get("/login/refused").get_data(as_text=True)
    with db.session() as session:
        assert session.scalar(select(AdminUser)) is None


def test_when_feide_cannot_be_reached_the_sign_in_page_says_so(settings, db):
    with FakeFeide() as gone:
        issuer = gone.issuer
    app = create_app(settings.replace(oidc_feide_issuer=issuer, oidc_feide_client_id="x", oidc_feide_client_secret="y"))
    app.config["TESTING"] = True
    app.extensions["flokk"].db = db
    response = app.test_client().get("/login/feide", headers={"Accept-Language": "en"})
    assert response.status_code == 503
    assert "cannot be reached" in response.get_data(as_text=True)


# ------------------------------------------------------------------------------------------ Entra ID


def _entra_rules(db) -> dict[str, str]:
    staff, helpdesk = str(uuid.uuid4()), str(uuid.uuid4())
    with db.session() as session:
        nordby = factories.school(session, "nordby")
        session.add_all([
            SsoGrantRule(provider="entra", claim_value=staff, role=Role.SCHOOL_ICT, school_id=nordby.id, created_by="test"),
            SsoGrantRule(provider="entra", claim_value="Flokk.Helpdesk", role=Role.CENTRAL_HELPDESK, created_by="test"),
        ])
        session.commit()
    return {"staff": staff, "helpdesk": helpdesk}


def _entra_person(entra, groups: list[str], roles: list[str] | None = None) -> None:
    entra.person = {"sub": "entra-oid-1", "email": "ole@bergvik.no", "email_verified": True, "name": "Ole"}
    entra.groups["entra-oid-1"] = groups
    entra.roles["entra-oid-1"] = roles or []


def test_entra_groups_in_the_token_give_the_grant(sso_app, db, entra):
    ids = _entra_rules(db)
    _entra_person(entra, [str(uuid.uuid4()), ids["staff"]])
    assert sign_in(sso_app.test_client(), "entra").headers["Location"] == "/"
    assert grants_of(db, "ole@bergvik.no") == [("school_ict", "nordby", None)]
    assert entra.graph_requests == 0  # the token listed the groups: no Graph call


def test_entra_overage_reads_the_groups_from_graph(sso_app, db, entra):
    ids = _entra_rules(db)
    many = [str(uuid.uuid4()) for _ in range(249)] + [ids["staff"]]  # more than 200: the overage claim
    _entra_person(entra, many)
    assert sign_in(sso_app.test_client(), "entra").headers["Location"] == "/"
    assert grants_of(db, "ole@bergvik.no") == [("school_ict", "nordby", None)]
    assert entra.graph_requests == 3  # 251 objects in pages of 100, the group sought on the last


def test_entra_overage_with_graph_refusing_denies_and_says_why(sso_app, db, entra):
    ids = _entra_rules(db)
    _entra_person(entra, [str(uuid.uuid4()) for _ in range(250)] + [ids["staff"]])
    entra.graph_status = 503
    client = sso_app.test_client()
    assert sign_in(client, "entra").headers["Location"] == "/login/refused"
    assert "could not read your groups from Microsoft Graph" in client.get("/login/refused").get_data(as_text=True)
    assert grants_of(db, "ole@bergvik.no") == []


def test_entra_app_roles_are_an_alternative_to_groups(sso_app, db, entra):
    _entra_rules(db)
    _entra_person(entra, [], roles=["Flokk.Helpdesk"])
    assert sign_in(sso_app.test_client(), "entra").headers["Location"] == "/"
    assert grants_of(db, "ole@bergvik.no") == [("central_helpdesk", None, None)]


def test_grants_are_stored_as_derived_from_single_sign_on(sso_app, db, entra):
    _entra_rules(db)
    _entra_person(entra, [], roles=["Flokk.Helpdesk"])
    sign_in(sso_app.test_client(), "entra")
    with db.session() as session:
        grant = session.scalar(select(RoleGrant))
        assert (grant.role, grant.school_id, grant.group_id, grant.source) == ("central_helpdesk", None, None, "sso:entra")


# ------------------------------------------------------------------------------ classes from Feide


def test_the_ict_contact_imports_the_teaching_groups_feide_shows_them(sso_app, db, feide, nordby):
    from app.services import rosters
    from tests.fakes.feide import member

    with db.session() as session:
        rosters.link_feide(session, system_principal(), "nordby", UNIT)
        session.commit()
    maths = teaching_group(REALM, NORDBY_UNIT, "8a-matte", "Matte 8A", "faculty")
    science = teaching_group(REALM, NORDBY_UNIT, "8a-nat", "Naturfag 8A", "faculty")
    elsewhere = teaching_group(REALM, "NO000000001", "9c-eng", "Engelsk 9C", "faculty")
    basis = {**teaching_group(REALM, NORDBY_UNIT, "8a", "8A", "faculty"), "go_type": "b"}
    for group in (maths, science):
        feide.members[group["id"]] = [member("Kari", "kari@bergvik.kommune.no", "faculty"),
                                      member("Ola", "ola@bergvik.kommune.no", "student"),
                                      member("Per", "per@bergvik.kommune.no", "student")]
    feide.sign_in_as("sub-kari", "kari@bergvik.kommune.no", "Kari",
                     [school_owner(REALM, "Bergvik kommune", EMPLOYEE), school(REALM, NORDBY_UNIT, "Nordby skole"),
                      maths, science, elsewhere, basis])
    client = sso_app.test_client()
    sign_in(client, "feide")
    with client.session_transaction() as cookie:
        cookie["csrf"] = "csrf-test"
    response = client.post("/schools/nordby/classes/feide", data={"csrf_token": "csrf-test"})
    assert response.status_code == 302, response.get_data(as_text=True)
    with db.session() as session:
        made = {item.group.name: sorted((m.person_id, m.role) for m in item.members) for item in session.scalars(select(RosterClass))}
    assert made == {name: [("kari@bergvik.kommune.no", "teacher"), ("ola@bergvik.kommune.no", "student"),
                           ("per@bergvik.kommune.no", "student")] for name in ("Matte 8A", "Naturfag 8A")}
    page = client.get("/schools/nordby/classes", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Matte 8A" in page and "Naturfag 8A" in page and "Engelsk 9C" not in page
    # Kari also teaches: with the teacher rule she now has both classes (her school ICT grant covers them anyway).
    sign_in(sso_app.test_client(), "feide")
    assert grants_of(db, "kari@bergvik.kommune.no") == [("school_ict", "nordby", None), ("teacher", "nordby", "Matte 8A"),
                                                        ("teacher", "nordby", "Naturfag 8A")]


def test_the_import_from_feide_needs_a_feide_sign_in(sso_app, db, nordby):
    from app.services import rosters
    from tests.support import people

    with db.session() as session:
        rosters.link_feide(session, system_principal(), "nordby", UNIT)
        ict = people.admin(session, [(Role.SCHOOL_ICT, nordby["nordby"])])
        session.commit()
    client = sso_app.test_client()
    people.sign_in(client, ict)
    response = client.post("/schools/nordby/classes/feide", data={"csrf_token": people.CSRF}, headers={"Accept-Language": "en"})
    assert response.status_code == 409
    assert "sign in with Feide first" in response.get_data(as_text=True)
