"""``/scep``: the SCEP server (RFC 8894 §4) devices get their identity certificate from."""

from __future__ import annotations

from flask import Blueprint, Response, request

from app import endpoints
from app.http import db_session
from app.http.bodies import BodyTooLarge, read_body
from app.http.rules import device_endpoint
from app.services.pki import scep
from mdm_protocol.scep.http import MAX_MESSAGE_BYTES

blueprint = Blueprint("scep", __name__)


@blueprint.route(endpoints.SCEP, methods=["GET", "POST"])
@device_endpoint
def scep_operation() -> Response:
    declared = request.content_length
    body = None
    if request.method == "POST":
        try:
            body = read_body(MAX_MESSAGE_BYTES)
        except BodyTooLarge:  # answered (413) and audited as SCEP, like any refused PKIOperation
            declared = max(declared or 0, MAX_MESSAGE_BYTES + 1)
    reply = scep.handle(
        db_session(),
        method=request.method,
        operation=request.args.get("operation"),
        message=request.args.get("message"),
        body=body,
        declared_length=declared,
    )
    return Response(reply.body, status=reply.status, content_type=reply.content_type)
