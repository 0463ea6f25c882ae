"""``/api/v1/openapi.json`` and a browsable rendering of it (Swagger UI, served from Flokk itself).

The description is built from the routes once per process (routes do not
change while running). Swagger UI's files come from the ``flask-swagger-ui``
package (Swagger UI 5, which reads OpenAPI 3.1); nothing is loaded from
another site, and the page runs only Flokk's own scripts.
"""

from __future__ import annotations

import functools
from pathlib import Path

import flask_swagger_ui
from flask import Response, current_app, jsonify, render_template, send_from_directory

from app.errors import NotFound
from app.http.api import blueprint
from app.http.api.openapi import build_spec, hidden, operation
from app.http.rules import public_endpoint

SWAGGER_UI = Path(flask_swagger_ui.__file__).parent / "dist"
OWN_FILES = Path(__file__).parent / "static"
#: Swagger UI's files the page loads; nothing else of the package is served.
SWAGGER_FILES = frozenset({"swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"})
_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"


@functools.cache
def _spec_for(app_id: int) -> dict:
    return build_spec(current_app)


@blueprint.get("/openapi.json")
@public_endpoint
@operation(response=None)
def openapi_document():
    """This description (OpenAPI 3.1)."""
    response = jsonify(_spec_for(id(current_app)))
    response.headers["Cache-Control"] = "no-cache"
    return response


@blueprint.get("/docs")
@public_endpoint
@hidden
def docs_page():
    response = Response(render_template("api_docs.html"))
    response.headers["Content-Security-Policy"] = _CSP
    return response


@blueprint.get("/docs/<name>")
@public_endpoint
@hidden
def docs_file(name: str):
    if name not in SWAGGER_FILES and name != "flokk-docs.js":
        raise NotFound("no such file")
    folder = OWN_FILES if name == "flokk-docs.js" else SWAGGER_UI
    return send_from_directory(folder, name, max_age=3600)
