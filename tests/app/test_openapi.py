"""The OpenAPI description is generated from the routes: every API operation is in it, it is
valid OpenAPI 3.1, the browsable rendering comes from Flokk itself, and errors are problem
documents (RFC 9457) that keep Flokk's own members."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from app.http.api.openapi import undocumented
from tests.app.test_endpoint_matrix import _url_map_app


def _spec(client) -> dict:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_every_api_route_is_documented_with_schemas():
    app = _url_map_app()
    missing = undocumented(app)
    assert not missing, (
        f"API endpoints without @operation: {missing}. Declare what each reads and answers with "
        "@operation(...) from app.http.api.openapi (next to its access rule) so /api/v1/openapi.json describes it."
    )


def test_the_description_has_every_operation_and_is_valid_openapi_3_1():
    app = _url_map_app()
    spec = _spec(app.test_client())
    assert spec["openapi"] == "3.1.0"
    OpenAPIV31SpecValidator(spec).validate()
    described = {(path, method.upper()) for path, item in spec["paths"].items() for method in item}
    hidden = {"api.docs_page", "api.docs_file"}
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api.") or rule.endpoint in hidden:
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in described, f"{method} {path} ({rule.endpoint}) is missing from the description"


def test_operations_carry_their_schemas_rights_and_errors():
    spec = _spec(_url_map_app().test_client())
    create = spec["paths"]["/api/v1/schools"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/SchoolCreate"}
    assert create["responses"]["201"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/SchoolOut"}
    assert "`administer` over every school" in create["description"]
    assert create["responses"]["422"]["content"]["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert spec["components"]["schemas"]["SchoolCreate"]["additionalProperties"] is False  # unknown keys are refused
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": "An API token (`flk_...`)."
    }
    devices = spec["paths"]["/api/v1/devices"]["get"]
    assert {p["name"] for p in devices["parameters"]} >= {"limit", "offset", "school", "search"}
    submit = spec["paths"]["/api/v1/commands"]["post"]
    assert set(submit["responses"]) >= {"201", "202", "401", "403", "422", "default"}
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in submit["parameters"])
    change = spec["paths"]["/api/v1/policy/layers/{layer}/changes"]["post"]
    assert any(p["name"] == "If-Match" for p in change["parameters"]) and "412" in change["responses"]
    assert spec["paths"]["/api/v1/openapi.json"]["get"]["security"] == []


def test_the_browsable_rendering_loads_nothing_from_elsewhere():
    client = _url_map_app().test_client()
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(source.startswith("/api/v1/docs/") for source in sources), sources
    for source in sources:
        asset = client.get(source)
        assert asset.status_code == 200 and len(asset.data) > 100, source
    assert b"SwaggerUIBundle" in client.get("/api/v1/docs/swagger-ui-bundle.js").data
    assert client.get("/api/v1/docs/package.json").status_code == 404


@pytest.mark.parametrize(
    ("path", "headers", "status", "code"),
    [
        ("/api/v1/no-such-thing", {}, 404, "not_found"),
        ("/api/v1/schools", {}, 401, "unauthenticated"),
        ("/api/v1/schools", {"Authorization": "Bearer flk_wrong"}, 401, "unauthenticated"),
    ],
)
def test_errors_are_problem_documents_with_flokks_members(path, headers, status, code, client):
    response = client.get(path, headers={"X-Request-Id": "req-123", **headers})
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == status and problem["title"] and problem["type"].endswith(":" + code)
    assert problem["detail"] == problem["message"] and problem["error"] == code
    assert problem["request_id"] == "req-123" and problem["instance"] == "urn:flokk:request:req-123"


def test_invalid_input_keeps_details_per_field(client, db):
    from tests.support import people
    from app.services.access import Role

    with db.session() as session:
        token = people.api_token(session, [(Role.CENTRAL_ADMIN, None)])
        session.commit()
    response = client.post("/api/v1/schools", json={"name": "", "code": "ok", "extra": 1}, headers=people.bearer(token))
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["type"] == "tag:flokk,2026:problem:invalid_input"
    assert set(problem["details"]) == {"name", "extra"}
