"""The audit log: append-only in the database, filterable, exported as CSV per school, purged by retention."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from app.models import AuditEvent
from app.models.base import utcnow
from app.services import audit, audit_trail
from app.services.access import Role
from tests.support import factories, people


def _event(session, action, school_id=None, when=None):
    event = audit.record(session, "admin:test", action, school_id=school_id)
    if when is not None:
        event.occurred_at = when
    return event


def test_the_database_refuses_to_change_or_delete_audit_events(db):
    with db.session() as session:
        _event(session, "group.create")
        session.commit()
    for statement in (update(AuditEvent).values(actor="someone else"), delete(AuditEvent)):
        with db.session() as session, pytest.raises(DBAPIError, match="append-only"):
            session.execute(statement)
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as connection, pytest.raises(DBAPIError, match="append-only"):
            connection.execute(text("TRUNCATE audit_events"))
    with db.session() as session:
        assert session.scalar(select(AuditEvent.actor)) == "admin:test"


def test_retention_deletes_only_old_events_and_records_that_it_did(db, settings):
    old = utcnow() - dt.timedelta(days=settings.audit_retention_days + 1)
    with db.session() as session:
        _event(session, "old.one", when=old)
        _event(session, "recent.one")
        session.commit()
    with db.unit_of_work() as session:
        assert audit_trail.purge_expired(session) == 1
    with db.session() as session:
        assert sorted(session.scalars(select(AuditEvent.action))) == ["audit.purge", "recent.one"]
        assert session.scalar(text("SELECT COUNT(*) FROM audit_purge_permits")) == 0
    with db.session() as session, pytest.raises(DBAPIError, match="append-only"):
        session.execute(delete(AuditEvent))


@pytest.fixture
def trail(db):
    with db.session() as session:
        nordby, sorby = factories.school(session, "nordby"), factories.school(session, "sorby")
        _event(session, "group.create", nordby.id)
        _event(session, "approval.request", nordby.id)
        _event(session, "group.create", sorby.id)
        _event(session, "admin.create")
        tokens = {
            "auditor_nordby": people.api_token(session, [(Role.AUDITOR, nordby.id)]),
            "auditor": people.api_token(session, [(Role.AUDITOR, None)]),
            "ict_nordby": people.api_token(session, [(Role.SCHOOL_ICT, nordby.id)]),
        }
        session.commit()
    return tokens


def actions(response):
    return sorted(event["action"] for event in response.json["events"] if event["action"] != "api_token.use")


def test_a_school_auditor_sees_and_exports_only_their_school(client, trail):
    headers = people.bearer(trail["auditor_nordby"])
    assert actions(client.get("/api/v1/audit", headers=headers)) == ["approval.request", "group.create"]
    assert client.get("/api/v1/audit?school=sorby", headers=headers).status_code == 404
    assert client.get("/api/v1/audit/export.csv?school=sorby", headers=headers).status_code == 404
    assert client.get("/api/v1/audit/export.csv", headers=headers).status_code == 403  # all schools: central only
    exported = client.get("/api/v1/audit/export.csv?school=nordby", headers=headers)
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    assert 'filename="flokk-audit-nordby.csv"' in exported.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert [(row["school"], row["action"]) for row in rows] == [("nordby", "group.create"), ("nordby", "approval.request")]


def test_an_ict_contact_cannot_read_the_audit_log(client, trail):
    headers = people.bearer(trail["ict_nordby"])
    assert client.get("/api/v1/audit", headers=headers).status_code == 403
    assert client.get("/api/v1/audit/export.csv?school=nordby", headers=headers).status_code == 403


def test_central_auditors_filter_everything(client, trail):
    headers = people.bearer(trail["auditor"])
    assert actions(client.get("/api/v1/audit", headers=headers)) == ["admin.create", "approval.request", "group.create", "group.create"]
    assert actions(client.get("/api/v1/audit?action=approval.", headers=headers)) == ["approval.request"]
    assert actions(client.get("/api/v1/audit?school=sorby", headers=headers)) == ["group.create"]
    tomorrow = (utcnow() + dt.timedelta(days=1)).date().isoformat()
    assert actions(client.get(f"/api/v1/audit?since={tomorrow}", headers=headers)) == []
    assert client.get("/api/v1/audit?colour=red", headers=headers).status_code == 422
    assert client.get("/api/v1/audit?since=yesterday", headers=headers).status_code == 422
    everything = client.get("/api/v1/audit/export.csv", headers=headers)
    assert everything.status_code == 200
    assert len(everything.get_data(as_text=True).strip().splitlines()) >= 5


def test_exports_are_themselves_audited(client, db, trail):
    client.get("/api/v1/audit/export.csv?school=nordby", headers=people.bearer(trail["auditor_nordby"]))
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "audit.export")) == 1


def test_pages_go_back_in_time(client, trail):
    headers = people.bearer(trail["auditor"])
    first = client.get("/api/v1/audit?limit=2", headers=headers).json
    second = client.get(f"/api/v1/audit?limit=2&before_id={first['next_before_id']}", headers=headers).json
    ids = [e["id"] for e in first["events"]] + [e["id"] for e in second["events"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 4
