import json

import pytest

from tests.support import count_rows


@pytest.fixture
def initialised(cli):
    result = cli("init", "--organisation", "Bergvik kommune", "--admin-email", "It@Bergvik.no")
    assert result.exit_code == 0, result.output
    return result


def test_init_creates_the_first_admin_once_and_prints_its_password(cli, db, initialised):
    assert "One-time password:" in initialised.output
    assert "it@bergvik.no" in initialised.output
    again = cli("init")
    assert again.exit_code == 0
    assert "One-time password" not in again.output
    assert count_rows(db, "admin_users") == 1
    assert count_rows(db, "organisations") == 1


def test_the_first_admin_password_verifies_and_must_be_changed(db, initialised):
    from sqlalchemy import select

    from app.models import AdminUser
    from app.services.access.passwords import verify_password

    password = initialised.output.split("One-time password:")[1].split()[0]
    with db.session() as session:
        admin = session.scalar(select(AdminUser))
        assert verify_password(admin.password_hash, password)
        assert not verify_password(admin.password_hash, password + "x")
        assert admin.must_change_password
        assert [(grant.role, grant.school_id) for grant in admin.grants] == [("central_admin", None)]


def test_school_add_and_list(cli, initialised):
    assert cli("school", "add", "Nordby skole", "--code", "Nordby").exit_code == 0
    assert cli("school", "add", "Sørby skole", "--code", "sorby").exit_code == 0
    listed = cli("school", "list", "--json")
    assert [(row["code"], row["name"]) for row in json.loads(listed.output)] == [
        ("nordby", "Nordby skole"),
        ("sorby", "Sørby skole"),
    ]
    assert "Bergvik kommune" in cli("school", "list").output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Dup", "--code", "NORDBY"], "already exists"),
        (["", "--code", "empty"], "name"),
        (["   ", "--code", "blank"], "name"),
        (["x" * 10_000, "--code", "long"], "name"),
        (["Bad code", "--code", "no spaces"], "code"),
        (["Too long code", "--code", "c" * 33], "code"),
    ],
)
def test_school_add_refuses_bad_input_and_writes_nothing(cli, db, initialised, args, message):
    assert cli("school", "add", "Nordby skole", "--code", "nordby").exit_code == 0
    schools, events = count_rows(db, "schools"), count_rows(db, "audit_events")
    result = cli("school", "add", *args)
    assert result.exit_code == 1
    assert result.output.startswith("Error:") and message in result.output
    assert len(result.output.splitlines()) == 1
    assert (count_rows(db, "schools"), count_rows(db, "audit_events")) == (schools, events)


def test_school_add_is_audited(cli, db, initialised):
    cli("school", "add", "Nordby skole", "--code", "nordby")
    from sqlalchemy import select

    from app.models import AuditEvent

    with db.session() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "school.create")).one()
        assert event.actor.startswith("cli:") and event.source == "cli" and event.outcome == "success"
        assert event.details == {"code": "nordby"}


def test_an_invalid_setting_stops_the_cli_with_one_line(cli):
    cli.env = {**cli.env, "FLOKK_PUBLIC_URL": "http://insecure.example"}
    result = cli("school", "list")
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "Error: invalid setting FLOKK_PUBLIC_URL: must be an https:// URL with a host name "
        "(devices only talk HTTPS), got 'http://insecure.example'"
    ]
