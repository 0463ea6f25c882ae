"""Single sign-on against a local Feide: session and school grant from the Groups API, as Feide really does it."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import select

from app import create_app
from app.models import AdminUser, AuditEvent, SsoGrantRule
from app.services.access import Role
from tests.fakes.feide import FakeFeide, school, school_owner
from tests.support import factories

REALM = "bergvik.kommune.no"
UNIT = f"fc:org:{REALM}:unit:NO975278964"
EMPLOYEE = ["member", "employee", "faculty"]


@pytest.fixture
def provider(monkeypatch):
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # the fake provider speaks plain HTTP on 127.0.0.1
    with FakeFeide() as fake:
        yield fake


@pytest.fixture
def sso_app(settings, db, provider):
    flask_app = create_app(settings.replace(
        oidc_feide_issuer=provider.issuer, oidc_feide_client_id=provider.client_id,
        oidc_feide_client_secret=provider.client_secret, oidc_feide_groups_url=provider.groups_url,
    ))
    flask_app.config["TESTING"] = True
    flask_app.extensions["flokk"].db = db
    with db.session() as session:
        nordby, _ = factories.school(session, "nordby"), factories.school(session, "sorby")
        session.add(SsoGrantRule(provider="feide", claim_value=UNIT, affiliation="employee", role=Role.SCHOOL_ICT,
                                 school_id=nordby.id, created_by="test"))
        session.commit()
    return flask_app


def sign_in_with_feide(client):
    """The browser's round trip: Flokk → provider → back to Flokk's callback."""
    start = client.get("/login/feide")
    assert start.status_code == 302, start.get_data(as_text=True)
    at_provider = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    assert at_provider.status_code == 302, at_provider.text
    callback = at_provider.headers["Location"]
    assert callback.startswith("https://flokk.test/login/feide/callback?")
    return client.get(callback.removeprefix("https://flokk.test"))


def nordby_staff(provider, affiliation=EMPLOYEE):
    provider.sign_in_as("feide-123", "kari@bergvik.kommune.no", "Kari Nordmann",
                        [school_owner(REALM, "Bergvik kommune", affiliation), school(REALM, "NO975278964", "Nordby skole")])


def test_the_login_page_offers_feide(sso_app):
    page = sso_app.test_client().get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Sign in with Feide" in page and "/login/feide" in page
    assert sso_app.test_client().get("/login/entra").status_code == 404  # not configured


def test_sign_in_creates_the_account_and_the_school_grant_from_the_groups_api(sso_app, db, provider):
    nordby_staff(provider)
    client = sso_app.test_client()
    response = sign_in_with_feide(client)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "nordby" in page and "sorby" not in page
    with db.session() as session:
        admin = session.scalar(select(AdminUser).where(AdminUser.email == "kari@bergvik.kommune.no"))
        assert (admin.sso_provider, admin.sso_subject, admin.password_hash, admin.display_name) == (
            "feide", "feide-123", None, "Kari Nordmann")  # name and email from userinfo: Feide's ID token has only sub
        assert [(g.role, g.school.code, g.source) for g in admin.grants] == [("school_ict", "nordby", "sso:feide")]
        assert session.scalar(select(AuditEvent.details).where(AuditEvent.action == "auth.login")) == {"method": "sso:feide"}


def test_access_ends_when_the_group_does(sso_app, db, provider):
    nordby_staff(provider)
    client = sso_app.test_client()
    sign_in_with_feide(client)
    assert client.get("/schools/nordby").status_code == 200
    provider.groups["feide-123"] = [school_owner(REALM, "Bergvik kommune", EMPLOYEE), school(REALM, "NO000000001", "Annen skole")]
    refused = sign_in_with_feide(sso_app.test_client())
    assert refused.headers["Location"] == "/login/refused"
    with db.session() as session:
        assert session.scalar(select(AdminUser).where(AdminUser.email == "kari@bergvik.kommune.no")).grants == []
    assert client.get("/schools/nordby").status_code == 403  # the old session has no rights left


def test_a_person_without_a_matching_rule_gets_no_account(sso_app, db, provider):
    provider.sign_in_as("stranger", "someone@elsewhere.no", "Someone", [school_owner("elsewhere.no", "Elsewhere", EMPLOYEE)])
    client = sso_app.test_client()
    refused = sign_in_with_feide(client)
    assert refused.headers["Location"] == "/login/refused"
    page = client.get("/login/refused")
    assert page.status_code == 403 and "no role in Flokk" in page.get_data(as_text=True)
    with db.session() as session:
        assert session.scalar(select(AdminUser)) is None


def test_a_forged_callback_is_refused(sso_app, provider):
    client = sso_app.test_client()
    client.get("/login/feide")
    response = client.get("/login/feide/callback?code=made-up&state=not-the-state")
    assert response.status_code == 401
    assert provider.token_requests == 0
