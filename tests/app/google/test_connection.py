"""Connecting a domain: tested before saving, one clear error per failure, the key sealed, nothing half-saved."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from app.errors import InvalidInput, NotFound
from app.models.google import GoogleConnection, GoogleOrgUnit
from app.services.google import KEY_LABEL, connection, org_units
from tests.fakes.google import ALL_SCOPES, POLICY_API
from tests.support import factories

ADMIN = "it@bergvik.no"


@pytest.fixture
def organisation(db):
    with db.unit_of_work() as session:
        factories.school(session, code="nordby")


def _connect(db, principal, key, **options):
    with db.unit_of_work() as session:
        return connection.connect(session, principal, key if isinstance(key, (bytes, str)) else json.dumps(key), ADMIN, **options)


def _saved(db) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(GoogleConnection)) or 0


def test_connect_tests_and_seals_the_key(db, google, principal, organisation):
    key = google.service_account_key()
    google.add_org_unit("/Skoler")
    _connect(db, principal, key, parent_ou="/Skoler")
    with db.session() as session:
        row = session.scalar(select(GoogleConnection))
        assert (row.customer_id, row.domain, row.client_email) == (google.customer_id, "bergvik.no", key["client_email"])
        assert key["private_key"].encode() not in row.sealed_key and b"PRIVATE KEY" not in row.sealed_key
        opened = json.loads(session.info["flokk.context"].secrets.open(row.sealed_key, label=KEY_LABEL))
        assert opened["private_key"] == key["private_key"]
        parent = session.scalar(select(GoogleOrgUnit))
        assert (parent.ou_path, parent.school_id) == ("/Skoler", None)
    token_calls = google.calls(r"^/token$")
    assert token_calls and all(item.status == 200 for item in token_calls)


CASES = [
    ("not JSON", lambda g: b"{this is not json", "not JSON"),
    ("not a service account", lambda g: {"type": "authorized_user", "client_id": "x"}, "not a service account key"),
    ("fields missing", lambda g: {k: v for k, v in g.service_account_key().items() if k != "client_email"}, "lacks client_email"),
    ("a broken private key", lambda g: {**g.service_account_key(), "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n"},
     "not a PEM private key"),
    ("a key for another project", lambda g: g.service_account_key("other", project="someone-else", registered=False),
     "not allowed domain-wide delegation"),
    ("a revoked key", lambda g: {**g.service_account_key(), "private_key": g.service_account_key("rotated")["private_key"]},
     "deleted, or belongs to another project"),
    ("a missing scope", lambda g: g.service_account_key("narrow", scopes=ALL_SCOPES[:2]), "not allowed domain-wide delegation"),
]


@pytest.mark.parametrize(("case", "make", "message"), CASES, ids=[case[0] for case in CASES])
def test_a_bad_key_is_refused_with_a_clear_error_and_nothing_saved(db, google, principal, organisation, case, make, message):
    with pytest.raises(InvalidInput, match=message):
        _connect(db, principal, make(google))
    assert _saved(db) == 0


def test_wrong_customer(db, google, principal, organisation):
    with pytest.raises(InvalidInput, match="the admin does not belong to it"):
        _connect(db, principal, google.service_account_key(), customer="C0someoneelse")
    assert _saved(db) == 0


def test_api_not_enabled(db, google, principal, organisation):
    google.disabled_apis.add(POLICY_API)
    with pytest.raises(InvalidInput, match="reading Chrome policies.*Chrome Policy API has not been used"):
        _connect(db, principal, google.service_account_key())
    assert _saved(db) == 0


def test_unknown_admin_and_unknown_parent_unit(db, google, principal, organisation):
    with pytest.raises(InvalidInput, match="admin's email"):
        with db.unit_of_work() as session:
            connection.connect(session, principal, json.dumps(google.service_account_key()), "nobody@bergvik.no")
    with pytest.raises(InvalidInput, match="finding the organisational unit /Skoler"):
        _connect(db, principal, google.service_account_key(), parent_ou="/Skoler")
    assert _saved(db) == 0


def test_only_central_it_connects(db, google, organisation):
    from app.errors import Forbidden
    from app.services.access import Grant, Principal, Role

    with db.session() as session:
        school_id = session.scalar(select(func.min(GoogleOrgUnit.id)))  # none yet: any id will do
    ict = Principal("admin", 1, "admin:ict", (Grant(Role.SCHOOL_ICT, school_id or 1),))
    with pytest.raises(Forbidden):
        _connect(db, ict, google.service_account_key())
    assert _saved(db) == 0


def test_mapping_checks_google_and_the_tree(db, google, principal, domain):
    with pytest.raises(InvalidInput, match="must be inside the parent unit /Skoler"):
        with db.unit_of_work() as session:
            org_units.map_unit(session, principal, "nordby", "/Ansatte/Nordby")
    with pytest.raises(InvalidInput, match="no organisational unit /Skoler/Ny"):
        with db.unit_of_work() as session:
            org_units.map_unit(session, principal, "nordby", "/Skoler/Ny")
    with pytest.raises(InvalidInput, match="already the unit of another school"):
        with db.unit_of_work() as session:
            org_units.map_unit(session, principal, "nordby", "/Skoler/Sorby")
    with pytest.raises(NotFound):
        with db.unit_of_work() as session:
            org_units.map_unit(session, principal, "nordby", "/Skoler/Nordby/5A", group="5A")
    with db.unit_of_work() as session:
        factories.group(session, domain.schools["nordby"], name="5A")
        created = org_units.map_unit(session, principal, "nordby", "/Skoler/Nordby/Klasser/5A", group="5A", create=True)
        assert created.ou_path == "/Skoler/Nordby/Klasser/5A"
    assert "/Skoler/Nordby/Klasser/5A" in google.org_units and "/Skoler/Nordby/Klasser" in google.org_units
