"""Webhooks (central IT): register a URL for event types, see each one's last status and deliveries."""

from __future__ import annotations

from flask import jsonify

from app.http import db_session
from app.http.api import blueprint, body
from app.http.api.openapi import operation
from app.http.rules import current_principal, requires
from app.schemas.webhooks import (
    WebhookCreate,
    WebhookCreatedOut,
    WebhookDeliveryListOut,
    WebhookDeliveryOut,
    WebhookListOut,
    WebhookOut,
)
from app.services import webhooks
from app.services.access import Permission


@blueprint.get("/webhooks")
@requires(Permission.AUDIT, central=True)
@operation(response=WebhookListOut)
def list_webhooks():
    return jsonify(webhooks=WebhookOut(many=True).dump(webhooks.list_webhooks(db_session(), current_principal())))


@blueprint.post("/webhooks")
@requires(Permission.ADMINISTER, central=True)
@operation(body=WebhookCreate, response=WebhookCreatedOut, status=201)
def create_webhook():
    """201 with the signing secret, shown only now; events from now on are delivered."""
    data = body(WebhookCreate())
    session = db_session()
    hook, secret = webhooks.create_webhook(session, current_principal(), **data)
    return jsonify({**WebhookOut().dump(webhooks.get_webhook(session, current_principal(), hook.id)), "secret": secret}), 201


@blueprint.get("/webhooks/<int:webhook_id>")
@requires(Permission.AUDIT, central=True)
@operation(response=WebhookOut)
def show_webhook(webhook_id: int):
    return jsonify(WebhookOut().dump(webhooks.get_webhook(db_session(), current_principal(), webhook_id)))


@blueprint.delete("/webhooks/<int:webhook_id>")
@requires(Permission.ADMINISTER, central=True)
@operation(status=204)
def delete_webhook(webhook_id: int):
    webhooks.delete_webhook(db_session(), current_principal(), webhook_id)
    return "", 204


@blueprint.get("/webhooks/<int:webhook_id>/deliveries")
@requires(Permission.AUDIT, central=True)
@operation(response=WebhookDeliveryListOut)
def webhook_deliveries(webhook_id: int):
    found = webhooks.deliveries(db_session(), current_principal(), webhook_id)
    return jsonify(deliveries=WebhookDeliveryOut(many=True).dump(found))
