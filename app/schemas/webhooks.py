"""Input and output of webhooks (API, dashboard form and CLI load the same schema)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.schemas import InputSchema
from app.services.webhooks import EVENT_TYPES, shown_url


class WebhookCreate(InputSchema):
    name = fields.String(required=True, validate=[validate.Length(min=1, max=100), validate.Predicate("strip", error="Must not be blank.")])
    url = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    events = fields.List(fields.String(validate=validate.OneOf(list(EVENT_TYPES))), required=True,
                         validate=validate.Length(min=1, max=len(EVENT_TYPES)))


class WebhookOut(Schema):
    """A ``webhooks.WebhookSummary``."""

    id = fields.Integer(attribute="webhook.id", required=True)
    name = fields.String(attribute="webhook.name", required=True)
    url = fields.Function(lambda summary: shown_url(summary.webhook.url), required=True,
                          metadata={"type": "string", "description": "Without its query string (it may hold a token)."})
    events = fields.List(fields.String(), attribute="webhook.events", required=True)
    created_by = fields.String(attribute="webhook.created_by", required=True)
    created_at = fields.DateTime(attribute="webhook.created_at", required=True)
    last_status = fields.String(required=True)
    pending = fields.Integer(required=True)
    failed = fields.Integer(required=True)


class WebhookCreatedOut(WebhookOut):
    secret = fields.String(required=True, metadata={"description": "The signing secret (`whsec_...`), shown only now."})


class WebhookDeliveryOut(Schema):
    id = fields.Integer(required=True)
    event_id = fields.Integer(required=True)
    event_type = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": ["pending", "delivered", "failed"]})
    attempts = fields.Integer(required=True)
    last_status_code = fields.Integer(required=True, allow_none=True)
    last_error = fields.String(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    last_attempt_at = fields.DateTime(required=True, allow_none=True)
    next_attempt_at = fields.DateTime(required=True, allow_none=True)
    delivered_at = fields.DateTime(required=True, allow_none=True)


WebhookListOut = Schema.from_dict({"webhooks": fields.List(fields.Nested(WebhookOut), required=True)}, name="WebhookListOut")
WebhookDeliveryListOut = Schema.from_dict({"deliveries": fields.List(fields.Nested(WebhookDeliveryOut), required=True)},
                                          name="WebhookDeliveryListOut")
