"""Flokk: mobile device management for school iPads and Chromebooks."""

from __future__ import annotations

from dataclasses import dataclass

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
    )
    flask_app.extensions["flokk"] = Flokk(settings=settings, db=Database(settings))

    from app.http import boundary, enroll, health, scep

    boundary.install(flask_app)
    flask_app.register_blueprint(health.blueprint)
    flask_app.register_blueprint(scep.blueprint)
    flask_app.register_blueprint(enroll.blueprint)
    return flask_app
