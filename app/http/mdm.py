"""The MDM endpoints devices talk to: CheckInURL and ServerURL (Apple's MDM protocol).

Thin: read the body (bounded), establish the device identity from its
headers, hand both to :func:`app.services.mdm.serve`, answer. A push the
answer calls for (a newly enrolled iPad has its first commands) is sent after
the request's unit of work has committed, so the device finds them.
"""

from __future__ import annotations

import logging
from functools import partial

from flask import Blueprint, Response, current_app, request

from app import endpoints, request_context
from app.db import Database
from app.errors import FlokkError
from app.http import db_session, settings
from app.services import device_identity, mdm, push

log = logging.getLogger("flokk.mdm")
blueprint = Blueprint("mdm", __name__)


@blueprint.route(endpoints.MDM_CHECKIN, methods=["PUT", "POST"])
def checkin() -> Response:
    return _serve("checkin")


@blueprint.route(endpoints.MDM_SERVER, methods=["PUT", "POST"])
def server() -> Response:
    return _serve("command")


def _serve(endpoint: str) -> Response:
    limit = settings().max_body_bytes
    if (request.content_length or 0) > limit:
        raise mdm.MessageTooLarge(f"body of {request.content_length} bytes is over the limit of {limit} bytes")
    body = request.stream.read(limit + 1)
    if len(body) > limit:
        raise mdm.MessageTooLarge(f"body is over the limit of {limit} bytes")
    session = db_session()
    try:
        identity = device_identity.identify_request(
            session, body=body, headers=request.headers, remote_addr=request.remote_addr, settings=settings()
        )
    except FlokkError as error:
        mdm.refuse_identity(session, error.message, body, None)
        raise
    served = mdm.serve(session, endpoint, body, identity, max_body_bytes=limit)
    reply = served.reply
    response = Response(reply.body, status=reply.status, content_type=reply.content_type)
    if served.wake_device_id is not None:
        db = current_app.extensions["flokk"].db
        response.call_on_close(partial(_wake_after_commit, db, served.wake_device_id))
    return response


def _wake_after_commit(db: Database, device_id: int) -> None:
    """Runs once the response is sent (and the unit of work committed)."""
    try:
        with request_context.origin(source="mdm:push"), db.unit_of_work() as session:
            push.wake(session, [device_id])
    except Exception:  # a failed push must not disturb the device's request; the scheduler retries
        log.exception("could not push device %s after its enrolment", device_id)
