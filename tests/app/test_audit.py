from sqlalchemy import select

from app import request_context
from app.models import AuditEvent
from app.services import audit
from tests.support import count_rows, factories


def test_an_event_commits_with_the_change(db, principal):
    with request_context.origin(request_id="req-1", source="192.0.2.7"), db.unit_of_work() as session:
        school = factories.school(session)
        audit.record(session, principal, "school.create", school_id=school.id, target=school)
    with db.session() as session:
        event = session.scalars(select(AuditEvent)).one()
        assert (event.action, event.school_id, event.target_type, event.source, event.request_id) == (
            "school.create", school.id, "school", "192.0.2.7", "req-1"
        )
        assert event.occurred_at.tzinfo is not None


def test_an_ordinary_event_is_rolled_back_with_its_change(db, principal):
    try:
        with db.unit_of_work() as session:
            factories.school(session)
            audit.record(session, principal, "school.create")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert count_rows(db, "audit_events") == 0 and count_rows(db, "schools") == 0


def test_a_durable_event_survives_the_rollback_but_the_change_does_not(db, principal):
    try:
        with db.unit_of_work() as session:
            factories.school(session)
            audit.record(session, "device:ABC", "checkin.forged", outcome=audit.DENIED, durable=True)
            raise PermissionError("forged")
    except PermissionError:
        pass
    assert count_rows(db, "schools") == 0
    with db.session() as session:
        event = session.scalars(select(AuditEvent)).one()
        assert (event.actor, event.action, event.outcome) == ("device:ABC", "checkin.forged", "denied")


def test_details_quoting_what_a_request_held_are_stored_even_with_nul_and_surrogates(db, principal):
    """A refusal quotes the bad input; the durable entry must still be written (PostgreSQL refuses NUL)."""
    try:
        with db.unit_of_work() as session:
            factories.school(session)
            audit.record(session, "device:A\x00B", "scep.refuse", outcome=audit.DENIED, target=("device", "x\ud800"),
                         details={"transaction_id": "ab\x00cd", "bad\x00key": ["\udfff", float("nan")]}, durable=True)
            raise PermissionError("refused")
    except PermissionError:
        pass
    with db.session() as session:
        event = session.scalars(select(AuditEvent)).one()
        assert event.actor == "device:A\ufffdB" and event.target_id == "x\ufffd"
        assert event.details == {"transaction_id": "ab\ufffdcd", "bad\ufffdkey": ["\ufffd", None]}
