"""The API's OpenAPI 3.1 description, generated from the routes and their marshmallow schemas.

Each API view says what it reads and answers with one decorator, next to its
access rule::

    @blueprint.post("/schools")
    @requires(Permission.ADMINISTER, central=True)
    @operation(body=SchoolCreate, response=SchoolOut, status=201)
    def create_school(): ...

:func:`build_spec` walks ``app.url_map``: the path and its parameters come
from the route, who may call it from the access rule, bodies and answers from
the schemas (through apispec's marshmallow plugin). Every error answer is a
problem document (RFC 9457, :data:`PROBLEM_MEDIA_TYPE`). A view of the API
blueprint without ``@operation`` is missing from the description, and
``tests/app/test_openapi.py`` fails naming it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask import Flask
from marshmallow import Schema

from app.http.rules import ADMIN, PUBLIC, SIGNED_IN, rule_of

F = TypeVar("F", bound=Callable[..., Any])

PROBLEM_MEDIA_TYPE = "application/problem+json"
#: Blueprint whose routes are API operations.
API_BLUEPRINT = "api"
_ARGUMENT = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_REASONS = {
    400: "The request cannot be read.",
    401: "No valid API token (`Authorization: Bearer flk_...`).",
    403: "The token sees the object but lacks the right for this action.",
    404: "No such object, or it belongs to a school outside the token's grants.",
    409: "Conflicts with the current state or a concurrent change; try again.",
    412: "`If-Match` names a version that is no longer current.",
    413: "The body is too large.",
    422: "Invalid input; `details` names each field with its reasons.",
}

SchemaLike = type[Schema] | Schema


@dataclass(frozen=True)
class Operation:
    """What one API view reads and answers, for the description."""

    responses: Mapping[int, SchemaLike | None]
    body: SchemaLike | None = None
    query: SchemaLike | None = None
    media_type: str = "application/json"
    parameters: tuple[dict[str, Any], ...] = ()
    errors: tuple[int, ...] = ()
    response_headers: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)


#: Request headers an operation may declare (``headers=("Idempotency-Key",)``).
HEADERS: dict[str, dict[str, Any]] = {
    "Idempotency-Key": {
        "in": "header",
        "name": "Idempotency-Key",
        "required": False,
        "description": "Any unique value (a UUID): the same request sent again with the same key is not "
        "performed twice, the first answer is replayed (`Idempotent-Replayed: true`). The same key with a "
        "different body is refused with 422. Keys are kept for 24 hours.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"},
    },
    "If-Match": {
        "in": "header",
        "name": "If-Match",
        "required": False,
        "description": "The layer's `ETag` as read: the change is refused with 412 when someone saved "
        "another version since, so nobody overwrites another admin's change unseen.",
        "schema": {"type": "string", "maxLength": 200},
    },
}
ETAG_HEADER = {"ETag": {"description": "The layer's version; send it back as `If-Match`.", "schema": {"type": "string"}}}


def operation(
    *,
    response: SchemaLike | None = None,
    status: int = 200,
    responses: Mapping[int, SchemaLike | None] | None = None,
    body: SchemaLike | None = None,
    query: SchemaLike | None = None,
    media_type: str = "application/json",
    headers: tuple[str, ...] = (),
    errors: tuple[int, ...] = (),
    etag: bool = False,
) -> Callable[[F], F]:
    """Describe an API view: its body and query schemas and its answer(s) by status.

    ``response`` with ``status`` is the one successful answer (``None``: no
    body, e.g. 204); ``responses`` maps several. ``headers`` names request
    headers from :data:`HEADERS`; ``errors`` adds statuses beyond the usual
    ones; ``etag``: the successful answers carry an ``ETag``.
    """
    answers = dict(responses) if responses is not None else {status: response}
    described = Operation(
        responses=answers,
        body=body,
        query=query,
        media_type=media_type,
        parameters=tuple(HEADERS[name] for name in headers),
        errors=errors,
        response_headers={code: ETAG_HEADER for code in answers} if etag else {},
    )

    def decorate(view: F) -> F:
        view.api_operation = described  # type: ignore[attr-defined]
        return view

    return decorate


def hidden(view: F) -> F:
    """A route of the API blueprint that is not an operation (the browsable rendering's files)."""
    view.api_operation = None  # type: ignore[attr-defined]
    return view


def operation_of(view: Callable[..., Any]) -> Operation | None | bool:
    """The view's Operation, None when hidden, False when it never said."""
    return getattr(view, "api_operation", False)


def undocumented(app: Flask) -> list[str]:
    """Endpoints of the API blueprint without ``@operation`` (nor ``@hidden``)."""
    return sorted(
        endpoint
        for endpoint, view in app.view_functions.items()
        if endpoint.startswith(API_BLUEPRINT + ".") and operation_of(view) is False
    )


def _problem_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "A problem document (RFC 9457). `error`, `message`, `request_id` and `details` are "
        "Flokk's own members, kept for clients written before problem documents.",
        "required": ["type", "title", "status", "error", "message"],
        "properties": {
            "type": {"type": "string", "description": "The problem type (a URI)."},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 100, "maximum": 599},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
            "error": {"type": "string", "description": "Short code of the problem, e.g. `invalid_input`."},
            "message": {"type": "string", "description": "What went wrong, for the person who acted."},
            "request_id": {"type": ["string", "null"]},
            "details": {
                "type": "object",
                "description": "Per field (or key): the reasons it was refused.",
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
            },
        },
    }


