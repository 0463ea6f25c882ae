"""The REST API (``/api/v1``): JSON in and out, authenticated by ``Authorization: Bearer <API token>``.

Each view is ``schema load → one service call → schema dump``; every view
declares its access rule (``app.http.rules``) and what it reads and answers
(``app.http.api.openapi.operation``, for ``/api/v1/openapi.json``); errors are
the boundary's problem documents. Unknown keys in bodies and query strings are
refused.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Response, jsonify, make_response, request
from marshmallow import Schema

from app.errors import InvalidInput, Unauthenticated
from app.http import db_session
from app.http.boundary import error_response
from app.http.rules import current_principal, set_principal
from app.schemas import load, parse_json
from app.services import idempotency
from app.services.access import api_tokens

F = TypeVar("F", bound=Callable[..., Any])

blueprint = Blueprint("api", __name__, url_prefix="/api/v1", template_folder="templates")


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
    from app.http.api import accounts, apps, asm, audit, commands, docs, enrollment, google, inventory, policy, rosters, updates, webhooks  # noqa: F401  (routes)

    app.register_blueprint(blueprint)


def idempotent(view: F) -> F:
    """Honour ``Idempotency-Key``: the same request again (same caller, key, method, path and body)
    gets the first successful answer again, marked ``Idempotent-Replayed: true``, and nothing is
    done twice. Put it below the access rule (it needs the principal)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        raw = request.headers.get("Idempotency-Key")
        if raw is None:
            return view(*args, **kwargs)
        key = idempotency.checked_key(raw)
        principal, session = current_principal(), db_session()
        printed = idempotency.fingerprint(request.method, request.path, request.get_data(cache=True))
        stored = idempotency.find(session, principal, key, printed)
        if stored is not None:
            replay = jsonify(stored.response)
            replay.status_code = stored.status
            replay.headers["Idempotent-Replayed"] = "true"
            return replay
        response = make_response(view(*args, **kwargs))
        if 200 <= response.status_code < 300 and response.is_json:
            idempotency.remember(session, principal, key, printed, response.status_code, response.get_json())
        return response

    return wrapper  # type: ignore[return-value]
