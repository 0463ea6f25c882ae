"""A new school's ICT contact gets a starter pack: a welcome letter and guides written from what
Flokk knows about the school, including what central IT has locked."""

from __future__ import annotations

import pytest

from app import create_app
from app.services import policy
from app.services.access import Role, cli_principal
from app.services.pki import certificate_authority
from profiles import Change
from tests.support import factories, people
from tests.support.pki import shared_ca


@pytest.fixture
def nordby(db):
    with db.session() as session:
        certificate_authority.import_ca(session, cli_principal(), shared_ca().certificate_pem(), shared_ca().key_pem())
        school = factories.school(session, "nordby", "Nordby skole")
        factories.school(session, "sorby", "Sørby skole")
        ict = people.admin(session, [(Role.SCHOOL_ICT, school.id)])
        session.commit()
    with db.unit_of_work() as session:
        policy.change(session, cli_principal(), "baseline", [Change.set("restrictions", "allowCamera", False, lock=True),
                                                             Change.set("passcode", "minLength", 6)])
    return ict


def test_the_ict_contact_reads_the_pack_in_norwegian_with_the_locked_settings(client, nordby):
    people.sign_in(client, nordby)
    assert 'href="/schools/nordby/starter-pack"' in client.get("/schools/nordby").get_data(as_text=True)
    pack = client.get("/schools/nordby/starter-pack", headers={"Accept-Language": "nb"}).get_data(as_text=True)
    assert "Velkommen til Flokk, Nordby skole" in pack and "Åpne https://flokk.test/ i en nettleser." in pack
    locked = pack[pack.index("Dette har sentral IT låst"):]
    assert "allowCamera" in locked and "minLength" not in locked  # a default, not a lock
    assert "Logg inn med" not in pack  # no single sign-on configured


def test_the_pack_names_the_single_sign_on_in_english(settings, db, nordby):
    sso_app = create_app(settings.replace(oidc_feide_issuer="https://auth.dataporten.no", oidc_feide_client_id="flokk",
                                          oidc_feide_client_secret="secret"))
    sso_app.config["TESTING"] = True
    sso_app.extensions["flokk"].db = db
    client = sso_app.test_client()
    people.sign_in(client, nordby)
    pack = client.get("/schools/nordby/starter-pack", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Welcome to Flokk, Nordby skole" in pack
    assert "Sign in with Feide, the same login as for your other school services." in pack


def test_another_schools_pack_is_not_found(client, nordby):
    people.sign_in(client, nordby)
    assert client.get("/schools/sorby/starter-pack").status_code == 404
