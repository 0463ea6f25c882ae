"""Bad input to every endpoint of the API and the dashboard gets a 4xx, never a 500.

Generated from the endpoint matrix (``test_endpoint_matrix``): each endpoint
that takes input is called by a central admin with its sample request broken
one way at a time: a body that is not JSON or not an object, each field
missing, of the wrong type, 10,000 characters long or holding a NUL character
(PostgreSQL refuses NUL in text), and query strings with values of the wrong
shape. A new endpoint is covered as soon as the matrix has a sample for it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.app.test_endpoint_matrix import (
    GOOGLE_ENDPOINTS,
    MATRIX,
    OWN,
    POLICY_ENDPOINTS,
    URL_ARGUMENTS,
    Sample,
    build_world,
    matrix_app,  # noqa: F401 - the fixture this module's tests use
    sample_for,
    settings,  # noqa: F401 - the settings it needs (Google at the fake)
    url_value,
)
from tests.support import people

ROLE = "central_admin"
LONG = "x" * 10_000
WRONG_VALUES: tuple[Any, ...] = (None, 12345, -1, True, [], {}, LONG, "nul\x00byte", "💥" * 300)
#: A value nested about as deep as Python's JSON parser still reads (deeper is refused when parsed).
DEEP = "[" * 950 + '"x"' + "]" * 950
RAW_BODIES = (b"{not json", b"[]", b"null", b'"text"', b"12", b'{"a": ' * 600 + b"1" + b"}" * 600)
#: Query parameters list endpoints read; each gets values of the wrong shape.
QUERY_KEYS = ("limit", "offset", "page", "since", "until", "status", "school", "group_id", "search", "outcome", "action")
WRONG_QUERY_VALUES = ("abc", "-5", "99999999999999999999", "2026-13-45", LONG[:2000], "nul\x00byte")


def _json_variants(sample: Sample) -> Iterator[tuple[str, Any]]:
    body = sample.json if isinstance(sample.json, dict) else {}
    for key in body:
        yield f"without {key}", {k: v for k, v in body.items() if k != key}
        for value in WRONG_VALUES:
            yield f"{key}={value!r:.30}", {**body, key: value}
    yield "an unknown field", {**body, "unknown_field": "x"}


def _deep_bodies(sample: Sample) -> Iterator[tuple[str, bytes]]:
    """Each field nested 950 lists deep, as raw JSON (Python cannot encode it from objects)."""
    body = sample.json if isinstance(sample.json, dict) else {}
    for key in body:
        yield f"{key} nested 950 deep", json.dumps({**body, key: "__deep__"}).replace('"__deep__"', DEEP).encode()


def _form_variants(sample: Sample) -> Iterator[tuple[str, dict[str, Any]]]:
    form = sample.form or {}
    for key in form:
        yield f"without {key}", {k: v for k, v in form.items() if k != key}
        for value in ("", LONG, "nul\x00byte", "💥" * 300, "-1"):
            yield f"{key}={value!r:.30}", {**form, key: value}
    yield "an unknown field", {**form, "unknown_field": "x"}


def _query_variants(sample: Sample) -> Iterator[tuple[str, dict[str, Any]]]:
    base = sample.query or {}
    for key in dict.fromkeys((*base, *QUERY_KEYS)):
        for value in WRONG_QUERY_VALUES:
            yield f"?{key}={value!r:.30}", {**base, key: value}


def _check(response, endpoint: str, what: str, failures: list[str]) -> None:
    status = response.status_code
    if status >= 500:
        failures.append(f"{what}: {status} {response.get_data(as_text=True)[:200]}")
    elif endpoint.startswith("api.") and status >= 400:
        body = response.get_json(silent=True)
        if not isinstance(body, dict) or "error" not in body:
            failures.append(f"{what}: {status} without a JSON error: {response.get_data(as_text=True)[:200]}")


#: One call per endpoint and method (a policy endpoint with the school layer, the one ICT contacts use).
ENDPOINTS = sorted({(endpoint, method, variant) for endpoint, method, variant in MATRIX if variant in (None, "school")})


@pytest.mark.parametrize(("endpoint", "method", "variant"), ENDPOINTS, ids=[f"{m} {e}" for e, m, _ in ENDPOINTS])
def test_bad_input_is_a_4xx(endpoint, method, variant, matrix_app, db):
    app = matrix_app
    url_rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint and method in r.methods)
    with db.session() as session:
        world = build_world(session, with_policy=variant is not None or endpoint in POLICY_ENDPOINTS,
                            with_google=endpoint in GOOGLE_ENDPOINTS)
        session.commit()
    sample = sample_for(endpoint, method, world, OWN)
    arguments = {name: url_value(world, name, OWN, variant) for name in url_rule.arguments}
    path = url_rule.build(arguments, append_unknown=False)[1]
    client = app.test_client()
    failures: list[str] = []
    if endpoint.startswith("api."):
        headers = people.bearer(world.tokens[ROLE])
        if method == "GET":
            for what, query in _query_variants(sample):
                _check(client.get(path, headers=headers, query_string=query), endpoint, what, failures)
        else:
            for raw in RAW_BODIES:
                response = client.open(path, method=method, headers=headers, data=raw, content_type="application/json")
                _check(response, endpoint, f"body {raw[:20]!r}", failures)
            for what, body in _json_variants(sample):
                _check(client.open(path, method=method, headers=headers, json=body), endpoint, what, failures)
            for what, raw in _deep_bodies(sample):
                response = client.open(path, method=method, headers=headers, data=raw, content_type="application/json")
                _check(response, endpoint, what, failures)
    else:
        people.sign_in(client, world.admins[ROLE])
        if method == "GET":
            for what, query in _query_variants(sample):
                _check(client.get(path, query_string=query), endpoint, what, failures)
        else:
            for what, form in _form_variants(sample):
                response = client.open(path, method=method, data={**form, "csrf_token": people.CSRF})
                _check(response, endpoint, what, failures)
    assert not failures, f"{method} {path}:\n" + "\n".join(failures)


def test_the_url_arguments_are_checked_too(matrix_app, db):
    """An id of the wrong shape or size in the path is a 404, not a 500."""
    app = matrix_app
    with db.session() as session:
        world = build_world(session)
        session.commit()
    client = app.test_client()
    headers = people.bearer(world.tokens[ROLE])
    failures: list[str] = []
    for endpoint, method, _ in ENDPOINTS:
        if not endpoint.startswith("api.") or method != "GET":
            continue
        url_rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint and method in r.methods)
        if not url_rule.arguments:
            continue
        for bad in (2**63, 2**64 + 5, 0):
            arguments = {name: _bad_argument(name, bad) for name in url_rule.arguments}
            path = url_rule.build(arguments, append_unknown=False)[1]
            response = client.get(path, headers=headers)
            if response.status_code != 404:
                failures.append(f"GET {path}: {response.status_code} {response.get_data(as_text=True)[:200]}")
    assert not failures, "\n".join(failures)


def _bad_argument(name: str, number: int) -> object:
    """A URL argument naming nothing: a number past any row id, or a code or layer that does not exist."""
    kind = URL_ARGUMENTS[name]
    if kind == "school_code":
        return f"no-such-{number}"
    if kind == "policy_layer":
        return f"school:no-such-{number}"
    return number


def test_nul_is_found_at_any_depth_without_recursion():
    """The NUL check walks input with a list: nesting deeper than Python's recursion limit is fine."""
    from app.schemas import _paths_with_nul

    deep: Any = "nul\x00"
    for _ in range(5000):
        deep = [deep]
    assert sorted(_paths_with_nul({"name": deep, "ok": ["fine"], "bad\x00key": 1})) == ["input", "name"]
