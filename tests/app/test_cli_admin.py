"""`flokk admin`, `flokk token` and `flokk audit` as central IT types them."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from app.models import AdminUser
from app.services.access import passwords
from tests.support import factories, people


def test_admin_add_with_schools_and_list(cli, db):
    with db.session() as session:
        factories.school(session, "nordby")
        factories.school(session, "sorby")
        session.commit()
    result = cli("admin", "add", "Kari@Nordby.no", "--role", "school_ict", "--school", "nordby", "--school", "sorby")
    assert result.exit_code == 0, result.output
    assert "school_ict@nordby, school_ict@sorby" in result.output
    password = re.search(r"One-time password:\s+(\S+)", result.output).group(1)
    with db.session() as session:
        admin = session.scalar(select(AdminUser).where(AdminUser.email == "kari@nordby.no"))
        assert admin.must_change_password and passwords.verify_password(admin.password_hash, password)
    listed = json.loads(cli("admin", "list", "--json").output)
    assert listed[0]["email"] == "kari@nordby.no" and listed[0]["grants"] == "school_ict@nordby, school_ict@sorby"
    assert cli("admin", "add", "kari@nordby.no", "--role", "auditor").exit_code == 1
    unknown = cli("admin", "add", "ola@x.no", "--role", "school_ict", "--school", "nowhere")
    assert unknown.exit_code == 1 and "no school with code 'nowhere'" in unknown.output
    bad_email = cli("admin", "add", "not-an-email", "--role", "auditor")
    assert bad_email.exit_code == 1 and "email" in bad_email.output


def test_admin_grant_revoke_and_deactivate(cli, db):
    with db.session() as session:
        factories.school(session, "nordby")
        people.admin(session, [("central_admin", None)], email="boss@kommune.no")
        session.commit()
    assert cli("admin", "add", "ola@x.no", "--role", "auditor").exit_code == 0
    assert "school_ict@nordby" in cli("admin", "grant", "ola@x.no", "--role", "school_ict", "--school", "nordby").output
    revoked = cli("admin", "revoke", "ola@x.no", "--role", "auditor")
    assert revoked.exit_code == 0 and "auditor" not in revoked.output
    assert cli("admin", "deactivate", "ola@x.no").exit_code == 0
    assert cli("admin", "deactivate", "boss@kommune.no").exit_code == 1  # the last central admin


def test_token_create_prints_the_token_once_and_it_works(cli, db, client):
    with db.session() as session:
        factories.school(session, "nordby")
        session.commit()
    result = cli("token", "create", "sync", "--role", "auditor", "--school", "nordby", "--expires", "2w")
    assert result.exit_code == 0, result.output
    raw = re.search(r"Token:\s+(flk_\S+)", result.output).group(1)
    response = client.get("/api/v1/schools", headers=people.bearer(raw))
    assert [school["code"] for school in response.json["schools"]] == ["nordby"]
    listed = json.loads(cli("token", "list", "--json").output)
    assert listed[0]["status"] == "active" and raw not in json.dumps(listed)
    assert cli("token", "create", "x", "--role", "auditor", "--expires", "forever").exit_code == 1


def test_audit_shows_filters_and_exports(cli, db):
    with db.session() as session:
        factories.school(session, "nordby")
        session.commit()
    cli("admin", "add", "kari@nordby.no", "--role", "school_ict", "--school", "nordby")
    table = cli("audit")
    assert table.exit_code == 0 and "admin.create" in table.output and "grant.add" in table.output
    events = json.loads(cli("audit", "--school", "nordby", "--json").output)
    assert [event["action"] for event in events] == ["grant.add"]
    assert events[0]["actor"].startswith("cli:") and events[0]["source"] == "cli"
    exported = cli("audit", "--csv", "--since", "2020-01-01")
    assert exported.output.splitlines()[0].startswith("id,occurred_at,school,actor,action")
    assert cli("audit", "--since", "last tuesday").exit_code == 1
    assert cli("audit", "--school", "nowhere").exit_code == 1
