"""HTTP entry points: one blueprint module per feature, all behind the same request boundary."""

from __future__ import annotations

from flask import current_app, g
from sqlalchemy.orm import Session

from app.config import Settings


def flokk():
    return current_app.extensions["flokk"]


def settings() -> Settings:
    return flokk().settings


def db_session() -> Session:
    """The request's unit of work; the boundary commits it (or rolls it back) after the view."""
    if "flokk_session" not in g:
        g.flokk_session = flokk().db.session()
    return g.flokk_session
