"""The MDM endpoints devices talk to: CheckInURL and ServerURL (Apple's MDM protocol).

Thin: read the body (bounded), establish the device identity from its
headers, hand both to :func:`app.services.mdm.server.serve`, answer. Commands queued
meanwhile (a newly enrolled iPad's first inventory) are pushed by the request
boundary once the unit of work has committed, so the device finds them.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request

from app import endpoints, metrics
from app.errors import FlokkError
from app.http import db_session, settings
from app.http.rules import device_endpoint
from app.services.mdm import identity as device_identity
from app.services.mdm import server as mdm

log = logging.getLogger("flokk.mdm")
blueprint = Blueprint("mdm", __name__)


@blueprint.route(endpoints.MDM_CHECKIN, methods=["PUT", "POST"])
@device_endpoint
def checkin() -> Response:
    return _serve("checkin")


@blueprint.route(endpoints.MDM_SERVER, methods=["PUT", "POST"])
@device_endpoint
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
    reply = mdm.serve(session, endpoint, body, identity, max_body_bytes=limit)
    metrics.count_mdm_message(endpoint, reply.message_type)
    return Response(reply.body, status=reply.status, content_type=reply.content_type)
