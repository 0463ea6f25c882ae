"""Commands and the approvals destructive or bulk commands wait for."""

from __future__ import annotations

from flask import jsonify

from app.http import db_session
from app.http.api import blueprint, body, idempotent, query
from app.http.api.openapi import operation
from app.http.rules import current_principal, requires
from app.schemas.admin import (
    ApprovalDecision,
    ApprovalOut,
    ApprovalQuery,
    ApprovalRejection,
    CommandOut,
    CommandQuery,
    CommandSubmit,
)
from app.schemas.api import ApprovalListOut, ApprovalRequiredOut, CommandListOut, CommandsQueuedOut
from app.services.access import Permission, approvals
from app.services.fleet import devices
from app.services.mdm import command_history


@blueprint.get("/commands")
@requires(Permission.VIEW)
@operation(query=CommandQuery, response=CommandListOut)
def list_commands():
    data = query(CommandQuery())
    limit = data.pop("limit")
    found = command_history.list_commands(db_session(), current_principal(), command_history.CommandFilter(**data), limit=limit)
    return jsonify(commands=CommandOut(many=True).dump(found))


@blueprint.get("/commands/<int:command_id>")
@requires(Permission.VIEW)
@operation(response=CommandOut)
def show_command(command_id: int):
    return jsonify(CommandOut().dump(command_history.get_command(db_session(), current_principal(), command_id)))


@blueprint.post("/commands")
@requires(Permission.COMMAND)
@operation(body=CommandSubmit, responses={201: CommandsQueuedOut, 202: ApprovalRequiredOut}, headers=("Idempotency-Key",))
@idempotent
def submit_command():
    """201 with the queued commands, or 202 with the approval request a destructive/bulk command became."""
    data = body(CommandSubmit())
    if data["user"] is not None:
        submitted = devices.send_to_user(db_session(), current_principal(), data["device_ids"][0], data["request_type"],
                                         data["params"], data["user"])
    else:
        submitted = approvals.submit(
            db_session(), current_principal(), data["device_ids"], data["request_type"], data["params"], reason=data["reason"]
        )
    if submitted.approval is not None:
        return jsonify(status="approval_required", approval=ApprovalOut().dump(submitted.approval)), 202
    queued = submitted.queued
    return jsonify(
        status="queued",
        request_type=queued.request_type,
        queued=len(queued),
        commands={str(device_id): uuid for device_id, uuid in queued.command_uuids.items()},
    ), 201


@blueprint.get("/approvals")
@requires(Permission.VIEW)
@operation(query=ApprovalQuery, response=ApprovalListOut)
def list_approvals():
    found = approvals.list_requests(db_session(), current_principal(), status=query(ApprovalQuery())["status"])
    return jsonify(approvals=ApprovalOut(many=True).dump(found))


@blueprint.get("/approvals/<int:approval_id>")
@requires(Permission.VIEW)
@operation(response=ApprovalOut)
def show_approval(approval_id: int):
    return jsonify(ApprovalOut().dump(approvals.get_request(db_session(), current_principal(), approval_id)))


@blueprint.post("/approvals/<int:approval_id>/approve")
@requires(Permission.APPROVE, central=True)
@operation(body=ApprovalDecision, response=ApprovalOut)
def approve(approval_id: int):
    decided = approvals.approve(db_session(), current_principal(), approval_id, note=body(ApprovalDecision())["note"])
    return jsonify(ApprovalOut().dump(decided))


@blueprint.post("/approvals/<int:approval_id>/reject")
@requires(Permission.APPROVE, central=True)
@operation(body=ApprovalRejection, response=ApprovalOut)
def reject(approval_id: int):
    decided = approvals.reject(db_session(), current_principal(), approval_id, note=body(ApprovalRejection())["note"])
    return jsonify(ApprovalOut().dump(decided))
