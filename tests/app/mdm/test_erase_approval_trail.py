"""Issue 6's promise end to end: request, approval, delivery and the device's answer, all in the audit log."""

from __future__ import annotations

from sqlalchemy import select

from app.models import AuditEvent, Device
from app.services.access import Role
from tests.support import people


def test_an_approved_erase_reaches_the_ipad_and_its_answer_is_audited(client, db, world, enrolled, transport):
    with db.session() as session:
        device_id = session.scalar(select(Device.id).where(Device.udid == enrolled.udid))
        ict = people.api_token(session, [(Role.SCHOOL_ICT, world.school.id)], name="ict")
        central = people.api_token(session, [(Role.CENTRAL_ADMIN, None)], name="central")
        session.commit()

    requested = client.post(
        "/api/v1/commands",
        json={"request_type": "EraseDevice", "device_ids": [device_id], "reason": "left on the bus"},
        headers=people.bearer(ict),
    )
    assert requested.status_code == 202, requested.json
    # Before approval the iPad gets its inventory commands, never the erase.
    answer = enrolled.idle(transport)
    while answer.command:
        assert answer.request_type != "EraseDevice"
        answer = enrolled.report(transport, "Acknowledged", answer.command_uuid)

    approval_id = requested.json["approval"]["id"]
    approved = client.post(f"/api/v1/approvals/{approval_id}/approve", json={}, headers=people.bearer(central))
    assert approved.status_code == 200, approved.json

    answer = enrolled.idle(transport)
    assert answer.request_type == "EraseDevice"
    assert enrolled.report(transport, "Acknowledged", answer.command_uuid).status == 200
    # A repeated answer adds nothing to the trail.
    enrolled.report(transport, "Acknowledged", answer.command_uuid)

    with db.session() as session:
        trail = [
            (event.action, event.outcome, event.school_id)
            for event in session.scalars(select(AuditEvent).order_by(AuditEvent.id))
            if event.action.startswith("approval.") or event.details.get("request_type") == "EraseDevice"
        ]
        result = session.scalars(select(AuditEvent).where(AuditEvent.action == "command.result")).one()
    school = world.school.id
    assert trail == [
        ("approval.request", "success", school),
        ("command.queue", "success", school),
        ("approval.approve", "success", school),
        ("command.result", "success", school),
    ]
    assert result.actor == f"device:{enrolled.udid}"
    assert result.target_id == answer.command_uuid
    assert result.details["request_type"] == "EraseDevice" and result.details["queued_by"].startswith("token:central")


def test_an_error_answer_is_audited_as_a_failure(client, db, world, enrolled, transport):
    with db.session() as session:
        device_id = session.scalar(select(Device.id).where(Device.udid == enrolled.udid))
        central = people.api_token(session, [(Role.CENTRAL_ADMIN, None)], name="central")
        session.commit()
    queued = client.post(
        "/api/v1/commands", json={"request_type": "RestartDevice", "device_ids": [device_id]}, headers=people.bearer(central)
    )
    assert queued.status_code == 201, queued.json
    answer = enrolled.idle(transport)
    while answer.request_type != "RestartDevice":
        answer = enrolled.report(transport, "Acknowledged", answer.command_uuid)
    enrolled.report(transport, "Error", answer.command_uuid, ErrorChain=[{"ErrorCode": 12021, "ErrorDomain": "MCMDMErrorDomain"}])
    with db.session() as session:
        result = session.scalars(select(AuditEvent).where(AuditEvent.action == "command.result")).one()
    assert (result.outcome, result.details["status"]) == ("failure", "Error")
