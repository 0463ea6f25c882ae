"""Flokk: mobile device management for school iPads and Chromebooks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask

from app.config import Settings, load_settings
from app.crypto import derive_key
from app.db import Database

__version__ = "0.1.0"


@dataclass
class Flokk:
    """What the Flask app holds: settings and the database (reached via ``app.extensions``)."""

    settings: Settings
    db: Database
    #: Pushes after commit from a thread of its own (``push.BackgroundPusher``), set by ``flokk serve``
    #: in each worker; None: the request's own thread pushes once its response is sent.
    pusher: Any = None


def create_app(settings: Settings | None = None) -> Flask:
    """Wire the application: no threads, no network, no work beyond building objects."""
    settings = settings or load_settings()
    flask_app = Flask(__name__)
    flask_app.config.update(
        SECRET_KEY=derive_key(settings.secret_key, "flask-session").hex(),
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        JSON_SORT_KEYS=False,
        PERMANENT_SESSION_LIFETIME=settings.session_hours * 3600,
    )
    flask_app.extensions["flokk"] = Flokk(settings=settings, db=Database(settings))

    from flask_babel import Babel

    from app.http import api, apps_notifications, boundary, converters, dashboard, declarative, enroll, health, mdm, metrics, scep
    from app.http.dashboard import auth, oidc
    from app.http.rules import public_endpoint

    converters.install(flask_app)
    boundary.install(flask_app)
    Babel(flask_app, locale_selector=auth.select_locale, default_locale="nb")
    oidc.install(flask_app, settings)
    flask_app.register_blueprint(health.blueprint)
    flask_app.register_blueprint(scep.blueprint)
    flask_app.register_blueprint(enroll.blueprint)
    flask_app.register_blueprint(mdm.blueprint)
    flask_app.register_blueprint(apps_notifications.blueprint)
    flask_app.register_blueprint(declarative.blueprint)
    flask_app.register_blueprint(metrics.blueprint)
    api.register(flask_app)
    dashboard.register(flask_app)
    if "static" in flask_app.view_functions:
        flask_app.view_functions["static"] = public_endpoint(flask_app.view_functions["static"])
    return flask_app
