"""Destructive and bulk commands wait for a second central admin; nothing is queued before."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from app.models import ApprovalRequest, AuditEvent, Command
from app.models.base import utcnow
from app.services.access import Role, approvals
from tests.support import factories, people


@pytest.fixture
def fleet(db):
    with db.session() as session:
        nordby, sorby = factories.school(session, "nordby"), factories.school(session, "sorby")
        ipads = [factories.device(session, nordby) for _ in range(3)]
        other = factories.device(session, sorby)
        tokens = {
            "ict": people.api_token(session, [(Role.SCHOOL_ICT, nordby.id)], name="ict"),
            "ict_sorby": people.api_token(session, [(Role.SCHOOL_ICT, sorby.id)], name="ict-sorby"),
            "helpdesk": people.api_token(session, [(Role.CENTRAL_HELPDESK, None)], name="helpdesk"),
            "central_a": people.api_token(session, [(Role.CENTRAL_ADMIN, None)], name="central-a"),
            "central_b": people.api_token(session, [(Role.CENTRAL_ADMIN, None)], name="central-b"),
        }
        session.commit()
    return {"ipads": [d.id for d in ipads], "other": other.id, "tokens": tokens}


def post(client, token, path, body):
    return client.post(path, json=body, headers=people.bearer(token))


def count_commands(db, request_type=None):
    with db.session() as session:
        statement = select(func.count()).select_from(Command)
        if request_type:
            statement = statement.where(Command.request_type == request_type)
        return session.scalar(statement)


def test_an_erase_requested_by_an_ict_contact_is_queued_only_after_a_central_admin_approves(client, db, fleet):
    tokens, ipad = fleet["tokens"], fleet["ipads"][0]
    requested = post(client, tokens["ict"], "/api/v1/commands",
                     {"request_type": "EraseDevice", "device_ids": [ipad], "reason": "stolen from the classroom"})
    assert requested.status_code == 202, requested.json
    approval = requested.json["approval"]
    assert approval["status"] == "pending" and approval["kind"] == "destructive"
    assert count_commands(db) == 0

    assert post(client, tokens["ict"], f"/api/v1/approvals/{approval['id']}/approve", {}).status_code == 403
    assert post(client, tokens["helpdesk"], f"/api/v1/approvals/{approval['id']}/approve", {}).status_code == 403
    assert count_commands(db) == 0

    approved = post(client, tokens["central_a"], f"/api/v1/approvals/{approval['id']}/approve", {"note": "confirmed by phone"})
    assert approved.status_code == 200, approved.json
    assert approved.json["status"] == "approved" and approved.json["queued_count"] == 1
    with db.session() as session:
        command = session.scalar(select(Command))
        assert (command.request_type, command.device_id, command.status) == ("EraseDevice", ipad, "queued")
        trail = [(e.action, e.actor) for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))
                 if e.action.startswith(("approval.", "command."))]
    assert trail == [
        ("approval.request", f"token:ict#{_token_id(db, 'ict')}"),
        ("command.queue", f"token:central-a#{_token_id(db, 'central-a')}"),
        ("approval.approve", f"token:central-a#{_token_id(db, 'central-a')}"),
    ]
    again = post(client, tokens["central_b"], f"/api/v1/approvals/{approval['id']}/approve", {})
    assert again.status_code == 409 and count_commands(db) == 1


def _token_id(db, name):
    from app.models import ApiToken

    with db.session() as session:
        return session.scalar(select(ApiToken.id).where(ApiToken.name == name))


def test_nobody_approves_their_own_request(client, db, fleet):
    tokens = fleet["tokens"]
    requested = post(client, tokens["central_a"], "/api/v1/commands",
                     {"request_type": "EraseDevice", "device_ids": [fleet["ipads"][0]], "reason": "broken screen, resale"})
    assert requested.status_code == 202
    approval_id = requested.json["approval"]["id"]
    own = post(client, tokens["central_a"], f"/api/v1/approvals/{approval_id}/approve", {})
    assert own.status_code == 403 and "your own request" in own.json["message"]
    assert count_commands(db) == 0
    assert post(client, tokens["central_b"], f"/api/v1/approvals/{approval_id}/approve", {}).status_code == 200


def test_a_destructive_request_needs_a_reason_and_the_right_to_ask(client, db, fleet):
    tokens, ipad = fleet["tokens"], fleet["ipads"][0]
    no_reason = post(client, tokens["ict"], "/api/v1/commands", {"request_type": "EraseDevice", "device_ids": [ipad]})
    assert no_reason.status_code == 422 and "reason" in no_reason.json["details"]
    helpdesk = post(client, tokens["helpdesk"], "/api/v1/commands",
                    {"request_type": "EraseDevice", "device_ids": [ipad], "reason": "helpdesk wants to"})
    assert helpdesk.status_code == 403
    elsewhere = post(client, tokens["ict"], "/api/v1/commands",
                     {"request_type": "EraseDevice", "device_ids": [fleet["other"]], "reason": "not my school"})
    assert elsewhere.status_code == 404
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(ApprovalRequest)) == 0


def test_bulk_commands_over_the_threshold_wait_for_approval(app, client, db, fleet, settings):
    app.extensions["flokk"].db._context.settings = settings.replace(approval_bulk_threshold=2)
    tokens = fleet["tokens"]
    few = post(client, tokens["ict"], "/api/v1/commands", {"request_type": "ProfileList", "device_ids": fleet["ipads"][:2]})
    assert few.status_code == 201 and few.json["queued"] == 2
    many = post(client, tokens["ict"], "/api/v1/commands",
                {"request_type": "ProfileList", "device_ids": fleet["ipads"], "reason": "check every cart"})
    assert many.status_code == 202 and many.json["approval"]["kind"] == "bulk"
    assert count_commands(db) == 2
    approved = post(client, tokens["central_b"], f"/api/v1/approvals/{many.json['approval']['id']}/approve", {})
    assert approved.status_code == 200 and count_commands(db) == 5


def test_a_rejected_request_queues_nothing_and_needs_a_note(client, db, fleet):
    tokens = fleet["tokens"]
    requested = post(client, tokens["ict"], "/api/v1/commands",
                     {"request_type": "EraseDevice", "device_ids": [fleet["ipads"][1]], "reason": "pupil left"})
    approval_id = requested.json["approval"]["id"]
    assert post(client, tokens["central_a"], f"/api/v1/approvals/{approval_id}/reject", {}).status_code == 422
    rejected = post(client, tokens["central_a"], f"/api/v1/approvals/{approval_id}/reject", {"note": "reassign it instead"})
    assert rejected.status_code == 200 and rejected.json["status"] == "rejected"
    assert post(client, tokens["central_b"], f"/api/v1/approvals/{approval_id}/approve", {}).status_code == 409
    assert count_commands(db) == 0


def test_requests_expire(client, db, fleet):
    tokens = fleet["tokens"]
    requested = post(client, tokens["ict"], "/api/v1/commands",
                     {"request_type": "EraseDevice", "device_ids": [fleet["ipads"][2]], "reason": "end of lease"})
    approval_id = requested.json["approval"]["id"]
    with db.session() as session:
        session.get(ApprovalRequest, approval_id).expires_at = utcnow() - dt.timedelta(minutes=1)
        session.commit()
    assert post(client, tokens["central_a"], f"/api/v1/approvals/{approval_id}/approve", {}).status_code == 410
    with db.unit_of_work() as session:
        assert approvals.expire_due(session) == 1
    with db.session() as session:
        assert session.get(ApprovalRequest, approval_id).status == "expired"
        assert session.scalar(select(AuditEvent.action).where(AuditEvent.action == "approval.expire")) == "approval.expire"
    assert count_commands(db) == 0


def test_another_schools_requests_are_invisible(client, db, fleet):
    tokens = fleet["tokens"]
    requested = post(client, tokens["ict"], "/api/v1/commands",
                     {"request_type": "EraseDevice", "device_ids": [fleet["ipads"][0]], "reason": "water damage"})
    approval_id = requested.json["approval"]["id"]
    headers = people.bearer(tokens["ict_sorby"])
    assert client.get(f"/api/v1/approvals/{approval_id}", headers=headers).status_code == 404
    assert client.get("/api/v1/approvals", headers=headers).json["approvals"] == []
    mine = client.get("/api/v1/approvals?status=pending", headers=people.bearer(tokens["ict"])).json["approvals"]
    assert [item["id"] for item in mine] == [approval_id]


def test_the_scheduler_runs_the_expiry_and_retention_jobs():
    from app.scheduler import jobs

    assert {job.name for job in jobs()} >= {"approvals.expire", "audit.retention"}


def test_a_command_to_a_whole_class_from_the_dashboard(app, client, db, settings):
    with db.session() as session:
        nordby = factories.school(session, "nordby")
        group = factories.group(session, nordby, "7A")
        for _ in range(3):
            factories.device(session, nordby, group=group)
        factories.device(session, nordby)  # not in the class
        ict = people.admin(session, [(Role.SCHOOL_ICT, nordby.id)])
        session.commit()
    people.sign_in(client, ict)
    form = {"csrf_token": people.CSRF, "request_type": "ProfileList"}
    sent = client.post(f"/groups/{group.id}/commands", data=form)
    assert sent.status_code == 302 and count_commands(db, "ProfileList") == 3
    app.extensions["flokk"].db._context.settings = settings.replace(approval_bulk_threshold=2)
    assert client.post(f"/groups/{group.id}/commands", data=form).status_code == 422  # a reason is needed
    asked = client.post(f"/groups/{group.id}/commands", data={**form, "reason": "yearly inventory"})
    assert asked.status_code == 302 and count_commands(db, "ProfileList") == 3
    with db.session() as session:
        request = session.scalar(select(ApprovalRequest))
        assert (request.kind, request.device_count, request.requested_by) == ("bulk", 3, ict.label)


def test_removing_a_device_waits_for_approval_then_cuts_it_off(client, db, fleet, tmp_path):
    from app.models import Device
    from app.models.pki import IssuedCertificate
    from app.services.access import cli_principal
    from app.services.pki import certificate_authority
    from tests.support.pki import shared_ca

    ipad = fleet["ipads"][0]
    with db.unit_of_work() as session:
        authority = shared_ca()
        certificate_authority.import_ca(session, cli_principal(), authority.certificate_pem(), authority.key_pem())
        record = certificate_authority.active_record(session)
        device = session.get(Device, ipad)
        device.push_token, device.push_magic = "ab" * 32, "magic"
        session.add(IssuedCertificate(school_id=device.school_id, authority_id=record.id, serial="abc123", fingerprint="f" * 64,
                                      subject="CN=Flokk device", not_before=utcnow(), not_after=utcnow() + dt.timedelta(days=365),
                                      certificate_der=b"der", device_id=ipad))
    tokens = fleet["tokens"]
    post(client, tokens["ict"], "/api/v1/commands", {"request_type": "ProfileList", "device_ids": [ipad]})
    assert post(client, tokens["helpdesk"], f"/api/v1/devices/{ipad}/remove", {"reason": "gone"}).status_code == 403
    assert post(client, tokens["ict"], f"/api/v1/devices/{ipad}/remove", {}).status_code == 422
    asked = post(client, tokens["ict"], f"/api/v1/devices/{ipad}/remove", {"reason": "sold at the end of the lease"})
    assert asked.status_code == 202 and asked.json["approval"]["request_type"] == "RemoveDevice"
    with db.session() as session:
        assert session.get(Device, ipad).enrollment_state == "enrolled"
    approved = post(client, tokens["central_a"], f"/api/v1/approvals/{asked.json['approval']['id']}/approve", {})
    assert approved.status_code == 200, approved.json
    with db.session() as session:
        device = session.get(Device, ipad)
        assert (device.enrollment_state, device.push_token, device.push_magic) == ("unenrolled", None, None)
        assert session.scalar(select(IssuedCertificate.revocation_reason)) == "device removed from Flokk"
        assert list(session.scalars(select(Command.status).where(Command.device_id == ipad))) == ["cancelled"]
        removal = session.scalar(select(AuditEvent).where(AuditEvent.action == "device.remove"))
        assert removal.details["certificates_revoked"] == ["abc123"] and removal.details["commands_cancelled"] == 1
