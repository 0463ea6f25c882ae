"""``GET /healthz`` for load balancers and monitoring."""

from __future__ import annotations

from flask import Blueprint, jsonify

from app import __version__
from app.http import flokk
from app.http.rules import public_endpoint

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
@public_endpoint
def healthz():
    database_ok = flokk().db.ping()
    body = {"status": "ok" if database_ok else "error", "database": "ok" if database_ok else "error", "version": __version__}
    return jsonify(body), 200 if database_ok else 503
