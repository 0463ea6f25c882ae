"""Webhooks for central IT: the URLs told of events, each with its last status and deliveries."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.http import db_session
from app.http.dashboard import blueprint, form_data, notice
from app.http.rules import current_principal, requires
from app.schemas import load
from app.schemas.webhooks import WebhookCreate
from app.services import webhooks
from app.services.access import Permission


@blueprint.get("/webhooks")
@requires(Permission.AUDIT, central=True)
def webhook_list():
    return render_template("webhooks.html", webhooks=webhooks.list_webhooks(db_session(), current_principal()),
                           event_types=webhooks.EVENT_TYPES, shown_url=webhooks.shown_url)


@blueprint.post("/webhooks")
@requires(Permission.ADMINISTER, central=True)
def create_webhook():
    events = [value.strip() for value in request.form.getlist("events") if value.strip()]
    data = load(WebhookCreate(), {**form_data("name", "url"), "events": events})
    hook, secret = webhooks.create_webhook(db_session(), current_principal(), **data)
    return render_template("secret.html", title=_("Webhook %(name)s created", name=hook.name),
                           label=_("The signing secret (shown only now): the receiver checks each delivery's "
                                   "webhook-signature with it (Standard Webhooks)."),
                           secret=secret, back=url_for("dashboard.webhook_list")), 201


@blueprint.get("/webhooks/<int:webhook_id>")
@requires(Permission.AUDIT, central=True)
def webhook_detail(webhook_id: int):
    session, principal = db_session(), current_principal()
    return render_template("webhook.html", summary=webhooks.get_webhook(session, principal, webhook_id),
                           deliveries=webhooks.deliveries(session, principal, webhook_id), shown_url=webhooks.shown_url)


@blueprint.post("/webhooks/<int:webhook_id>/delete")
@requires(Permission.ADMINISTER, central=True)
def delete_webhook(webhook_id: int):
    webhooks.delete_webhook(db_session(), current_principal(), webhook_id)
    notice(_("The webhook is deleted."))
    return redirect(url_for("dashboard.webhook_list"))
