"""The REST API (``/api/v1``): JSON in and out, authenticated by ``Authorization: Bearer <API token>``.

Each view is ``schema load → one service call → schema dump``; every view
declares its access rule (``app.http.rules``); errors are the boundary's JSON
errors. Unknown keys in bodies and query strings are refused.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request
from marshmallow import Schema

from app.errors import InvalidInput, Unauthenticated
from app.http import db_session
from app.http.boundary import error_response
from app.http.rules import set_principal
from app.schemas import load, parse_json
from app.services.access import api_tokens

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")


@blueprint.before_request
def _authenticate() -> None:
    set_principal(None)
    header = request.headers.get("Authorization")
    if header is None:
        return
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise Unauthenticated("use the header Authorization: Bearer <API token>")
    set_principal(api_tokens.authenticate(db_session(), raw.strip()))


@blueprint.after_request
def _never_cached(response: Response) -> Response:
    """Every answer is one principal's view, and some carry a secret shown once (a new token,
    a one-time password): no browser or proxy keeps a copy."""
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.errorhandler(Unauthenticated)
def _unauthenticated(error: Unauthenticated) -> Response:
    response = error_response(401, error.code, error.message)
    response.headers["WWW-Authenticate"] = 'Bearer realm="flokk"'
    return response


def body(schema: Schema) -> dict[str, Any]:
    """The JSON object of the request, loaded by ``schema`` (unknown keys refused)."""
    data = parse_json(request.get_data(cache=True)) if request.is_json else None
    if not isinstance(data, dict):
        raise InvalidInput("send a JSON object (Content-Type: application/json)")
    return load(schema, data)


def query(schema: Schema) -> dict[str, Any]:
    return load(schema, request.args.to_dict())


def register(app: Any) -> None:
    from app.http.api import accounts, audit, commands, enrollment, inventory, policy  # noqa: F401  (routes)
    from app.http.api import updates  # noqa: F401  (routes)

    app.register_blueprint(blueprint)