def _schema_name(schema: Any) -> str:
    cls = resolve_schema_cls(schema)
    name = cls.__name__
    return name[: -len("Schema")] if name.endswith("Schema") and len(name) > len("Schema") else name


def build_spec(app: Flask, *, server_url: str | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every operation of the API blueprint."""
    from app import __version__

    spec = APISpec(
        title="Flokk API",
        version=__version__,
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)],
        info={
            "description": "Mobile device management for school iPads and Chromebooks. Authenticate with an API "
            "token (`flokk token create`): `Authorization: Bearer flk_...`. Objects of schools outside the "
            "token's grants answer 404. Unknown keys in bodies and query strings are refused (422). Lists "
            "are paged with `limit`/`offset` (devices, with `total`) or `limit`/`before_id` (audit log, with "
            "`next_before_id`). Errors are problem documents (RFC 9457, `application/problem+json`).",
            "license": {"name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later"},
        },
        servers=[{"url": server_url or "/"}],
        security=[{"bearerAuth": []}],
    )
    spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "An API token (`flk_...`)."}
    )
    spec.components.schema("Problem", _problem_schema())
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: (rule.rule, rule.endpoint)):
        if not rule.endpoint.startswith(API_BLUEPRINT + "."):
            continue
        view = app.view_functions[rule.endpoint]
        described = operation_of(view)
        if not described:
            continue
        path, parameters = _path(rule)
        operations = {
            method.lower(): _operation(rule.endpoint, view, described, parameters)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
        }
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _path(rule: Any) -> tuple[str, list[dict[str, Any]]]:
    parameters = []

    def replace(match: re.Match[str]) -> str:
        converter, name = match.group("converter") or "default", match.group("name")
        parameters.append({"in": "path", "name": name, "required": True, "schema": _path_schema(rule, converter, name)})
        return "{" + name + "}"

    return _ARGUMENT.sub(replace, rule.rule), parameters


def _path_schema(rule: Any, converter: str, name: str) -> dict[str, Any]:
    if converter == "int":
        bound = rule._converters[name]  # noqa: SLF001 - the converter instance knows its bounds
        schema: dict[str, Any] = {"type": "integer", "minimum": bound.min if bound.min is not None else 0}
        if bound.max is not None:
            schema["maximum"] = bound.max
        return schema
    regex = getattr(rule._converters[name], "regex", "[^/]+")  # noqa: SLF001
    return {"type": "string", "pattern": f"^(?:{regex})$"}


def _operation(endpoint: str, view: Any, described: Operation, path_parameters: list[dict[str, Any]]) -> dict[str, Any]:
    rule = rule_of(view)
    doc = (view.__doc__ or "").strip()
    summary = doc.splitlines()[0] if doc else endpoint.split(".", 1)[1].replace("_", " ").capitalize()
    result: dict[str, Any] = {
        "operationId": endpoint.split(".", 1)[1],
        "summary": summary,
        "description": _access_text(rule) + ("\n\n" + doc if doc and "\n" in doc else ""),
        "tags": [view.__module__.rsplit(".", 1)[-1]],
        "parameters": [*path_parameters, *described.parameters],
        "responses": {},
    }
    if rule is not None and rule.audience == PUBLIC:
        result["security"] = []
    if described.query is not None:
        result["parameters"].append({"in": "query", "schema": described.query})
    if described.body is not None:
        result["requestBody"] = {"required": True, "content": {"application/json": {"schema": described.body}}}
    for status, schema in described.responses.items():
        answer: dict[str, Any] = {"description": _success_text(status)}
        if schema is not None:
            answer["content"] = {described.media_type: {"schema": schema}}
        elif described.media_type != "application/json" and status != 204:
            answer["content"] = {described.media_type: {"schema": {"type": "string"}}}
        if status in described.response_headers:
            answer["headers"] = dict(described.response_headers[status])
        result["responses"][str(status)] = answer
    for status in _error_statuses(rule, described, path_parameters):
        result["responses"][str(status)] = _problem(_REASONS.get(status, "Refused."))
    result["responses"]["default"] = _problem("Any other problem, as a problem document.")
    return result


def _error_statuses(rule: Any, described: Operation, path_parameters: list[dict[str, Any]]) -> list[int]:
    statuses: set[int] = set(described.errors)
    if rule is not None and rule.audience in (ADMIN, SIGNED_IN):
        statuses.add(401)
    if rule is not None and rule.audience == ADMIN:
        statuses.update((403, 404))
    if path_parameters:
        statuses.add(404)
    if described.body is not None or described.query is not None or described.parameters:
        statuses.update((400, 422))
    if described.body is not None:
        statuses.update((409, 413))
    return sorted(statuses)


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def _success_text(status: int) -> str:
    return {200: "OK", 201: "Created", 202: "Accepted: waiting for another central admin's approval", 204: "Done, no body"}.get(
        status, "OK"
    )


def _access_text(rule: Any) -> str:
    if rule is None:
        return ""
    if rule.audience == PUBLIC:
        return "Public: no token needed."
    if rule.audience == SIGNED_IN:
        return "Any valid API token."
    scope = "over every school (central IT)" if rule.central else "in at least one school; objects are checked against the token's schools"
    return f"Needs the permission `{rule.permission.value}` {scope}."
