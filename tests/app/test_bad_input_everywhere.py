"""Bad input to every endpoint of the API and the dashboard gets a 4xx, never a 500.

Generated from the endpoint matrix (``test_endpoint_matrix``): each endpoint
that takes input is called by a central admin with its sample request broken
one way at a time: a body that is not JSON or not an object, each field
missing, of the wrong type, 10,000 characters long, holding a NUL character
(PostgreSQL refuses NUL in text), another control character (no plist holds
one), a lone UTF-16 surrogate (no UTF-8 encodes one), digits that are not
ASCII ("１"), an integer past 64 bits, NaN, Infinity or 1e400 (Python's JSON
parser reads them; no database stores them), and query strings with values of
the wrong shape. Every path part of every endpoint is also given NUL, control
characters, Unicode digits and huge numbers. A new endpoint is covered as soon
as the matrix has a sample for it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from tests.app.test_endpoint_matrix import (
    APPS_ENDPOINTS,
    CA_ENDPOINTS,
    GOOGLE_ENDPOINTS,
    MATRIX,
    OWN,
    POLICY_ENDPOINTS,
    URL_ARGUMENTS,
    Sample,
    build_world,
    matrix_app,  # noqa: F401 - the fixture this module's tests use
    sample_for,
    settings,  # noqa: F401 - the matrix's settings (the fake Apps and Books, Google at its fake)
    url_value,
)
from tests.support import people

#: Thousands of generated requests: each case on one of the two databases (tests/conftest.py).
pytestmark = pytest.mark.sweep

ROLE = "central_admin"
LONG = "x" * 10_000
WRONG_VALUES: tuple[Any, ...] = (
    None, 12345, -1, True, [], {}, LONG, "nul\x00byte", "💥" * 300,
    "lone \ud800 surrogate", "bell\x07 and \x1b escape", "１", "²", 2**64, 10**30, 1.5,
    {"$data": "not base64!"}, ["a\x01b"], {"k\x00": 1},
)
#: Raw JSON for a field: nesting about as deep as Python's parser reads, and numbers no database stores.
RAW_VALUES = {
    "nested 950 deep": "[" * 950 + '"x"' + "]" * 950,
    "NaN": "NaN",
    "Infinity": "Infinity",
    "-Infinity": "-Infinity",
    "1e400": "1e400",
    "a 30-digit integer": "9" * 30,
    "a lone surrogate escape": '"\\ud800"',
    "a list with a lone surrogate": '["ok", "\\udc00"]',
}
RAW_BODIES = (b"{not json", b"[]", b"null", b'"text"', b"12", b'{"a": ' * 600 + b"1" + b"}" * 600,
              b'{"a": NaN}', b"\xff\xfe{}", b'{"\\ud800": 1}')
#: Query parameters list endpoints read; each gets values of the wrong shape.
QUERY_KEYS = ("limit", "offset", "page", "since", "until", "status", "school", "group_id", "search", "outcome", "action")
WRONG_QUERY_VALUES = ("abc", "-5", "99999999999999999999", "2026-13-45", LONG[:2000], "nul\x00byte",
                      "bell\x07", "１", "٣", "NaN", "inf", "1e400")


def _json_variants(sample: Sample) -> Iterator[tuple[str, Any]]:
    body = sample.json if isinstance(sample.json, dict) else {}
    for key in body:
        yield f"without {key}", {k: v for k, v in body.items() if k != key}
        for value in WRONG_VALUES:
            yield f"{key}={value!r:.30}", {**body, key: value}
    yield "an unknown field", {**body, "unknown_field": "x"}


def _raw_bodies(sample: Sample) -> Iterator[tuple[str, bytes]]:
    """Each field given each of ``RAW_VALUES`` as raw JSON (Python cannot encode them from objects)."""
    body = sample.json if isinstance(sample.json, dict) else {}
    for key in body:
        for what, raw in RAW_VALUES.items():
            yield f"{key}: {what}", json.dumps({**body, key: "__raw__"}).replace('"__raw__"', raw).encode()


def _form_variants(sample: Sample) -> Iterator[tuple[str, dict[str, Any]]]:
    form = sample.form or {}
    for key in form:
        yield f"without {key}", {k: v for k, v in form.items() if k != key}
        for value in ("", LONG, "nul\x00byte", "💥" * 300, "-1", "bell\x07", "\x1b[31m", "１", "²",
                      "99999999999999999999", "NaN"):
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
                            with_ca=endpoint in CA_ENDPOINTS, with_apps=endpoint in APPS_ENDPOINTS,
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
            for what, raw in _raw_bodies(sample):
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


#: Path parts naming nothing, already percent-encoded: past any row id, digits that are not ASCII
#: (int("１") is 1), NUL and other control characters (PostgreSQL refuses NUL).
BAD_PATH_PARTS = {
    "row_id": ("99999999999999999999", str(2**63), "0", "%EF%BC%91", "%D9%A3", "%C2%B2", "%00", "1%00", "%01"),
    "school_code": ("%00", "nord%00by", "%01", "%7F", "no-such-school"),
    "policy_layer": ("school:%00", "school:a%01b", "device:%23%00", "device:%2399999999999999999999",
                     "device:%23%EF%BC%91", "device:%00", "group:%00/x", "group:x/%00", "baseline%00"),
    "policy_version": ("99999999999999999999", "%EF%BC%91", "%00"),
}


def _bad_paths(rule, world, variant) -> Iterator[tuple[str, str]]:
    """(path, bad part): the rule's path with one argument at a time replaced by each bad part, the others valid."""
    good = {name: quote(str(url_value(world, name, OWN, variant)), safe=":/") for name in rule.arguments}
    for name in rule.arguments:
        kind = URL_ARGUMENTS[name]
        family = kind if kind in BAD_PATH_PARTS else "row_id"
        for bad in BAD_PATH_PARTS[family]:
            parts = {**good, name: bad}
            yield re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda match, parts=parts: parts[match.group(1)], rule.rule), bad


