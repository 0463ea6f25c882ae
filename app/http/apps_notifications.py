"""``/apps/notifications/<nonce>``: where Apple's Apps and Books posts licence notifications.

Thin: read the body (bounded), hand it with the ``Authorization`` header to
:func:`app.services.apps.notifications.receive`, which checks the secret.
A 2xx tells Apple the notification arrived; anything else makes it retry.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from app import endpoints
from app.errors import InvalidInput
from app.http import db_session
from app.http.rules import service_endpoint
from app.services.apps import notifications
from mdm_protocol.apps_and_books.notifications import MAX_NOTIFICATION_BYTES

blueprint = Blueprint("apps_notifications", __name__)


@blueprint.post(f"{endpoints.APPS_NOTIFICATIONS}/<nonce>")
@service_endpoint
def receive(nonce: str):
    if (request.content_length or 0) > MAX_NOTIFICATION_BYTES:
        raise InvalidInput("the notification is too large")
    body = request.stream.read(MAX_NOTIFICATION_BYTES + 1)
    if len(body) > MAX_NOTIFICATION_BYTES:
        raise InvalidInput("the notification is too large")
    outcome = notifications.receive(db_session(), nonce, request.headers.get("Authorization"), body)
    return jsonify(status="received", outcome=outcome)