@pytest.mark.parametrize(("endpoint", "method", "variant"), ENDPOINTS, ids=[f"{m} {e}" for e, m, _ in ENDPOINTS])
def test_bad_path_parts_are_a_404(endpoint, method, variant, matrix_app, db):
    """An id of the wrong shape or size, or a path part with NUL, names nothing: 404, not a 500.
    (0 fits the id pattern, as version 0 must: a view may also refuse it as "not an id", 422.)"""
    app = matrix_app
    url_rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint and method in r.methods)
    if not url_rule.arguments:
        return
    with db.session() as session:
        world = build_world(session, with_policy=variant is not None or endpoint in POLICY_ENDPOINTS,
                            with_google=endpoint in GOOGLE_ENDPOINTS)
        session.commit()
    sample = sample_for(endpoint, method, world, OWN)
    client = app.test_client()
    failures: list[str] = []
    api = endpoint.startswith("api.")
    if not api:
        people.sign_in(client, world.admins[ROLE])
    for path, bad in _bad_paths(url_rule, world, variant):
        if api:
            response = client.open(path, method=method, headers=people.bearer(world.tokens[ROLE]),
                                   json=sample.json if method != "GET" else None)
        else:
            form = None if method == "GET" else {**(sample.form or {}), "csrf_token": people.CSRF}
            response = client.open(path, method=method, data=form)
        if response.status_code not in ((404, 422) if bad == "0" else (404,)):
            failures.append(f"{method} {path}: {response.status_code} {response.get_data(as_text=True)[:200]}")
    assert not failures, "\n".join(failures)


def test_the_public_forms_take_bad_input_too(matrix_app, db):
    """The sign-in and language forms are no schema's sample: each field broken each way is a 4xx or a redirect."""
    client = matrix_app.test_client()
    people.sign_in(client, None)
    failures: list[str] = []
    forms = {"/login": {"email": "x@skole.test", "password": "secret", "next": "/devices"},
             "/language": {"lang": "en", "next": "/devices"}}
    for path, form in forms.items():
        for what, broken in _form_variants(Sample(form=form)):
            response = client.post(path, data={**broken, "csrf_token": people.CSRF})
            if response.status_code >= 500:
                failures.append(f"POST {path} {what}: {response.status_code}")
    for token in ("é", "\x00", "💥" * 50):
        assert client.post("/login", data={"email": "x", "password": "y", "csrf_token": token}).status_code == 400
    assert not failures, "\n".join(failures)


def test_unstorable_values_are_found_at_any_depth_without_recursion():
    """The check walks input with a list: nesting deeper than Python's recursion limit is fine."""
    from mdm_protocol.plist_values import problems

    deep: Any = "nul\x00"
    for _ in range(5000):
        deep = [deep]
    found = problems({"name": deep, "ok": ["fine", "two\nlines\ttab"], "bad\x00key": 1, "n": [2**64, float("nan")]})
    assert sorted(found) == [("bad\x00key", "key must not contain NUL characters"),
                             ("n[0]", "must fit in 64 bits"), ("n[1]", "must be a finite number"),
                             ("name" + "[0]" * 5000, "must not contain NUL characters")]
